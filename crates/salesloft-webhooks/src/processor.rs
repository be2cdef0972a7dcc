//! [`Processor`]: apply a stored delivery to the local copy.

use std::sync::Arc;
use std::time::Duration;

use salesloft_services::{Applied, Context, DeleteHint, Lookups, Stream};
use salesloft_storage::{InboxOutcome, NewJob};

use crate::error::{Error, Result};
use crate::event::Action;

/// The job kind that processes stored deliveries (those one inbox transaction stored); its
/// payload is `{"inbox_ids": [...]}`.
pub const PROCESS_KIND: &str = "webhook";

/// The payload of a [`PROCESS_KIND`] job: storage's, which its SQL writes.
pub use salesloft_storage::ProcessPayload;

/// How a batch of deliveries went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// Deliveries applied (rows changed or found stale).
    pub applied: usize,
    /// Deliveries skipped, done before or gone.
    pub skipped: usize,
    /// Deliveries kept as failed (not a record; or, on the last attempt, still erroring).
    pub failed: usize,
    /// Deliveries that errored and stay pending for the next attempt, with the first error.
    pub retry: Vec<(i64, String)>,
    /// SalesLoft rejected the credentials while confirming deliveries: the hold the next
    /// attempt waits for.
    pub credentials_rejected: Option<salesloft_model::CredentialHold>,
}

impl BatchReport {
    /// Count one delivery's outcome; note its stream when it was applied.
    fn count(&mut self, processed: &Processed, streams: &mut Vec<Stream>) {
        match processed {
            Processed::Applied { stream, .. } => {
                self.applied += 1;
                if !streams.contains(stream) {
                    streams.push(*stream);
                }
            }
            Processed::Failed(_) => self.failed += 1,
            _ => self.skipped += 1,
        }
    }
}

/// A delivery read: done, or a delete to confirm with the others of its stream.
enum Step {
    Done(Processed),
    Delete(Stream, DeleteHint),
}

/// Makes the job that syncs a stream, for pulling its next sync forward.
pub type SyncJobFor = Arc<dyn Fn(Stream) -> NewJob + Send + Sync>;

/// What processing one delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Processed {
    /// Applied to `stream` (the local row changed, or it was stale and left alone).
    Applied {
        /// The stream.
        stream: Stream,
        /// What happened to the row.
        applied: Applied,
    },
    /// An event type that carries no synced record: kept, marked skipped.
    Skipped,
    /// The body is not a record of its stream: kept, marked failed with the reason.
    Failed(String),
    /// Processed before (a second run of its job): nothing done.
    AlreadyDone,
    /// No such delivery (pruned).
    Missing,
}

/// Applies stored deliveries: a body that is not a record of its event type's resource is
/// kept as failed with the reason; a record in its new state is upserted with the sync's
/// monotonic guard (a duplicate, or an older state delivered after a newer one, changes
/// nothing); a `*_deleted` record is a hint, marked deleted (its last version kept) only once
/// SalesLoft no longer lists it; then the stream's next sync is pulled forward (debounced), so
/// the poller confirms what the webhook said.
#[derive(Clone)]
pub struct Processor {
    ctx: Context,
    sync_job: Option<SyncJobFor>,
    sync_after: Duration,
    lookups: Option<Lookups>,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("ctx", &self.ctx)
            .field("pulls_syncs_forward", &self.sync_job.is_some())
            .field("sync_after", &self.sync_after)
            .field("invalidates_lookups", &self.lookups.is_some())
            .finish()
    }
}

impl Processor {
    /// A processor writing through `ctx`'s store.
    pub fn new(ctx: Context) -> Self {
        Self {
            ctx,
            sync_job: None,
            sync_after: Duration::from_secs(5),
            lookups: None,
        }
    }

    /// After applying a user, cadence or person, forget what `lookups` cached of it.
    pub fn invalidate_lookups(mut self, lookups: Lookups) -> Self {
        self.lookups = Some(lookups);
        self
    }

