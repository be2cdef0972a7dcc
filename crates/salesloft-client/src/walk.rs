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
//! Reading `N` records whose timestamps are distinct costs about `N / 99` requests (each page
//! after the first repeats the one record at its cursor instant), every one at cost 1; a
//! tie group of `M` records costs `ceil(M / 100)` requests.
//!
//! # Checkpointing
//!
//! [`WalkCursor`] is plain data (serde-serialisable). Persist the cursor that comes with each
//! [`WalkPage`] in the same transaction as the page's records, and a walk restarted from it
//! continues exactly where the last committed page ended.
//!
//! # Limits
//!
//! Stepping inside a tie group relies on the server ordering equal timestamps stably; if a
//! record of a large tie group is updated while the walk is inside the group, a neighbour may
//! shift onto an already-read page. Records updated later are always seen again.

use futures_core::Stream;
use futures_util::stream;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::list::{ListRequest, SortDirection, Walkable, format_filter_time};
use crate::models::{Record, Timestamp};

/// Records per walk request: the largest page SalesLoft serves.
pub const WALK_PAGE_SIZE: u32 = 100;

/// Where an incremental walk stands. Persist it with the records it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkCursor {
    /// `updated_at` of the newest record read, in microseconds since the Unix epoch;
    /// `None` before the first record (the walk then reads everything: a backfill).
    pub updated_at_us: Option<i64>,
    /// Ids already read whose `updated_at` is exactly `updated_at_us`, sorted.
    pub seen_ids: Vec<i64>,
    /// The page to request next: 1, except inside a tie group larger than a page.
    pub page: u32,
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
        }
    }

    /// A cursor that reads records updated at or after `t`.
    pub fn since(t: Timestamp) -> Self {
        Self {
            updated_at_us: Some(t.timestamp_micros()),
            seen_ids: Vec::new(),
            page: 1,
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

    /// The cursor after reading `items` (the page fetched from `self`, in server order).
    fn advance<T: Record>(&self, items: &[T], per_page: u32) -> WalkCursor {
        let Some(last) = items.last() else {
            return self.clone();
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
        let page = u32::try_from(seen.len()).unwrap_or(u32::MAX) / per_page.max(1) + 1;
        WalkCursor {
            updated_at_us: Some(max),
            seen_ids: seen,
            page,
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
}

/// A resumable walk over every record of a list changed since a cursor.
/// Start one with [`ListRequest::walk`].
#[derive(Debug)]
pub struct IncrementalWalk<R: Walkable> {
    request: ListRequest<R>,
    cursor: WalkCursor,
    per_page: u32,
    done: bool,
    requests: u64,
}

impl<R: Walkable> ListRequest<R>
where
    R::Item: Record,
{
    /// Walk every record changed since `cursor`, keeping this request's other filters
    /// (such as `cadence_id`). Sorting, paging and `updated_at` filters are the walk's own.
    pub fn walk(self, cursor: WalkCursor) -> IncrementalWalk<R> {
        let per_page = self.per_page.unwrap_or(WALK_PAGE_SIZE).clamp(1, 100);
        IncrementalWalk {
            request: self,
            cursor,
            per_page,
            done: false,
            requests: 0,
        }
    }
}

impl<R: Walkable> IncrementalWalk<R>
where
    R::Item: Record,
{
    /// Where the walk stands: after the last page returned.
    pub fn cursor(&self) -> &WalkCursor {
        &self.cursor
    }

    /// Whether the walk has caught up.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Fetch the next page; `None` once the walk has caught up. On error the cursor stays
    /// where it was, so calling again retries the same page.
    pub async fn next_page(&mut self) -> Result<Option<WalkPage<R::Item>>> {
        if self.done {
            return Ok(None);
        }
        let mut list = self.request.clone();
        list.sort_by = Some("updated_at");
        list.sort_direction = Some(SortDirection::Asc);
        list.per_page = Some(self.per_page);
        list.filters.retain(|(k, _)| !k.starts_with("updated_at["));
        if let Some(t) = self.cursor.updated_at() {
            list.filters
                .push(("updated_at[gte]".into(), format_filter_time(&t)));
        }
        let req = list.to_request(Some(self.cursor.page))?;
        self.requests += 1;
        let page = self.request.client.get_page::<R::Item>(&req).await?;
        check_order(&req.path, &page.items, self.cursor.updated_at_us)?;
        let fetched = page.items.len();
        let next = self.cursor.advance(&page.items, self.per_page);
        let items: Vec<R::Item> = page
            .items
            .into_iter()
            .filter(|r| {
                !self
                    .cursor
                    .has_seen(r.updated_at().timestamp_micros(), r.record_id())
            })
            .collect();
        let is_last = fetched < self.per_page as usize;
        self.cursor = next;
        self.done = is_last;
        Ok(Some(WalkPage {
            items,
            fetched,
            cursor: self.cursor.clone(),
            is_last,
        }))
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
        };
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<WalkCursor>(&s).unwrap(), c);
        assert_eq!(
            c.updated_at().unwrap().to_rfc3339(),
            "2024-03-07T07:46:00.302715+00:00"
        );
    }
}
