//! The crate's one error type.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop a runner or an enqueue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[error("storage")]
    Storage(#[from] salesloft_storage::Error),
    /// A payload could not be encoded as JSON.
    #[error("cannot encode the payload of a {kind} job")]
    Encode {
        /// The job's kind.
        kind: &'static str,
        /// The serialisation error.
        #[source]
        source: serde_json::Error,
    },
    /// Another runner uses this SQLite database; SQLite runs one runner per file (scale out
    /// on PostgreSQL instead).
    #[error(
        "another job runner is using this SQLite database; run one worker per SQLite file, or use PostgreSQL for more"
    )]
    RunnerBusy,
    /// Another process took over this SQLite database's runner lease while this runner held
    /// it (this one stalled past the lease): it stopped claiming, gave its jobs the grace and
    /// returned. Restart it (a supervisor does) to run again.
    #[error(
        "another process took over this SQLite database's job runner lease (this runner stalled past it): stopped; restart it to run again"
    )]
    RunnerLeaseLost,
    /// The configuration cannot work.
    #[error("invalid runner configuration: {0}")]
    Config(String),
}
