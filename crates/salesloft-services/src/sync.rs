//! The sync engine: every stream read incrementally with salesloft-client's cost-1 walk and
//! written page by page with its cursor in one transaction, so a run killed at any moment
//! resumes with no record lost or duplicated.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use salesloft_client::models::Record;
use salesloft_client::{Client, ListRequest, WalkCursor, Walkable, page_cost};
use salesloft_storage::{Entity, OpenCheckpoint, Row, Store, SyncState};
use serde::Serialize;

use crate::error::{Error, Result};

/// A stream of SalesLoft records kept in the local database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// Users (listed in full: SalesLoft cannot filter them by `updated_at`).
    Users,
    /// Accounts.
    Accounts,
    /// People.
    People,
    /// Cadences.
    Cadences,
    /// Cadence steps (listed in full: no `updated_at` filter).
    Steps,
    /// Cadence memberships.
    CadenceMemberships,
    /// E-mail activities.
    Emails,
    /// Call activities.
    Calls,
}

impl Stream {
    /// Every stream.
    pub const ALL: [Stream; 8] = [
        Stream::Users,
        Stream::Accounts,
        Stream::People,
        Stream::Cadences,
        Stream::Steps,
        Stream::CadenceMemberships,
        Stream::Emails,
        Stream::Calls,
    ];

    /// The stream's name in `sync_state` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Users => "users",
            Stream::Accounts => "accounts",
            Stream::People => "people",
            Stream::Cadences => "cadences",
            Stream::Steps => "steps",
            Stream::CadenceMemberships => "cadence_memberships",
            Stream::Emails => "emails",
            Stream::Calls => "calls",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stream {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.replace('-', "_");
        Stream::ALL
            .into_iter()
            .find(|st| st.name() == wanted)
            .ok_or_else(|| Error::UnknownStream(s.to_owned()))
    }
}

/// What one stream's run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    /// The stream.
    pub stream: String,
    /// Records SalesLoft sent (including ones already stored).
    pub fetched: u64,
    /// Records new to the local copy.
    pub inserted: u64,
    /// Records that replaced an older local version.
    pub updated: u64,
    /// Records the local copy already had at this version.
    pub unchanged: u64,
    /// Requests sent.
    pub requests: u64,
    /// API cost of those requests, by SalesLoft's page-depth table.
    pub cost: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Why the stream stopped early, if it did.
    pub error: Option<String>,
}

/// What a sync run did, per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// One report per stream, in the order asked.
    pub streams: Vec<StreamReport>,
}

impl SyncReport {
    /// Whether every stream finished.
    pub fn is_ok(&self) -> bool {
        self.streams.iter().all(|s| s.error.is_none())
    }

    /// Total cost over every stream.
    pub fn cost(&self) -> u64 {
        self.streams.iter().map(|s| s.cost).sum()
    }

    /// Total records fetched over every stream.
    pub fn fetched(&self) -> u64 {
        self.streams.iter().map(|s| s.fetched).sum()
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Forget the cursors first: read everything again (rows already current are left alone).
    pub full: bool,
    /// Stop each stream after this many pages (a later run resumes where it stopped).
    pub max_pages: Option<u64>,
}

/// Called after every committed page with the stream's running report.
pub type Progress = std::sync::Arc<dyn Fn(&StreamReport) + Send + Sync>;

/// Syncs SalesLoft into a [`Store`] through a [`Client`].
#[derive(Clone)]
pub struct SyncEngine {
    client: Client,
    store: Store,
    progress: Option<Progress>,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("client", &self.client)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// An engine reading with `client` (whose limiter all streams share) into `store`.
    pub fn new(client: Client, store: Store) -> Self {
        Self {
            client,
            store,
            progress: None,
        }
    }

    /// Report progress to `progress` after every committed page.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    fn report_progress(&self, report: &StreamReport) {
        if let Some(p) = &self.progress {
            p(report);
        }
    }

    /// Run `streams` concurrently under the client's one cost limiter. A stream's failure is
    /// reported in its [`StreamReport`] and does not stop the others; its committed pages stay.
    pub async fn sync(&self, streams: &[Stream], options: SyncOptions) -> SyncReport {
        let runs = streams.iter().map(|s| self.sync_stream(*s, options));
        SyncReport {
            streams: join_all(runs).await,
        }
    }

