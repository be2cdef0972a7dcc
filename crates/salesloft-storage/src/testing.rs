//! Test support, behind the `testing` feature: throwaway databases (a migrated SQLite file or
//! PostgreSQL database of a test's own, removed when dropped, so tests run in parallel without
//! seeing each other's rows), raw SQL access for tests and benchmarks that must look under
//! the typed API, and the helpers every crate's tests share: [`on_both!`](crate::on_both)
//! (one case on each engine), [`eventually`] and [`eventually_blocking`] (wait for a
//! condition, never a fixed sleep) and [`free_port`]. Downstream crates enable the feature in
//! their dev-dependencies.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::store::{Pools, Store};

/// The environment variable naming a PostgreSQL server for tests (a superuser URL).
pub const PG_URL_VAR: &str = "SALESLOFT_TEST_DATABASE_URL";

/// The server tests use when [`PG_URL_VAR`] is not set: the local one, as on the development
/// machine and in CI.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Two tests of `body` named `$name::sqlite` and `$name::postgres`, each on a [`TestDb`] of
/// its own (`&body`: the body takes it by reference). PostgreSQL cases fail, never skip, when
/// no server answers. The calling crate needs tokio with its `macros` and `rt-multi-thread`
/// features.
#[macro_export]
macro_rules! on_both {
    ($name:ident, & $body:path) => {
        $crate::on_both!($name, |db: $crate::testing::TestDb| async move {
            $body(&db).await
        });
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::sqlite()
                    .await
                    .expect("a SQLite test database");
                ($body)(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDb::postgres()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is unreachable ({e}): start it, set \
                         SALESLOFT_TEST_DATABASE_URL, or leave these cases out with \
                         `cargo test -- --skip postgres`"
                        )
                    });
                ($body)(db).await;
            }
        }
    };
}

/// Wait until `done` holds (checked every 25 ms), at most `limit`; how long it took. Panics
/// naming `what` when it does not hold in time.
#[allow(clippy::print_stderr)] // test support: the wait's length, for the test's log
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let took = started.elapsed();
    eprintln!("{what}: after {took:?}");
    took
}

/// [`eventually`] for a test thread without a runtime: checks every 100 ms.
#[allow(clippy::print_stderr)] // test support: the wait's length, for the test's log
pub fn eventually_blocking(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = started.elapsed();
    eprintln!("{what}: after {took:?}");
    took
}

/// A port nobody listens on now, on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The pool of a store that raw SQL goes to (the writer, on SQLite), for tests and benches only.
#[derive(Debug, Clone, Copy)]
pub enum RawPool<'a> {
    /// PostgreSQL's pool.
    Postgres(&'a sqlx::PgPool),
    /// SQLite's writer.
    Sqlite(&'a sqlx::SqlitePool),
}

/// The pool under `store`, to run SQL the typed API does not offer.
pub fn raw_pool(store: &Store) -> RawPool<'_> {
    match &store.pools {
        Pools::Postgres(p) => RawPool::Postgres(p),
        Pools::Sqlite { writer, .. } => RawPool::Sqlite(writer),
    }
}

/// Run one statement with no parameters on `store`; rows affected.
pub async fn execute(store: &Store, sql: &str) -> Result<u64> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match raw_pool(store) {
        RawPool::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        RawPool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
    }
    .context("running test SQL")
}

/// The first column of every row a query with no parameters returns, as text (`NULL` as
/// `None`).
pub async fn fetch_texts(store: &Store, sql: &str) -> Result<Vec<Option<String>>> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    let rows: Vec<(Option<String>,)> = match raw_pool(store) {
        RawPool::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        RawPool::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .context("running test SQL")?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// A migrated database of a test's own, removed on drop (kept when `KEEP_TEST_DB` is set).
#[derive(Debug)]
pub struct TestDb {
    /// The store on it.
    pub store: Store,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    None,
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

fn unique_name() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Apply the migrations up to `version` only (to test what a later one does to existing rows).
pub async fn migrate_to(store: &Store, version: i64) -> Result<()> {
    match &store.pools {
        Pools::Postgres(p) => crate::store::POSTGRES_MIGRATOR.run_to(version, p).await,
        Pools::Sqlite { writer, .. } => crate::store::SQLITE_MIGRATOR.run_to(version, writer).await,
    }
    .map_err(Error::Migrate)
}

impl TestDb {
    /// A fresh, migrated SQLite file in the temporary directory.
    pub async fn sqlite() -> Result<Self> {
        let db = Self::sqlite_unmigrated().await?;
        db.store.migrate().await?;
        Ok(db)
    }

    /// A fresh SQLite file with no tables yet.
    pub async fn sqlite_unmigrated() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("salesloft-test-{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect_with(&url, nodelay()).await?;
        Ok(Self {
            store,
            url,
            cleanup: Cleanup::File(path),
        })
    }

    /// A fresh database on the server named by `admin_url`, migrated with the contract steps
    /// too (as a deployment is once its rolling upgrade is over).
    pub async fn postgres_at(admin_url: &str) -> Result<Self> {
        let db = Self::postgres_unmigrated_at(admin_url).await?;
        db.store.migrate_contract().await?;
        Ok(db)
    }

    /// A fresh database with no tables yet on the server named by `admin_url`.
    pub async fn postgres_unmigrated_at(admin_url: &str) -> Result<Self> {
        let name = format!("salesloft_test_{}", unique_name());
        let admin = Store::connect_with(admin_url, nodelay()).await?;
        let Pools::Postgres(pool) = &admin.pools else {
            return Err(Error::UnsupportedUrl(
                admin_url.split(':').next().unwrap_or_default().to_owned(),
            ));
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(pool)
            .await
            .context("creating a test database")?;
        admin.close().await;
        let url = with_database(admin_url, &name);
        let store = Store::connect_with(&url, nodelay()).await?;
        Ok(Self {
            store,
            url,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// A fresh PostgreSQL database on the server [`PG_URL_VAR`] names, or on
    /// [`DEFAULT_PG_URL`]. PostgreSQL cases are never skipped silently: when no server answers
    /// this fails, and a machine without one leaves them out by name
    /// (`cargo test -- --skip postgres`), which the test harness reports as filtered out.
    pub async fn postgres() -> Result<Self> {
        Self::postgres_at(&pg_admin_url()).await
    }

    /// Like [`TestDb::postgres`], with no tables yet.
    pub async fn postgres_unmigrated() -> Result<Self> {
        Self::postgres_unmigrated_at(&pg_admin_url()).await
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another pool on the same database, as another process would have.
    pub async fn another_pool(&self) -> Result<Store> {
        Store::connect_with(&self.url, nodelay()).await
    }
}

/// The PostgreSQL server tests use: [`PG_URL_VAR`], else [`DEFAULT_PG_URL`].
pub fn pg_admin_url() -> String {
    std::env::var(PG_URL_VAR).unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// `url` with its database (path) replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var("KEEP_TEST_DB").is_ok() {
            return;
        }
        match std::mem::replace(&mut self.cleanup, Cleanup::None) {
            Cleanup::None => {}
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop runs outside async code, perhaps while the test's runtime shuts down:
                // use a runtime of its own on a thread of its own.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(Store {
                            pools: Pools::Postgres(pool),
                            ..
                        }) = Store::connect_with(&admin_url, nodelay()).await
                        {
                            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(&pool)
                            .await;
                            pool.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Pool settings for tests: Nagle off, as our binaries run.
fn nodelay() -> crate::StoreOptions {
    crate::StoreOptions {
        tcp_nodelay: true,
        ..crate::StoreOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
