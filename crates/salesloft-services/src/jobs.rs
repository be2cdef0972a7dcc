//! The behaviours of this crate as jobs of salesloft-jobs' runtime: [`SyncJob`] (`sync`, one
//! stream), [`ReconcileJob`] (`reconcile`, one stream) and [`EngagementJob`] (`engagement`,
//! the daily metrics after activities changed), with their schedules; [`EnrollJob`]
//! (`enroll`) and [`PushJob`] (`people_push`), enqueued by callers.

use std::time::Duration;

use salesloft_client::FailureKind;
use salesloft_jobs::{Job, JobContext, JobError, Outcome, Registry, Schedule};
use salesloft_storage::NewJob;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::engagement::{EngagementConfig, EngagementMetrics, Recompute};
use crate::lookup::Lookups;
use crate::people::LocalPerson;
use crate::policy::FieldPolicies;
use crate::reconcile::ReconcileOptions;
use crate::reconciler::Reconciler;
use crate::report::{RecordFailure, SyncOptions};
use crate::streams::Stream;
use crate::sync::SyncEngine;

/// The job error for a failure by what it is (its [`salesloft_client::Failure`] kind):
/// retried when it may pass, held when SalesLoft rejected the credentials, dead at once
/// otherwise.
fn job_error(e: impl Into<crate::report::ReportError>) -> JobError {
    JobError::from(e.into())
}

/// The payload of the stream jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPayload {
    /// The stream's name, such as `people`.
    pub stream: String,
}

impl StreamPayload {
    fn stream(&self) -> Result<Stream, JobError> {
        Stream::named(&self.stream)
            .ok_or_else(|| JobError::permanent(format!("no stream named {:?}", self.stream)))
    }
}

/// `sync`: one incremental run of a stream, for at most a time slice. Stopped by shutdown
/// (or a lost lease), or at the end of its slice, it fetches no further page, commits the
/// pages it fetched with their cursor, and is snoozed: the next run resumes there. So a long
/// backfill takes turns with the team's other work (its webhooks, its other streams) and
/// with other teams', instead of holding a worker to its end. Dropped at the end of the
/// grace, it loses only its open checkpoint.
#[derive(Debug, Clone)]
pub struct SyncJob {
    engine: SyncEngine,
    options: SyncOptions,
    slice: Duration,
}

/// How long one sync run goes before it takes its turn again ([`SyncJob::with_slice`]).
pub const SYNC_SLICE: Duration = Duration::from_secs(60);

impl SyncJob {
    /// Syncs through `ctx` with `options`, in slices of [`SYNC_SLICE`].
    pub fn new(ctx: Context, options: SyncOptions) -> Self {
        Self {
            engine: SyncEngine::new(ctx),
            options,
            slice: SYNC_SLICE,
        }
    }

    /// Runs of at most `slice` each (at least a second).
    pub fn with_slice(mut self, slice: Duration) -> Self {
        self.slice = slice.max(Duration::from_secs(1));
        self
    }

    /// Also have `lookups` forget what each checkpoint stores.
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.engine = self.engine.with_lookups(lookups);
        self
    }
}

#[salesloft_jobs::async_trait]
impl Job for SyncJob {
    type Payload = StreamPayload;
    const KIND: &'static str = "sync";

    async fn run(&self, payload: StreamPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let stream = payload.stream()?;
        // Stopped by the runner, or at the end of the slice.
        let turn = ctx.cancellation().child_token();
        let timer = {
            let (turn, slice) = (turn.clone(), self.slice);
            tokio::spawn(async move {
                tokio::time::sleep(slice).await;
                turn.cancel();
            })
        };
        let report = self
            .engine
            .sync_stream_until(stream, self.options, &turn)
            .await;
        timer.abort();
        if report.inserted + report.updated > 0 && ENGAGEMENT_INPUTS.contains(&stream.name()) {
            // The days these records fall on are recomputed shortly (one job for a burst).
            let mut job = engagement_job();
            job.run_at_ms = Some(self.engine.context().now_ms().saturating_add(2_000));
            if let Err(e) = self.engine.context().store.enqueue(&job).await {
                tracing::warn!(error = %e, "enqueuing the engagement recompute failed; the daily run will do it");
            }
        }
        if turn.is_cancelled() && !report.caught_up {
            // Stopped at a safe point: the next run resumes from the committed cursor, after
            // the work that waited meanwhile.
            return Ok(Outcome::Snooze(Duration::ZERO));
        }
        match report.error {
            None => Ok(Outcome::Done),
            Some(e) => Err(job_error(e)),
        }
    }
}

