//! [`Runner`]: claims jobs of one queue and runs them, many at once, until told to stop.
//!
//! The protocol lives in salesloft-storage's job primitives: a claim takes jobs with a lease
//! and a fencing token; the runner heartbeats each job every third of its lease, and every
//! write after the claim (heartbeat, complete, fail, snooze) names the token, so a runner
//! whose lease lapsed (it stalled, it was partitioned) writes nothing over the new attempt. A
//! reaper in every runner returns lapsed jobs to the queue; a pruner deletes old finished ones.

use std::sync::Arc;
use std::time::Duration;

use salesloft_storage::{Backend, Failed, Store};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::job::{JobContext, JobError, Outcome};
use crate::registry::Registry;
use crate::schedule::Schedule;

/// How a runner works.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunnerConfig {
    /// The queue it claims from.
    pub queue: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat (heartbeats come every third of it).
    pub lease: Duration,
    /// Polling when idle starts at this interval...
    pub poll_min: Duration,
    /// ...and backs off to this one (wake-ups on enqueue come sooner).
    pub poll_max: Duration,
    /// A run longer than this fails (and is retried).
    pub job_timeout: Duration,
    /// After shutdown is asked, how long running jobs get to finish before they are
    /// dropped and snoozed.
    pub shutdown_grace: Duration,
    /// How often the reaper and the schedules run.
    pub maintenance_every: Duration,
    /// How often old finished jobs are deleted.
    pub prune_every: Duration,
    /// Completed and cancelled jobs are kept this long.
    pub keep_completed: Duration,
    /// Dead jobs are kept this long.
    pub keep_dead: Duration,
    /// Who claims (in `locked_by`): host, process and a random part by default.
    pub worker_id: String,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            queue: "default".into(),
            concurrency: 4,
            lease: Duration::from_secs(30),
            poll_min: Duration::from_secs(1),
            poll_max: Duration::from_secs(5),
            job_timeout: Duration::from_secs(3600),
            shutdown_grace: Duration::from_secs(25),
            maintenance_every: Duration::from_secs(15),
            prune_every: Duration::from_secs(3600),
            keep_completed: Duration::from_secs(24 * 3600),
            keep_dead: Duration::from_secs(30 * 24 * 3600),
            worker_id: format!(
                "pid-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        }
    }
}

/// What became of one claimed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Completed.
    Completed,
    /// Failed; it runs again later.
    Retrying,
    /// Failed with no attempts left, or permanently.
    Dead,
    /// Put back without spending an attempt (asked by the job, or interrupted by shutdown).
    Snoozed,
    /// The lease was lost (reaped, cancelled by an operator): nothing was written.
    LeaseLost,
}

/// What [`Runner::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    /// Jobs completed.
    pub completed: u64,
    /// Jobs failed and due again later.
    pub retrying: u64,
    /// Jobs now dead.
    pub dead: u64,
    /// Jobs snoozed.
    pub snoozed: u64,
    /// Jobs whose lease was lost.
    pub lease_lost: u64,
}

impl Drained {
    fn add(&mut self, f: Finished) {
        match f {
            Finished::Completed => self.completed += 1,
            Finished::Retrying => self.retrying += 1,
            Finished::Dead => self.dead += 1,
            Finished::Snoozed => self.snoozed += 1,
            Finished::LeaseLost => self.lease_lost += 1,
        }
    }
}

/// Runs the jobs of one queue. Clone it freely.
#[derive(Debug, Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    store: Store,
    registry: Registry,
    config: RunnerConfig,
    schedules: Vec<Schedule>,
}

/// The lease a runner holds on a SQLite database: one runner per file.
const SQLITE_RUNNER_LEASE: &str = "jobs-runner";

