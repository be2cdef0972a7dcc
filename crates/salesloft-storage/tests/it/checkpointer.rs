//! SQLite's write-ahead log is copied into the database in the background.

use std::time::Duration;

use salesloft_storage::testing::TestDb;

use crate::entities::person;

#[tokio::test]
async fn the_log_reaches_the_database_file_without_a_writer_checkpoint() {
    let db = TestDb::sqlite().await.unwrap();
    let path = db.url().strip_prefix("sqlite://").unwrap().to_owned();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let t0 = 1_709_797_560_302_715;
    let people: Vec<_> = (0..2_000).map(|i| person(i + 1, t0 + i, "vp")).collect();
    let before = size();
    db.store.upsert(&people).await.unwrap();
    // Far below the writer's own checkpoint threshold (256 MiB): without the background
    // checkpointer (it looks every 200 ms, so on a busy machine it may already have run during
    // the upsert) the rows would stay in the log and the file would not grow.
    let mut waited = Duration::ZERO;
    while size() <= before + 1_000_000 && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(
        size() > before + 1_000_000,
        "2,000 people copied into the database file: {before} -> {} bytes",
        size()
    );
    assert_eq!(
        db.store
            .count_live::<salesloft_client::Person>()
            .await
            .unwrap(),
        2_000
    );
}
