use std::path::PathBuf;

use salesloft_storage::Store;

/// The environment variable naming a PostgreSQL server for tests (a superuser URL).
pub const PG_URL_VAR: &str = "SALESLOFT_TEST_DATABASE_URL";

/// A migrated database of its own, removed on drop.
pub struct TestDb {
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

pub async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("salesloft-test-{}.db", uuid::Uuid::new_v4()));
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    TestDb {
        store,
        cleanup: Cleanup::File(path),
    }
}

/// A fresh PostgreSQL database, or `None` when no server is configured.
pub async fn postgres() -> Option<TestDb> {
    let admin_url = std::env::var(PG_URL_VAR).ok()?;
    let name = format!("salesloft_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect(&admin_url)
        .await
        .expect("PostgreSQL is reachable");
    if let Store::Postgres(pool) = &admin {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(pool)
            .await
            .unwrap();
    }
    admin.close().await;
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let store = Store::connect(url.as_str()).await.unwrap();
    store.migrate().await.unwrap();
    Some(TestDb {
        store,
        cleanup: Cleanup::Postgres { admin_url, name },
    })
}

/// A second pool on the same database (another "process").
pub async fn another_pool(db: &TestDb) -> Store {
    match &db.cleanup {
        Cleanup::Postgres { admin_url, name } => {
            let mut url = url::Url::parse(admin_url).unwrap();
            url.set_path(&format!("/{name}"));
            Store::connect(url.as_str()).await.unwrap()
        }
        Cleanup::File(path) => Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap(),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let cleanup = std::mem::replace(&mut self.cleanup, Cleanup::File(PathBuf::new()));
        match cleanup {
            Cleanup::File(path) => {
                if path.as_os_str().is_empty() {
                    return;
                }
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                if std::env::var("KEEP_TEST_DB").is_ok() {
                    return;
                }
                // Drop needs its own runtime: this may run while the test's runtime shuts down.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
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

/// Run a test body against SQLite, and against PostgreSQL when configured.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = crate::helpers::sqlite().await;
                super::$body(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match crate::helpers::postgres().await {
                    Some(db) => super::$body(&db).await,
                    None => eprintln!(
                        "{} not set: PostgreSQL case skipped",
                        crate::helpers::PG_URL_VAR
                    ),
                }
            }
        }
    };
}
pub(crate) use on_both;
