//! [`RunnerConfig`]: how a runner works.

use std::time::Duration;

/// How a runner works: the defaults, with a `with_*` setter per field
/// (`RunnerConfig::default().with_concurrency(2).with_lease(Duration::from_secs(60))`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunnerConfig {
    /// The queue it claims from.
    pub queue: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Jobs claimed ahead of free slots, so short jobs do not cost a claim each (a prefetched
    /// job that waited a third of its lease renews it before it starts, and is skipped if it
    /// was lost). 0 claims only for free slots.
    pub prefetch: usize,
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
    /// Serving many teams ([`Runner::for_teams`](crate::Runner::for_teams)): the most jobs of one team running at once,
    /// over every process.
    pub max_running_per_team: u32,
}

salesloft_model::with_setters!(RunnerConfig {
    with_queue => queue: String,
    with_concurrency => concurrency: usize,
    with_prefetch => prefetch: usize,
    with_lease => lease: Duration,
    with_poll_min => poll_min: Duration,
    with_poll_max => poll_max: Duration,
    with_job_timeout => job_timeout: Duration,
    with_shutdown_grace => shutdown_grace: Duration,
    with_maintenance_every => maintenance_every: Duration,
    with_prune_every => prune_every: Duration,
    with_keep_completed => keep_completed: Duration,
    with_keep_dead => keep_dead: Duration,
    with_worker_id => worker_id: String,
    with_max_running_per_team => max_running_per_team: u32,
});

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            queue: "default".into(),
            concurrency: 4,
            prefetch: 16,
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
            max_running_per_team: 2,
        }
    }
}
