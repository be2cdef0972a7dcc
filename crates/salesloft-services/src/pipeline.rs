//! One stream's copy from SalesLoft into the store, for any resource type: walkable lists are
//! read with salesloft-client's cost-1 incremental walk, pages fetched ahead of the writer and
//! written into checkpoints that commit them with the cursor; users and steps (which SalesLoft
//! cannot filter by `updated_at`) are listed in full. A run killed at any moment resumes with
//! nothing lost or duplicated.

use std::time::{Duration, Instant};

use salesloft_client::{
    IncrementalWalk, ListRequest, ListResource, Received, Record, Rejected, WalkCursor, WalkPage,
    page_cost,
};
use salesloft_storage::{Entity, OpenCheckpoint, PreparedRows, SyncState};
use tokio_util::task::AbortOnDropHandle;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::lookup::Lookups;
use crate::report::{Progress, StreamReport, SyncOptions};

/// One stream's run: what it works with and where it reports.
pub(crate) struct Run<'a> {
    pub(crate) ctx: &'a Context,
    pub(crate) options: SyncOptions,
    /// Once cancelled, no further page is fetched; what was fetched is committed.
    pub(crate) stop: tokio_util::sync::CancellationToken,
    pub(crate) report: &'a mut StreamReport,
    pub(crate) progress: Option<&'a Progress>,
    /// A cache to tell what each checkpoint changed, once committed.
    pub(crate) lookups: Option<&'a Lookups>,
    /// Ids written into the open checkpoint, for `lookups`.
    pub(crate) written: Vec<i64>,
}

impl Run<'_> {
    fn stream(&self) -> &str {
        &self.report.stream
    }

    fn report_progress(&self) {
        if let Some(p) = self.progress {
            p(self.report);
        }
    }

    /// Count and log what a page brought that the models did not expect: drifted fields are
    /// named once per run (never a value), quarantined items each.
    fn note_oddities<T: Record>(&mut self, items: &[Received<T>], rejected: &[Rejected]) {
        for item in items.iter().filter(|i| !i.drifted.is_empty()) {
            self.report.drifted += 1;
            for field in &item.drifted {
                if !self.report.drifted_fields.contains(field) {
                    tracing::warn!(stream = %self.report.stream, id = item.record.record_id(), field = %field,
                        "a field came with a type the model does not read: stored with its raw JSON, the field left empty");
                    self.report.drifted_fields.push(field.clone());
                }
            }
        }
        for r in rejected {
            self.report.quarantined += 1;
            tracing::warn!(stream = %self.report.stream, id = ?r.id, error = %r.error,
                "an item is not a record the local copy can keep: quarantined");
        }
    }

    /// Note the records of a page written into the open checkpoint, for the lookup cache.
    fn note_written<T: Record>(&mut self, items: &[Received<T>]) {
        if self.lookups.is_some_and(|l| l.caches(&self.report.stream)) {
            self.written
                .extend(items.iter().map(|i| i.record.record_id()));
        }
    }

    /// Commit `checkpoint` with `cursor`, count what changed, have the lookup cache forget the
    /// records written and report progress; returns the stream's new state.
    #[tracing::instrument(name = "sync.checkpoint", skip_all, fields(stream = %self.report.stream, caught_up))]
    async fn commit(
        &mut self,
        checkpoint: OpenCheckpoint,
        cursor: &WalkCursor,
        caught_up: bool,
    ) -> Result<SyncState> {
        let done = checkpoint.commit(cursor, caught_up).await?;
        if let Some(lookups) = self.lookups {
            lookups.forget_ids(&self.report.stream, &self.written).await;
        }
        self.written.clear();
        self.report.caught_up |= caught_up;
        self.report.inserted += done.stats.inserted;
        self.report.updated += done.stats.updated;
        self.report.unchanged += done.stats.unchanged;
        self.report_progress();
        Ok(done.state)
    }
}

