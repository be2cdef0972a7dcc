//! Durable background work for a SalesLoft integration, shared by many processes on
//! PostgreSQL and run by one process on SQLite.
//!
//! - [`Job`]: one kind of work (its kind, payload type and `run`), registered in a
//!   [`Registry`] and enqueued with [`Registry::job`] and [`salesloft_storage::Store::enqueue`].
//! - [`Runner`]: claims jobs of a queue `concurrency` at a time, heartbeats each at a third of
//!   its lease, fences every write after the claim, reaps lapsed leases, prunes old jobs,
//!   retries failures with exponential backoff and jitter until they are dead, snoozes
//!   without spending an attempt, times out runs, and wakes on enqueues (in-process, and
//!   through `LISTEN/NOTIFY` on PostgreSQL) instead of busy polling. [`Runner::run`] stops on
//!   a `CancellationToken`: it stops claiming, gives running jobs the shutdown grace, and
//!   snoozes what did not finish. [`Runner::run_once`] drains the due jobs, for tests.
//! - [`Schedule`]: periodic work without a leader: every runner enqueues each schedule under
//!   its unique key, so duplicates are no-ops.
//! - Built in: [`SyncJob`], [`ReconcileJob`], [`EngagementJob`], [`EnrollJob`], [`PushJob`],
//!   [`sync_registry`], [`sync_schedules`].
//!
//! ```no_run
//! # async fn demo(ctx: salesloft_services::Context) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use salesloft_jobs::{Runner, RunnerConfig, sync_registry, sync_schedules};
//! let registry = sync_registry(ctx.clone(), Default::default());
//! let runner = Runner::new(ctx.store.clone(), registry, RunnerConfig::default())?
//!     .with_schedules(sync_schedules(Duration::from_secs(300))?);
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! runner.run(shutdown).await?; // until shutdown.cancel()
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builtin;
mod error;
mod job;
mod registry;
mod runner;
mod schedule;

pub use builtin::{
    BuiltinSettings, EngagementJob, EngagementPayload, EnrollJob, EnrollPayload, InboxPruneJob,
    InboxRetention, PrunePayload, PushJob, PushPayload, ReconcileJob, StreamPayload, SyncJob,
    engagement_job, sync_job, sync_key, sync_registry, sync_schedules,
};
pub use error::{Error, Result};
pub use job::{BoxError, Job, JobContext, JobError, Outcome};
pub use registry::Registry;
pub use runner::{Drained, Finished, Runner, RunnerConfig};
pub use schedule::Schedule;
pub use tokio_util::sync::CancellationToken;
