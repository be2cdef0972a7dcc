//! [`SyncEngine`]: keeps the local copy up to date, every stream read incrementally with the
//! client's cost-1 walk and committed with its cursor, streams running concurrently under the
//! client's one limiter. How one stream is copied lives in the crate's pipeline module.

use std::fmt;
use std::time::Instant;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::error::Error;
use crate::lookup::Lookups;
use crate::pipeline::Run;
use crate::report::{Progress, StreamReport, SyncOptions, SyncReport};
use crate::streams::Stream;

/// How long a stream's sync lease lasts unless renewed; renewed every third of it, so a
/// crashed process holds a stream for at most this long.
const SYNC_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Stops the renewal task when dropped, also when the sync is cancelled mid-run.
struct Renewing(tokio::task::JoinHandle<()>);

impl Drop for Renewing {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keep `lease` renewed for as long as the returned guard lives.
fn renew_while_running(lease: salesloft_storage::Lease) -> Renewing {
    Renewing(tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease.ttl() / 3).await;
            match lease.renew().await {
                Ok(true) => {}
                Ok(false) => {
                    // Another process took the stream; the version check on every checkpoint
                    // stops this run's writes from going astray.
                    tracing::warn!(lease = lease.name(), "sync lease lost");
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = lease.name(), error = %e, "renewing the sync lease failed")
                }
            }
        }
    }))
}

/// Syncs SalesLoft into the context's store through its client.
#[derive(Clone)]
pub struct SyncEngine {
    ctx: Context,
    progress: Option<Progress>,
    lookups: Option<Lookups>,
}

impl fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncEngine")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// An engine over `ctx`: its client's limiter is shared by every stream.
    pub fn new(ctx: Context) -> Self {
        Self {
            ctx,
            progress: None,
            lookups: None,
        }
    }

    /// Have `lookups` forget the users, cadences and people each checkpoint stored, once it
    /// is committed (the cache of this process; others check theirs against the copy).
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.lookups = Some(lookups);
        self
    }

    /// Report progress to `progress` when a stream starts, after every committed checkpoint and
    /// when it ends.
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The context it works in.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Run `streams` concurrently under the client's one cost limiter. A stream's failure is
    /// reported in its [`StreamReport`] and does not stop the others; its committed pages stay.
    pub async fn sync(&self, streams: &[Stream], options: SyncOptions) -> SyncReport {
        let runs = streams.iter().map(|s| self.sync_stream(*s, options));
        SyncReport {
            streams: join_all(runs).await,
        }
    }

    /// Run every stream.
    pub async fn sync_all(&self, options: SyncOptions) -> SyncReport {
        self.sync(Stream::all(), options).await
    }

    /// The lease on syncing `stream`, waiting while another process holds it.
    async fn take_stream(
        &self,
        stream: Stream,
        options: SyncOptions,
    ) -> crate::error::Result<salesloft_storage::Lease> {
        let name = format!("sync:{}", stream.name());
        Ok(self
            .ctx
            .store
            .lease(&name, SYNC_LEASE, options.wait_for_other, || {
                tracing::info!(
                    stream = stream.name(),
                    "another process is syncing this stream; waiting for it, then resuming from its cursor"
                );
            })
            .await?)
    }

    /// Run one stream to the end (or to `max_pages`). One sync of a stream runs at a time
    /// across every process on the store: another one's is waited for.
    pub async fn sync_stream(&self, stream: Stream, options: SyncOptions) -> StreamReport {
        self.sync_stream_until(stream, options, &CancellationToken::new())
            .await
    }

    /// [`SyncEngine::sync_stream`], stopping at a safe point once `stop` is cancelled: no
    /// further page is fetched, the pages fetched already are committed with their cursor
    /// (the next run resumes there), and the report says it did not catch up. Waiting for
    /// another process's sync of the stream ends at once.
    #[tracing::instrument(name = "sync.stream", skip_all, fields(stream = stream.name()))]
    pub async fn sync_stream_until(
        &self,
        stream: Stream,
        options: SyncOptions,
        stop: &CancellationToken,
    ) -> StreamReport {
        let started = Instant::now();
        let mut report = StreamReport {
            stream: stream.name().to_owned(),
            ..StreamReport::default()
        };
        self.report_progress(&report);
        let taken = tokio::select! {
            biased;
            () = stop.cancelled() => None,
            taken = self.take_stream(stream, options) => Some(taken),
        };
        let Some(taken) = taken else {
            report.elapsed_ms = started.elapsed().as_millis() as u64;
            report.finished = true;
            self.report_progress(&report);
            return report;
        };
        let result = match taken {
            Ok(lease) => {
                let renewing = renew_while_running(lease.clone());
                let result = stream
                    .copy(Run {
                        ctx: &self.ctx,
                        options,
                        stop: stop.clone(),
                        report: &mut report,
                        progress: self.progress.as_ref(),
                        lookups: self.lookups.as_ref(),
                        written: Vec::new(),
                    })
                    .await;
                drop(renewing);
                if let Err(e) = lease.release().await {
                    tracing::debug!(stream = stream.name(), error = %e, "releasing the sync lease failed; it lapses by itself");
                }
                result
            }
            Err(e) => Err(e),
        };
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        let store = &self.ctx.store;
        match result {
            Ok(()) => {
                if let Err(e) = store.sync_succeeded(stream.name()).await {
                    report.error = Some(Error::from(e).into());
                }
            }
            Err(e) => {
                let message = crate::error_chain(&e);
                tracing::warn!(stream = stream.name(), error.message = %e, error.cause_chain = %message, "sync stream failed");
                let _ = store.sync_failed(stream.name(), &message).await;
                report.error = Some(e.into());
            }
        }
        tracing::debug!(
            stream = stream.name(),
            fetched = report.fetched,
            inserted = report.inserted,
            updated = report.updated,
            unchanged = report.unchanged,
            cost = report.cost,
            elapsed_ms = report.elapsed_ms,
            "sync stream done"
        );
        report.finished = true;
        self.report_progress(&report);
        report
    }

    fn report_progress(&self, report: &StreamReport) {
        if let Some(p) = &self.progress {
            p(report);
        }
    }
}
