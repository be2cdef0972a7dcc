//! The walk's cursor and window (what a checkpoint stores) and the page arithmetic the walk
//! plans with: pure, with no request.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{Record, Timestamp};

/// Records per walk request: the largest page SalesLoft serves.
pub const WALK_PAGE_SIZE: u32 = 100;

/// The deepest page a window reads: pages past 100 cost more than 1.
pub const WINDOW_PAGES: u32 = 100;

/// The most records a window's range may hold when it opens. Every window page makes the
/// server count its range; past this, those counts cost the server more than the 1% of
/// requests a window saves, and the walk stays on the keyset (about `N / 99`).
pub const WINDOW_MAX_WAITING: u64 = 200_000;

/// A fixed query read by page number: `updated_at` from `from_us` (inclusive) to `to_us`
/// (inclusive), trusted while it holds `count` records. When `from_us` equals `to_us` it is a
/// tie group's window. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkWindow {
    /// The `updated_at[gte]` bound in microseconds; `None` from the first record on.
    pub from_us: Option<i64>,
    /// The `updated_at[lte]` bound in microseconds: the newest record when the window opened.
    pub to_us: i64,
    /// `total_count` on the window's last page read; `None` until its first page is read.
    pub count: Option<u64>,
    /// In a tie group's window: how many of its first records (in the server's order, under
    /// `count`) have been read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read: u64,
    /// In a tie group's window: the most records seen leaving it between two of its pages.
    /// Reads start that far before what is read, so the next such change still joins up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub moved: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl WalkWindow {
    /// Whether this window holds one instant: a tie group larger than a page.
    pub fn is_tie_group(&self) -> bool {
        self.from_us == Some(self.to_us)
    }
}

/// Where an incremental walk stands. Persist it with the records it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkCursor {
    /// `updated_at` of the newest record read, in microseconds since the Unix epoch;
    /// `None` before the first record (the walk then reads everything: a backfill).
    pub updated_at_us: Option<i64>,
    /// Ids already read whose `updated_at` is exactly `updated_at_us`, sorted.
    pub seen_ids: Vec<i64>,
    /// The page to request next: of the window when there is one, else 1 except inside a tie
    /// group larger than a page.
    pub page: u32,
    /// The window being read, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WalkWindow>,
    /// Every record with an `updated_at` at or before this instant (µs) was read when it could
    /// no longer be committed late (at least twice the lookback interval after it): a lookback
    /// starts after it. Noted only by walks with a lookback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_us: Option<i64>,
}

impl Default for WalkCursor {
    fn default() -> Self {
        Self::start()
    }
}

impl WalkCursor {
    /// A cursor before every record: the walk backfills.
    pub fn start() -> Self {
        Self {
            updated_at_us: None,
            seen_ids: Vec::new(),
            page: 1,
            window: None,
            settled_us: None,
        }
    }

    /// A cursor that reads records updated at or after `t`.
    pub fn since(t: Timestamp) -> Self {
        Self {
            updated_at_us: Some(t.timestamp_micros()),
            seen_ids: Vec::new(),
            page: 1,
            window: None,
            settled_us: None,
        }
    }

