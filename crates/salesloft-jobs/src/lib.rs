#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod error;
mod job;
mod prefetch;
mod registry;
mod runner;
mod schedule;
mod team_jobs;

pub use async_trait::async_trait;
pub use error::{Error, Result};
pub use job::{BoxError, Job, JobContext, JobError, Outcome};
pub use registry::{Registry, TeamRegistries};
pub use runner::{Drained, Finished, Runner, RunnerConfig};
pub use schedule::Schedule;
pub use tokio_util::sync::CancellationToken;
