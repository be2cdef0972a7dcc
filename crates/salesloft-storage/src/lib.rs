//! PostgreSQL and embedded SQLite storage for a SalesLoft integration.
//!
//! One [`Store`] API over both engines, chosen by URL (`postgres://...`, `sqlite://path`,
//! `sqlite::memory:`); runtime-checked SQL only, so no build needs a database; migrations run
//! only when you call [`Store::migrate`].
//!
//! The public API is a set of typed operations: records are named by their type
//! (`store.upsert(&people, zone)`, `store.count_live::<Email>()`,
//! `store.soft_delete::<Person>(id, None)`), never by a table, a column or a SQL fragment, and every
//! value a caller passes is bound as a parameter.
//!
//! - **The local copy** ([`Entity`], [`Store::upsert`]): typed columns plus each record's JSON
//!   exactly as SalesLoft sent it ([`PreparedRows::received`]) and the fields that drifted,
//!   written in batches with a monotonic guard (only a strictly newer `updated_at` replaces a
//!   row), and soft deletes that keep the deleted version (tombstones for ids never stored), so
//!   only a newer version revives an id. Items that are not records go to a quarantine
//!   ([`Store::quarantine`]).
//! - **The change feed** ([`Store::changes_since`], [`FeedPosition`]): each transaction takes
//!   its table's next change position, handed out in commit order, so a reader resuming from
//!   a position misses nothing committed late; with what the toolkit itself wrote
//!   ([`Store::upsert_written`]) so its echoes can be told apart, and the writes SalesLoft
//!   refused ([`Store::park_write`]).
//! - **Sync cursors** ([`SyncState`], [`Store::checkpoint`]): pages of rows and the stream's new
//!   cursor commit in one transaction, guarded by a version, so a crash leaves both or neither.
//!   The cursor is the caller's type, stored as the JSON it serialises to.
//! - **The job queue** ([`NewJob`], [`Store::claim`], ...): unique keys, `FOR UPDATE SKIP
//!   LOCKED` claims on PostgreSQL (one atomic `UPDATE ... RETURNING` on SQLite), leases with
//!   heartbeats, and a fencing token on every write after a claim.
//! - **The shared budget** ([`SharedBudget`]): salesloft-client's `CostLimiter` on a database
//!   row, so many processes never exceed the team's budget together.
//! - **Leases** ([`Store::lease`], [`Lease`]): one holder of a name at a time across processes,
//!   lapsing when a holder dies: one OAuth refresh at a time, one sync of a stream at a time.
//! - **The webhook inbox** ([`Store::record_webhook`]) and **OAuth tokens** ([`DbTokenStore`],
//!   shared by every process, refreshed under a lease).
//! - **Test support** (feature `testing`): throwaway databases and raw SQL for tests.
//!
//! ```no_run
//! # async fn demo() -> salesloft_storage::Result<()> {
//! use salesloft_model::Person;
//! let store = salesloft_storage::Store::connect("sqlite://salesloft.db").await?;
//! store.migrate().await?;
//! let people: Vec<Person> = Vec::new(); // from salesloft-client
//! store.upsert(&people, chrono_tz::UTC).await?;
//! println!("{} people, last synced {:?}", store.count_live::<Person>().await?,
//!     store.sync_state("people").await?.last_success_at_ms);
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod checkpointer;
mod engagement;
mod entity;
mod error;
mod feed;
mod holds;
mod inbox;
mod jobs;
mod lease;
mod nodelay;
mod quarantine;
mod records;
mod store;
mod subscriptions;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod upsert;

pub use budget::{MinuteSpend, SharedBudget};
/// The time zone type the local copy's activity days are computed in (chrono-tz's).
pub use chrono_tz::Tz;
pub use engagement::{DaySpan, EngagementRow, EngagementWritten, LocalDays, OffsetSpans};
pub use entity::{Entity, PreparedRows};
pub use error::{Error, Result};
pub use feed::{ChangedRow, FeedPosition, OwnWrite, ParkedWrite};
pub use inbox::{Delivery, InboxEvent, InboxOutcome, ProcessPayload, Recorded, dedupe_key};
pub use jobs::{Enqueued, Failed, Job, JobRecord, JobWakeups, NewJob, backoff};
pub use lease::Lease;
pub use quarantine::Quarantined;
pub use store::{Backend, Store, StoreOptions, now_ms};
pub use subscriptions::StoredSubscription;
pub use sync::{Checkpoint, OpenCheckpoint, SyncState};
pub use tokens::DbTokenStore;
pub use upsert::UpsertStats;