    /// The cursor instant as a timestamp (UTC).
    pub fn updated_at(&self) -> Option<Timestamp> {
        self.updated_at_us
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.fixed_offset())
    }

    pub(super) fn has_seen(&self, updated_at_us: i64, id: i64) -> bool {
        self.updated_at_us == Some(updated_at_us) && self.seen_ids.binary_search(&id).is_ok()
    }

    /// The cursor after reading `items` (the page fetched from `self`, in server order), outside
    /// any window.
    pub(super) fn advance<T: Record>(&self, items: &[T], per_page: u32) -> WalkCursor {
        let Some(last) = items.last() else {
            return WalkCursor {
                page: tie_page(self.seen_ids.len(), per_page),
                window: None,
                ..self.clone()
            };
        };
        let settled_us = self.settled_us;
        let max = last.updated_at().timestamp_micros();
        let mut seen: Vec<i64> = if Some(max) == self.updated_at_us {
            self.seen_ids.clone()
        } else {
            Vec::new()
        };
        seen.extend(
            items
                .iter()
                .filter(|r| r.updated_at().timestamp_micros() == max)
                .map(|r| r.record_id()),
        );
        seen.sort_unstable();
        seen.dedup();
        // The records read at `max` are the first ones of its group in server order, so the
        // next unread one sits on this page of `updated_at[gte]=max`.
        let page = tie_page(seen.len(), per_page);
        WalkCursor {
            updated_at_us: Some(max),
            seen_ids: seen,
            page,
            window: None,
            settled_us,
        }
    }

    /// Add the ids of `items` at the cursor instant to the ones read there.
    pub(super) fn remember<T: Record>(&mut self, items: &[T]) {
        let Some(at) = self.updated_at_us else {
            return;
        };
        self.seen_ids.extend(
            items
                .iter()
                .filter(|r| r.updated_at().timestamp_micros() == at)
                .map(|r| r.record_id()),
        );
        self.seen_ids.sort_unstable();
        self.seen_ids.dedup();
    }
}

pub(super) fn instant(us: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.fixed_offset())
}

/// The page to request at an instant whose first `seen` records have been read.
pub(super) fn tie_page(seen: usize, per_page: u32) -> u32 {
    u32::try_from(seen).unwrap_or(u32::MAX) / per_page.max(1) + 1
}

/// The page and page size that read on from the first `read` records of a tie group,
/// starting as close before that point as a page boundary allows (page sizes from half the
/// walk's up to it are tried; cost-1 pages preferred).
pub(super) fn tie_page_at(read: u64, per_page: u32) -> (u32, u32) {
    let largest = per_page.max(1);
    let page_for = |m: u32| read / u64::from(m) + 1;
    let mut best = (page_for(largest), largest);
    let mut best_start = (best.0 - 1) * u64::from(largest);
    for m in (largest.div_ceil(2)..largest).rev() {
        let page = page_for(m);
        let start = (page - 1) * u64::from(m);
        if page <= u64::from(WINDOW_PAGES) && start > best_start {
            best = (page, m);
            best_start = start;
        }
    }
    (u32::try_from(best.0).unwrap_or(u32::MAX), best.1)
}

/// A window's records must not pass its ceiling.
pub(super) fn check_ceiling<T: Record>(path: &str, items: &[T], to_us: i64) -> Result<()> {
    match items
        .iter()
        .find(|r| r.updated_at().timestamp_micros() > to_us)
    {
        Some(r) => Err(Error::Protocol {
            path: path.to_owned(),
            message: format!(
                "record {} has updated_at {} after the updated_at[lte] bound; the server did not apply it",
                r.record_id(),
                r.updated_at()
            ),
        }),
        None => Ok(()),
    }
}

/// The walk is only lossless if the server filtered and sorted as asked; refuse to go on if it
/// did not, rather than skip records silently.
pub(super) fn check_order<T: Record>(
    path: &str,
    items: &[T],
    cursor_us: Option<i64>,
) -> Result<()> {
    let mut prev = cursor_us.unwrap_or(i64::MIN);
    for r in items {
        let t = r.updated_at().timestamp_micros();
        if t < prev {
            return Err(Error::Protocol {
                path: path.to_owned(),
                message: format!(
                    "record {} has updated_at {} before the previous {}; the server did not apply updated_at[gte] with sort_by=updated_at ASC",
                    r.record_id(),
                    r.updated_at(),
                    prev
                ),
            });
        }
        prev = t;
    }
    Ok(())
}

