//! The crate's one error type.

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
    #[error("the fetcher of {stream} stopped: {reason}")]
    FetcherStopped {
        /// The stream.
        stream: String,
        /// What the runtime reported.
        reason: String,
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

/// `error` and each of its sources, joined by `": "`, for reports, logs and a binary's last
/// words (a source whose text the message already ends with is not repeated).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = s.source();
    }
    chain
}
