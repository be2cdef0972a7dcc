//! The integration's behaviours on top of salesloft-client and salesloft-storage.
//!
//! Each behaviour is one type over a shared [`Context`] (the client, the store, a clock and the
//! team's settings):
//!
//! - [`SyncEngine`] keeps the local copy up to date: every stream (users, accounts, people,
//!   cadences, steps, cadence memberships, e-mails, calls, notes) read with salesloft-client's
//!   incremental walk — `updated_at[gte]` ascending, cost 1 per request — and written with its
//!   cursor in one transaction. The first run backfills; later runs fetch only what changed; a
//!   run killed at any moment resumes with nothing lost or duplicated. Streams run concurrently
//!   under the client's one cost limiter, and one stream's failure does not stop the others.
//!   Each record is kept with its JSON exactly as sent; a record with a field of an unexpected
//!   type is kept and counted (never stopping its stream), an item that is not a record goes
//!   to the quarantine.
//! - [`Reconciler`] finds records deleted in SalesLoft that no webhook reported (cost 1 per
//!   100 ids) and soft-deletes them, within a guard against short listings.
//! - [`Verifier`] compares the local copy with a full export of the source, record by record.
//! - [`StatusReport`] says where each stream stands: records, freshness, cursor, last error.
//! - [`EngagementMetrics`] computes daily engagement per (day, user, cadence) in each user's
//!   time zone, recomputing whole days (those new activities touched and the trailing 48 h).
//! - [`CadenceManager`] lists cadences from the local copy, imports new ones, and enrolls or
//!   removes people in bulk at one write each (skipping who is on already or do-not-contact).
//! - [`FieldPolicies`] decide, field by field, which side wins when the local system and
//!   SalesLoft disagree (`salesloft_wins`, `local_wins`, `*_unless_blank`, `newest_wins`,
//!   `none`).
//! - [`PeopleSync`] pushes the local system's people under those rules (an unchanged record
//!   costs nothing; a create that may have acted is looked up before it is retried; a 422 is
//!   parked with SalesLoft's field errors) and reads a feed of people changed in SalesLoft
//!   since a [`ChangeCursor`], leaving out the echoes of its own writes.
//! - [`Lookups`] caches users and cadences by id and people by e-mail (local copy first, then
//!   one SalesLoft list), with coalesced loads, a time to live and webhook invalidation.
//!
//! The streams come from salesloft-client's one resource registry ([`Stream::all`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use salesloft_services::{Context, SyncEngine, SyncOptions};
//! let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key("ak_...")).build()?;
//! let store = salesloft_storage::Store::connect("sqlite://salesloft.db").await?;
//! store.migrate().await?;
//! let report = SyncEngine::new(Context::new(client, store)).sync_all(SyncOptions::default()).await;
//! for s in &report.streams {
//!     println!("{}: {} fetched, {} new, cost {}", s.stream, s.fetched, s.inserted, s.cost);
//! }
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod cadences;
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
pub use report::{DEFAULT_LOOKBACK, Progress, ReportError, StreamReport, SyncOptions, SyncReport};
pub use salesloft_client::error_chain;
pub use salesloft_storage::EngagementRow;
pub use status::{StatusReport, StreamStatus};
pub use streams::Stream;
pub use sync::SyncEngine;
pub use verify::{StreamDiff, Verifier};
