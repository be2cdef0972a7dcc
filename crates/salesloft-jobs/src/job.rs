//! What a job is: the [`Job`] trait, the context a run gets, and what a run returns.

use std::time::Duration;

use salesloft_model::{CredentialHold, Failure, FailureKind};
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

/// Why a run failed: the error itself, kept with its source chain, and what the runner does
/// about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// May succeed later (a 5xx, a timeout, the database unavailable): retried with
    /// exponential backoff and jitter until the attempts run out, then dead.
    #[error(transparent)]
    Retry(BoxError),
    /// Will not succeed by trying again (a 422, bad configuration, a payload that cannot be
    /// read): dead at once, with the error kept.
    #[error(transparent)]
    Permanent(BoxError),
    /// SalesLoft rejected the credentials: the job waits without spending an attempt until
    /// the hold on `credential` is lifted (a probe accepted, new credentials, `salesloft jobs
    /// resume`) or `until_ms`, the hold's next probe, whichever comes first. Scheduled runs
    /// of it are not enqueued meanwhile.
    #[error("waiting for credentials SalesLoft rejected")]
    CredentialsRejected {
        /// The credential's id (salesloft-client's `Client::credential_id`).
        credential: String,
        /// When to try again at the latest, ms since the epoch.
        until_ms: i64,
        /// The rejection.
        #[source]
        source: BoxError,
    },
}

impl JobError {
    /// A failure that may pass: retried.
    pub fn retry(e: impl Into<BoxError>) -> Self {
        JobError::Retry(e.into())
    }

    /// A failure that will not pass: dead at once.
    pub fn permanent(e: impl Into<BoxError>) -> Self {
        JobError::Permanent(e.into())
    }

    /// The job error for a failure of `kind` (and its credential hold, if SalesLoft rejected
    /// the credentials): retried, dead at once, or held.
    pub fn of_failure(
        kind: FailureKind,
        hold: Option<&CredentialHold>,
        e: impl Into<BoxError>,
    ) -> Self {
        match (kind, hold) {
            (FailureKind::Transient, _) => JobError::Retry(e.into()),
            (FailureKind::CredentialsRejected, Some(hold)) => JobError::CredentialsRejected {
                credential: hold.credential.clone(),
                until_ms: hold.probe_at_ms,
                source: e.into(),
            },
            _ => JobError::Permanent(e.into()),
        }
    }
}

/// Any crate's typed error becomes the job error its [`Failure`] kind calls for
/// ([`JobError::of_failure`]), so `?` works in a job on every error of the toolkit.
impl<E: Failure> From<E> for JobError {
    fn from(e: E) -> Self {
        let kind = e.failure_kind();
        let hold = e.held_credential().cloned();
        JobError::of_failure(kind, hold.as_ref(), e)
    }
}

/// A boxed error of any type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

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

    /// The token that is cancelled once the run should stop, for code that takes one.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
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
