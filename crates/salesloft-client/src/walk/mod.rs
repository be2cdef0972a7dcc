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
//! # Tie groups larger than a page
//!
//! When more records share one `updated_at` instant `T` than fit on a page (a bulk update),
//! the walk reads that group as a window of its own, `updated_at[gte]=T&updated_at[lte]=T`
//! with counts, by page number, skipping the ids already read. Its first page is read again
//! (the group's first records came on a page that did not count the group). A record of the
//! group updated or deleted while the walk is inside it leaves the group and lowers the count:
//! then every record not yet read can have moved back at most that many places, so the walk
//! steps back as many records (to the page holding the first that may have moved) and reads on
//! with the new count. A higher count (a record committed late into the group) sends it back
//! to the group's first page. Once the group is read to its end under an unchanged count, the
//! cursor moves to the next microsecond, `T + 1µs`, and the group is never paged again.
//!
//! Extra cost: a group of `G > 100` records costs `ceil(G / 100) + 1` requests instead of
//! `ceil(G / 100)`; each change seen inside it costs at most `ceil(d / 100) + 1` more, where
//! `d` is how many records left the group since the previous page (a late commit into the
//! group: a re-read of the part already read). A walk so reads every record that is in the
//! group from before the walk reaches it until after it leaves, whatever changes meanwhile;
//! the one case no count can see is a late commit into the group between two of its pages
//! that exactly offsets a record leaving it, which the lookback catches when the group is
//! recent.
//!
//! # Lookback
//!
//! A transaction that took its `updated_at` before committing can appear behind a cursor that
//! has already passed it. With [`IncrementalWalk::with_lookback`] (the longest commit delay,
//! `L`, and a clock), every read notes up to which instant all records have been read at
//! least `2L` after their `updated_at`, when no late commit can still come
//! ([`WalkCursor::settled_us`]; the margin covers clock skew up to `L` too). A walk then
//! starts from just after that instant instead of its cursor, by keyset (page 1 at a cursor,
//! which no change can shift), re-reading the stored records up to its cursor (a monotonic
//! upsert leaves them alone) and reading on. Cost: nothing more while the unsettled stretch
//! holds less than a page, as it does on an idle team; otherwise the records changed in the
//! last `2L` of the previous walk, 99 per request.
//!
//! A late commit can also join a window while the walk reads it; with a record leaving it at
//! the same time, the count would not change while the positions did. So with a lookback, a
//! window's ceiling is capped at the instants already past that horizon (`now - 2L`), where
//! nothing can join; records newer than that are read by keyset.
//!
//! # Checkpointing
//!
//! [`WalkCursor`] is plain data (serde-serialisable). Persist the cursor that comes with each
//! [`WalkPage`] in the same transaction as the page's records, and a walk restarted from it
//! continues exactly where the last committed page ended.
//!
//! # Limits
//!
//! The walk relies on the server ordering records that share an `updated_at` the same way on
//! every request (the sandbox orders them by id). Against a server that sends no
//! `total_count`, neither windows nor the count checks of tie groups are possible; the walk
//! then steps through a tie group by page number, which a change inside the group can shift.

