//! PostgreSQL and embedded SQLite storage for a SalesLoft integration.
//!
//! One [`Store`] API over both engines, chosen by URL (`postgres://...`, `sqlite://path`,
//! `sqlite::memory:`); runtime-checked SQL only, so no build needs a database; migrations run
//! only when you call [`Store::migrate`].
//!
//! - **The local copy** ([`Entity`], [`Store::upsert`]): typed columns plus the full raw JSON,
//!   written in batches with a monotonic guard (an older `updated_at` never overwrites a newer
//!   row) and soft deletes that a later version clears.
//! - **Sync cursors** ([`SyncState`], [`Store::checkpoint`]): a page of rows and the stream's new
//!   cursor commit in one transaction, guarded by a version, so a crash leaves both or neither.
//! - **The job queue** ([`NewJob`], [`Store::claim`], ...): unique keys, `FOR UPDATE SKIP
//!   LOCKED` claims on PostgreSQL (one atomic `UPDATE ... RETURNING` on SQLite), leases with
//!   heartbeats, and a fencing token on every write after a claim.
//! - **The shared budget** ([`SharedBudget`]): salesloft-client's `CostLimiter` on a database
//!   row, so many processes never exceed the team's budget together.
//! - **The webhook inbox** ([`Store::record_webhook`]) and **OAuth tokens** ([`DbTokenStore`]).
//!
//! ```no_run
//! # async fn demo() -> salesloft_storage::Result<()> {
//! let store = salesloft_storage::Store::connect("sqlite://salesloft.db").await?;
//! store.migrate().await?;
//! let state = store.sync_state("people").await?;
//! println!("people cursor: {:?}", state.cursor.updated_at_us);
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod checkpointer;
mod entities;
mod error;
mod inbox;
mod jobs;
mod nodelay;
mod store;
mod sync;
pub mod testing;
mod tokens;

pub use budget::SharedBudget;
pub use entities::{BATCH_ROWS, Entity, Row, Table, UpsertStats, Val, team_day};
pub use error::{Error, Result};
pub use inbox::{InboxEvent, dedupe_key};
pub use jobs::{Enqueued, Failed, Job, JobRecord, NewJob, backoff};
pub use store::{Backend, POSTGRES_MIGRATOR, SQLITE_MIGRATOR, Store, StoreOptions};
pub use sync::{Checkpoint, OpenCheckpoint, SyncState};
pub use tokens::DbTokenStore;
