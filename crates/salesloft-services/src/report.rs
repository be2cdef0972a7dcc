//! What a sync run reports: per stream and in total, as it goes and at the end.

use std::sync::Arc;

use salesloft_client::{CredentialHold, FailureKind};
use serde::Serialize;

use crate::error::Error;

/// Why a stream's run stopped early: the error itself, with its source chain, shared by every
/// clone of the report. It serialises as its message chain.
#[derive(Debug, Clone)]
pub struct ReportError(Arc<Error>);

impl ReportError {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// What it says about trying again.
    pub fn kind(&self) -> FailureKind {
        self.0.kind()
    }

    /// The hold on the credentials, when SalesLoft rejected them.
    pub fn credential_hold(&self) -> Option<&CredentialHold> {
        self.0.credential_hold()
    }
}

impl From<Error> for ReportError {
    fn from(e: Error) -> Self {
        Self(Arc::new(e))
    }
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two reports' errors are equal when they say the same.
impl PartialEq for ReportError {
    fn eq(&self, other: &Self) -> bool {
        salesloft_client::error_chain(self) == salesloft_client::error_chain(other)
    }
}

impl Eq for ReportError {}

impl Serialize for ReportError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&salesloft_client::error_chain(self))
    }
}

/// Why one record of a push, an enrollment or a removal was not written. It prints, and
/// serialises, as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordFailure {
    /// The record names no person: it has no `id`, `crm_id` or `email_address`.
    NoKey,
    /// SalesLoft has no person with this id.
    NoSuchPerson(i64),
    /// SalesLoft refused the write (422): each field with what it said of it.
    Refused(std::collections::BTreeMap<String, Vec<String>>),
    /// The write (or the look-up before it) failed: the error, with its source chain.
    Failed(ReportError),
}

impl RecordFailure {
    /// What it says about trying again: only a failed write may pass.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Failed(e) => e.kind(),
            Self::NoKey | Self::NoSuchPerson(_) | Self::Refused(_) => FailureKind::Permanent,
        }
    }
}

impl From<Error> for RecordFailure {
    fn from(e: Error) -> Self {
        Self::Failed(e.into())
    }
}

impl std::fmt::Display for RecordFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoKey => f.write_str("the record has no id, crm_id or email_address"),
            Self::NoSuchPerson(id) => write!(f, "SalesLoft has no person {id}"),
            Self::Refused(fields) => {
                let mut first = true;
                for (field, errors) in fields {
                    if !first {
                        f.write_str("; ")?;
                    }
                    first = false;
                    write!(f, "{field} {}", errors.join(", "))?;
                }
                Ok(())
            }
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RecordFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Failed(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl Serialize for RecordFailure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&salesloft_client::error_chain(self))
    }
}

/// What one stream's run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    /// The stream.
    pub stream: String,
    /// Records SalesLoft sent (including ones already stored).
    pub fetched: u64,
    /// How many records this run is expected to read, when SalesLoft said (the first page of a
    /// walk carries the count of everything waiting): a progress display's total.
    pub expected: Option<u64>,
    /// Records new to the local copy.
    pub inserted: u64,
    /// Records that replaced an older local version.
    pub updated: u64,
    /// Records the local copy already had at this version.
    pub unchanged: u64,
    /// Records a complete full listing showed gone (deletes by difference), soft-deleted.
    pub deleted: u64,
    /// Records stored with fields whose type the models do not read (their raw JSON whole).
    pub drifted: u64,
    /// The names of those fields (never values), in the order first seen.
    pub drifted_fields: Vec<String>,
    /// Items that were not records the local copy can keep, kept in the quarantine.
    pub quarantined: u64,
    /// Requests sent.
    pub requests: u64,
    /// API cost of those requests, by SalesLoft's page-depth table.
    pub cost: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Why the stream stopped early, if it did.
    pub error: Option<ReportError>,
    /// Whether the run of this stream has ended (its last progress report says so).
    pub finished: bool,
    /// Whether the run read everything there was (rather than stopping at `max_pages` or an
    /// error).
    pub caught_up: bool,
}

/// What a sync run did, per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// One report per stream, in the order asked.
    pub streams: Vec<StreamReport>,
}

impl SyncReport {
    /// Whether every stream finished.
    pub fn is_ok(&self) -> bool {
        self.streams.iter().all(|s| s.error.is_none())
    }

    /// Total cost over every stream.
    pub fn cost(&self) -> u64 {
        self.streams.iter().map(|s| s.cost).sum()
    }

    /// Total records fetched over every stream.
    pub fn fetched(&self) -> u64 {
        self.streams.iter().map(|s| s.fetched).sum()
    }

    /// The report of the stream named `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamReport> {
        self.streams.iter().find(|s| s.stream == name)
    }
}

/// Options of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Forget the cursors first: read everything again (rows already current are left alone).
    pub full: bool,
    /// Stop each stream after this many pages (a later run resumes where it stopped).
    pub max_pages: Option<u64>,
    /// How far behind its cursor an incremental run re-reads first, for records committed
    /// late ([`DEFAULT_LOOKBACK`]; zero turns it off).
    pub lookback: std::time::Duration,
    /// How long to wait while another process syncs the same stream (one sync of a stream
    /// runs at a time, under the lease `sync:<stream>`); the stream then resumes from that
    /// sync's cursor. Default 30 minutes.
    pub wait_for_other: std::time::Duration,
}

/// The default lookback: 2 s behind the cursor.
pub const DEFAULT_LOOKBACK: std::time::Duration = std::time::Duration::from_secs(2);

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            full: false,
            max_pages: None,
            lookback: DEFAULT_LOOKBACK,
            wait_for_other: std::time::Duration::from_secs(30 * 60),
        }
    }
}

/// Called with a stream's running report when it starts, after every committed checkpoint,
/// and when it ends.
pub type Progress = std::sync::Arc<dyn Fn(&StreamReport) + Send + Sync>;

impl salesloft_client::Failure for ReportError {
    fn failure_kind(&self) -> salesloft_client::FailureKind {
        self.kind()
    }

    fn held_credential(&self) -> Option<&salesloft_client::CredentialHold> {
        self.credential_hold()
    }
}
