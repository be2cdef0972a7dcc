//! Connecting to PostgreSQL or SQLite, chosen by URL, and running migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::checkpointer::Checkpointer;
use crate::error::{Context, Error, Result};

/// The PostgreSQL migrations (`migrations/postgres`): expand steps, safe to run while the
/// previous release still runs. Like every migrator here, it accepts a database where a later
/// release applied migrations it does not know, so this release still starts beside the next
/// one's expand steps.
pub(crate) static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("./migrations/postgres")
};
/// The SQLite migrations (`migrations/sqlite`).
pub(crate) static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator {
    ignore_missing: true,
    ..sqlx::migrate!("./migrations/sqlite")
};
/// PostgreSQL's contract steps (`migrations/postgres/contract`): they remove what only an older
/// release still uses, so they run once no older process is left, tracked in their own table.
static POSTGRES_CONTRACT_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate::Migrator {
    ignore_missing: true,
    table_name: std::borrow::Cow::Borrowed("_salesloft_contract_migrations"),
    ..sqlx::migrate!("./migrations/postgres/contract")
};

/// Pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// PostgreSQL connections (SQLite always has one writer and this many readers).
    pub max_connections: u32,
    /// How long to wait for a connection or, on SQLite, for the write lock.
    pub acquire_timeout: Duration,
    /// On PostgreSQL over TCP, turn Nagle's algorithm off on each new connection (sqlx 0.9.0
    /// leaves it on, which delays small statements by up to 40 ms). It finds the connection's
    /// socket among the process's descriptors by the server's port, so it also reaches other
    /// sockets of the process connected to that port: off by default, for embedders; our
    /// binaries and tests turn it on. Linux only; elsewhere it does nothing.
    pub tcp_nodelay: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(15),
            tcp_nodelay: false,
        }
    }
}

/// Which engine a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: many processes share it.
    Postgres,
    /// SQLite: one process, embedded.
    Sqlite,
}

/// One database, PostgreSQL or SQLite, and every operation the toolkit runs on it. Clone it
/// freely: clones share the pools.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pools: Pools,
    /// Bumped on every enqueue through this store (and its clones), so job runners in this
    /// process wake without polling.
    pub(crate) jobs_wake: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Where its instants come from (leases, jobs' times, spend minutes, feed positions).
    clock: std::sync::Arc<dyn salesloft_model::Clock>,
    /// The keys team credentials are sealed with (none: they can be neither stored nor read).
    keyring: Option<std::sync::Arc<crate::secrets::Keyring>>,
    /// The team every per-team operation of this handle reads and writes: the default team
    /// until [`Store::team`] gives a handle on another.
    team: crate::team_id::TeamId,
}

impl Store {
    fn from_pools(pools: Pools) -> Self {
        Store {
            pools,
            jobs_wake: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            clock: std::sync::Arc::new(salesloft_model::SystemClock),
            keyring: None,
            team: crate::team_id::TeamId::DEFAULT,
        }
    }

    /// A handle on the same database for the team `id`: every per-team operation through it
    /// (records, change feed, sync state, engagement, quarantine, inbox, jobs, tokens, leases,
    /// subscriptions) reads and writes that team's rows only. There is no per-team operation
    /// without a team: a handle from [`Store::connect`] acts on the default team (id 1, which
    /// holds a single-team deployment's data).
    pub fn team(&self, id: crate::team_id::TeamId) -> Store {
        Store {
            team: id,
            ..self.clone()
        }
    }

    /// The team this handle acts on.
    pub fn team_id(&self) -> crate::team_id::TeamId {
        self.team
    }

    /// The team's id as bound into SQL.
    pub(crate) fn tid(&self) -> i64 {
        self.team.get()
    }

    /// The same store (and its clones from now on) sealing and opening team credentials
    /// with `keyring`.
    pub fn with_keyring(mut self, keyring: std::sync::Arc<crate::secrets::Keyring>) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Its keyring, or [`crate::Error::NoSecretsKey`].
    pub(crate) fn keyring(&self) -> crate::Result<&crate::secrets::Keyring> {
        self.keyring.as_deref().ok_or(crate::Error::NoSecretsKey)
    }

    /// The same store (and its clones from now on) on `clock`: every instant it writes or
    /// compares (leases, job times, spend minutes) comes from it. For tests that step time.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn salesloft_model::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Its clock.
    pub fn clock(&self) -> std::sync::Arc<dyn salesloft_model::Clock> {
        self.clock.clone()
    }