/// `reconcile`: one pass of a stream's ids against SalesLoft (cost 1 per 100), deleting what
/// SalesLoft no longer has within the options' guard.
#[derive(Debug, Clone)]
pub struct ReconcileJob {
    reconciler: Reconciler,
    options: ReconcileOptions,
}

impl ReconcileJob {
    /// Reconciles through `ctx` with `options`.
    pub fn new(ctx: Context, options: ReconcileOptions) -> Self {
        Self {
            reconciler: Reconciler::new(ctx),
            options,
        }
    }
}

#[salesloft_jobs::async_trait]
impl Job for ReconcileJob {
    type Payload = StreamPayload;
    const KIND: &'static str = "reconcile";
    const MAX_ATTEMPTS: i32 = 5;

    async fn run(&self, payload: StreamPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let streams = [payload.stream()?];
        let reports = tokio::select! {
            r = self.reconciler.reconcile(&streams, self.options) => r,
            () = ctx.cancelled() => return Ok(Outcome::Snooze(Duration::ZERO)),
        };
        match reports.into_iter().find_map(|r| r.error) {
            None => Ok(Outcome::Done),
            Some(e) => Err(job_error(e)),
        }
    }
}

/// The streams whose changes change the daily engagement: activities, successes, actions
/// and tasks, and users (a user's time zone sets the day).
const ENGAGEMENT_INPUTS: &[&str] = &["emails", "calls", "successes", "actions", "tasks", "users"];

/// The payload of [`EngagementJob`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementPayload {
    /// Recompute every day instead of the changed ones and the trailing window.
    #[serde(default)]
    pub full: bool,
}

/// `engagement`: recompute the daily engagement of the days activities written since the
/// last run fall on, plus the trailing 48 hours (or every day, when asked or when the
/// settings changed). Idempotent: a rerun writes the same rows.
#[derive(Debug, Clone)]
pub struct EngagementJob {
    metrics: EngagementMetrics,
}

impl EngagementJob {
    /// Recomputes through `ctx` with `config`.
    pub fn new(ctx: Context, config: EngagementConfig) -> Self {
        Self {
            metrics: EngagementMetrics::new(ctx, config),
        }
    }
}

#[salesloft_jobs::async_trait]
impl Job for EngagementJob {
    type Payload = EngagementPayload;
    const KIND: &'static str = "engagement";

    async fn run(&self, payload: EngagementPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let what = if payload.full {
            Recompute::Full
        } else {
            Recompute::Changed
        };
        let report = tokio::select! {
            r = self.metrics.recompute(what) => r,
            () = ctx.cancelled() => return Ok(Outcome::Snooze(Duration::ZERO)),
        };
        match report {
            Ok(report) => {
                tracing::info!(?report, "daily engagement recomputed");
                Ok(Outcome::Done)
            }
            Err(e) => Err(job_error(e)),
        }
    }
}

/// The payload of [`EnrollJob`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollPayload {
    /// The cadence.
    pub cadence_id: i64,
    /// The people.
    pub person_ids: Vec<i64>,
    /// Enroll them under this user (default: the authenticated one).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// Start at this step (default: the first).
    #[serde(default)]
    pub step_id: Option<i64>,
    /// Take them off the cadence instead.
    #[serde(default)]
    pub remove: bool,
}

