use salesloft_storage::Store;
pub use salesloft_storage::testing::{PG_URL_VAR, TestDb};

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

pub(crate) use salesloft_storage::on_both;

/// A clock a test steps by hand.
#[derive(Debug)]
pub struct SteppedClock(pub std::sync::atomic::AtomicI64);

impl salesloft_model::Clock for SteppedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0.load(std::sync::atomic::Ordering::SeqCst))
            .unwrap_or_default()
    }
}
