//! [`Schedule`]: periodic work without a leader. Every runner enqueues each scheduled job
//! under its unique key for the next period boundary; while one is pending or running, the
//! others' enqueues are no-ops, so however many processes run, each period runs it once.

use std::time::Duration;

use salesloft_storage::{NewJob, Store};

use crate::error::Result;
use crate::job::Job;
use crate::registry::Registry;

/// A job enqueued every `every`, at the period boundaries (multiples of `every` since the
/// epoch), under `unique_key`.
#[derive(Debug, Clone)]
pub struct Schedule {
    job: NewJob,
    every: Duration,
    at_start: bool,
}

impl Schedule {
    /// Run a `J` with `payload` every `every` (at least a second), unique by `unique_key`.
    pub fn every<J: Job>(
        unique_key: impl Into<String>,
        payload: &J::Payload,
        every: Duration,
    ) -> Result<Self> {
        Ok(Self {
            job: Registry::job::<J>(payload)?.unique(unique_key),
            every: every.max(Duration::from_secs(1)),
            at_start: false,
        })
    }

    /// Also run it as soon as a runner starts (a fresh worker syncs at once rather than at
    /// the next boundary).
    pub fn at_start(mut self) -> Self {
        self.at_start = true;
        self
    }

    /// Put it on `queue` (the runner's queue).
    pub fn on_queue(mut self, queue: impl Into<String>) -> Self {
        self.job = self.job.on_queue(queue);
        self
    }

    /// Its unique key.
    pub fn unique_key(&self) -> &str {
        self.job.unique_key.as_deref().unwrap_or_default()
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.every
    }

    pub(crate) fn queue(&self) -> &str {
        &self.job.queue
    }

    /// Enqueue it to run now if it runs at a runner's start ([`Schedule::at_start`]): what a
    /// team just added needs at once (its backfill) rather than at the next maintenance.
    pub async fn start_now(&self, store: &Store) -> Result<()> {
        if self.at_start {
            self.tick(store, store.now_ms(), true).await?;
        }
        Ok(())
    }

    /// Enqueue it for the next boundary after `now_ms` (or now, at a runner's start when
    /// [`Schedule::at_start`]). A pending or running one makes this a no-op (an earlier time
    /// wins).
    pub(crate) async fn tick(&self, store: &Store, now_ms: i64, starting: bool) -> Result<()> {
        let every = i64::try_from(self.every.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let next = (now_ms / every).saturating_add(1).saturating_mul(every);
        let mut job = self.job.clone();
        job.run_at_ms = Some(if starting && self.at_start {
            now_ms
        } else {
            next
        });
        store.enqueue(&job).await?;
        Ok(())
    }
}
