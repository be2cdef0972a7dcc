//! Throwaway databases for tests: a migrated SQLite file or PostgreSQL database of a test's
//! own, removed when dropped, so tests run in parallel without seeing each other's rows.
//! Downstream crates use it for their own storage-backed tests.

use std::path::PathBuf;

use crate::error::{Context, Result};
use crate::store::Store;

/// The environment variable naming a PostgreSQL server for tests (a superuser URL such as
/// `postgres://postgres@127.0.0.1:5432/postgres`). Only tests read it.
pub const PG_URL_VAR: &str = "SALESLOFT_TEST_DATABASE_URL";

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

impl TestDb {
    /// A fresh SQLite file in the temporary directory.
    pub async fn sqlite() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("salesloft-test-{}.db", unique_name()));
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            url,
            cleanup: Cleanup::File(path),
        })
    }

    /// A fresh database on the server named by `admin_url`.
    pub async fn postgres_at(admin_url: &str) -> Result<Self> {
        let name = format!("salesloft_test_{}", unique_name());
        let admin = Store::connect(admin_url).await?;
        if let Store::Postgres(pool) = &admin {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(pool)
                .await
                .context("creating a test database")?;
        }
        admin.close().await;
        let url = with_database(admin_url, &name);
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Self {
            store,
            url,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// A fresh PostgreSQL database when [`PG_URL_VAR`] names a server, else `None`.
    pub async fn postgres() -> Option<Result<Self>> {
        let admin_url = std::env::var(PG_URL_VAR).ok()?;
        Some(Self::postgres_at(&admin_url).await)
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another pool on the same database, as another process would have.
    pub async fn another_pool(&self) -> Result<Store> {
        Store::connect(&self.url).await
    }
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
                        if let Ok(Store::Postgres(pool)) = Store::connect(&admin_url).await {
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