    /// After applying a record, enqueue `sync_job(stream)` due `after` from now (an earlier
    /// time wins over a pending sync's, so a burst of deliveries asks for one sync).
    pub fn pull_syncs_forward(mut self, sync_job: SyncJobFor, after: Duration) -> Self {
        self.sync_job = Some(sync_job);
        self.sync_after = after;
        self
    }

    /// Process the deliveries `inbox_ids` (a [`PROCESS_KIND`] job's), each on its own: one
    /// that errors (the database, say) stays pending with its error and is in
    /// [`BatchReport::retry`], or, when `last_attempt`, is kept as failed; the others are
    /// done. The batch's delete deliveries are confirmed together, one `ids[]` list per stream
    /// and 100 records (a mass delete costs 1 per 100, not 1 each). Each stream touched has its
    /// sync pulled forward once.
    #[tracing::instrument(name = "webhooks.batch", skip_all, fields(deliveries = inbox_ids.len(), last_attempt))]
    pub async fn process_batch(&self, inbox_ids: &[i64], last_attempt: bool) -> BatchReport {
        let mut report = BatchReport::default();
        let mut streams: Vec<Stream> = Vec::new();
        let mut deletes: Vec<(Stream, Vec<(i64, DeleteHint)>)> = Vec::new();
        for &id in inbox_ids {
            match self.read_one(id).await {
                Ok(Step::Done(processed)) => report.count(&processed, &mut streams),
                Ok(Step::Delete(stream, hint)) => {
                    match deletes.iter_mut().find(|(s, _)| *s == stream) {
                        Some((_, hints)) => hints.push((id, hint)),
                        None => deletes.push((stream, vec![(id, hint)])),
                    }
                }
                Err(e) => self.failed(id, &e, last_attempt, &mut report).await,
            }
        }
        for (stream, hints) in deletes {
            match self.confirm(stream, &hints).await {
                Ok(done) => {
                    for processed in done {
                        report.count(&processed, &mut streams);
                    }
                }
                Err(e) => {
                    for (id, _) in &hints {
                        self.failed(*id, &e, last_attempt, &mut report).await;
                    }
                }
            }
        }
        for stream in streams {
            if let Err(e) = self.pull_sync_forward(stream).await {
                tracing::warn!(stream = stream.name(), error = %e, "pulling a sync forward failed; the schedule will run it");
            }
        }
        report
    }

    /// Note that processing delivery `id` failed with `error`: pending for a retry, or failed
    /// for good on the last attempt.
    async fn failed(&self, id: i64, error: &Error, last_attempt: bool, report: &mut BatchReport) {
        if let Some(hold) = error.credential_hold() {
            report.credentials_rejected = Some(hold.clone());
        }
        let message = error;
        let error = salesloft_services::error_chain(error);
        tracing::warn!(inbox_id = id, error.message = %message, error.cause_chain = %error, last_attempt, "processing a webhook failed");
        let kept = if last_attempt {
            report.failed += 1;
            self.give_up(id, &error).await
        } else {
            report.retry.push((id, error.clone()));
            self.attempt_failed(id, &error).await
        };
        if let Err(e) = kept {
            tracing::warn!(inbox_id = id, error = %e, "recording a webhook failure failed");
        }
    }

    /// Process the delivery `inbox_id` and pull its stream's sync forward. An error may be
    /// transient (the database, SalesLoft): the caller retries, and on its last attempt calls
    /// [`Processor::give_up`].
    #[tracing::instrument(name = "webhooks.delivery", skip(self))]
    pub async fn process(&self, inbox_id: i64) -> Result<Processed> {
        let processed = match self.read_one(inbox_id).await? {
            Step::Done(processed) => processed,
            Step::Delete(stream, hint) => {
                let mut done = self.confirm(stream, &[(inbox_id, hint)]).await?;
                done.pop().unwrap_or(Processed::Missing)
            }
        };
        if let Processed::Applied { stream, .. } = &processed {
            self.pull_sync_forward(*stream).await?;
        }
        Ok(processed)
    }

