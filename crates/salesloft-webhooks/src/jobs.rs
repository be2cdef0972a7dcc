//! The webhook jobs, on salesloft-jobs' runtime: [`WebhookJob`] (`webhook`, the deliveries
//! one inbox transaction stored) and [`InboxPruneJob`] (`webhook_prune`, hourly, forgetting
//! deliveries past their retention), with [`schedules`] and [`register`].

use std::sync::Arc;
use std::time::Duration;

use salesloft_jobs::{Job, JobContext, JobError, Outcome, Registry, Schedule};
use salesloft_services::jobs::sync_job;
use salesloft_services::{Context, Lookups};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::processor::{PROCESS_KIND, ProcessPayload, Processor};

/// The job error for a failure by what it is: retried when it may pass, held when SalesLoft
/// rejected the credentials, dead at once otherwise.
fn job_error(e: &Error) -> JobError {
    JobError::of_failure(
        e.kind(),
        e.credential_hold(),
        salesloft_model::error_chain(e),
    )
}

/// Register [`WebhookJob`] (sharing `lookups`, which it invalidates) and [`InboxPruneJob`] in
/// `registry`.
pub fn register(
    registry: Registry,
    ctx: &Context,
    lookups: Option<Lookups>,
    retention: InboxRetention,
) -> Registry {
    let mut webhook = WebhookJob::new(ctx.clone());
    if let Some(lookups) = lookups {
        webhook = webhook.invalidating(lookups);
    }
    registry
        .register(webhook)
        .register(InboxPruneJob::new(ctx.store.clone(), retention))
}

/// The webhook schedules: `webhook_prune` hourly.
pub fn schedules() -> salesloft_jobs::Result<Vec<Schedule>> {
    Ok(vec![Schedule::every::<InboxPruneJob>(
        "webhook_prune",
        &PrunePayload::default(),
        Duration::from_secs(3600),
    )?])
}

/// `webhook`: apply the deliveries one inbox transaction stored with salesloft-webhooks'
/// [`Processor`], then pull each touched stream's sync forward (5 s later, so a burst asks for
/// one sync). Deliveries that error are retried with backoff; on the last attempt their
/// error is kept on the delivery, which is marked failed.
#[derive(Debug, Clone)]
pub struct WebhookJob {
    processor: Processor,
}

impl WebhookJob {
    /// Processes deliveries through `ctx`.
    pub fn new(ctx: Context) -> Self {
        let processor =
            Processor::new(ctx).pull_syncs_forward(Arc::new(sync_job), Duration::from_secs(5));
        Self { processor }
    }

    /// Also forget what `lookups` cached of each user, cadence or person applied.
    pub fn invalidating(mut self, lookups: Lookups) -> Self {
        self.processor = self.processor.invalidate_lookups(lookups);
        self
    }
}

#[salesloft_jobs::async_trait]
impl Job for WebhookJob {
    type Payload = ProcessPayload;
    const KIND: &'static str = PROCESS_KIND;
    const MAX_ATTEMPTS: i32 = 10;

    async fn run(&self, payload: ProcessPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let last_attempt = ctx.attempt() >= ctx.max_attempts();
        let report = self
            .processor
            .process_batch(&payload.inbox_ids, last_attempt)
            .await;
        tracing::debug!(?report, "webhooks processed");
        let first = report.retry.first();
        if let (Some(hold), Some((id, error))) = (&report.credentials_rejected, first) {
            // The deliveries wait, attempts unspent, for credentials SalesLoft accepts.
            return Err(JobError::of_failure(
                salesloft_model::FailureKind::CredentialsRejected,
                Some(hold),
                format!("inbox {id}: {error}"),
            ));
        }
        match first {
            // The ones done stay done; the next attempt finds only these pending.
            Some((id, error)) => Err(JobError::retry(format!(
                "{} of {} deliveries failed (inbox {id}: {error})",
                report.retry.len(),
                payload.inbox_ids.len()
            ))),
            None => Ok(Outcome::Done),
        }
    }
}

/// How long the webhook inbox keeps deliveries (their bodies hold personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxRetention {
    /// Processed and skipped deliveries; default 7 days.
    pub settled: Duration,
    /// Failed deliveries, kept longer for inspection; default 30 days.
    pub failed: Duration,
}

impl Default for InboxRetention {
    fn default() -> Self {
        Self {
            settled: Duration::from_secs(7 * 86_400),
            failed: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The payload of [`InboxPruneJob`]: nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrunePayload {}

/// Deliveries one prune statement deletes at most.
const PRUNE_BATCH: i64 = 500;

/// `webhook_prune`: delete the deliveries past their [`InboxRetention`], oldest first, 500
/// per short statement with a pause between, so deliveries arriving meanwhile never wait for
/// more than one batch. Stopped by shutdown, it keeps what it pruned; the next run goes on.
#[derive(Debug, Clone)]
pub struct InboxPruneJob {
    store: salesloft_storage::Store,
    retention: InboxRetention,
}

impl InboxPruneJob {
    /// Prunes `store`'s inbox to `retention`.
    pub fn new(store: salesloft_storage::Store, retention: InboxRetention) -> Self {
        Self { store, retention }
    }
}

fn before(now: i64, keep: Duration) -> i64 {
    now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
}

#[salesloft_jobs::async_trait]
impl Job for InboxPruneJob {
    type Payload = PrunePayload;
    const KIND: &'static str = "webhook_prune";
    const MAX_ATTEMPTS: i32 = 5;

    async fn run(&self, _: PrunePayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let now = self.store.now_ms();
        let (settled, failed) = (
            before(now, self.retention.settled),
            before(now, self.retention.failed),
        );
        let mut pruned = 0u64;
        while !ctx.is_cancelled() {
            let deleted = self
                .store
                .prune_webhooks(settled, failed, PRUNE_BATCH)
                .await
                .map_err(|e| job_error(&e.into()))?;
            pruned += deleted;
            if deleted < PRUNE_BATCH.unsigned_abs() {
                break;
            }
            // Let deliveries (and SQLite's other writers) in between batches.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if pruned > 0 {
            tracing::info!(pruned, "pruned webhook deliveries past their retention");
        }
        Ok(Outcome::Done)
    }
}