/// Where the walk goes after a page of window `w` (page `page_number` of `per_page`, `full`
/// or not, the window holding `count`): `next` reads on in the window to its end (by its
/// count, so no request finds it empty), or opens the next window at the cursor under the
/// same ceiling once the cheap pages are spent; the answer is the instant up to which
/// everything has been read.
pub(super) fn next_in_window(
    next: &mut WalkCursor,
    w: WalkWindow,
    page_number: u32,
    per_page: u32,
    count: u64,
    full: bool,
) -> i64 {
    // Read to the window's end (by its count, so no request finds it empty)?
    let exhausted = u64::from(page_number) * u64::from(per_page) >= count;
    if full && !exhausted && page_number < WINDOW_PAGES {
        next.window = Some(WalkWindow {
            count: Some(count),
            ..w
        });
        next.page = page_number + 1;
    } else if full && !exhausted && next.page == 1 {
        // The window's last cheap page: the next window starts at the cursor, under the
        // same ceiling (every record changed since lies above it).
        next.window = Some(WalkWindow {
            from_us: next.updated_at_us,
            to_us: w.to_us,
            count: None,
            read: 0,
            moved: 0,
        });
    }
    if !full || exhausted {
        w.to_us
    } else {
        next.updated_at_us
            .map_or(i64::MIN, |last| last.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    struct R(i64, i64);
    impl Record for R {
        fn record_id(&self) -> i64 {
            self.0
        }
        fn updated_at(&self) -> Timestamp {
            chrono::DateTime::from_timestamp_micros(self.1)
                .map(|t| t.fixed_offset())
                .unwrap_or_default()
        }
    }

    #[test]
    fn advancing_past_a_tie_boundary_remembers_only_the_last_instant() {
        let c = WalkCursor::start();
        let page: Vec<R> = (0..100).map(|i| R(i, 10 + i / 98)).collect(); // 98 at 10, 2 at 11
        let n = c.advance(&page, 100);
        assert_eq!(n.updated_at_us, Some(11));
        assert_eq!(n.seen_ids, vec![98, 99]);
        assert_eq!(n.page, 1);
    }

    #[test]
    fn a_full_page_of_one_instant_steps_to_the_next_page() {
        let c = WalkCursor::since(R(0, 5).updated_at());
        let page: Vec<R> = (0..100).map(|i| R(i, 5)).collect();
        let n = c.advance(&page, 100);
        assert_eq!(
            (n.updated_at_us, n.page, n.seen_ids.len()),
            (Some(5), 2, 100)
        );
        let page2: Vec<R> = (100..200).map(|i| R(i, 5)).collect();
        let n2 = n.advance(&page2, 100);
        assert_eq!((n2.page, n2.seen_ids.len()), (3, 200));
        // Leaving the group resets to page 1.
        let page3: Vec<R> = (200..210).map(|i| R(i, 5)).chain([R(999, 6)]).collect();
        let n3 = n2.advance(&page3, 100);
        assert_eq!(
            (n3.updated_at_us, n3.page, n3.seen_ids.clone()),
            (Some(6), 1, vec![999])
        );
    }

    #[test]
    fn a_tie_group_reads_on_from_just_before_what_is_read() {
        assert_eq!(tie_page_at(0, 100), (1, 100));
        assert_eq!(tie_page_at(100, 100), (2, 100));
        // 197 read: 99 a page starts a page at 198 > 197; 98 a page at 196.
        assert_eq!(tie_page_at(197, 100), (3, 98));
        let (page, m) = tie_page_at(4_321, 100);
        let start = u64::from(page - 1) * u64::from(m);
        assert!(start <= 4_321 && 4_321 - start < 10, "{page} x {m}");
    }

    #[test]
    fn out_of_order_pages_are_refused() {
        let items = vec![R(1, 10), R(2, 9)];
        assert!(check_order("/v2/people", &items, None).is_err());
        assert!(check_order("/v2/people", &[R(1, 10)], Some(11)).is_err());
        assert!(check_order("/v2/people", &[R(1, 11), R(2, 11)], Some(11)).is_ok());
    }

    #[test]
    fn cursor_round_trips_through_json() {
        let c = WalkCursor {
            updated_at_us: Some(1_709_797_560_302_715),
            seen_ids: vec![3, 7],
            page: 2,
            window: Some(WalkWindow {
                from_us: None,
                to_us: 1_709_797_560_302_716,
                count: Some(12),
                read: 0,
                moved: 0,
            }),
            settled_us: Some(1_709_797_560_000_000),
        };
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<WalkCursor>(&s).unwrap(), c);
        assert_eq!(
            c.updated_at().unwrap().to_rfc3339(),
            "2024-03-07T07:46:00.302715+00:00"
        );
    }
}
