use salesloft_storage::Store;
pub use salesloft_storage::testing::{PG_URL_VAR, TestDb};

pub async fn sqlite() -> TestDb {
    TestDb::sqlite().await.unwrap()
}

/// A fresh PostgreSQL database, or `None` when no server is configured.
pub async fn postgres() -> Option<TestDb> {
    TestDb::postgres()
        .await
        .map(|r| r.expect("PostgreSQL is reachable"))
}

/// A second pool on the same database (another "process").
pub async fn another_pool(db: &TestDb) -> Store {
    db.another_pool().await.unwrap()
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
