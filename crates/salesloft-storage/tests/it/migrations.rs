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

/// Writes of the release before teams (schema 14): what its processes store.
const BEFORE_TEAMS: [&str; 9] = [
    "INSERT INTO people (id, email, sl_updated_at_us, raw, synced_at_ms, change_seq, first_seq) \
     VALUES (1, 'p1@example.com', 10, '{\"id\":1}', 0, 1, 1), \
            (2, 'p2@example.com', 11, '{\"id\":2}', 0, 2, 2)",
    "INSERT INTO change_counters (stream, seq) VALUES ('people', 2)",
    "INSERT INTO sync_state (stream, cursor, backfill_done, records_total, version, updated_at_ms) \
     VALUES ('people', '{\"kept\":true}', 1, 2, 7, 0)",
    "INSERT INTO jobs (queue, kind, payload, run_at_ms, unique_key, created_at_ms, updated_at_ms) \
     VALUES ('default', 'sync:people', '{}', 0, 'sync:people', 0, 0)",
    "INSERT INTO webhook_events (dedupe_key, event_type, body, received_at_ms) \
     VALUES ('k1', 'person_updated', '{}', 0)",
    "INSERT INTO webhook_subscriptions (id, event_type, callback_url, callback_token, created_at_ms) \
     VALUES (5, 'person_updated', 'https://example.com/hook', 'tok', 0)",
    "INSERT INTO oauth_tokens (token_key, access_token, updated_at_ms) VALUES ('salesloft', 'at', 0)",
    "INSERT INTO engagement_state (id, watermark_ms, settings, computed_at_ms) VALUES (1, 5, 's', 0)",
    "INSERT INTO credential_holds (credential, since_ms, request, probe_at_ms) \
     VALUES ('cred', 1, 'GET /v2/people', 9223372036854775807)",
];

/// Migration 15 gives every team-owned row a team: a database at the schema before it, with
/// data, becomes the default team's, nothing lost and nothing to sync again (the cursor and
/// the backfill stay). On PostgreSQL the previous release keeps writing beside this one
/// until the contract step; then a second team may be added.
async fn rows_before_teams_become_the_default_teams(db: TestDb) {
    use salesloft_client::Person;
    use salesloft_storage::{Enqueued, NewJob, TeamSlug};

    let postgres = db.store.backend() == salesloft_storage::Backend::Postgres;
    migrate_to(&db.store, 14).await.unwrap();
    for sql in BEFORE_TEAMS {
        execute(&db.store, sql).await.unwrap();
    }
    db.store.migrate().await.unwrap();
    let store = &db.store;
    assert_eq!(store.team_id(), salesloft_storage::TeamId::DEFAULT);
    let default = store
        .team_by_slug(&TeamSlug::parse("default").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(default.id, salesloft_storage::TeamId::DEFAULT);
    assert!(
        store
            .team_credentials(&default.slug)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.live_ids::<Person>().await.unwrap(), [1, 2]);
    let state = store.sync_state("people").await.unwrap();
    assert_eq!(
        (
            state.cursor_json.as_deref(),
            state.backfill_done,
            state.version
        ),
        (Some("{\"kept\":true}"), true, 7)
    );
    // The change feed goes on from where it was.
    store.soft_delete::<Person>(2, None).await.unwrap();
    assert_eq!(store.feed_head::<Person>().await.unwrap().seq, 3);
    // The pending job keeps its unique key.
    let again = store
        .enqueue(&NewJob::new("sync:people", serde_json::json!({})).unique("sync:people"))
        .await
        .unwrap();
    assert!(matches!(again, Enqueued::Existing(_)), "{again:?}");
    assert_eq!(store.pending_webhooks(10).await.unwrap().len(), 1);
    assert_eq!(store.subscriptions().await.unwrap()[0].id, 5);
    assert_eq!(
        store.engagement_state().await.unwrap(),
        Some((5, "s".into()))
    );
    assert_eq!(
        store.credential_holds().await.unwrap()[0].credential,
        "cred"
    );
    let tokens = salesloft_storage::DbTokenStore::new(store.clone(), "salesloft")
        .load()
        .await
        .unwrap();
    assert!(tokens.is_some());

    if postgres {
        // A process of the previous release writes beside this one, into the default team.
        execute(
            store,
            "INSERT INTO people (id, sl_updated_at_us, raw, synced_at_ms) VALUES (3, 1, '{}', 0) \
             ON CONFLICT (id) DO UPDATE SET raw = excluded.raw",
        )
        .await
        .unwrap();
        assert_eq!(store.live_ids::<Person>().await.unwrap(), [1, 3]);
        // A second team waits for the contract step.
        let refused = store.clone().add_team(&second_team()).await;
        assert!(
            matches!(refused, Err(salesloft_storage::Error::ContractPending)),
            "{refused:?}"
        );
        store.migrate_contract().await.unwrap();
    }
    let (key, _) = salesloft_storage::SecretsKey::generate("k1");
    let keyed = store
        .clone()
        .with_keyring(std::sync::Arc::new(salesloft_storage::Keyring::new(key)));
    let acme = keyed.add_team(&second_team()).await.unwrap();
    let acme = store.team(acme.id);
    // Records of the same ids in another team are that team's.
    let person: Person = serde_json::from_value(serde_json::json!({
        "id": 1, "created_at": "2024-05-17T09:14:52-04:00", "updated_at": "2024-05-17T09:14:52.302715-04:00"
    }))
    .unwrap();
    acme.upsert(&[person]).await.unwrap();
    assert_eq!(acme.live_ids::<Person>().await.unwrap(), [1]);
    assert_eq!(
        store.count_live::<Person>().await.unwrap(),
        if postgres { 2 } else { 1 }
    );
    assert_eq!(store.pending_migrations().await.unwrap(), 0);
}

fn second_team() -> salesloft_storage::NewTeam {
    salesloft_storage::NewTeam {
        slug: salesloft_storage::TeamSlug::parse("acme").unwrap(),
        base_url: "https://api.salesloft.com".into(),
        salesloft_team_id: Some(16),
        name: None,
        credentials: salesloft_storage::TeamCredentials::ApiKey("ak".to_owned().into()),
        settings: serde_json::json!({}),
    }
}

#[tokio::test]
async fn rows_before_teams_on_sqlite() {
    rows_before_teams_become_the_default_teams(TestDb::sqlite_unmigrated().await.unwrap()).await;
}

#[tokio::test]
async fn rows_before_teams_on_postgres() {
    rows_before_teams_become_the_default_teams(crate::helpers::postgres_unmigrated().await).await;
}