/// `enroll`: add people to a cadence (or take them off) with salesloft-services'
/// [`CadenceManager`](crate::CadenceManager). Resumable: each write is kept in
/// the local copy as it is answered, so an attempt after a crash or a shutdown writes only
/// what is left. People SalesLoft refused stay in the job's log as a retry error until they
/// are the only ones left on the last attempt.
#[derive(Debug, Clone)]
pub struct EnrollJob {
    manager: crate::CadenceManager,
}

impl EnrollJob {
    /// Enrolls through `ctx`.
    pub fn new(ctx: Context) -> Self {
        Self {
            manager: crate::CadenceManager::new(ctx),
        }
    }
}

#[salesloft_jobs::async_trait]
impl Job for EnrollJob {
    type Payload = EnrollPayload;
    const KIND: &'static str = "enroll";

    async fn run(&self, payload: EnrollPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let cadence = salesloft_client::CadenceId::from(payload.cadence_id);
        let people: Vec<salesloft_client::PersonId> =
            payload.person_ids.iter().copied().map(Into::into).collect();
        let failed: Vec<(i64, RecordFailure)> = if payload.remove {
            let run = self.manager.remove(cadence, &people, None);
            tokio::select! {
                r = run => r.map_err(job_error)?.failed,
                () = ctx.cancelled() => return Ok(Outcome::Snooze(Duration::ZERO)),
            }
        } else {
            let options = crate::EnrollOptions {
                user_id: payload.user_id.map(Into::into),
                step_id: payload.step_id.map(Into::into),
                ..Default::default()
            };
            let run = self.manager.enroll(cadence, &people, &options, None);
            tokio::select! {
                r = run => {
                    let report = r.map_err(job_error)?;
                    tracing::info!(cadence = payload.cadence_id, enrolled = report.enrolled.len(), already_on = report.already_on.len(), do_not_contact = report.do_not_contact.len(), writes = report.writes, lists = report.lists, "enrollment done");
                    report.failed
                }
                () = ctx.cancelled() => return Ok(Outcome::Snooze(Duration::ZERO)),
            }
        };
        let failed: Vec<(String, RecordFailure)> = failed
            .into_iter()
            .map(|(person, reason)| (format!("person {person}"), reason))
            .collect();
        records_not_written(&failed)
    }
}

/// Records of a batch job were not written: how many, and the one that decided what the job
/// does.
#[derive(Debug, thiserror::Error)]
#[error("{failed} records were not written (among them {record})")]
struct RecordsNotWritten {
    failed: usize,
    /// Which record (no personal data: a person id, or the kind of key).
    record: String,
    #[source]
    reason: RecordFailure,
}

/// A batch job's outcome from the records it could not write: done when there are none, else
/// decided by the first failure that may pass (retried), or held (credentials rejected), else
/// by the first (dead at once: trying again fails the same way).
fn records_not_written(failed: &[(String, RecordFailure)]) -> Result<Outcome, JobError> {
    let deciding = failed
        .iter()
        .find(|(_, f)| f.kind() != FailureKind::Permanent)
        .or_else(|| failed.first());
    let Some((record, reason)) = deciding else {
        return Ok(Outcome::Done);
    };
    let hold = match reason {
        RecordFailure::Failed(e) => e.credential_hold().cloned(),
        _ => None,
    };
    Err(JobError::of_failure(
        reason.kind(),
        hold.as_ref(),
        RecordsNotWritten {
            failed: failed.len(),
            record: record.clone(),
            reason: reason.clone(),
        },
    ))
}

/// The engagement recompute under its unique key `engagement`, ready to enqueue.
pub fn engagement_job() -> NewJob {
    let mut job = NewJob::new(EngagementJob::KIND, serde_json::json!({})).unique("engagement");
    job.max_attempts = EngagementJob::MAX_ATTEMPTS;
    job
}