/// Copy resource `R`: walked when SalesLoft can filter it by `updated_at`, else listed in full.
pub(crate) async fn copy<R: ListResource>(mut run: Run<'_>) -> Result<()>
where
    R::Item: Entity,
{
    let ctx = run.ctx;
    let stream = R::RESOURCE.name;
    // Reading the state creates its row, so the first run's start is recorded too.
    ctx.store.sync_state(stream).await?;
    if run.options.full {
        ctx.store.reset_sync(stream).await?;
    }
    ctx.store.sync_started(stream).await?;
    let list = ctx.client.list::<R>();
    if R::RESOURCE.walkable() {
        walk(list, &mut run).await
    } else {
        full_list(list, &mut run).await
    }
}

/// The cursor a stream's state holds (the start, before its first checkpoint).
fn cursor_of(state: &SyncState) -> Result<WalkCursor> {
    Ok(state.cursor::<WalkCursor>()?.unwrap_or_default())
}

/// The incremental walk: one request per page at cost 1, each page committed with the cursor
/// after it.
///
/// Pages are fetched ahead of the writer (at most [`FETCH_AHEAD`] waiting), so the network and
/// the database work at once. Each page is written as it arrives into an open checkpoint,
/// which commits with the cursor after its last page as soon as no page is waiting. When the
/// database falls behind, pages keep arriving and the checkpoint stays open for up to
/// [`COMMIT_INTERVAL`]: one commit then writes each index page it touched once for many pages,
/// which is what lets the database catch up. Still both or neither, so a crash costs at most
/// those pages' refetch; a page is only ever stored with or after every page before it.
async fn walk<R: ListResource>(list: ListRequest<R>, run: &mut Run<'_>) -> Result<()>
where
    R::Item: Entity,
{
    let ctx = run.ctx;
    let state = ctx.store.sync_state(run.stream()).await?;
    // Late commits: the walk notes what is settled, and re-reads what is not first.
    let clock = ctx.clock.clone();
    let walk = list
        .walk(cursor_of(&state)?)
        .with_lookback(run.options.lookback, move || clock.now().timestamp_micros());
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Fetched<R::Item>>>(FETCH_AHEAD);
    let fetcher = fetch_pages(
        walk,
        sender,
        run.stop.clone(),
        run.options.max_pages.unwrap_or(u64::MAX),
        ctx.clock.clone(),
    );
    let stream = run.stream().to_owned();
    // The fetcher decodes on another worker thread while this task writes; it stops at its
    // next page when the writer has stopped, and at once if this future is dropped.
    let fetcher = AbortOnDropHandle::new(tokio::spawn(fetcher));
    write_pages(run, state, receiver).await?;
    // The channel closed: the fetcher finished, unless it panicked.
    fetcher
        .await
        .map_err(|source| Error::FetcherStopped { stream, source })
}

/// The fetcher: up to `max_pages` pages of `walk` (pages re-read by the lookback do not
/// count: they do not move the walk on), each sent to the writer with what it needs, until
/// the walk ends, a page fails, `stop` is cancelled or the writer stops.
async fn fetch_pages<R: ListResource>(
    mut walk: IncrementalWalk<R>,
    sender: tokio::sync::mpsc::Sender<Result<Fetched<R::Item>>>,
    stop: tokio_util::sync::CancellationToken,
    max_pages: u64,
    clock: std::sync::Arc<dyn crate::Clock>,
) where
    R::Item: Entity,
{
    let mut pages = 0u64;
    while pages < max_pages {
        // Asked to stop: the page in flight is dropped (its cost is spent, the walk's
        // committed cursor is before it) and the writer commits what came before. Every
        // request of the page is sent after this moment: what it lists existed then.
        let asked_at = clock.now_ms();
        let next = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            next = walk.next_page() => next,
        };
        let fetched = match next {
            Ok(None) => return,
            Ok(Some(page)) => Ok(Fetched::of(page, asked_at)),
            Err(e) => Err(e.into()),
        };
        if !fetched.as_ref().is_ok_and(|f| f.lookback) {
            pages += 1;
        }
        let stop = fetched.as_ref().map_or(true, |f| f.is_last);
        // A send fails only when the writer has stopped: nothing more to do.
        if sender.send(fetched).await.is_err() || stop {
            return;
        }
    }
}

/// The writer: takes the fetched pages as they come into the open checkpoint, and commits it
/// when it has caught up with the fetcher, at the end, before a failure (which it then
/// reports), or after COMMIT_INTERVAL.
async fn write_pages<T: Entity>(
    run: &mut Run<'_>,
    mut state: SyncState,
    mut receiver: tokio::sync::mpsc::Receiver<Result<Fetched<T>>>,
) -> Result<()> {
    // The checkpoint being written and when it began.
    let mut open: Option<(OpenCheckpoint, Instant)> = None;
    let mut last: Option<(WalkCursor, bool)> = None;
    let mut waiting = None;
    loop {
        let first = match waiting.take() {
            Some(first) => first,
            None => match receiver.recv().await {
                Some(first) => first,
                None => break,
            },
        };
        let mut group = vec![first];
        while let Ok(next) = receiver.try_recv() {
            group.push(next);
        }
        // Write the pages before a failed fetch, then report the failure.
        let failure = group.iter().position(Result::is_err);
        let failed = failure.map(|at| group.split_off(at));
        let pages: Vec<Fetched<T>> = group.into_iter().filter_map(Result::ok).collect();
        if let Some(page) = pages.last() {
            last = Some((page.cursor.clone(), page.is_last));
        }
        write_group(run, &mut open, &state, pages).await?;
        let ending = failed.is_some() || last.as_ref().is_some_and(|(_, l)| *l);
        let due = open
            .as_ref()
            .is_some_and(|(_, began)| began.elapsed() >= COMMIT_INTERVAL);
        let mut commit_now = ending || due;
        if !commit_now && receiver.is_empty() {
            // Caught up with the fetcher: give the next page a moment before committing.
            match tokio::time::timeout(CATCH_UP_GRACE, receiver.recv()).await {
                Ok(Some(next)) => waiting = Some(next),
                Ok(None) | Err(_) => commit_now = true,
            }
        }
        if commit_now && let (Some((checkpoint, _)), Some((cursor, is_last))) = (open.take(), &last)
        {
            state = run.commit(checkpoint, cursor, *is_last).await?;
        }
        if let Some(Err(e)) = failed.and_then(|f| f.into_iter().next()) {
            return Err(e);
        }
    }
    // The fetcher stopped (its page limit): commit what was written.
    if let (Some((checkpoint, _)), Some((cursor, is_last))) = (open.take(), &last) {
        run.commit(checkpoint, cursor, *is_last).await?;
    }
    Ok(())
}

/// Write `pages` into the open checkpoint (opening one after `state` if none is), counting
/// them in the run's report.
async fn write_group<T: Entity>(
    run: &mut Run<'_>,
    open: &mut Option<(OpenCheckpoint, Instant)>,
    state: &SyncState,
    pages: Vec<Fetched<T>>,
) -> Result<()> {
    for page in pages {
        let report = &mut *run.report;
        if report.requests == 0 {
            // The run's first page counts what waits at the cursor.
            report.expected = page.waiting;
        }
        report.requests += page.requests;
        report.cost += page.cost;
        report.fetched += page.fetched;
        // Records re-read at the cursor instant were skipped by the walk.
        report.unchanged += page.skipped;
        run.note_oddities(&page.items, &page.rejected);
        run.note_written(&page.items);
        let (checkpoint, _) = match open {
            Some(open) => open,
            None => open.insert((run.ctx.store.begin_checkpoint(state).await?, Instant::now())),
        };
        checkpoint.write(page.rows).await?;
        checkpoint.quarantine(&page.rejected).await?;
    }
    Ok(())
}

/// Lists SalesLoft cannot filter by `updated_at`: read in full every run and upserted, newest
/// version winning; the cursor records the newest `updated_at` seen and the page to read next,
/// so a listing cut short (`max_pages`, a stop, an error) goes on where it stopped. A listing
/// read whole in one run shows what is gone ([`delete_unlisted`]).
async fn full_list<R: ListResource>(list: ListRequest<R>, run: &mut Run<'_>) -> Result<()>
where
    R::Item: Entity,
{
    let ctx = run.ctx;
    let mut state = ctx.store.sync_state(run.stream()).await?;
    let first_page = cursor_of(&state)?.page.max(1);
    // What the copy held before the listing: a record stored after this (by a webhook) is
    // not one the listing can show gone.
    let before = ctx.store.live_ids::<R::Item>().await?;
    let mut listing = Listing::default();
    let list = list.per_page(100);
    let mut page_number = first_page;
    loop {
        let read = u64::from(page_number - first_page);
        if run.stop.is_cancelled() || run.options.max_pages.is_some_and(|m| read >= m) {
            return Ok(());
        }
        // The first page's count is the listing's total, at no extra cost.
        let asked_at = run.ctx.now_ms();
        let page = list
            .clone()
            .page(page_number)
            .include_paging_counts(page_number == 1)
            .send_received()
            .await?;
        if page_number == 1 {
            run.report.expected = page.paging.as_ref().and_then(|p| p.total_count);
        }
        listing.note(&page.items, &page.rejected);
        run.report.requests += 1;
        run.report.cost += u64::from(page_cost(page_number));
        run.report.fetched += page.sent() as u64;
        run.note_oddities(&page.items, &page.rejected);
        run.note_written(&page.items);
        let last = page.next_page().is_none() || page.sent() == 0;
        let next = if last { 1 } else { page_number + 1 };
        let cursor = listed_cursor(&state, &page.items, next)?;
        let mut checkpoint = ctx.store.begin_checkpoint(&state).await?;
        checkpoint
            .write(PreparedRows::received(&page.items).listed_at(asked_at))
            .await?;
        checkpoint.quarantine(&page.rejected).await?;
        state = run.commit(checkpoint, &cursor, last).await?;
        if last && first_page == 1 {
            listing.pages = page_number;
            listing.total = run.report.expected;
            return delete_unlisted::<R>(run, &before, &listing).await;
        }
        if last {
            return Ok(());
        }
        page_number += 1;
    }
}

/// A full list's cursor after a page of `items`: the newest `updated_at` seen so far, and
/// `next`, the page the listing goes on from (1 once it reached the end).
fn listed_cursor<T: Record>(
    state: &SyncState,
    items: &[Received<T>],
    next: u32,
) -> Result<WalkCursor> {
    let mut cursor = cursor_of(state)?;
    if let Some(newest) = items
        .iter()
        .map(|r| r.updated_at().timestamp_micros())
        .max()
    {
        cursor.updated_at_us = Some(cursor.updated_at_us.map_or(newest, |c| c.max(newest)));
        cursor.seen_ids.clear();
    }
    cursor.page = next;
    Ok(cursor)
}

/// What one complete full listing showed.
#[derive(Default)]
struct Listing {
    /// Every id listed (readable records and quarantined items alike).
    ids: std::collections::HashSet<i64>,
    /// Pages read.
    pages: u32,
    /// The record count SalesLoft gave on the first page, if it did.
    total: Option<u64>,
}

impl Listing {
    fn note<T: Record>(&mut self, items: &[Received<T>], rejected: &[Rejected]) {
        self.ids.extend(items.iter().map(|r| r.record.record_id()));
        self.ids.extend(rejected.iter().filter_map(|r| r.id));
    }

    /// Whether a listing of a list without an `ids[]` filter can be trusted to show what is
    /// gone: one answer (nothing can shift between pages) that is not empty unless SalesLoft
    /// counted no records; or several pages whose distinct ids match the count SalesLoft gave.
    fn trusted_without_confirmation(&self) -> bool {
        let listed = self.ids.len() as u64;
        match (self.pages, self.total) {
            (1, total) => listed > 0 || total == Some(0),
            (_, Some(total)) => listed == total,
            _ => false,
        }
    }
}

/// Deletes by difference: the records the copy held before a complete full listing that the
/// listing lacks are gone, once an `ids[]` request (100 ids at cost 1) confirms it, which also
/// stores any a page shift hid. A list without that filter is trusted only as
/// [`Listing::trusted_without_confirmation`] says.
async fn delete_unlisted<R: ListResource>(
    run: &mut Run<'_>,
    before: &[i64],
    listing: &Listing,
) -> Result<()>
where
    R::Item: Entity,
{
    let ctx = run.ctx;
    let missing: Vec<i64> = before
        .iter()
        .copied()
        .filter(|id| !listing.ids.contains(id))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut gone = Vec::new();
    if R::RESOURCE.ids_filter {
        for chunk in missing.chunks(100) {
            let listed = crate::reconcile::list_by_ids::<R>(ctx, chunk).await?;
            run.report.requests += 1;
            run.report.cost += u64::from(page_cost(1));
            gone.extend(chunk.iter().filter(|id| !listed.present.contains(id)));
            if !listed.items.is_empty() {
                let rows = PreparedRows::received(&listed.items).listed_at(listed.asked_at_ms);
                let stats = ctx.store.upsert_prepared(rows).await?;
                run.report.inserted += stats.inserted;
                run.report.updated += stats.updated;
            }
        }
    } else if listing.trusted_without_confirmation() {
        gone = missing;
    } else {
        tracing::warn!(stream = %run.stream(), missing = missing.len(), pages = listing.pages, total = ?listing.total,
            "records missing from a listing that cannot be confirmed (no ids[] filter): left for the next run");
        return Ok(());
    }
    for id in gone {
        if ctx.store.soft_delete::<R::Item>(id, None).await? {
            run.report.deleted += 1;
        }
    }
    if run.report.deleted > 0 {
        tracing::info!(stream = %run.stream(), deleted = run.report.deleted, "records gone from a full listing: soft-deleted");
    }
    Ok(())
}

/// Pages fetched ahead of the writer at most.
const FETCH_AHEAD: usize = 32;

/// The longest a checkpoint stays open while pages keep coming faster than the database takes
/// them: a crash loses at most this much work (it is fetched again), and on SQLite the other
/// streams wait at most this long for the writer.
const COMMIT_INTERVAL: Duration = Duration::from_millis(1_000);

/// How long an open checkpoint waits for the next page once none is waiting before it commits:
/// a page that takes longer is a network-bound sync, where committing each page costs nothing.
const CATCH_UP_GRACE: Duration = Duration::from_millis(25);

/// One fetched page, ready to store.
struct Fetched<T> {
    lookback: bool,
    rows: PreparedRows<T>,
    items: Vec<Received<T>>,
    rejected: Vec<Rejected>,
    fetched: u64,
    skipped: u64,
    requests: u64,
    cost: u64,
    waiting: Option<u64>,
    cursor: WalkCursor,
    is_last: bool,
}

impl<T: Entity> Fetched<T> {
    /// A walk's page as the writer takes it, its rows listed at `asked_at`.
    fn of(page: WalkPage<T>, asked_at: i64) -> Self {
        Fetched {
            lookback: page.lookback,
            skipped: page
                .fetched
                .saturating_sub(page.items.len() + page.rejected.len()) as u64,
            rows: PreparedRows::received(&page.items).listed_at(asked_at),
            fetched: page.fetched as u64,
            requests: u64::from(page.requests),
            cost: page.cost,
            waiting: page.waiting,
            cursor: page.cursor,
            is_last: page.is_last,
            items: page.items,
            rejected: page.rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Listing;

    fn listing(ids: impl IntoIterator<Item = i64>, pages: u32, total: Option<u64>) -> Listing {
        Listing {
            ids: ids.into_iter().collect(),
            pages,
            total,
        }
    }

    #[test]
    fn a_listing_without_ids_filter_is_trusted_only_when_it_cannot_have_shifted() {
        // One answer: trusted, unless empty while SalesLoft did not say there are none.
        assert!(listing([1, 2], 1, None).trusted_without_confirmation());
        assert!(listing([], 1, Some(0)).trusted_without_confirmation());
        assert!(!listing([], 1, None).trusted_without_confirmation());
        assert!(!listing([], 1, Some(3)).trusted_without_confirmation());
        // Several pages: only when the distinct ids match SalesLoft's count.
        assert!(listing(1..=150, 2, Some(150)).trusted_without_confirmation());
        assert!(!listing(1..=149, 2, Some(150)).trusted_without_confirmation());
        assert!(!listing(1..=150, 2, None).trusted_without_confirmation());
    }
}
