//! Migrations: explicit, idempotent, and carrying existing rows forward.

use salesloft_client::WalkCursor;
use salesloft_storage::testing::{TestDb, execute, migrate_to};

#[tokio::test]
async fn migrations_are_explicit_and_idempotent() {
    let path = std::env::temp_dir().join(format!("salesloft-test-{}.db", uuid::Uuid::new_v4()));
    let store = salesloft_storage::Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(
        store.sync_states().await.is_err(),
        "connecting does not migrate"
    );
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.sync_states().await.unwrap().is_empty());
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    assert!(
        salesloft_storage::Store::connect("mysql://x")
            .await
            .is_err()
    );
    let mem = salesloft_storage::Store::connect("sqlite::memory:")
        .await
        .unwrap();
    mem.migrate().await.unwrap();
    assert!(mem.sync_state("people").await.is_ok());
}

/// Readiness counts the migrations the database lacks: all of them on a new database, the
/// later ones on an old one, none once migrated.
async fn pending_migrations_are_counted(db: &TestDb) {
    let fresh = match db.store.backend() {
        salesloft_storage::Backend::Postgres => TestDb::postgres_unmigrated().await.unwrap(),
        salesloft_storage::Backend::Sqlite => TestDb::sqlite_unmigrated().await.unwrap(),
    };
    let all = fresh.store.pending_migrations().await.unwrap();
    assert!(all >= 6, "{all}");
    migrate_to(&fresh.store, 2).await.unwrap();
    assert_eq!(fresh.store.pending_migrations().await.unwrap(), all - 2);
    fresh.store.migrate().await.unwrap();
    assert_eq!(fresh.store.pending_migrations().await.unwrap(), 0);
    assert_eq!(db.store.pending_migrations().await.unwrap(), 0);
}
crate::helpers::on_both!(pending, &pending_migrations_are_counted);

/// Before migration 3 the walk cursor lived in four columns; afterwards in one opaque JSON
/// column, and a stream stopped mid-window resumes where it was.
async fn old_cursors_move_into_the_opaque_column(db: TestDb) {
    migrate_to(&db.store, 2).await.unwrap();
    execute(
        &db.store,
        "INSERT INTO sync_state (stream, cursor_us, boundary_ids, tie_page, walk_window, version, updated_at_ms) VALUES \
         ('people', 1709797560302715, '[3,7]', 2, '{\"from_us\":null,\"to_us\":1709797560302716,\"count\":12}', 5, 0), \
         ('accounts', NULL, '[]', 1, NULL, 0, 0), \
         ('calls', 1709797560000000, '[]', 1, NULL, 1, 0)",
    )
    .await
    .unwrap();
    db.store.migrate().await.unwrap();
    let people = db.store.sync_state("people").await.unwrap();
    assert_eq!(
        people.cursor::<WalkCursor>().unwrap(),
        Some(WalkCursor {
            updated_at_us: Some(1_709_797_560_302_715),
            seen_ids: vec![3, 7],
            page: 2,
            window: Some(salesloft_client::WalkWindow {
                from_us: None,
                to_us: 1_709_797_560_302_716,
                count: Some(12),
                read: 0,
                moved: 0,
            }),
            settled_us: None,
        })
    );
    assert_eq!(people.version, 5);
    let accounts = db.store.sync_state("accounts").await.unwrap();
    assert_eq!(
        accounts.cursor::<WalkCursor>().unwrap(),
        None,
        "never synced"
    );
    let calls = db.store.sync_state("calls").await.unwrap();
    assert_eq!(
        calls.cursor::<WalkCursor>().unwrap(),
        Some(WalkCursor::since(
            WalkCursor {
                updated_at_us: Some(1_709_797_560_000_000),
                ..WalkCursor::start()
            }
            .updated_at()
            .unwrap()
        ))
    );
}

#[tokio::test]
async fn old_cursors_move_on_sqlite() {
    old_cursors_move_into_the_opaque_column(TestDb::sqlite_unmigrated().await.unwrap()).await;
}

#[tokio::test]
async fn old_cursors_move_on_postgres() {
    old_cursors_move_into_the_opaque_column(crate::helpers::postgres_unmigrated().await).await;
}
