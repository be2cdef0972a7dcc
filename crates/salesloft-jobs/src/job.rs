//! What a job is: the [`Job`] trait, the context a run gets, and what a run returns.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

/// One kind of background work. `run` is called with the job's payload each attempt; return
/// [`Outcome::Done`] when finished, [`Outcome::Snooze`] to run again later without spending
/// an attempt (a rate-limit wait, a shutdown), or a [`JobError`].
///
/// A run should stop soon after [`JobContext::cancelled`] fires (the process is shutting
/// down, or the job's lease was lost); one that does not is dropped at the end of the
/// shutdown grace and snoozed, so it must leave the database consistent at every await point
/// (as a sync does: each checkpoint is one transaction).
#[async_trait::async_trait]
pub trait Job: Send + Sync + 'static {
    /// The job's arguments, stored as JSON.
    type Payload: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The kind stored with each job, such as `sync`.
    const KIND: &'static str;

    /// Attempts before the job is dead.
    const MAX_ATTEMPTS: i32 = 20;

    /// Do the work once.
    async fn run(&self, payload: Self::Payload, ctx: &JobContext) -> Result<Outcome, JobError>;
}

/// What a run reports when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Finished.
    Done,
    /// Not finished: run it again after this long, without spending an attempt.
    Snooze(Duration),
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// May succeed later: retried with exponential backoff and jitter until the attempts run
    /// out, then dead.
    #[error("{0}")]
    Retry(String),
    /// Will not succeed by trying again: dead at once, with the message kept.
    #[error("{0}")]
    Permanent(String),
}

/// What a run knows about its job, and how it learns it should stop.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) id: i64,
    pub(crate) kind: String,
    pub(crate) attempt: i32,
    pub(crate) max_attempts: i32,
    pub(crate) cancel: CancellationToken,
}

impl JobContext {
    /// The job's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The job's kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// This attempt's number, 1 for the first.
    pub fn attempt(&self) -> i32 {
        self.attempt
    }

    /// Attempts allowed.
    pub fn max_attempts(&self) -> i32 {
        self.max_attempts
    }

    /// True once the run should stop (shutdown, or the lease was lost).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes once the run should stop.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }
}
