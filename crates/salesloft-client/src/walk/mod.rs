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

use std::time::Duration;

mod cursor;

pub use cursor::{WALK_PAGE_SIZE, WINDOW_MAX_WAITING, WINDOW_PAGES, WalkCursor, WalkWindow};
use cursor::{check_ceiling, check_order, instant, next_in_window, tie_page, tie_page_at};

use crate::client::Request;
use crate::error::{Error, Result};
use crate::list::{ListRequest, ListResource, SortDirection, format_filter_time};
use crate::models::Record;
use crate::wire::{Page, Received, Rejected};
use salesloft_model::page_cost;

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
        if !R::RESOURCE.walkable() {
            return Err(Error::InvalidArgument(format!(
                "{} cannot be walked: SalesLoft does not filter it by updated_at; list it in full",
                R::RESOURCE.name
            )));
        }
        let mut spent = Spent::default();
        loop {
            self.settle();
            self.open_window_if_due(&mut spent).await?;
            let window = self.cursor.window.clone();
            let plan = self.plan(window.as_ref())?;
            self.requests += 1;
            spent.request(plan.page_number);
            let read_at = self.read_at();
            let page = self.request.client.get_page::<R::Item>(&plan.req).await?;
            let read = match window {
                None => Some(self.cursor_step(&plan, page, read_at, spent)?),
                Some(w) => self.window_step(&plan, w, page, read_at, spent)?,
            };
            if let Some(read) = read {
                return Ok(Some(read));
            }
        }
    }

    /// Open a counted window at page 1 when one is due: its ceiling is the newest record (or,
    /// with a lookback, where late commits can no longer arrive: one that joined the window
    /// between two pages, while a record left it, would leave the count as it was and shift
    /// the positions unseen; newer records are read by keyset after it).
    async fn open_window_if_due(&mut self, spent: &mut Spent) -> Result<()> {
        if !(self.open_window && self.windows && self.cursor.page == 1) {
            return Ok(());
        }
        self.open_window = false;
        self.requests += 1;
        spent.request(1);
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
        Ok(())
    }

    /// The next request: the cursor's page (or, in a tie group's window, the page where its
    /// read part ends), sorted by `updated_at` ascending within the window's bounds or from
    /// the cursor, with counts when a window needs them or a first page may open one (they
    /// cost the server a count of the range, so nothing else asks for them).
    fn plan(&self, window: Option<&WalkWindow>) -> Result<PlannedPage> {
        let (page_number, per_page) = match window {
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
        let from_us = match window {
            Some(w) => w.from_us,
            None => self.cursor.updated_at_us,
        };
        if let Some(t) = from_us.and_then(instant) {
            list.filters
                .push(("updated_at[gte]".into(), format_filter_time(&t)));
        }
        if let Some(t) = window.and_then(|w| instant(w.to_us)) {
            list.filters
                .push(("updated_at[lte]".into(), format_filter_time(&t)));
        }
        let counted = self.windows && (window.is_some() || self.count_next);
        list.include_paging_counts = counted;
        Ok(PlannedPage {
            req: list.to_request(Some(page_number))?,
            page_number,
            per_page,
            counted,
        })
    }

    /// Outside a window: page 1 at the cursor (or a step inside a tie group).
    fn cursor_step(
        &mut self,
        plan: &PlannedPage,
        page: Page<Received<R::Item>>,
        read_at: Option<i64>,
        spent: Spent,
    ) -> Result<WalkPage<R::Item>> {
        let path = &plan.req.path;
        let fetched = page.sent();
        let full = fetched >= plan.per_page as usize;
        let count = page.paging.as_ref().and_then(|p| p.total_count);
        check_order(path, &page.items, self.cursor.updated_at_us)?;
        let mut next = self.cursor.advance(&page.items, self.per_page);
        if full
            && next.updated_at_us == self.cursor.updated_at_us
            && next.page == self.cursor.page
            && next.seen_ids == self.cursor.seen_ids
        {
            return Err(Error::Protocol {
                path: path.clone(),
                message: format!(
                    "a full page holds no readable record ({} rejected): the walk cannot move past it",
                    page.rejected.len()
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
        // A window saves a request per 99 pages and costs one to open: worth it only when
        // more than a window's worth is waiting.
        let window_records = u64::from(WINDOW_PAGES * self.per_page);
        let waiting = count.map(|c| c.saturating_sub(fetched as u64));
        self.open_window = full
            && next.page == 1
            && waiting.is_some_and(|w| w > window_records && w <= WINDOW_MAX_WAITING);
        if plan.counted {
            self.windows = count.is_some();
            self.count_next = false;
        }
        self.cursor = next;
        self.done = !full;
        let waiting = if plan.counted { count } else { None };
        Ok(self.step(
            items,
            page.rejected,
            fetched,
            spent.requests,
            spent.cost,
            waiting,
        ))
    }

    /// A page of window `w`; `None` when the page cannot be used (no counts from this server,
    /// or the window moved) and the walk reads again from the cursor.
    fn window_step(
        &mut self,
        plan: &PlannedPage,
        w: WalkWindow,
        page: Page<Received<R::Item>>,
        read_at: Option<i64>,
        spent: Spent,
    ) -> Result<Option<WalkPage<R::Item>>> {
        let path = &plan.req.path;
        let page_number = plan.page_number;
        let fetched = page.sent();
        let full = fetched >= plan.per_page as usize;
        let Some(count) = page.paging.as_ref().and_then(|p| p.total_count) else {
            // No counts from this server: a window cannot be checked, so none is used.
            self.windows = false;
            self.cursor.window = None;
            self.lookback = None;
            return Ok(None);
        };
        check_ceiling(path, &page.items, w.to_us)?;
        if w.is_tie_group() {
            return Ok(Some(self.tie_group_step(TieRead {
                path,
                read_at,
                window: w,
                offset: u64::from(page_number - 1) * u64::from(plan.per_page),
                per_page: plan.per_page,
                count,
                items: page.items,
                rejected: page.rejected,
                fetched,
                requests: spent.requests,
                cost: spent.cost,
            })?));
        }
        if self.window_moved(&w, page_number, count, &page.items) {
            // Records left the window (or equal timestamps came back in another order): this
            // page's positions are not the ones the last page ended at. Drop it and read on
            // from the cursor.
            tracing::debug!(path = %path, page = page_number, ?count, expected = ?w.count, "walk window moved; reading on from the cursor");
            self.cursor.window = None;
            self.cursor.page = tie_page(self.cursor.seen_ids.len(), self.per_page);
            self.open_window = self.cursor.page == 1;
            return Ok(None);
        }
        check_order(path, &page.items, self.cursor.updated_at_us)?;
        let mut next = self.cursor.advance(&page.items, self.per_page);
        let to = next_in_window(&mut next, w, page_number, self.per_page, count, full);
        self.covered(&mut next, self.cursor.updated_at_us, to, read_at);
        let items = self.unseen(page.items);
        // A short page ends the window; page 1 at the cursor then reads what changed after
        // its ceiling (counting it: a window may pay again), and ends the walk if that is a
        // page or less.
        self.count_next = next.window.is_none();
        self.cursor = next;
        Ok(Some(self.step(
            items,
            page.rejected,
            fetched,
            spent.requests,
            spent.cost,
            None,
        )))
    }

    /// Whether window `w` moved under page `page_number` of it: its count changed, or (past
    /// its first page, which starts where the last one ended) the page repeats a record read
    /// before.
    fn window_moved(
        &self,
        w: &WalkWindow,
        page_number: u32,
        count: u64,
        items: &[Received<R::Item>],
    ) -> bool {
        let repeats = page_number > 1
            && items.iter().any(|r| {
                let t = r.updated_at().timestamp_micros();
                self.cursor.updated_at_us.is_some_and(|c| t < c)
                    || self.cursor.has_seen(t, r.record_id())
            });
        w.count.is_some_and(|c| c != count) || repeats
    }

    /// A page of a tie group's window (see the module docs). The window knows how many of the
    /// group's first records are read under its count; a lower count means as many fewer may
    /// be, a higher one (a late commit into the group) none.
    fn tie_group_step(&mut self, read: TieRead<'_, R::Item>) -> Result<WalkPage<R::Item>> {
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
        Ok(self.step(items, rejected, fetched, requests, cost, None))
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
/// A request the walk is about to send, and what reading its answer needs to know.
struct PlannedPage {
    req: Request,
    page_number: u32,
    per_page: u32,
    /// Whether it asked for counts.
    counted: bool,
}

/// Requests sent and cost spent by one call of `next_page`.
#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    requests: u32,
    cost: u64,
}

impl Spent {
    fn request(&mut self, page_number: u32) {
        self.requests = self.requests.saturating_add(1);
        self.cost = self.cost.saturating_add(u64::from(page_cost(page_number)));
    }
}

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
