#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod checkpointer;
mod connect;
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
mod secrets;
mod store;
mod subscriptions;
mod sync;
mod team_id;
mod teams;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod upsert;

pub use budget::{MinuteSpend, SharedBudget};
/// The time zone type the local copy's activity days are computed in (chrono-tz's).
pub use chrono_tz::Tz;
pub use connect::{CONNECT_STATE_TTL, ConnectGrant};
pub use engagement::{DaySpan, EngagementRow, EngagementWritten, LocalDays, OffsetSpans};
pub use entity::{Entity, PreparedRows};
pub use error::{Error, Result};
pub use feed::{ChangedRow, FeedPosition, OwnWrite, ParkedWrite};
pub use inbox::{Delivery, InboxEvent, InboxOutcome, ProcessPayload, Recorded, dedupe_key};
pub use jobs::{Enqueued, Failed, Job, JobRecord, JobWakeups, NewJob, backoff};
pub use lease::Lease;
pub use quarantine::Quarantined;
pub use secrets::{Keyring, Sealed, SecretsKey};
pub use store::{Backend, Store, StoreOptions, now_ms};
pub use subscriptions::StoredSubscription;
pub use sync::{Checkpoint, OpenCheckpoint, SyncState};
pub use team_id::TeamId;
pub use teams::{NewTeam, TeamCredentials, TeamRecord, TeamSlug, TeamState};
pub use tokens::DbTokenStore;
pub use upsert::UpsertStats;
