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
//! - [`JobError`]: a failure kept with its source and decided by what it is: retried
//!   ([`JobError::Retry`]), dead at once ([`JobError::Permanent`]) or parked until SalesLoft
//!   accepts the credentials ([`JobError::CredentialsRejected`]).
//!
//! This crate is the runtime only: the jobs of the toolkit live beside their behaviours
//! (salesloft-services' `jobs` module, salesloft-webhooks' `WebhookJob`), and an embedder's
//! own jobs are registered the same way:
//!
//! ```no_run
//! # async fn demo(store: salesloft_storage::Store) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use salesloft_jobs::{Job, JobContext, JobError, Outcome, Registry, Runner, RunnerConfig, Schedule};
//!
//! struct Export;
//!
//! #[salesloft_jobs::async_trait]
//! impl Job for Export {
//!     type Payload = String; // the table to export
//!     const KIND: &'static str = "export";
//!
//!     async fn run(&self, table: String, ctx: &JobContext) -> Result<Outcome, JobError> {
//!         if table.is_empty() {
//!             return Err(JobError::permanent("no table named"));
//!         }
//!         // `?` on any error type: a `std::io::Error` here is worth a retry.
//!         std::fs::write(format!("/tmp/{table}.done"), b"ok").map_err(JobError::retry)?;
//!         Ok(Outcome::Done)
//!     }
//! }
//!
//! let registry = Registry::new().register(Export);
//! let mut config = RunnerConfig::default();
//! config.concurrency = 2;
//! let runner = Runner::new(store.clone(), registry, config)?
//!     .with_schedules(vec![Schedule::every::<Export>("export:people", &"people".to_owned(), Duration::from_secs(3600))?]);
//! let shutdown = salesloft_jobs::CancellationToken::new();
//! runner.run(shutdown).await?; // until shutdown.cancel()
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod job;
mod prefetch;
mod registry;
mod runner;
mod schedule;

pub use async_trait::async_trait;
pub use error::{Error, Result};
pub use job::{BoxError, Job, JobContext, JobError, Outcome};
pub use registry::Registry;
pub use runner::{Drained, Finished, Runner, RunnerConfig};
pub use schedule::Schedule;
pub use tokio_util::sync::CancellationToken;
