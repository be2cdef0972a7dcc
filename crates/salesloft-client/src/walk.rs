//! The incremental walk: every record changed since a cursor, at cost 1 per request, losing
//! none and yielding none twice, resumable from a checkpoint.
//!
//! # How it works
//!
//! Each request asks for `updated_at[gte]=<cursor>&sort_by=updated_at&sort_direction=ASC`
//! and, normally, `page=1`: instead of paging deeper (pages past 100 cost 3 to 30), the cursor
//! advances to the newest `updated_at` on the page. Because the filter is `gte`, records at the
//! cursor instant come back again; the cursor remembers their ids and they are skipped. When
//! more records share one instant than fit on a page (a bulk update), the walk steps
//! `page=2, 3, ...` inside that tie group only, and returns to page 1 once past it.
//!
//! Reading `N` records whose timestamps are distinct this way costs about `N / 99` requests
//! (each page after the first repeats the one record at its cursor instant). So once a page
//! comes back full (more changes are waiting), the walk opens a **window**: it asks once for
//! the newest `updated_at` (`sort_direction=DESC&per_page=1`), then reads the fixed query
//! `updated_at[gte]=<cursor>&updated_at[lte]=<that newest instant>` by page number, 1 to 100
//! (each still at cost 1), with `include_paging_counts`. The upper bound pins the window's
//! records: one updated meanwhile moves past it and one deleted leaves it, and either changes
//! `total_count`. A page is trusted only while the count equals the window's first page's and
//! it repeats no record already read (which would betray an unstable order of equal
//! timestamps); otherwise it is dropped and the walk goes back to page 1 of the cursor, so
//! nothing is lost and only a request is wasted. After page 100 the next window starts at the
//! cursor. A backfill of `N` records so costs about `N / 100 + 3` requests. A window opens only
//! when more than a window's worth (100 pages) and at most [`WINDOW_MAX_WAITING`] records are
//! waiting, and never against a server that sends no counts.
//!
//! # Checkpointing
//!
//! [`WalkCursor`] is plain data (serde-serialisable). Persist the cursor that comes with each
//! [`WalkPage`] in the same transaction as the page's records, and a walk restarted from it
//! continues exactly where the last committed page ended.
//!
//! # Limits
//!
//! Stepping inside a tie group larger than a page (outside a window) relies on the server
//! ordering equal timestamps stably; if a record of such a group is updated while the walk is
//! inside it, a neighbour may shift onto an already-read page. Records updated later are always
//! seen again.

use futures_core::Stream;
use futures_util::stream;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::limiter::page_cost;
use crate::list::{ListRequest, ListResource, SortDirection, format_filter_time};
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
/// (inclusive), trusted while it holds `count` records. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkWindow {
    /// The `updated_at[gte]` bound in microseconds; `None` from the first record on.
    pub from_us: Option<i64>,
    /// The `updated_at[lte]` bound in microseconds: the newest record when the window opened.
    pub to_us: i64,
    /// `total_count` on the window's first page; `None` until that page is read.
    pub count: Option<u64>,
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
        }
    }

    /// A cursor that reads records updated at or after `t`.
    pub fn since(t: Timestamp) -> Self {
        Self {
            updated_at_us: Some(t.timestamp_micros()),
            seen_ids: Vec::new(),
            page: 1,
            window: None,
        }
    }

    /// The cursor instant as a timestamp (UTC).
    pub fn updated_at(&self) -> Option<Timestamp> {
        self.updated_at_us
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.fixed_offset())
    }

    fn has_seen(&self, updated_at_us: i64, id: i64) -> bool {
        self.updated_at_us == Some(updated_at_us) && self.seen_ids.binary_search(&id).is_ok()
    }

    /// The cursor after reading `items` (the page fetched from `self`, in server order), outside
    /// any window.
    fn advance<T: Record>(&self, items: &[T], per_page: u32) -> WalkCursor {
        let Some(last) = items.last() else {
            return WalkCursor {
                page: tie_page(self.seen_ids.len(), per_page),
                window: None,
                ..self.clone()
            };
        };
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
        }
    }
}

/// One step of an [`IncrementalWalk`].
#[derive(Debug, Clone, PartialEq)]
pub struct WalkPage<T> {
    /// The records not read before, in `updated_at` order.
    pub items: Vec<T>,
    /// How many records the server sent (including ones skipped as already read).
    pub fetched: usize,
    /// The cursor after this page: persist it together with `items`.
    pub cursor: WalkCursor,
    /// Whether the walk has caught up (this page was not full).
    pub is_last: bool,
    /// Requests this step sent: 1, or more when it probed for a window or dropped a page
    /// that a change during the window made untrustworthy.
    pub requests: u32,
    /// The API cost of those requests, by SalesLoft's page-depth table.
    pub cost: u64,
    /// How many records were waiting at or after the cursor this page started from, this
    /// page's included, when the page asked for counts (the first page of a walk does, at no
    /// extra cost): what a progress display can show as the total.
    pub waiting: Option<u64>,
}