/// The payload of [`PushJob`]: local person records, each a JSON object of SalesLoft field
/// names with its `changed_at` (see [`LocalPerson::from_json`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushPayload {
    /// The records.
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl PushPayload {
    /// The payload carrying `records`.
    pub fn of(records: &[LocalPerson]) -> Self {
        Self {
            records: records.iter().map(LocalPerson::to_json).collect(),
        }
    }
}

/// `people_push`: push local people to SalesLoft with salesloft-services'
/// [`PeopleSync`](crate::PeopleSync) under the configured field policies.
/// Records SalesLoft refused are parked (not retried); when any failed in a way that may pass
/// (a 5xx, a lost connection), the job is retried, and the records that went through cost
/// nothing the next time (the local copy holds their answers).
#[derive(Debug, Clone)]
pub struct PushJob {
    sync: crate::PeopleSync,
}

impl PushJob {
    /// Pushes through `ctx` under `policies`.
    pub fn new(ctx: Context, policies: FieldPolicies) -> Self {
        Self {
            sync: crate::PeopleSync::new(ctx, policies),
        }
    }

    /// The same job sharing `lookups` (invalidated by the webhooks this process applies).
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.sync = self.sync.with_lookups(lookups);
        self
    }
}

#[salesloft_jobs::async_trait]
impl Job for PushJob {
    type Payload = PushPayload;
    const KIND: &'static str = "people_push";

    async fn run(&self, payload: PushPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let now = chrono::Utc::now();
        let mut records = Vec::with_capacity(payload.records.len());
        for (n, object) in payload.records.into_iter().enumerate() {
            let record = LocalPerson::from_json(object, now)
                .map_err(|e| JobError::permanent(format!("record {n}: {e}")))?;
            records.push(record);
        }
        let options = crate::PushOptions::default();
        let report = tokio::select! {
            r = self.sync.push(&records, &options, None) => {
                r.map_err(job_error)?
            }
            () = ctx.cancelled() => return Ok(Outcome::Snooze(Duration::ZERO)),
        };
        tracing::info!(
            created = report.created.len(),
            updated = report.updated.len(),
            unchanged = report.unchanged,
            parked = report.parked.len(),
            failed = report.failed.len(),
            retryable = report.retryable.len(),
            writes = report.writes,
            "people push done"
        );
        // Parked and refused records are reported and stay so; only the ones that may pass
        // make the job run again. Keys are named by their kind: an address is personal data.
        let retryable: Vec<(String, RecordFailure)> = report
            .retryable
            .into_iter()
            .map(|(key, reason)| {
                let kind = key.split(':').next().unwrap_or("record");
                (format!("a record keyed by {kind}"), reason)
            })
            .collect();
        records_not_written(&retryable)
    }
}

/// What the built-in jobs are configured with: the defaults, with a `with_*` setter per field
/// (`BuiltinSettings::default().with_sync(options).with_lookups(lookups)`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuiltinSettings {
    /// Of [`SyncJob`].
    pub sync: SyncOptions,
    /// Of [`ReconcileJob`].
    pub reconcile: ReconcileOptions,
    /// Of [`EngagementJob`].
    pub engagement: EngagementConfig,
    /// The field policies of [`PushJob`].
    pub people_policies: FieldPolicies,
    /// A lookup cache to share (else each job that needs one has its own).
    pub lookups: Option<Lookups>,
}

salesloft_client::with_setters!(BuiltinSettings {
    with_sync => sync: SyncOptions,
    with_reconcile => reconcile: ReconcileOptions,
    with_engagement => engagement: EngagementConfig,
    with_people_policies => people_policies: FieldPolicies,
});

impl Default for BuiltinSettings {
    fn default() -> Self {
        Self {
            sync: SyncOptions::default(),
            reconcile: ReconcileOptions::default(),
            engagement: EngagementConfig::default(),
            people_policies: FieldPolicies::people_defaults(),
            lookups: None,
        }
    }
}