    /// Now by its clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// The connections of a [`Store`], per engine.
#[derive(Debug, Clone)]
pub(crate) enum Pools {
    /// PostgreSQL: one pool.
    Postgres(PgPool),
    /// SQLite: a single-connection writer pool (SQLite has one writer) and a reader pool.
    Sqlite {
        /// The only connection that writes.
        writer: SqlitePool,
        /// Connections that only read.
        reader: SqlitePool,
        /// Copies the write-ahead log into the database off the writer's path (files only).
        checkpointer: Option<Checkpointer>,
    },
}

/// Run `$body` with `$pool` bound to the pool that writes, whichever the backend. The body is
/// compiled once per backend, so one SQL text with `$1..$n` placeholders serves both.
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Postgres(p) => {
                let $pool = p;
                $body
            }
            $crate::store::Pools::Sqlite { writer, .. } => {
                let $pool = writer;
                $body
            }
        }
    };
}
pub(crate) use on_writer;

/// Like [`on_writer`], with the pool that reads.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Postgres(p) => {
                let $pool = p;
                $body
            }
            $crate::store::Pools::Sqlite { reader, .. } => {
                let $pool = reader;
                $body
            }
        }
    };
}
pub(crate) use on_reader;

impl Store {
    /// Connect to `url`: `postgres://...` (or `postgresql://`), `sqlite://path` (created if
    /// missing) or `sqlite::memory:`. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// [`Store::connect`] with pool settings. The scheme's case does not matter
    /// (`Postgres://` is `postgres://`); an error never repeats the URL, which may hold a
    /// password.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Self> {
        let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
        let scheme = scheme.to_ascii_lowercase();
        let url = &format!("{scheme}:{rest}");
        match scheme.as_str() {
            "postgres" | "postgresql" => connect_postgres(url, &options).await,
            "sqlite" => open_sqlite(url, &options).await,
            _ => Err(Error::UnsupportedUrl(scheme)),
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match &self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// Apply pending migrations. Explicit, never a side effect of connecting.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Postgres(p) => POSTGRES_MIGRATOR.run(p).await.map_err(Error::Migrate),
            Pools::Sqlite { writer, .. } => {
                // sqlx takes no lock for SQLite migrations: two processes opening a new file
                // together both try the first migration, and the one that loses finds its
                // tables made. Each migration is one transaction, so trying again applies
                // what is still missing (nothing, once the other finished).
                let mut attempt = 0;
                loop {
                    match SQLITE_MIGRATOR.run(writer).await {
                        Ok(()) => return Ok(()),
                        Err(e) if attempt < 5 => {
                            attempt += 1;
                            tracing::debug!(attempt, error = %e, "SQLite migration raced another process; trying again");
                            tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                        }
                        Err(e) => return Err(Error::Migrate(e)),
                    }
                }
            }
        }
    }

    /// Apply the contract steps: they remove what only an older release still uses (today
    /// `activities.day` on PostgreSQL; SQLite has none), so run them once every process runs this
    /// release or a later one. Applies pending expand migrations first.
    pub async fn migrate_contract(&self) -> Result<()> {
        self.migrate().await?;
        match &self.pools {
            Pools::Postgres(p) => POSTGRES_CONTRACT_MIGRATOR
                .run(p)
                .await
                .map_err(Error::Migrate),
            Pools::Sqlite { .. } => Ok(()),
        }
    }

    /// How many of this version's migrations the database lacks (0: ready). Fails when the
    /// database cannot be reached.
    pub async fn pending_migrations(&self) -> Result<usize> {
        let migrator = match &self.pools {
            Pools::Postgres(_) => &POSTGRES_MIGRATOR,
            Pools::Sqlite { .. } => &SQLITE_MIGRATOR,
        };
        let sql = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: std::result::Result<Vec<(i64,)>, sqlx::Error> =
            on_reader!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await);
        let applied: Vec<i64> = match applied {
            Ok(rows) => rows.into_iter().map(|(v,)| v).collect(),
            // No migrations table yet: nothing applied.
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => Vec::new(),
            Err(e) => {
                return Err(Error::Database {
                    context: "reading applied migrations",
                    source: e,
                });
            }
        };
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    /// Close every pool.
    pub async fn close(&self) {
        match &self.pools {
            Pools::Postgres(p) => p.close().await,
            Pools::Sqlite {
                writer,
                reader,
                checkpointer,
            } => {
                if let Some(c) = checkpointer {
                    c.close().await;
                }
                reader.close().await;
                writer.close().await;
            }
        }
    }
}

