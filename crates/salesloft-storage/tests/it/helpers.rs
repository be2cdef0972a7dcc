use salesloft_storage::Store;
pub use salesloft_storage::testing::{PG_URL_VAR, TestDb};

pub async fn sqlite() -> TestDb {
    TestDb::sqlite().await.unwrap()
}

/// A fresh PostgreSQL database; fails when no server answers (never a silent skip).
pub async fn postgres() -> TestDb {
    TestDb::postgres().await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is unreachable ({e}): start it, set {PG_URL_VAR}, or leave these cases out with `cargo test -- --skip postgres`"
        )
    })
}

/// A fresh PostgreSQL database with no tables yet; fails when no server answers.
pub async fn postgres_unmigrated() -> TestDb {
    TestDb::postgres_unmigrated().await.unwrap_or_else(|e| {
        panic!("PostgreSQL is unreachable ({e}): start it, set {PG_URL_VAR}, or leave these cases out with `cargo test -- --skip postgres`")
    })
}

/// A second pool on the same database (another "process").
pub async fn another_pool(db: &TestDb) -> Store {
    db.another_pool().await.unwrap()
}

/// Run a test body against SQLite and against PostgreSQL.
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
                let db = crate::helpers::postgres().await;
                super::$body(&db).await;
            }
        }
    };
}
pub(crate) use on_both;