/// A resumable walk over every record of a list changed since a cursor.
/// Start one with [`ListRequest::walk`].
#[derive(Debug)]
pub struct IncrementalWalk<R: ListResource> {
    request: ListRequest<R>,
    cursor: WalkCursor,
    per_page: u32,
    done: bool,
    requests: u64,
    /// Open a window before the next request (the last page was full).
    open_window: bool,
    /// Cleared when the server sends no `total_count`: windows cannot be checked then.
    windows: bool,
    /// Ask the next page outside a window for counts, to decide whether a window pays.
    count_next: bool,
}

impl<R: ListResource> ListRequest<R> {
    /// Walk every record changed since `cursor`, keeping this request's other filters
    /// (such as `cadence_id`). Sorting, paging and `updated_at` filters are the walk's own.
    pub fn walk(self, cursor: WalkCursor) -> IncrementalWalk<R> {
        let per_page = self.per_page.unwrap_or(WALK_PAGE_SIZE).clamp(1, 100);
        IncrementalWalk {
            request: self,
            open_window: false,
            cursor,
            per_page,
            done: false,
            requests: 0,
            windows: true,
            count_next: true,
        }
    }
}

impl<R: ListResource> IncrementalWalk<R> {
    /// Where the walk stands: after the last page returned.
    pub fn cursor(&self) -> &WalkCursor {
        &self.cursor
    }

    /// Whether the walk has caught up.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Requests sent so far (pages and window probes).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Fetch the next page; `None` once the walk has caught up. On error the cursor is still a
    /// point to resume from (a window opened or dropped before the failure stays so), so
    /// calling again retries.
    pub async fn next_page(&mut self) -> Result<Option<WalkPage<R::Item>>> {
        if self.done {
            return Ok(None);
        }
        if !R::RESOURCE.walkable {
            return Err(Error::InvalidArgument(format!(
                "{} cannot be walked: SalesLoft does not filter it by updated_at; list it in full",
                R::RESOURCE.name
            )));
        }
        let (mut requests, mut cost) = (0u32, 0u64);
        loop {
            if self.open_window && self.windows && self.cursor.page == 1 {
                self.open_window = false;
                self.requests += 1;
                requests += 1;
                cost += u64::from(page_cost(1));
                if let Some(to_us) = self.newest().await?
                    && self.cursor.updated_at_us.is_none_or(|c| to_us > c)
                {
                    self.cursor.window = Some(WalkWindow {
                        from_us: self.cursor.updated_at_us,
                        to_us,
                        count: None,
                    });
                }
            }
            let mut list = self.request.clone();
            list.sort_by = Some("updated_at");
            list.sort_direction = Some(SortDirection::Asc);
            list.per_page = Some(self.per_page);
            list.filters.retain(|(k, _)| !k.starts_with("updated_at["));
            let window = self.cursor.window.clone();
            let from_us = match &window {
                Some(w) => w.from_us,
                None => self.cursor.updated_at_us,
            };
            if let Some(t) = from_us.and_then(instant) {
                list.filters
                    .push(("updated_at[gte]".into(), format_filter_time(&t)));
            }
            if let Some(t) = window.as_ref().and_then(|w| instant(w.to_us)) {
                list.filters
                    .push(("updated_at[lte]".into(), format_filter_time(&t)));
            }
            // Counts tell a window whether it moved, and a first page how much is waiting. They
            // cost the server a count of the range, so nothing else asks for them.
            let counted = self.windows && (window.is_some() || self.count_next);
            list.include_paging_counts = counted;
            let page_number = self.cursor.page;
            let req = list.to_request(Some(page_number))?;
            self.requests += 1;
            requests += 1;
            cost += u64::from(page_cost(page_number));
            let page = self.request.client.get_page::<R::Item>(&req).await?;
            let fetched = page.items.len();
            let full = fetched >= self.per_page as usize;
            let count = page.paging.as_ref().and_then(|p| p.total_count);
            let window_records = u64::from(WINDOW_PAGES * self.per_page);
            let Some(w) = window else {
                // Outside a window: page 1 at the cursor (or a step inside a tie group).
                check_order(&req.path, &page.items, self.cursor.updated_at_us)?;
                let next = self.cursor.advance(&page.items, self.per_page);
                let items = self.unseen(page.items);
                // A window saves a request per 99 pages and costs one to open: worth it only
                // when more than a window's worth is waiting.
                let waiting = count.map(|c| c.saturating_sub(fetched as u64));
                self.open_window = full
                    && next.page == 1
                    && waiting.is_some_and(|w| w > window_records && w <= WINDOW_MAX_WAITING);
                if counted {
                    self.windows = count.is_some();
                    self.count_next = false;
                }
                self.cursor = next;
                self.done = !full;
                let waiting = if counted { count } else { None };
                return Ok(Some(self.step(items, fetched, requests, cost, waiting)));
            };
            let Some(count) = count else {
                // No counts from this server: a window cannot be checked, so none is used.
                self.windows = false;
                self.cursor.window = None;
                continue;
            };
            check_ceiling(&req.path, &page.items, w.to_us)?;
            // Past its first page, a window page starts where the last one ended: a record
            // read before means the positions moved.
            let repeats = page_number > 1
                && page.items.iter().any(|r| {
                    let t = r.updated_at().timestamp_micros();
                    self.cursor.updated_at_us.is_some_and(|c| t < c)
                        || self.cursor.has_seen(t, r.record_id())
                });
            if w.count.is_some_and(|c| c != count) || repeats {
                // Records left the window (or equal timestamps came back in another order):
                // this page's positions are not the ones the last page ended at. Drop it and
                // read on from the cursor.
                tracing::debug!(path = %req.path, page = page_number, ?count, expected = ?w.count, repeats, "walk window moved; reading on from the cursor");
                self.cursor.window = None;
                self.cursor.page = tie_page(self.cursor.seen_ids.len(), self.per_page);
                self.open_window = self.cursor.page == 1;
                continue;
            }
            check_order(&req.path, &page.items, self.cursor.updated_at_us)?;
            let mut next = self.cursor.advance(&page.items, self.per_page);
            // Read to the window's end (by its count, so no request finds it empty)?
            let exhausted = u64::from(page_number) * u64::from(self.per_page) >= count;
            if full && !exhausted && page_number < WINDOW_PAGES {
                next.window = Some(WalkWindow {
                    count: Some(count),
                    ..w
                });
                next.page = page_number + 1;
            } else if full && !exhausted && next.page == 1 {
                // The window's last cheap page: the next window starts at the cursor, under
                // the same ceiling (every record changed since lies above it).
                next.window = Some(WalkWindow {
                    from_us: next.updated_at_us,
                    to_us: w.to_us,
                    count: None,
                });
            }
            // A short page ends the window; page 1 at the cursor then reads what changed
            // after its ceiling (counting it: a window may pay again), and ends the walk if
            // that is a page or less.
            self.count_next = next.window.is_none();
            let items = self.unseen(page.items);
            self.cursor = next;
            return Ok(Some(self.step(items, fetched, requests, cost, None)));
        }
    }