impl Runner {
    /// A runner of `registry`'s kinds on `store`.
    pub fn new(store: Store, registry: Registry, config: RunnerConfig) -> Result<Self> {
        if config.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        if config.lease < Duration::from_millis(300) {
            return Err(Error::Config("the lease must be at least 300 ms".into()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                registry,
                config,
                schedules: Vec::new(),
            }),
        })
    }

    /// Also enqueue `schedules` (every runner does; duplicates are no-ops).
    pub fn with_schedules(self, schedules: Vec<Schedule>) -> Self {
        let mut inner = (*self.inner).clone();
        inner.schedules = schedules
            .into_iter()
            .map(|s| s.on_queue(inner.config.queue.clone()))
            .collect();
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.inner.config
    }

    /// Claim and run jobs until `shutdown` is cancelled; then stop claiming, give running jobs
    /// the shutdown grace to finish, snooze the rest (no attempt spent) and return. On SQLite
    /// it first takes the database's runner lease and refuses to start beside another runner.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        let inner = &self.inner;
        let sqlite_lease = match inner.store.backend() {
            Backend::Sqlite => Some(
                inner
                    .store
                    .try_lease(SQLITE_RUNNER_LEASE, inner.config.lease)
                    .await?
                    .ok_or(Error::RunnerBusy)?,
            ),
            Backend::Postgres => None,
        };
        let tracker = TaskTracker::new();
        let stop_maintenance = CancellationToken::new();
        tracker.spawn(maintain(
            inner.clone(),
            sqlite_lease.clone(),
            stop_maintenance.clone(),
        ));
        let slots = Arc::new(Semaphore::new(inner.config.concurrency));
        let mut wakeups = inner.store.job_wakeups().await?;
        let mut idle = inner.config.poll_min;
        tracing::info!(queue = %inner.config.queue, concurrency = inner.config.concurrency, worker = %inner.config.worker_id, "job runner started");
        while !shutdown.is_cancelled() {
            if slots.available_permits() == 0 {
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    () = shutdown.cancelled() => break,
                }
            }
            let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
            let claimed = match inner
                .store
                .claim(
                    &inner.config.queue,
                    free,
                    &inner.config.worker_id,
                    inner.config.lease,
                )
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(idle) => {}
                        () = shutdown.cancelled() => break,
                    }
                    idle = (idle * 2).min(inner.config.poll_max);
                    continue;
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    woken = wakeups.wait(idle) => {
                        idle = if woken { inner.config.poll_min } else { (idle * 2).min(inner.config.poll_max) };
                    }
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            idle = inner.config.poll_min;
            for job in claimed {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Never: only this loop takes permits, and it claimed no more than were free.
                    tracing::error!("a claimed job found no free slot; snoozing it");
                    let _ = inner.store.snooze(&job, Duration::ZERO).await;
                    continue;
                };
                let inner = self.inner.clone();
                let shutdown = shutdown.clone();
                tracker.spawn(async move {
                    execute(&inner, job, &shutdown).await;
                    drop(permit);
                });
            }
        }
        tracing::info!(
            grace_secs = inner.config.shutdown_grace.as_secs(),
            "job runner stopping"
        );
        drop(wakeups);
        stop_maintenance.cancel();
        tracker.close();
        tracker.wait().await;
        if let Some(lease) = sqlite_lease {
            lease.release().await?;
        }
        tracing::info!("job runner stopped");
        Ok(())
    }

    /// Claim and run every job due now, `concurrency` at a time, until none is left; for
    /// tests and one-shot tools. Takes no runner lease and runs no schedules.
    pub async fn run_once(&self) -> Result<Drained> {
        let inner = &self.inner;
        let never = CancellationToken::new();
        let mut drained = Drained::default();
        loop {
            let n = u32::try_from(inner.config.concurrency).unwrap_or(u32::MAX);
            let claimed = inner
                .store
                .claim(
                    &inner.config.queue,
                    n,
                    &inner.config.worker_id,
                    inner.config.lease,
                )
                .await?;
            if claimed.is_empty() {
                return Ok(drained);
            }
            let mut set = tokio::task::JoinSet::new();
            for job in claimed {
                let inner = self.inner.clone();
                let never = never.clone();
                set.spawn(async move { execute(&inner, job, &never).await });
            }
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(f) => drained.add(f),
                    Err(e) => tracing::error!(error = %e, "a job task panicked"),
                }
            }
        }
    }

    /// Enqueue every schedule for its next period now (what a running runner does every
    /// `maintenance_every`).
    pub async fn tick_schedules(&self) -> Result<()> {
        tick(&self.inner, false).await
    }
}

