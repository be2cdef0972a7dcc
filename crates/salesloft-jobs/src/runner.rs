//! [`Runner`]: claims jobs of one queue and runs them, many at once, until told to stop.
//!
//! The protocol lives in salesloft-storage's job primitives: a claim takes jobs with a lease
//! and a fencing token; the runner heartbeats each job every third of its lease, and every
//! write after the claim (heartbeat, complete, fail, snooze) names the token, so a runner
//! whose lease lapsed (it stalled, it was partitioned) writes nothing over the new attempt. A
//! reaper in every runner returns lapsed jobs to the queue; a pruner deletes old finished ones.

use std::sync::Arc;
use std::time::Duration;

use salesloft_model::error_chain;
use salesloft_storage::{Backend, Failed, Store};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use crate::config::RunnerConfig;
use crate::error::{Error, Result};
use crate::job::{JobContext, JobError, Outcome};
use crate::prefetch::Prefetch;
use crate::registry::{Registry, TeamRegistries};
use crate::schedule::Schedule;
use crate::team_jobs::Jobs;

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
    /// Put back without spending an attempt until SalesLoft accepts the credentials (see
    /// [`JobError::CredentialsRejected`]).
    Held,
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
    /// Jobs held until SalesLoft accepts the credentials.
    pub held: u64,
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
            Finished::Held => self.held += 1,
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
    jobs: Jobs,
    config: RunnerConfig,
    schedules: Vec<Schedule>,
    /// Job kinds claimed here with no handler, each warned of once.
    unhandled: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

/// The lease a runner holds on a SQLite database: one runner per file.
const SQLITE_RUNNER_LEASE: &str = "jobs-runner";

impl Runner {
    /// A runner of `registry`'s kinds on `store`, for the team of that handle.
    pub fn new(store: Store, registry: Registry, config: RunnerConfig) -> Result<Self> {
        Self::with_jobs(store, Jobs::One(Arc::new(registry)), config)
    }

    /// One runner for every active team of the deployment `store` is on: it claims across
    /// teams (round robin, at most [`RunnerConfig::max_running_per_team`] of a team running
    /// at once over every process, nothing for paused teams or teams whose credentials were
    /// rejected), runs each job with its team's registry from `teams`, and enqueues the
    /// schedules for each active team.
    pub fn for_teams(
        store: Store,
        teams: Arc<dyn TeamRegistries>,
        config: RunnerConfig,
    ) -> Result<Self> {
        if config.max_running_per_team == 0 {
            return Err(Error::Config(
                "max_running_per_team must be at least 1".into(),
            ));
        }
        Self::with_jobs(store, Jobs::teams(teams), config)
    }

