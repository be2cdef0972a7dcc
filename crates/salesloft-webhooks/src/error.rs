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
