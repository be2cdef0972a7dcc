//! Migrations: explicit, idempotent, and carrying existing rows forward.

use salesloft_client::WalkCursor;
use salesloft_storage::testing::{TestDb, execute, fetch_texts, migrate_to};

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

/// The columns of `table`, as the engine lists them.
async fn columns(db: &TestDb, table: &str) -> Vec<String> {
    let sql = match db.store.backend() {
        salesloft_storage::Backend::Postgres => format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}'"
        ),
        salesloft_storage::Backend::Sqlite => {
            format!("SELECT name FROM pragma_table_info('{table}')")
        }
    };
    let names = fetch_texts(&db.store, &sql).await.unwrap();
    names.into_iter().flatten().collect()
}

/// The tables and indexes there are.
async fn relations(db: &TestDb) -> Vec<String> {
    let sql = match db.store.backend() {
        salesloft_storage::Backend::Postgres => {
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        }
        salesloft_storage::Backend::Sqlite => "SELECT name FROM sqlite_master",
    };
    let names = fetch_texts(&db.store, sql).await.unwrap();
    names.into_iter().flatten().collect()
}

/// An e-mail as this release writes it (no `day`).
fn email(id: i64) -> salesloft_client::Email {
    serde_json::from_value(serde_json::json!({
        "id": id, "created_at": "2024-05-16T23:30:01-04:00",
        "updated_at": "2024-05-17T09:14:52.302715-04:00", "sent_at": "2024-05-16T23:30:03-04:00",
        "status": "sent", "user": {"id": 1}, "recipient": {"id": 5}
    }))
    .unwrap()
}

/// Migration 12 removes what nothing reads: the outbox table and the activities_day index at
/// once; activities.day on PostgreSQL in two steps (a default, so a previous release that still
/// writes it runs beside this one, which does not; the column goes in the contract step), on
/// SQLite at once. Rows written before stay, and this release writes activities at each step.
async fn unused_outbox_and_activity_day_go_in_expand_then_contract(db: TestDb) {
    let postgres = db.store.backend() == salesloft_storage::Backend::Postgres;
    migrate_to(&db.store, 11).await.unwrap();
    let old_release_insert = |id: i64| {
        format!(
            "INSERT INTO activities (kind, id, occurred_at_us, day, sl_updated_at_us, raw, synced_at_ms) \
             VALUES ('call', {id}, 1, '2024-05-16', 1, '{{}}', 0)"
        )
    };
    execute(&db.store, &old_release_insert(1)).await.unwrap();
    assert!(relations(&db).await.contains(&"outbox".to_owned()));

    db.store.migrate().await.unwrap();
    let names = relations(&db).await;
    assert!(!names.contains(&"outbox".to_owned()), "{names:?}");
    assert!(!names.contains(&"activities_day".to_owned()), "{names:?}");
    db.store.upsert(&[email(10)]).await.unwrap();
    if postgres {
        assert!(columns(&db, "activities").await.contains(&"day".to_owned()));
        // A process of the previous release still writes the column.
        execute(&db.store, &old_release_insert(2)).await.unwrap();
    } else {
        assert!(!columns(&db, "activities").await.contains(&"day".to_owned()));
    }

    db.store.migrate_contract().await.unwrap();
    db.store.migrate_contract().await.unwrap();
    db.store.migrate().await.unwrap();
    assert!(!columns(&db, "activities").await.contains(&"day".to_owned()));
    db.store.upsert(&[email(11)]).await.unwrap();
    let kept = fetch_texts(
        &db.store,
        "SELECT CAST(id AS TEXT) FROM activities ORDER BY kind, id",
    )
    .await
    .unwrap();
    let expected: Vec<Option<String>> = if postgres {
        vec!["1", "2", "10", "11"]
    } else {
        vec!["1", "10", "11"]
    }
    .into_iter()
    .map(|id| Some(id.to_owned()))
    .collect();
    assert_eq!(kept, expected);
    assert_eq!(db.store.pending_migrations().await.unwrap(), 0);
}

#[tokio::test]
async fn activity_day_goes_on_sqlite() {
    unused_outbox_and_activity_day_go_in_expand_then_contract(
        TestDb::sqlite_unmigrated().await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn activity_day_goes_on_postgres() {
    unused_outbox_and_activity_day_go_in_expand_then_contract(
        crate::helpers::postgres_unmigrated().await,
    )
    .await;
}
