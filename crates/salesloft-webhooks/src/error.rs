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
    /// A request to SalesLoft failed (subscribing).
    #[error("asking SalesLoft")]
    SalesLoft(#[source] Box<salesloft_client::Error>),
    /// SalesLoft has a subscription to the callback URL whose token neither it shows nor the
    /// database keeps, so its deliveries cannot be verified.
    #[error(
        "subscription {id} for {event_type} exists without a token the toolkit knows; remove it (`salesloft webhooks unsubscribe --id {id}`) and subscribe again"
    )]
    UnknownToken {
        /// SalesLoft's id of the subscription.
        id: i64,
        /// Its event type.
        event_type: String,
    },
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

impl From<salesloft_client::Error> for Error {
    fn from(e: salesloft_client::Error) -> Self {
        Error::SalesLoft(Box::new(e))
    }
}

impl Error {
    /// What this failure says about trying again.
    pub fn kind(&self) -> salesloft_model::FailureKind {
        match self {
            Error::Storage(e) => e.kind(),
            Error::SalesLoft(e) => e.kind(),
            Error::UnknownToken { .. } => salesloft_model::FailureKind::Permanent,
            Error::Apply { source, .. } => source.kind(),
        }
    }

    /// The hold on the credentials, when SalesLoft rejected them.
    pub fn credential_hold(&self) -> Option<&salesloft_model::CredentialHold> {
        match self {
            Error::Storage(_) | Error::UnknownToken { .. } => None,
            Error::SalesLoft(e) => e.credential_hold(),
            Error::Apply { source, .. } => source.credential_hold(),
        }
    }
}

impl salesloft_model::Failure for Error {
    fn failure_kind(&self) -> salesloft_model::FailureKind {
        self.kind()
    }

    fn held_credential(&self) -> Option<&salesloft_model::CredentialHold> {
        self.credential_hold()
    }
}
