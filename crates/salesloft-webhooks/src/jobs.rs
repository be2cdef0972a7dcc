//! The webhook jobs, on salesloft-jobs' runtime: [`WebhookJob`] (`webhook`, the deliveries
//! one inbox transaction stored) and [`InboxPruneJob`] (`webhook_prune`, hourly, forgetting
//! deliveries past their retention); and every built-in job of the toolkit wired together,
//! [`builtin_registry`] and [`builtin_schedules`], which the toolkit's own worker runs.

use std::sync::Arc;
use std::time::Duration;

use salesloft_jobs::{Job, JobContext, JobError, Outcome, Registry, Schedule};
use salesloft_services::jobs::{BuiltinSettings, sync_job, sync_registry, sync_schedules};
use salesloft_services::{Context, LookupConfig, Lookups};
use serde::{Deserialize, Serialize};

use crate::processor::{PROCESS_KIND, ProcessPayload, Processor};

/// Every built-in job kind over `ctx`, wired together: the services' sync, reconcile,
/// engagement, enroll and push jobs ([`sync_registry`] with `settings`), [`WebhookJob`] (whose
/// pulled-forward `sync` jobs this registry runs) and [`InboxPruneJob`], all sharing one
/// lookup cache (`settings.lookups`, else a new one) that the syncs and the webhooks applied
/// here invalidate. Add your own kinds with [`Registry::register`].
///
/// ```no_run
/// # async fn demo(ctx: salesloft_services::Context, store: salesloft_storage::Store) -> salesloft_jobs::Result<()> {
/// use std::time::Duration;
/// use salesloft_jobs::{CancellationToken, Runner, RunnerConfig};
/// use salesloft_services::jobs::BuiltinSettings;
/// use salesloft_webhooks::jobs::{InboxRetention, builtin_registry, builtin_schedules};
/// let registry = builtin_registry(&ctx, BuiltinSettings::default(), InboxRetention::default());
/// let runner = Runner::new(store, registry, RunnerConfig::default().with_concurrency(2))?
///     .with_schedules(builtin_schedules(Duration::from_secs(300))?);
/// runner.run(CancellationToken::new()).await
/// # }
/// ```
pub fn builtin_registry(
    ctx: &Context,
    mut settings: BuiltinSettings,
    retention: InboxRetention,
) -> Registry {
    let lookups = settings
        .lookups
        .get_or_insert_with(|| Lookups::new(ctx.clone(), LookupConfig::default()))
        .clone();
    sync_registry(ctx.clone(), settings)
        .register(WebhookJob::new(ctx.clone()).invalidating(lookups))
        .register(InboxPruneJob::new(ctx.store.clone(), retention))
}

/// Every built-in schedule: the services' ([`sync_schedules`]: each stream's sync every
/// `sync_every` and at a runner's start, reconciles and engagement daily) and
/// `webhook_prune` hourly.
pub fn builtin_schedules(sync_every: Duration) -> salesloft_jobs::Result<Vec<Schedule>> {
    let mut schedules = sync_schedules(sync_every)?;
    schedules.push(Schedule::every::<InboxPruneJob>(
        "webhook_prune",
        &PrunePayload::default(),
        Duration::from_secs(3600),
    )?);
    Ok(schedules)
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
                .await?;
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
