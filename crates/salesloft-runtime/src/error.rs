//! The crate's one error type.

/// Why settings were refused, or a process could not start or stopped with an error. Every
/// variant about a setting names its key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A settings layer is not valid TOML.
    #[error("{origin} is not valid TOML: {message}")]
    Parse {
        /// Which layer.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value of the wrong kind, or one it does not know.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The setting's dotted key, such as `budget.per_minute`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A number outside the range the setting allows.
    #[error("invalid setting {key}: must be {allowed}, got {got}")]
    OutOfRange {
        /// The setting's dotted key.
        key: &'static str,
        /// The allowed range, such as `1..=600 (SalesLoft's team budget)`.
        allowed: String,
        /// The value given.
        got: String,
    },
    /// A required setting is missing.
    #[error("missing setting {key}: {hint}")]
    Missing {
        /// The setting's key.
        key: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// The database lacks migrations of this version and `database.migrate_on_start` is off.
    #[error(
        "the database lacks {pending} migration(s) of this version: run `salesloft migrate` \
         (or set database.migrate_on_start)"
    )]
    NotMigrated {
        /// How many.
        pending: usize,
    },
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    /// The API client could not be built.
    #[error(transparent)]
    Client(#[from] salesloft_client::Error),
    /// The webhook tokens could not be loaded.
    #[error(transparent)]
    Webhooks(Box<salesloft_webhooks::Error>),
    /// The job runner failed (on SQLite: another runner holds the file).
    #[error(transparent)]
    Jobs(#[from] salesloft_jobs::Error),
    /// A listener could not be opened or read.
    #[error("listening on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("installing the signal handlers")]
    Signals(#[source] std::io::Error),
    /// Operator routes would be served off loopback without a login.
    #[error(transparent)]
    Exposed(#[from] crate::admin::Exposed),
    /// The Prometheus recorder could not be installed (another is installed already).
    #[error("installing the metrics recorder")]
    Metrics(#[source] metrics_exporter_prometheus::BuildError),
    /// The job runner of a process that also serves stopped with an error.
    #[error("the worker stopped")]
    Worker(#[source] Box<Error>),
}

impl From<salesloft_webhooks::Error> for Error {
    fn from(e: salesloft_webhooks::Error) -> Self {
        Error::Webhooks(Box::new(e))
    }
}

/// The crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn the_chain_names_every_cause() {
        let io = std::io::Error::other("disk full");
        let e = super::Error::Read {
            path: "a.toml".into(),
            source: io,
        };
        assert_eq!(
            salesloft_services::error_chain(&e),
            "cannot read a.toml: disk full"
        );
    }
}
