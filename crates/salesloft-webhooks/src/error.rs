//! The crate's one error type.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop processing a delivery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[error("storage")]
    Storage(#[from] salesloft_storage::Error),
    /// Applying the record to the local copy failed.
    #[error("applying a {event_type} delivery")]
    Apply {
        /// The delivery's event type.
        event_type: String,
        /// Why.
        #[source]
        source: salesloft_services::Error,
    },
}

impl Error {
    /// What this failure says about trying again.
    pub fn kind(&self) -> salesloft_model::FailureKind {
        match self {
            Error::Storage(e) => e.kind(),
            Error::Apply { source, .. } => source.kind(),
        }
    }

    /// The hold on the credentials, when SalesLoft rejected them.
    pub fn credential_hold(&self) -> Option<&salesloft_model::CredentialHold> {
        match self {
            Error::Storage(_) => None,
            Error::Apply { source, .. } => source.credential_hold(),
        }
    }
}