/// A pool on the PostgreSQL database at `url`, after one connection that fails at once with
/// its own cause.
async fn connect_postgres(url: &str, options: &StoreOptions) -> Result<Store> {
    let connect_options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
    // Over TCP (no Unix socket path), turn Nagle off: see `nodelay`.
    let tcp_port = (options.tcp_nodelay && connect_options.get_socket().is_none())
        .then(|| connect_options.get_port());
    // One connection first, so a wrong host, password or database name fails at once
    // with its own cause, not after the pool's acquire timeout as "timed out".
    {
        use sqlx::Connection;
        sqlx::PgConnection::connect_with(&connect_options)
            .await
            .context("connecting to PostgreSQL")?
            .close()
            .await
            .context("connecting to PostgreSQL")?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |_connection, _metadata| {
            Box::pin(async move {
                if let Some(port) = tcp_port {
                    crate::nodelay::apply(port);
                }
                Ok(())
            })
        })
        .connect_with(connect_options)
        .await
        .context("connecting to PostgreSQL")?;
    Ok(Store::from_pools(Pools::Postgres(pool)))
}

/// The SQLite database at `url`: one writer, a checkpointer and read-only readers for a file;
/// one shared pool for an in-memory database.
async fn open_sqlite(url: &str, options: &StoreOptions) -> Result<Store> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let base = SqliteConnectOptions::from_str(url).context("parsing the SQLite URL")?;
    if !memory {
        create_owner_only(base.get_filename())?;
    }
    let base = base
        .create_if_missing(true)
        .busy_timeout(options.acquire_timeout)
        .foreign_keys(false)
        // Statement journals (every upsert has one) stay in memory, not temp files.
        .pragma("temp_store", "memory");
    let base = if memory {
        // One shared in-memory database for both pools.
        base.shared_cache(true)
    } else {
        base.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    // The writer's page cache: 32 MiB keeps the indexes of a million-row table warm.
    // Its own WAL checkpoints bound the log; the checkpointer does most of the copying.
    let writer_options = base.clone().pragma("cache_size", "-32768").pragma(
        "wal_autocheckpoint",
        if memory {
            "1000"
        } else {
            crate::checkpointer::WRITER_CHECKPOINT_FRAMES
        },
    );
    let writer = open_sqlite_writer(writer_options, options).await?;
    let checkpointer = if memory {
        None
    } else {
        Some(
            Checkpointer::start(base.clone())
                .await
                .context("opening the SQLite checkpointer")?,
        )
    };
    let reader = if memory {
        writer.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(options.max_connections.clamp(1, 8))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(base.read_only(true))
            .await
            .context("opening SQLite readers")?
    };
    Ok(Store::from_pools(Pools::Sqlite {
        writer,
        reader,
        checkpointer,
    }))
}

/// The single writer connection of a SQLite database.
async fn open_sqlite_writer(
    writer_options: SqliteConnectOptions,
    options: &StoreOptions,
) -> Result<SqlitePool> {
    // A new file's first opener turns WAL on, which needs the file to itself; a second
    // process opening it in the same instant is told "locked" rather than made to wait,
    // so that one waits here, within the acquire timeout.
    let deadline = tokio::time::Instant::now() + options.acquire_timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        let opened = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(writer_options.clone())
            .await;
        match opened {
            Err(e) if is_sqlite_busy(&e) && tokio::time::Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return other.context("opening the SQLite database"),
        }
    }
}

/// True for SQLite's "database is locked" (`SQLITE_BUSY`, with its extended codes).
fn is_sqlite_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| c & 0xff == 5),
        _ => false,
    }
}

/// Create the SQLite file at `path` readable by its owner only (0600), unless it exists.
/// SQLite gives its `-wal` and `-shm` files the same mode.
fn create_owner_only(path: &std::path::Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Io {
            context: "creating the SQLite database file",
            source,
        }),
    }
}

/// A transaction for a read-then-write. On SQLite it starts with `BEGIN IMMEDIATE`, taking
/// the write lock first (waiting for it under the busy timeout): a deferred transaction that
/// read first would fail outright when another process wrote in between.
pub(crate) trait BeginWrite {
    /// The database.
    type Db: sqlx::Database;
    /// Begin the transaction.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin()
    }
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

pub use salesloft_model::now_ms;
