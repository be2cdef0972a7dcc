//! The crate's one error type.

use salesloft_client::{CredentialHold, FailureKind};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a behaviour of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SalesLoft (or the way to it) failed.
    #[error("SalesLoft API")]
    Api(#[from] salesloft_client::Error),
    /// The database failed.
    #[error("storage")]
    Storage(#[from] salesloft_storage::Error),
    /// A stream name that does not exist.
    #[error("unknown stream {0:?}: use one of {names}", names = salesloft_client::Resource::names())]
    UnknownStream(String),
    /// The task fetching a stream's pages stopped without finishing (it panicked).
    #[error("the fetcher of {stream} stopped")]
    FetcherStopped {
        /// The stream.
        stream: String,
        /// What the runtime reported.
        #[source]
        source: tokio::task::JoinError,
    },
    /// SalesLoft answered in a way that cannot be trusted for the operation.
    #[error("{0}")]
    Unreliable(String),
    /// A cached lookup's load failed (every caller sharing that load gets this error).
    #[error("looking up in the {cache} cache")]
    Lookup {
        /// The cache: `users`, `cadences` or `people_by_email`.
        cache: &'static str,
        /// Why the load failed.
        #[source]
        source: std::sync::Arc<Error>,
    },
    /// A stored record is not valid JSON.
    #[error("stored record {id} of {stream} is not valid JSON")]
    Corrupt {
        /// The stream.
        stream: String,
        /// The record.
        id: i64,
    },
}

impl Error {
    /// What this failure says about trying again.
    pub fn kind(&self) -> FailureKind {
        match self {
            Error::Api(e) => e.kind(),
            Error::Storage(e) => e.kind(),
            Error::Lookup { source, .. } => source.kind(),
            Error::Unreliable(_) => FailureKind::Transient,
            Error::UnknownStream(_) | Error::FetcherStopped { .. } | Error::Corrupt { .. } => {
                FailureKind::Permanent
            }
        }
    }

    /// The hold on the credentials, when SalesLoft rejected them.
    pub fn credential_hold(&self) -> Option<&CredentialHold> {
        match self {
            Error::Api(e) => e.credential_hold(),
            Error::Lookup { source, .. } => source.credential_hold(),
            _ => None,
        }
    }
}

impl salesloft_client::Failure for Error {
    fn failure_kind(&self) -> salesloft_client::FailureKind {
        self.kind()
    }

    fn held_credential(&self) -> Option<&salesloft_client::CredentialHold> {
        self.credential_hold()
    }
}