use futures_core::Stream;
use futures_util::stream;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use crate::error::{Error, Result};
use crate::list::{ListRequest, ListResource, SortDirection, format_filter_time};
use crate::models::{Record, Timestamp};
use crate::wire::{Received, Rejected};
use salesloft_model::page_cost;

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
    fn remember<T: Record>(&mut self, items: &[T]) {
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

/// One step of an [`IncrementalWalk`].
#[derive(Debug, Clone, PartialEq)]
pub struct WalkPage<T> {
    /// The records not read before, in `updated_at` order, each with its JSON as received.
    pub items: Vec<Received<T>>,
    /// Items of the page that are not records (see [`Rejected`]).
    pub rejected: Vec<Rejected>,
    /// How many items the server sent (including ones skipped as already read and rejected
    /// ones).
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
    /// Whether this page only re-read stored records behind the cursor the walk started from
    /// (see [`IncrementalWalk::with_lookback`]) rather than moving the walk on.
    pub lookback: bool,
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
    /// While the lookback re-reads: the cursor instant the walk started from (pages up to it
    /// re-read what is stored).
    lookback: Option<i64>,
    /// With a lookback: what tracks the settled instant (see [`WalkCursor::settled_us`]).
    settle: Option<Settle>,
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
            lookback: None,
            settle: None,
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

    /// Guard against late commits (see the module docs): records SalesLoft commits up to
    /// `interval` after their `updated_at`, and a clock (`now_us`, µs since the epoch) off from
    /// SalesLoft's by at most as much. The walk notes in its cursor up to which instant every
    /// record has been read at least `2 × interval` after it ([`WalkCursor::settled_us`]),
    /// starts from just after that instant (re-reading what lies between it and the cursor),
    /// and caps its windows' ceilings at `now - 2 × interval`. Starting inside a window or a
    /// tie group, it only notes and caps.
    pub fn with_lookback(
        mut self,
        interval: Duration,
        now_us: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Self {
        let span = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX);
        if span <= 0 {
            return self;
        }
        self.settle = Some(Settle {
            margin_us: span.saturating_mul(2),
            now_us: std::sync::Arc::new(now_us),
        });
        let c = &self.cursor;
        let Some(at) = c.updated_at_us else {
            return self;
        };
        if c.window.is_some() || c.page != 1 {
            return self;
        }
        // A cursor from before settling was noted: the interval behind it is all there is.
        let settled = c
            .settled_us
            .unwrap_or(at.saturating_sub(span).saturating_sub(1));
        let from = settled.saturating_add(1);
        self.cursor.settled_us = Some(settled);
        // Records at the cursor instant itself come again with its first page anyway.
        if from >= at {
            return self;
        }
        // Read on from there by keyset (a page at a time from the cursor, which no change can
        // shift), through the stored records back to where the walk stood and on.
        self.lookback = Some(at);
        self.cursor = WalkCursor {
            updated_at_us: Some(from),
            seen_ids: Vec::new(),
            page: 1,
            window: None,
            settled_us: Some(settled),
        };
        self
    }

    /// The current time by the lookback's clock, if there is a lookback.
    fn read_at(&self) -> Option<i64> {
        self.settle.as_ref().map(|s| (s.now_us)())
    }

    /// Note that every record from `from` (inclusive; `None`: the beginning) to `to`
    /// (inclusive) has been read at `read_at`: the settled instant moves up if that reading
    /// joins it and was late enough.
    fn covered(&self, cursor: &mut WalkCursor, from: Option<i64>, to: i64, read_at: Option<i64>) {
        let (Some(settle), Some(read_at)) = (&self.settle, read_at) else {
            return;
        };
        let joins = match (from, cursor.settled_us) {
            (None, _) => true,
            (Some(f), Some(s)) => s.saturating_add(1) >= f,
            (Some(_), None) => false,
        };
        if joins {
            let now_settled = to.min(read_at.saturating_sub(settle.margin_us));
            cursor.settled_us = Some(
                cursor
                    .settled_us
                    .map_or(now_settled, |s| s.max(now_settled)),
            );
        }
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
            self.settle();
            if self.open_window && self.windows && self.cursor.page == 1 {
                self.open_window = false;
                self.requests += 1;
                requests += 1;
                cost += u64::from(page_cost(1));
                // With a lookback, a window ends where late commits can no longer arrive:
                // one that joined it between two pages, while a record left it, would leave
                // the count as it was and shift the positions unseen. Newer records are read
                // by keyset after it.
                let horizon = self
                    .settle
                    .as_ref()
                    .map_or(i64::MAX, |s| (s.now_us)().saturating_sub(s.margin_us));
                if let Some(to_us) = self.newest().await?.map(|t| t.min(horizon))
                    && self.cursor.updated_at_us.is_none_or(|c| to_us > c)
                {
                    self.cursor.window = Some(WalkWindow {
                        from_us: self.cursor.updated_at_us,
                        to_us,
                        count: None,
                        read: 0,
                        moved: 0,
                    });
                }
            }
            let window = self.cursor.window.clone();
            // A tie group's window is read from where its read part ends.
            let (page_number, per_page) = match &window {
                Some(w) if w.is_tie_group() => {
                    tie_page_at(w.read.saturating_sub(w.moved), self.per_page)
                }
                _ => (self.cursor.page, self.per_page),
            };
            let mut list = self.request.clone();
            list.sort_by = Some("updated_at");
            list.sort_direction = Some(SortDirection::Asc);
            list.per_page = Some(per_page);
            list.filters.retain(|(k, _)| !k.starts_with("updated_at["));
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
            let req = list.to_request(Some(page_number))?;
            self.requests += 1;
            requests += 1;
            cost += u64::from(page_cost(page_number));
            let read_at = self.read_at();
            let page = self.request.client.get_page::<R::Item>(&req).await?;
            let fetched = page.sent();
            let full = fetched >= per_page as usize;
            let count = page.paging.as_ref().and_then(|p| p.total_count);
            let rejected = page.rejected;
            let window_records = u64::from(WINDOW_PAGES * self.per_page);
            let Some(w) = window else {
                // Outside a window: page 1 at the cursor (or a step inside a tie group).
                check_order(&req.path, &page.items, self.cursor.updated_at_us)?;
                let mut next = self.cursor.advance(&page.items, self.per_page);
                if full
                    && next.updated_at_us == self.cursor.updated_at_us
                    && next.page == self.cursor.page
                    && next.seen_ids == self.cursor.seen_ids
                {
                    return Err(Error::Protocol {
                        path: req.path.clone(),
                        message: format!(
                            "a full page holds no readable record ({} rejected): the walk cannot move past it",
                            rejected.len()
                        ),
                    });
                }
                // A full page read everything before its last instant; a short one, everything.
                let to = match next.updated_at_us {
                    Some(last) if full => last.saturating_sub(1),
                    _ => i64::MAX,
                };
                self.covered(&mut next, self.cursor.updated_at_us, to, read_at);
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
                return Ok(Some(
                    self.step(items, rejected, fetched, requests, cost, waiting),
                ));
            };
            let Some(count) = count else {
                // No counts from this server: a window cannot be checked, so none is used.
                self.windows = false;
                self.cursor.window = None;
                self.lookback = None;
                continue;
            };
            check_ceiling(&req.path, &page.items, w.to_us)?;
            if w.is_tie_group() {
                return self.tie_group_step(TieRead {
                    path: &req.path,
                    read_at,
                    window: w,
                    offset: u64::from(page_number - 1) * u64::from(per_page),
                    per_page,
                    count,
                    items: page.items,
                    rejected,
                    fetched,
                    requests,
                    cost,
                });
            }
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
                    read: 0,
                    moved: 0,
                });
            }
            let to = if !full || exhausted {
                w.to_us
            } else {
                next.updated_at_us
                    .map_or(i64::MIN, |last| last.saturating_sub(1))
            };
            self.covered(&mut next, self.cursor.updated_at_us, to, read_at);
            let items = self.unseen(page.items);
            // A short page ends the window; page 1 at the cursor then reads what changed
            // after its ceiling (counting it: a window may pay again), and ends the walk if
            // that is a page or less.
            self.count_next = next.window.is_none();
            self.cursor = next;
            return Ok(Some(
                self.step(items, rejected, fetched, requests, cost, None),
            ));
        }
    }

    /// A page of a tie group's window (see the module docs). The window knows how many of the
    /// group's first records are read under its count; a lower count means as many fewer may
    /// be, a higher one (a late commit into the group) none.
    fn tie_group_step(&mut self, read: TieRead<'_, R::Item>) -> Result<Option<WalkPage<R::Item>>> {
        let TieRead {
            path,
            read_at,
            window: w,
            offset,
            per_page,
            count,
            items,
            rejected,
            fetched,
            requests,
            cost,
        } = read;
        let at = w.to_us;
        check_order(path, &items, Some(at))?;
        let items = self.unseen(items);
        self.cursor.remember(&items);
        // This page holds the records at [offset, end) under `count`.
        let end = offset.saturating_add(fetched as u64);
        let before = match w.count {
            None => 0,
            Some(expected) if count < expected => w.read.saturating_sub(expected - count),
            Some(expected) if count > expected => 0,
            Some(_) => w.read,
        };
        let read_now = if offset <= before {
            end.max(before)
        } else {
            before
        };
        if w.count.is_some_and(|expected| expected != count) {
            tracing::debug!(path, offset, count, expected = ?w.count, read = read_now, "tie group changed while read; reading on from what is certain");
        }
        let moved = match w.count {
            Some(expected) if count < expected => w.moved.max(expected - count),
            _ => w.moved,
        };
        let short = fetched < per_page as usize;
        if read_now >= count || (short && read_now >= end) {
            // The whole group is read: the walk goes on after its instant.
            let mut next = WalkCursor {
                updated_at_us: Some(at.saturating_add(1)),
                seen_ids: Vec::new(),
                page: 1,
                window: None,
                settled_us: self.cursor.settled_us,
            };
            self.covered(&mut next, Some(at), at, read_at);
            self.cursor = next;
            self.count_next = true;
        } else {
            self.cursor.window = Some(WalkWindow {
                count: Some(count),
                read: read_now,
                moved,
                ..w
            });
            self.cursor.page = 1;
        }
        Ok(Some(
            self.step(items, rejected, fetched, requests, cost, None),
        ))
    }

    /// Outside a window, a step past page 1 is inside a tie group larger than a page: read it
    /// as a window of its own, from its first page, when the server sends counts.
    fn settle(&mut self) {
        if self.windows
            && self.cursor.window.is_none()
            && self.cursor.page > 1
            && let Some(at) = self.cursor.updated_at_us
        {
            self.cursor.window = Some(WalkWindow {
                from_us: Some(at),
                to_us: at,
                count: None,
                read: 0,
                moved: 0,
            });
            self.cursor.page = 1;
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
    fn unseen(&self, items: Vec<Received<R::Item>>) -> Vec<Received<R::Item>> {
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
        &mut self,
        items: Vec<Received<R::Item>>,
        rejected: Vec<Rejected>,
        fetched: usize,
        requests: u32,
        cost: u64,
        waiting: Option<u64>,
    ) -> WalkPage<R::Item> {
        // The cursor handed out for checkpointing is the one the next call starts from.
        self.settle();
        // Pages that end at or before where the walk started re-read stored records.
        let lookback = match (self.lookback, self.cursor.updated_at_us) {
            (Some(start), Some(at)) if at <= start && !self.done => true,
            (Some(_), _) => {
                self.lookback = None;
                false
            }
            _ => false,
        };
        WalkPage {
            lookback,
            items,
            rejected,
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
            Ok::<_, Error>(walk.next_page().await?.map(|p| (p.items, walk)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(|r| Ok(r.record))))
        .try_flatten()
        .boxed()
    }
}

/// What notes the settled instant: the margin a read must be late by, and the clock.
#[derive(Clone)]
struct Settle {
    margin_us: i64,
    now_us: std::sync::Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl std::fmt::Debug for Settle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settle")
            .field("margin_us", &self.margin_us)
            .finish_non_exhaustive()
    }
}

/// What a tie group's page brought.
struct TieRead<'a, T> {
    path: &'a str,
    read_at: Option<i64>,
    window: WalkWindow,
    offset: u64,
    per_page: u32,
    count: u64,
    items: Vec<Received<T>>,
    rejected: Vec<Rejected>,
    fetched: usize,
    requests: u32,
    cost: u64,
}

fn instant(us: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.fixed_offset())
}

/// The page to request at an instant whose first `seen` records have been read.
fn tie_page(seen: usize, per_page: u32) -> u32 {
    u32::try_from(seen).unwrap_or(u32::MAX) / per_page.max(1) + 1
}

/// The page and page size that read on from the first `read` records of a tie group,
/// starting as close before that point as a page boundary allows (page sizes from half the
/// walk's up to it are tried; cost-1 pages preferred).
fn tie_page_at(read: u64, per_page: u32) -> (u32, u32) {
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