    /// Run one stream to the end (or to `max_pages`).
    pub async fn sync_stream(&self, stream: Stream, options: SyncOptions) -> StreamReport {
        let started = Instant::now();
        let mut report = StreamReport {
            stream: stream.name().to_owned(),
            ..StreamReport::default()
        };
        let result = self.run(stream, options, &mut report).await;
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(()) => {
                if let Err(e) = self.store.sync_succeeded(stream.name()).await {
                    report.error = Some(e.to_string());
                }
            }
            Err(e) => {
                let message = error_chain(&e);
                tracing::warn!(stream = stream.name(), error = %message, "sync stream failed");
                let _ = self.store.sync_failed(stream.name(), &message).await;
                report.error = Some(message);
            }
        }
        tracing::info!(
            stream = stream.name(),
            fetched = report.fetched,
            inserted = report.inserted,
            updated = report.updated,
            unchanged = report.unchanged,
            cost = report.cost,
            elapsed_ms = report.elapsed_ms,
            "sync stream done"
        );
        report
    }

    async fn run(
        &self,
        stream: Stream,
        options: SyncOptions,
        report: &mut StreamReport,
    ) -> Result<()> {
        if options.full {
            self.store.sync_state(stream.name()).await?;
            self.store.reset_sync(stream.name()).await?;
        }
        self.store.sync_started(stream.name()).await?;
        let c = &self.client;
        match stream {
            Stream::Accounts => {
                self.walk(stream, c.accounts().list(), options, report)
                    .await
            }
            Stream::People => self.walk(stream, c.people().list(), options, report).await,
            Stream::Cadences => {
                self.walk(stream, c.cadences().list(), options, report)
                    .await
            }
            Stream::CadenceMemberships => {
                self.walk(stream, c.cadence_memberships().list(), options, report)
                    .await
            }
            Stream::Emails => self.walk(stream, c.emails().list(), options, report).await,
            Stream::Calls => self.walk(stream, c.calls().list(), options, report).await,
            Stream::Users => {
                self.full_list(stream, c.users().list(), options, report)
                    .await
            }
            Stream::Steps => {
                self.full_list(stream, c.steps().list(), options, report)
                    .await
            }
        }
    }

    /// The incremental walk: one request per page at cost 1, each page committed with the
    /// cursor after it.
    ///
    /// Pages are fetched ahead of the writer (at most [`FETCH_AHEAD`] waiting), so the network
    /// and the database work at once. Each page is written as it arrives into an open
    /// checkpoint, which commits with the cursor after its last page as soon as no page is
    /// waiting. When the database falls behind, pages keep arriving and the checkpoint stays
    /// open for up to [`COMMIT_INTERVAL`]: one commit then writes each index page it touched
    /// once for many pages, which is what lets the database catch up. Still both or neither, so
    /// a crash costs at most those pages' refetch; a page is only ever stored with or after
    /// every page before it.
    async fn walk<R>(
        &self,
        stream: Stream,
        list: ListRequest<R>,
        options: SyncOptions,
        report: &mut StreamReport,
    ) -> Result<()>
    where
        R: Walkable,
        R::Item: Entity + Record,
    {
        let mut state = self.store.sync_state(stream.name()).await?;
        let mut walk = list.walk(state.cursor.clone());
        let max_pages = options.max_pages.unwrap_or(u64::MAX);
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<Fetched>>(FETCH_AHEAD);
        let fetcher = async move {
            for _ in 0..max_pages {
                let fetched = match walk.next_page().await {
                    Ok(None) => return,
                    Ok(Some(page)) => to_rows(&page.items).map(|rows| Fetched {
                        rows,
                        fetched: page.fetched as u64,
                        skipped: (page.fetched - page.items.len()) as u64,
                        requests: u64::from(page.requests),
                        cost: page.cost,
                        cursor: page.cursor,
                        is_last: page.is_last,
                    }),
                    Err(e) => Err(e.into()),
                };
                let stop = fetched.as_ref().map_or(true, |f| f.is_last);
                // A send fails only when the writer has stopped: nothing more to do.
                if sender.send(fetched).await.is_err() || stop {
                    return;
                }
            }
        };
        let writer = async move {
            // The checkpoint being written and when it began: it takes the pages as they come
            // and commits when the writer has caught up with the fetcher, at the end, before a
            // failure, or after COMMIT_INTERVAL.
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
                let pages: Vec<Fetched> = group.into_iter().filter_map(Result::ok).collect();
                if let Some(page) = pages.last() {
                    last = Some((page.cursor.clone(), page.is_last));
                    let mut rows = Vec::with_capacity(pages.iter().map(|p| p.rows.len()).sum());
                    for page in pages {
                        report.requests += page.requests;
                        report.cost += page.cost;
                        report.fetched += page.fetched;
                        // Records re-read at the cursor instant were skipped by the walk.
                        report.unchanged += page.skipped;
                        rows.extend(page.rows);
                    }
                    let (checkpoint, _) = match &mut open {
                        Some(open) => open,
                        None => open
                            .insert((self.store.begin_checkpoint(&state).await?, Instant::now())),
                    };
                    checkpoint.write(&R::Item::TABLE, rows).await?;
                }
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
                if commit_now
                    && let (Some((checkpoint, _)), Some((cursor, is_last))) = (open.take(), &last)
                {
                    state = self.commit(checkpoint, cursor, *is_last, report).await?;
                }
                if let Some(Err(e)) = failed.and_then(|f| f.into_iter().next()) {
                    return Err(e);
                }
            }
            // The fetcher stopped (its page limit): commit what was written.
            if let (Some((checkpoint, _)), Some((cursor, is_last))) = (open.take(), &last) {
                self.commit(checkpoint, cursor, *is_last, report).await?;
            }
            Ok(())
        };
        // The fetcher decodes on another worker thread while this task writes; it stops at its
        // next page when the writer has stopped, and at once if this future is dropped.
        let mut fetcher = AbortOnDrop(tokio::spawn(fetcher));
        writer.await?;
        // The channel closed: the fetcher finished, unless it panicked.
        (&mut fetcher.0).await.map_err(|e| Error::FetcherStopped {
            stream: stream.name().to_owned(),
            reason: e.to_string(),
        })
    }

    /// Lists SalesLoft cannot filter by `updated_at`: read in full every run (they are small)
    /// and upserted, newest version winning; the cursor records the newest `updated_at` seen.
    async fn full_list<R>(
        &self,
        stream: Stream,
        list: ListRequest<R>,
        options: SyncOptions,
        report: &mut StreamReport,
    ) -> Result<()>
    where
        R: salesloft_client::ListResource,
        R::Item: Entity + Record,
    {
        let mut state = self.store.sync_state(stream.name()).await?;
        let list = list.per_page(100);
        let mut page_number = 1u32;
        loop {
            if options
                .max_pages
                .is_some_and(|m| u64::from(page_number) > m)
            {
                break;
            }
            let page = list.clone().page(page_number).send().await?;
            report.requests += 1;
            report.cost += u64::from(page_cost(page_number));
            report.fetched += page.items.len() as u64;
            let last = page.next_page().is_none() || page.items.is_empty();
            let mut cursor = state.cursor.clone();
            if let Some(newest) = page
                .items
                .iter()
                .map(|r| r.updated_at().timestamp_micros())
                .max()
            {
                cursor.updated_at_us = Some(cursor.updated_at_us.map_or(newest, |c| c.max(newest)));
                cursor.seen_ids.clear();
                cursor.page = 1;
            }
            let mut checkpoint = self.store.begin_checkpoint(&state).await?;
            checkpoint
                .write(&R::Item::TABLE, to_rows(&page.items)?)
                .await?;
            state = self.commit(checkpoint, &cursor, last, report).await?;
            if last {
                break;
            }
            page_number += 1;
        }
        Ok(())
    }

    /// Commit `checkpoint` with `cursor`, count what changed in `report` and report progress;
    /// returns the stream's new state.
    async fn commit(
        &self,
        checkpoint: OpenCheckpoint,
        cursor: &WalkCursor,
        caught_up: bool,
        report: &mut StreamReport,
    ) -> Result<SyncState> {
        let done = checkpoint.commit(cursor, caught_up).await?;
        report.inserted += done.stats.inserted;
        report.updated += done.stats.updated;
        report.unchanged += done.stats.unchanged;
        self.report_progress(report);
        Ok(done.state)
    }

    /// Every stream's state.
    pub async fn status(&self) -> Result<Vec<SyncState>> {
        Ok(self.store.sync_states().await?)
    }
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

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One fetched page, ready to store.
struct Fetched {
    rows: Vec<Row>,
    fetched: u64,
    skipped: u64,
    requests: u64,
    cost: u64,
    cursor: salesloft_client::WalkCursor,
    is_last: bool,
}

/// Rows of records, each in its own UTC offset (the team's: SalesLoft writes every timestamp in
/// it), which sets the day an activity counts for.
fn to_rows<T: Entity>(items: &[T]) -> Result<Vec<Row>> {
    items
        .iter()
        .map(|r| Ok(r.to_row(*r.updated_at().offset())?))
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// How far behind SalesLoft a stream is: now minus its cursor.
pub fn lag(state: &SyncState) -> Option<Duration> {
    let cursor_ms = state.cursor.updated_at_us? / 1000;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    Some(Duration::from_millis(
        now_ms.saturating_sub(cursor_ms).max(0) as u64,
    ))
}