impl BuiltinSettings {
    /// The settings of each built-in job.
    pub fn new(
        sync: SyncOptions,
        reconcile: ReconcileOptions,
        engagement: EngagementConfig,
        people_policies: FieldPolicies,
    ) -> Self {
        Self {
            sync,
            reconcile,
            engagement,
            people_policies,
            lookups: None,
        }
    }

    /// The same settings sharing `lookups`.
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.lookups = Some(lookups);
        self
    }
}

/// A registry with [`SyncJob`], [`ReconcileJob`], [`EngagementJob`], [`EnrollJob`],
/// and [`PushJob`] over `ctx`.
pub fn sync_registry(ctx: Context, settings: BuiltinSettings) -> Registry {
    let mut push = PushJob::new(ctx.clone(), settings.people_policies);
    let mut sync = SyncJob::new(ctx.clone(), settings.sync);
    if let Some(lookups) = settings.lookups {
        push = push.with_lookups(lookups.clone());
        sync = sync.with_lookups(lookups);
    }
    Registry::new()
        .register(sync)
        .register(ReconcileJob::new(ctx.clone(), settings.reconcile))
        .register(EngagementJob::new(ctx.clone(), settings.engagement))
        .register(EnrollJob::new(ctx))
        .register(push)
}

/// The unique key of `stream`'s sync job: `sync:<stream>`.
pub fn sync_key(stream: Stream) -> String {
    format!("sync:{}", stream.name())
}

/// `stream`'s sync job under its unique key, ready to enqueue (to run a sync soon, set
/// `run_at_ms`: an earlier time wins over a pending one's).
pub fn sync_job(stream: Stream) -> NewJob {
    let mut job = NewJob::new(
        SyncJob::KIND,
        serde_json::json!({ "stream": stream.name() }),
    )
    .unique(sync_key(stream));
    job.max_attempts = SyncJob::MAX_ATTEMPTS;
    job
}

/// The built-in schedules: `sync:<stream>` every `sync_every` (and at a runner's start), and
/// `reconcile:<stream>` daily, for every stream; `engagement` daily.
pub fn sync_schedules(sync_every: Duration) -> salesloft_jobs::Result<Vec<Schedule>> {
    let mut out = Vec::new();
    for stream in Stream::all() {
        let payload = StreamPayload {
            stream: stream.name().to_owned(),
        };
        out.push(Schedule::every::<SyncJob>(sync_key(*stream), &payload, sync_every)?.at_start());
        out.push(Schedule::every::<ReconcileJob>(
            format!("reconcile:{}", stream.name()),
            &payload,
            Duration::from_secs(24 * 3600),
        )?);
    }
    out.push(Schedule::every::<EngagementJob>(
        "engagement",
        &EngagementPayload::default(),
        Duration::from_secs(24 * 3600),
    )?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn failure(kind: &str) -> (String, RecordFailure) {
        let reason = match kind {
            "refused" => RecordFailure::Refused(
                [("email_address".to_owned(), vec!["is invalid".to_owned()])].into(),
            ),
            "missing" => RecordFailure::NoSuchPerson(7),
            _ => Error::Unreliable("SalesLoft answered 503".into()).into(),
        };
        (format!("person {kind}"), reason)
    }

    #[test]
    fn a_batch_is_retried_only_for_failures_that_may_pass() {
        assert!(matches!(records_not_written(&[]), Ok(Outcome::Done)));
        let permanent = records_not_written(&[failure("refused"), failure("missing")]);
        let Err(JobError::Permanent(e)) = permanent else {
            panic!("{permanent:?}")
        };
        assert_eq!(
            salesloft_client::error_chain(e.as_ref()),
            "2 records were not written (among them person refused): email_address is invalid"
        );
        let mixed = records_not_written(&[failure("refused"), failure("503"), failure("missing")]);
        let Err(JobError::Retry(e)) = mixed else {
            panic!("{mixed:?}")
        };
        let chain = salesloft_client::error_chain(e.as_ref());
        assert!(
            chain.starts_with("3 records were not written (among them person 503)")
                && chain.contains("503"),
            "{chain}"
        );
    }
}