    fn with_jobs(store: Store, jobs: Jobs, config: RunnerConfig) -> Result<Self> {
        if config.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        if config.lease < Duration::from_millis(300) {
            return Err(Error::Config("the lease must be at least 300 ms".into()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                jobs,
                config,
                schedules: Vec::new(),
                unhandled: Arc::default(),
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
    /// it first takes the database's runner lease and refuses to start beside another runner;
    /// should another process take that lease over (this one stalled past it), it stops the
    /// same way and returns [`Error::RunnerLeaseLost`], so its supervisor restarts it.
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
        // Stopped by the caller, or by the loss of the SQLite runner lease.
        let lease_lost = CancellationToken::new();
        let shutdown = {
            let stopping = shutdown.child_token();
            let (lost, stop) = (lease_lost.clone(), stopping.clone());
            tokio::spawn(async move {
                tokio::select! {
                    () = lost.cancelled() => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            });
            stopping
        };
        let tracker = TaskTracker::new();
        let stop_maintenance = CancellationToken::new();
        tracker.spawn(maintain(
            inner.clone(),
            sqlite_lease.clone(),
            stop_maintenance.clone(),
            lease_lost.clone(),
        ));
        let (completer, completing) = Completer::start(inner.store.clone());
        let claimed = self.claim_and_start(&shutdown, &tracker, &completer).await;
        tracing::info!(
            grace_secs = inner.config.shutdown_grace.as_secs(),
            "job runner stopping"
        );
        stop_maintenance.cancel();
        tracker.close();
        tracker.wait().await;
        drop(completer);
        if let Err(e) = completing.await {
            tracing::error!(error = %e, "the job completer stopped unexpectedly");
        }
        claimed?;
        if lease_lost.is_cancelled() {
            shutdown.cancel();
            return Err(Error::RunnerLeaseLost);
        }
        shutdown.cancel();
        if let Some(lease) = sqlite_lease {
            lease.release().await?;
        }
        tracing::info!("job runner stopped");
        Ok(())
    }

    /// The claim loop of [`Runner::run`]: claim jobs into the prefetch buffer while slots
    /// are free, start them as slots free up, until `shutdown`; then give back what never
    /// started (no attempt spent).
    async fn claim_and_start(
        &self,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
        completer: &Completer,
    ) -> Result<()> {
        let inner = &self.inner;
        let config = &inner.config;
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let mut wakeups = inner.store.job_wakeups().await?;
        let mut idle = config.poll_min;
        let mut buffer = Prefetch::new(config.concurrency, config.prefetch);
        tracing::info!(queue = %config.queue, concurrency = config.concurrency, worker = %config.worker_id, "job runner started");
        while !shutdown.is_cancelled() {
            if slots.available_permits() == 0 {
                // Busy with long jobs: prefetched ones go back after a short hold, so other
                // runners take them instead of waiting for these slots.
                tokio::select! {
                    permit = slots.clone().acquire_owned() => drop(permit),
                    () = tokio::time::sleep(buffer.hold()) => {
                        self.give_back(buffer.drain()).await;
                        continue;
                    }
                    () = shutdown.cancelled() => break,
                }
            }
            if let Some(want) = buffer.want(slots.available_permits()) {
                match inner.jobs.claim(&inner.store, config, want).await {
                    Ok(jobs) => buffer.extend(jobs, tokio::time::Instant::now()),
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming jobs failed; trying again");
                        tokio::select! {
                            () = tokio::time::sleep(idle) => {}
                            () = shutdown.cancelled() => break,
                        }
                        idle = (idle * 2).min(config.poll_max);
                        continue;
                    }
                }
            }
            if buffer.is_empty() {
                tokio::select! {
                    woken = wakeups.wait(idle) => {
                        idle = if woken { config.poll_min } else { (idle * 2).min(config.poll_max) };
                    }
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            idle = config.poll_min;
            self.start_buffered(&mut buffer, &slots, shutdown, tracker, completer)
                .await;
        }
        self.give_back(buffer.drain()).await;
        Ok(())
    }

    /// Start buffered jobs while slots are free. A job that waited a third of its lease
    /// proves the lease is still ours first, so no job ever starts on a lease another runner
    /// has taken over.
    async fn start_buffered(
        &self,
        buffer: &mut Prefetch,
        slots: &Arc<Semaphore>,
        shutdown: &CancellationToken,
        tracker: &TaskTracker,
        completer: &Completer,
    ) {
        let lease = self.inner.config.lease;
        while !buffer.is_empty() {
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                return;
            };
            let Some((job, claimed_at)) = buffer.pop() else {
                return;
            };
            if claimed_at.elapsed() >= lease / 3
                && self.inner.store.heartbeat(&job, lease).await.is_err()
            {
                tracing::debug!(
                    job = job.id,
                    "a prefetched job's lease lapsed before it started; skipped"
                );
                continue;
            }
            let inner = self.inner.clone();
            let shutdown = shutdown.clone();
            let completer = completer.clone();
            tracker.spawn(async move {
                let recorded = execute(&inner, job, &shutdown, &completer).await;
                // The slot is free once the run is over; the record is written meanwhile.
                drop(permit);
                recorded.await;
            });
        }
    }

    /// Return prefetched jobs that never started to the queue at once, no attempt spent.
    async fn give_back(&self, jobs: Vec<salesloft_storage::Job>) {
        for job in jobs {
            if let Err(e) = self.inner.store.snooze(&job, Duration::ZERO).await {
                tracing::debug!(job = job.id, error = %e, "returning a prefetched job failed; its lease lapses");
            }
        }
    }

    /// Claim and run every job due now, `concurrency` at a time, until none is left; for
    /// tests and one-shot tools. Takes no runner lease and runs no schedules.
    pub async fn run_once(&self) -> Result<Drained> {
        let inner = &self.inner;
        let never = CancellationToken::new();
        let (completer, _completing) = Completer::start(inner.store.clone());
        let mut drained = Drained::default();
        loop {
            let n = u32::try_from(inner.config.concurrency).unwrap_or(u32::MAX);
            let claimed = inner.jobs.claim(&inner.store, &inner.config, n).await?;
            if claimed.is_empty() {
                return Ok(drained);
            }
            let mut set = tokio::task::JoinSet::new();
            for job in claimed {
                let inner = self.inner.clone();
                let never = never.clone();
                let completer = completer.clone();
                set.spawn(async move { execute(&inner, job, &never, &completer).await.await });
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

/// Enqueue the schedules for the teams whose jobs this runner runs.
async fn tick(inner: &Inner, starting: bool) -> Result<()> {
    debug_assert!(
        inner
            .schedules
            .iter()
            .all(|s| s.queue() == inner.config.queue)
    );
    let now = inner.store.now_ms();
    inner
        .jobs
        .tick(&inner.store, &inner.schedules, now, starting)
        .await
}

/// The reaper, the schedules, the pruner, and on SQLite the runner lease's renewal (its loss
/// cancels `lease_lost` and ends the maintenance).
async fn maintain(
    inner: Arc<Inner>,
    sqlite_lease: Option<salesloft_storage::Lease>,
    stop: CancellationToken,
    lease_lost: CancellationToken,
) {
    let mut starting = true;
    let mut last_prune: Option<tokio::time::Instant> = None;
    loop {
        if let Some(lease) = &sqlite_lease {
            match lease.renew().await {
                Ok(true) => {}
                Ok(false) => {
                    lease_lost.cancel();
                    tracing::error!(
                        "another process took over the SQLite runner lease: stopping (restart to run again)"
                    );
                    return;
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
            let now = inner.store.now_ms();
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

/// Completions, batched: a run that finished hands its job here and the runner's completer
/// marks everything waiting in one statement per claim (fenced by each claim's token) while
/// the next runs go on, answering each job with what became of it.
#[derive(Clone)]
struct Completer {
    tx: tokio::sync::mpsc::UnboundedSender<(
        salesloft_storage::Job,
        tokio::sync::oneshot::Sender<Finished>,
    )>,
}

impl Completer {
    /// A completer writing to `store`, and its task (which ends once every clone is dropped
    /// and all it was given is written).
    fn start(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(
            salesloft_storage::Job,
            tokio::sync::oneshot::Sender<Finished>,
        )>();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 1000 {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                let jobs: Vec<_> = batch.iter().map(|(j, _)| j.clone()).collect();
                let done = match store.complete_all(&jobs).await {
                    Ok(ids) => ids.into_iter().collect::<std::collections::HashSet<i64>>(),
                    Err(e) => {
                        // Their leases lapse and the reaper returns them: they run again.
                        tracing::warn!(jobs = jobs.len(), error = %e, "completing jobs failed; they will run again");
                        std::collections::HashSet::new()
                    }
                };
                for (job, reply) in batch {
                    let f = if done.contains(&job.id) {
                        tracing::debug!(job = job.id, kind = %job.kind, "job completed");
                        Finished::Completed
                    } else {
                        Finished::LeaseLost
                    };
                    let _ = reply.send(f);
                }
            }
        });
        (Self { tx }, task)
    }

    async fn complete(&self, job: salesloft_storage::Job) -> Finished {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.tx.send((job, reply)).is_err() {
            return Finished::LeaseLost;
        }
        answer.await.unwrap_or(Finished::LeaseLost)
    }
}

/// Heartbeat `job` every third of `lease` until its lease is found lost.
async fn heartbeat_until_lost(store: &Store, job: &salesloft_storage::Job, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store.heartbeat(job, lease).await {
            Ok(()) => {}
            Err(salesloft_storage::Error::LeaseLost { .. }) => return,
            Err(e) => tracing::warn!(job = job.id, error = %e, "job heartbeat failed"),
        }
    }
}

/// Count a claimed job of a kind this runner has no handler for
/// (`salesloft_jobs_unhandled_total{kind}`), warning the first time a kind is met.
fn note_unhandled(inner: &Inner, registry: &Registry, job: &salesloft_storage::Job) {
    metrics::counter!("salesloft_jobs_unhandled_total", "kind" => job.kind.clone()).increment(1);
    let first = inner
        .unhandled
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(job.kind.clone());
    if first {
        tracing::warn!(
            job = job.id,
            kind = %job.kind,
            handled = %registry.kinds().join(", "),
            "a job of a kind no handler is registered for here: it fails each attempt and goes dead after its last (register the kind, or cancel the job)"
        );
    }
}

/// How a run ended, before it is recorded.
enum Ran {
    Returned(Result<Outcome, JobError>),
    LeaseLost,
}

/// The handler of `job`: its kind in its team's registry. A kind nobody registered here is
/// a failed attempt: another process may know it (a rolling deploy), so it is retried with
/// backoff, so one that does can take it; dead after its attempts, with why (on the job,
/// which status pages list), counted, and warned of once per kind.
async fn handler_for(
    inner: &Inner,
    job: &salesloft_storage::Job,
) -> Result<Arc<dyn crate::registry::ErasedJob>, JobError> {
    let registry = inner.jobs.registry(job.team_id).await?;
    registry.get(&job.kind).ok_or_else(|| {
        note_unhandled(inner, &registry, job);
        JobError::retry(format!(
            "no handler for job kind {:?} in this process (it runs {}): register one, or \
             cancel the job",
            job.kind,
            registry.kinds().join(", ")
        ))
    })
}

/// Run one claimed job to its end; its slot may be given back once this returns (the
/// returned future only waits for the record to be written).
async fn execute(
    inner: &Inner,
    job: salesloft_storage::Job,
    shutdown: &CancellationToken,
    completer: &Completer,
) -> impl std::future::Future<Output = Finished> + Send + 'static {
    let store = inner.store.clone();
    let ran = match handler_for(inner, &job).await {
        Err(e) => Ran::Returned(Err(e)),
        Ok(handler) => {
            let ctx = JobContext {
                id: job.id,
                kind: job.kind.clone(),
                attempt: job.attempt,
                max_attempts: job.max_attempts,
                cancel: shutdown.child_token(),
            };
            let span =
                tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempt);
            let timeout = inner.config.job_timeout;
            let grace = inner.config.shutdown_grace;
            async {
                tokio::select! {
                    r = tokio::time::timeout(timeout, handler.run(&job.payload, &ctx)) => Ran::Returned(match r {
                        Ok(r) => r,
                        Err(_) => Err(JobError::retry(format!("timed out after {}s", timeout.as_secs()))),
                    }),
                    () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                        tracing::warn!("the job outlasted the shutdown grace; dropped at a safe point and snoozed");
                        Ran::Returned(Ok(Outcome::Snooze(Duration::ZERO)))
                    }
                    () = heartbeat_until_lost(&store, &job, inner.config.lease) => {
                        // Reaped or cancelled by an operator: stop, and write nothing.
                        ctx.cancel.cancel();
                        Ran::LeaseLost
                    }
                }
            }
            .instrument(span)
            .await
        }
    };
    let completer = completer.clone();
    let stopping = shutdown.is_cancelled();
    async move {
        let result = match ran {
            Ran::LeaseLost => {
                tracing::warn!(
                    job = job.id,
                    "the job's lease was lost (reaped or cancelled); its result is not recorded"
                );
                return Finished::LeaseLost;
            }
            // A run that failed because it was told to stop is a snooze, not a failed attempt.
            Ran::Returned(Err(JobError::Retry(_))) if stopping => {
                Ok(Outcome::Snooze(Duration::ZERO))
            }
            Ran::Returned(r) => r,
        };
        match result {
            Ok(Outcome::Done) => completer.complete(job).await,
            other => record(&store, &job, other).await,
        }
    }
}

/// Record a run that did not simply complete, fenced by its token.
async fn record(
    store: &Store,
    job: &salesloft_storage::Job,
    result: Result<Outcome, JobError>,
) -> Finished {
    let written = match &result {
        Ok(Outcome::Done) => store.complete(job).await.map(|()| Finished::Completed),
        Ok(Outcome::Snooze(delay)) => store.snooze(job, *delay).await.map(|()| Finished::Snoozed),
        Err(
            e @ JobError::CredentialsRejected {
                credential,
                until_ms,
                ..
            },
        ) => store
            .hold_job(job, credential, *until_ms, &error_chain(e))
            .await
            .map(|()| Finished::Held),
        Err(e) => {
            let permanent = matches!(e, JobError::Permanent(_));
            store
                .fail(job, &error_chain(e), permanent)
                .await
                .map(|failed| match failed {
                    Failed::Dead => Finished::Dead,
                    Failed::Retrying { .. } => Finished::Retrying,
                })
        }
    };
    match written {
        Ok(f) => {
            log_end(job, &result, f);
            f
        }
        Err(salesloft_storage::Error::LeaseLost { .. }) => Finished::LeaseLost,
        Err(e) => {
            // The lease lapses and the reaper returns the job: it runs again.
            tracing::warn!(job = job.id, error.message = %e, error.cause_chain = %error_chain(&e), "recording a job's end failed; it will run again");
            Finished::LeaseLost
        }
    }
}

/// One line for a job's end: the error's message and its chain, when it failed.
fn log_end(job: &salesloft_storage::Job, result: &Result<Outcome, JobError>, f: Finished) {
    let Err(e) = result else {
        tracing::debug!(job = job.id, kind = %job.kind, outcome = ?f, "job finished");
        return;
    };
    let chain = error_chain(e);
    match f {
        Finished::Dead => {
            tracing::error!(job = job.id, kind = %job.kind, error.message = %e, error.cause_chain = %chain, "job is dead")
        }
        Finished::Held => {
            tracing::warn!(job = job.id, kind = %job.kind, error.message = %e, error.cause_chain = %chain, "job waits for credentials that work")
        }
        _ => {
            tracing::warn!(job = job.id, kind = %job.kind, error.message = %e, error.cause_chain = %chain, "job failed; it will be retried")
        }
    }
}