async fn tick(inner: &Inner, starting: bool) -> Result<()> {
    let now = chrono_now_ms();
    for s in &inner.schedules {
        debug_assert_eq!(s.queue(), inner.config.queue);
        s.tick(&inner.store, now, starting).await?;
    }
    Ok(())
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The reaper, the schedules, the pruner, and on SQLite the runner lease's renewal.
async fn maintain(
    inner: Arc<Inner>,
    sqlite_lease: Option<salesloft_storage::Lease>,
    stop: CancellationToken,
) {
    let mut starting = true;
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if let Some(lease) = &sqlite_lease {
            match lease.renew().await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!("the SQLite runner lease was taken by another process")
                }
                Err(e) => tracing::warn!(error = %e, "renewing the SQLite runner lease failed"),
            }
        }
        match inner.store.reap_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "returned jobs whose lease lapsed to the queue"),
            Err(e) => tracing::warn!(error = %e, "reaping jobs failed"),
        }
        if let Err(e) = tick(&inner, starting).await {
            tracing::warn!(error = %e, "enqueueing scheduled jobs failed");
        }
        starting = false;
        if last_prune.is_none_or(|t| t.elapsed() >= inner.config.prune_every) {
            let now = chrono_now_ms();
            let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            match inner
                .store
                .prune_jobs(
                    now.saturating_sub(ms(inner.config.keep_completed)),
                    now.saturating_sub(ms(inner.config.keep_dead)),
                )
                .await
            {
                Ok(n) if n > 0 => tracing::debug!(jobs = n, "pruned finished jobs"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning jobs failed"),
            }
            last_prune = Some(tokio::time::Instant::now());
        }
        // The SQLite lease must be renewed well within its time.
        let every = match &sqlite_lease {
            Some(l) => inner.config.maintenance_every.min(l.ttl() / 3),
            None => inner.config.maintenance_every,
        };
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Stops the heartbeat task when dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run one claimed job to its end and record the end, fenced by its token.
async fn execute(
    inner: &Inner,
    job: salesloft_storage::Job,
    shutdown: &CancellationToken,
) -> Finished {
    let store = &inner.store;
    let cancel = shutdown.child_token();
    let lost = CancellationToken::new();
    let heartbeat = {
        let store = store.clone();
        let job = job.clone();
        let lease = inner.config.lease;
        let (cancel, lost) = (cancel.clone(), lost.clone());
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                match store.heartbeat(&job, lease).await {
                    Ok(()) => {}
                    Err(salesloft_storage::Error::LeaseLost { .. }) => {
                        lost.cancel();
                        cancel.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(job = job.id, error = %e, "job heartbeat failed"),
                }
            }
        }))
    };
    let Some(handler) = inner.registry.get(&job.kind) else {
        // A newer version may know it (a rolling deploy): leave it for them.
        tracing::warn!(job = job.id, kind = %job.kind, "no handler for this job kind here; snoozed");
        drop(heartbeat);
        return record(store, &job, Ok(Outcome::Snooze(Duration::from_secs(60)))).await;
    };
    let ctx = JobContext {
        id: job.id,
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        cancel,
    };
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempt);
    let timeout = inner.config.job_timeout;
    let grace = inner.config.shutdown_grace;
    let result = async { tokio::select! {
        r = tokio::time::timeout(timeout, handler.run(&job.payload, &ctx)) => match r {
            Ok(r) => r,
            Err(_) => Err(JobError::Retry(format!("timed out after {}s", timeout.as_secs()))),
        },
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!("the job outlasted the shutdown grace; dropped at a safe point and snoozed");
            Ok(Outcome::Snooze(Duration::ZERO))
        }
        () = lost.cancelled() => Ok(Outcome::Done),
    } }
    .instrument(span)
    .await;
    drop(heartbeat);
    if lost.is_cancelled() {
        tracing::warn!(
            "the job's lease was lost (reaped or cancelled); its result is not recorded"
        );
        return Finished::LeaseLost;
    }
    // A run that failed because it was told to stop is a snooze, not a failed attempt.
    let result = match result {
        Err(JobError::Retry(_)) if shutdown.is_cancelled() => Ok(Outcome::Snooze(Duration::ZERO)),
        other => other,
    };
    record(store, &job, result).await
}

async fn record(
    store: &Store,
    job: &salesloft_storage::Job,
    result: Result<Outcome, JobError>,
) -> Finished {
    let written = match &result {
        Ok(Outcome::Done) => store.complete(job).await.map(|()| Finished::Completed),
        Ok(Outcome::Snooze(delay)) => store.snooze(job, *delay).await.map(|()| Finished::Snoozed),
        Err(e) => {
            let permanent = matches!(e, JobError::Permanent(_));
            store
                .fail(job, &e.to_string(), permanent)
                .await
                .map(|failed| match failed {
                    Failed::Dead => Finished::Dead,
                    Failed::Retrying { .. } => Finished::Retrying,
                })
        }
    };
    match written {
        Ok(f) => {
            match (&result, f) {
                (Err(e), Finished::Dead) => {
                    tracing::error!(job = job.id, kind = %job.kind, error = %e, "job is dead")
                }
                (Err(e), _) => {
                    tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed; it will be retried")
                }
                _ => tracing::debug!(job = job.id, kind = %job.kind, outcome = ?f, "job finished"),
            }
            f
        }
        Err(salesloft_storage::Error::LeaseLost { .. }) => Finished::LeaseLost,
        Err(e) => {
            // The lease lapses and the reaper returns the job: it runs again.
            tracing::warn!(job = job.id, error = %e, "recording a job's end failed; it will run again");
            Finished::LeaseLost
        }
    }
}
