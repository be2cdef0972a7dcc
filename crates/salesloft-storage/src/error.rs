//! The crate's one error type.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong storing SalesLoft data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL's scheme is not one this crate serves (the URL itself is never
    /// repeated: it may hold a password).
    #[error(
        "unsupported database URL scheme {0:?}: use postgres://..., sqlite://path or sqlite::memory:"
    )]
    UnsupportedUrl(String),
    /// A file the store needs could not be created.
    #[error("{context}")]
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The database refused a statement or could not be reached.
    #[error("database error during {context}")]
    Database {
        /// What the store was doing.
        context: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A record could not be turned into a row (or a stored row back into JSON).
    #[error("cannot encode {what}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The serialisation error.
        #[source]
        source: serde_json::Error,
    },
    /// Another writer changed the sync state first (optimistic version check failed).
    #[error("sync state of stream {stream:?} was changed by another writer")]
    Conflict {
        /// The stream.
        stream: String,
    },
    /// A lock another process holds did not come free in time.
    #[error("busy: {0}")]
    Busy(String),
    /// The caller asked for something the store cannot do with these arguments.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// This worker's lease on a job was lost (reaped or claimed by another); nothing was
    /// written.
    #[error("lease on job {job_id} lost")]
    LeaseLost {
        /// The job.
        job_id: i64,
    },
    /// No secrets key was given to the store (`Store::with_keyring`; `secrets.key` in the
    /// configuration), so team credentials can be neither sealed nor opened.
    #[error(
        "no secrets key is configured (secrets.key, SALESLOFT_SECRETS__KEY: the base64 of 32 random bytes), so team credentials cannot be stored or read"
    )]
    NoSecretsKey,
    /// A second team cannot be added to a PostgreSQL database until the contract step that
    /// makes every key include the team has run.
    #[error(
        "a second team needs the keys that include the team: run `salesloft migrate --contract` once no process of the previous release is left"
    )]
    ContractPending,
    /// A connect flow's `state` was refused: a new connect starts from the beginning.
    #[error("the connect request is {why}: start again from the connect page")]
    ConnectState {
        /// Why: not signed by this deployment, expired, already used.
        why: &'static str,
    },
    /// A team with this slug exists.
    #[error("a team named {slug:?} exists")]
    TeamSlugTaken {
        /// The slug.
        slug: String,
    },
    /// The SalesLoft team is connected already, under another slug.
    #[error(
        "SalesLoft team {salesloft_team_id} is connected already as {slug:?}: reconnect that team instead of adding it twice"
    )]
    SalesLoftTeamTaken {
        /// SalesLoft's id of the team.
        salesloft_team_id: i64,
        /// The slug that holds it.
        slug: String,
    },
    /// A secrets key from the configuration is not usable (the key itself is never shown).
    #[error("secrets key {id:?} is {why}: expected the base64 of 32 random bytes")]
    SecretsKey {
        /// The key's id.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A secret was sealed by a key the store was not given (a key rotated out too soon).
    #[error("a stored secret was sealed by key {key_id:?}, which is not configured")]
    UnknownSecretsKey {
        /// The missing key's id.
        key_id: String,
    },
    /// A secret could not be sealed or opened: the key is not the one that sealed it, or the
    /// ciphertext was altered or moved to another row.
    #[error("a stored secret did not open with key {key_id:?}: altered, moved, or another key")]
    Sealing {
        /// The key's id.
        key_id: String,
    },
}

impl Error {
    /// What this failure says about trying again: the database unreachable, busy or in a
    /// conflict that a retry resolves is transient; anything else is permanent.
    pub fn kind(&self) -> salesloft_model::FailureKind {
        use salesloft_model::FailureKind::{Permanent, Transient};
        match self {
            Error::Database { source, .. } => {
                if transient_database_error(source) {
                    Transient
                } else {
                    Permanent
                }
            }
            Error::Io { .. }
            | Error::Conflict { .. }
            | Error::Busy(_)
            | Error::LeaseLost { .. } => Transient,
            _ => Permanent,
        }
    }
}

/// Whether trying again may succeed: the connection or pool failed, or the database asked for
/// a retry (serialization failure, deadlock, lock timeout, shutting down, SQLite busy).
fn transient_database_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(
                code.as_ref(),
                // PostgreSQL: serialization failure, deadlock, lock not available, admin or
                // crash shutdown, cannot connect now, too many connections.
                "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "53300"
                // SQLite: SQLITE_BUSY and SQLITE_LOCKED (and their extended codes).
                | "5" | "6" | "261" | "517" | "262"
            ) || code.starts_with("08")
        }),
        _ => false,
    }
}

/// Attach `context` to an sqlx error.
pub(crate) trait Context<T> {
    fn context(self, context: &'static str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|source| Error::Database { context, source })
    }
}

impl salesloft_model::Failure for Error {
    fn failure_kind(&self) -> salesloft_model::FailureKind {
        self.kind()
    }
}
