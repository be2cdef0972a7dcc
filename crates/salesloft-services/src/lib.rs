#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod cadences;
mod checked_write;
mod context;
mod engagement;
mod error;
pub mod jobs;
mod lookup;
mod people;
mod pipeline;
mod policy;
mod reconcile;
mod reconciler;
mod report;
mod status;
mod streams;
mod sync;
mod tasks;
mod verify;

pub use apply::{Applied, DeleteHint};
pub use cadences::{
    BulkProgress, CadenceDetail, CadenceManager, EnrollOptions, EnrollReport, RemoveReport,
};
pub use context::{Clock, Context, SystemClock, TeamSettings};
pub use engagement::{
    Breakdown, EngagementConfig, EngagementMetrics, EngagementTotals, Recompute, RecomputeReport,
    break_down,
};
pub use error::{Error, Result};
pub use lookup::{CacheStats, LookupConfig, Lookups};
pub use people::{
    ChangeBatch, ChangeCursor, ChangeKind, LocalPerson, ParkedPush, PeopleSync, PersonChange,
    PersonKey, PushOptions, PushReport,
};
pub use policy::{FieldDecision, FieldPolicies, FieldPolicy, is_blank};
pub use reconcile::{ReconcileOptions, ReconcileReport};
pub use reconciler::Reconciler;
pub use report::{
    DEFAULT_LOOKBACK, Progress, RecordFailure, ReportError, StreamReport, SyncOptions, SyncReport,
};
pub use salesloft_client::error_chain;
pub use salesloft_storage::EngagementRow;
pub use status::{StatusReport, StreamStatus};
pub use streams::Stream;
pub use sync::SyncEngine;
pub use tasks::{CreatedTask, TaskWriter};
pub use verify::{StreamDiff, Verifier};