    /// The newest `updated_at` among the list's records (one request).
    async fn newest(&self) -> Result<Option<i64>> {
        let mut list = self.request.clone();
        list.sort_by = Some("updated_at");
        list.sort_direction = Some(SortDirection::Desc);
        list.per_page = Some(1);
        list.include_paging_counts = false;
        list.filters.retain(|(k, _)| !k.starts_with("updated_at["));
        let req = list.to_request(Some(1))?;
        self.request
            .client
            .get_page::<R::Item>(&req)
            .await
            .map(|p| p.items.first().map(|r| r.updated_at().timestamp_micros()))
    }

    /// `items` without the ones the cursor has read.
    fn unseen(&self, items: Vec<R::Item>) -> Vec<R::Item> {
        items
            .into_iter()
            .filter(|r| {
                !self
                    .cursor
                    .has_seen(r.updated_at().timestamp_micros(), r.record_id())
            })
            .collect()
    }

    fn step(
        &self,
        items: Vec<R::Item>,
        fetched: usize,
        requests: u32,
        cost: u64,
        waiting: Option<u64>,
    ) -> WalkPage<R::Item> {
        WalkPage {
            items,
            fetched,
            cursor: self.cursor.clone(),
            is_last: self.done,
            requests,
            cost,
            waiting,
        }
    }

    /// The walk as a stream of records. The cursor is not visible this way: use
    /// [`IncrementalWalk::next_page`] to checkpoint.
    pub fn into_stream(self) -> impl Stream<Item = Result<R::Item>> + Send + 'static {
        use futures_util::{StreamExt, TryStreamExt};
        stream::try_unfold(self, |mut walk| async move {
            Ok(walk.next_page().await?.map(|p| (p.items, walk)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }
}

fn instant(us: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.fixed_offset())
}

/// The page to request at an instant whose first `seen` records have been read.
fn tie_page(seen: usize, per_page: u32) -> u32 {
    u32::try_from(seen).unwrap_or(u32::MAX) / per_page.max(1) + 1
}

/// A window's records must not pass its ceiling.
fn check_ceiling<T: Record>(path: &str, items: &[T], to_us: i64) -> Result<()> {
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
fn check_order<T: Record>(path: &str, items: &[T], cursor_us: Option<i64>) -> Result<()> {
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
            }),
        };
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<WalkCursor>(&s).unwrap(), c);
        assert_eq!(
            c.updated_at().unwrap().to_rfc3339(),
            "2024-03-07T07:46:00.302715+00:00"
        );
    }
}