    /// Enqueue `stream`'s sync due after the debounce, if asked to.
    async fn pull_sync_forward(&self, stream: Stream) -> Result<()> {
        if let Some(sync_job) = &self.sync_job {
            let mut job = sync_job(stream);
            let after = i64::try_from(self.sync_after.as_millis()).unwrap_or(i64::MAX);
            job.run_at_ms = Some(self.ctx.now_ms().saturating_add(after));
            self.ctx.store.enqueue(&job).await?;
        }
        Ok(())
    }

    /// Process delivery `inbox_id`, except a delete, which is read into its hint for
    /// [`Processor::confirm`].
    async fn read_one(&self, inbox_id: i64) -> Result<Step> {
        let store = &self.ctx.store;
        let Some(event) = store.webhook_event(inbox_id).await? else {
            return Ok(Step::Done(Processed::Missing));
        };
        if event.status != "pending" {
            return Ok(Step::Done(Processed::AlreadyDone));
        }
        let (stream, deleted) = match Action::of(&event.event_type) {
            Action::Upsert(stream) => (stream, false),
            Action::Delete(stream) => (stream, true),
            Action::Skip => {
                store
                    .finish_webhook(inbox_id, InboxOutcome::Skipped, None)
                    .await?;
                return Ok(Step::Done(Processed::Skipped));
            }
        };
        let applied = if deleted {
            match stream.delete_hint(&event.body) {
                Ok(hint) => {
                    // Forgetting a cached entry is always safe, whatever SalesLoft says next.
                    if let Some(lookups) = &self.lookups {
                        lookups.forget_pushed(stream.resource(), &event.body).await;
                    }
                    return Ok(Step::Delete(stream, hint));
                }
                Err(reason) => Applied::Rejected(reason),
            }
        } else {
            stream
                .apply_pushed(&self.ctx, &event.body, false)
                .await
                .map_err(|source| Error::Apply {
                    event_type: event.event_type.clone(),
                    source,
                })?
        };
        if let Applied::Rejected(reason) = applied {
            store
                .finish_webhook(inbox_id, InboxOutcome::Failed, Some(&reason))
                .await?;
            return Ok(Step::Done(Processed::Failed(reason)));
        }
        if let Some(lookups) = &self.lookups {
            lookups.forget_pushed(stream.resource(), &event.body).await;
        }
        store
            .finish_webhook(inbox_id, InboxOutcome::Processed, None)
            .await?;
        Ok(Step::Done(Processed::Applied { stream, applied }))
    }

    /// Confirm `stream`'s delete deliveries (inbox id, hint) with SalesLoft and finish each:
    /// what became of each, in order.
    async fn confirm(&self, stream: Stream, hints: &[(i64, DeleteHint)]) -> Result<Vec<Processed>> {
        let store = &self.ctx.store;
        let just_hints: Vec<DeleteHint> = hints.iter().map(|(_, h)| *h).collect();
        let applied = stream
            .confirm_deleted(&self.ctx, &just_hints)
            .await
            .map_err(|source| Error::Apply {
                event_type: format!("{} deletions", stream.name()),
                source,
            })?;
        let mut done = Vec::with_capacity(hints.len());
        for ((inbox_id, _), applied) in hints.iter().zip(applied) {
            if applied == Applied::NotDeleted {
                // SalesLoft still has the record: when it is really deleted, its delivery may
                // be this very body, which must not be taken for a duplicate of this one.
                store.release_webhook_key(*inbox_id).await?;
            }
            store
                .finish_webhook(*inbox_id, InboxOutcome::Processed, None)
                .await?;
            done.push(Processed::Applied { stream, applied });
        }
        Ok(done)
    }

    /// Keep the delivery as failed with `error` (its processing ran out of attempts).
    pub async fn give_up(&self, inbox_id: i64, error: &str) -> Result<()> {
        self.ctx
            .store
            .finish_webhook(inbox_id, InboxOutcome::Failed, Some(error))
            .await?;
        Ok(())
    }

    /// Note a failed attempt that will be retried (the delivery stays pending, the error kept).
    pub async fn attempt_failed(&self, inbox_id: i64, error: &str) -> Result<()> {
        self.ctx
            .store
            .webhook_attempt_failed(inbox_id, error)
            .await?;
        Ok(())
    }
}
