//! Every public function that takes text binds it as a parameter: hostile strings come back
//! verbatim and the schema and its rows are untouched.

use std::time::Duration;

use salesloft_client::{BudgetConfig, OAuthTokens, Person, WalkCursor};
use salesloft_storage::testing::fetch_texts;
use salesloft_storage::{DbTokenStore, InboxOutcome, NewJob, SharedBudget};
use serde_json::json;

use crate::entities::person;
use crate::helpers::{TestDb, on_both};

/// Strings that would break out of a literal or an identifier if spliced into SQL.
const HOSTILE: &[&str] = &[
    "x'); DROP TABLE people; --",
    "\"; DELETE FROM jobs; --",
    "' OR '1'='1",
    "people WHERE 1=1; UPDATE sync_state SET version = 99; --",
    "$1 $2 ? ?1 :name @p",
    "\\'; SELECT pg_sleep(10); --",
    "ünïcödé ' \" ` ; -- /* */",
];

async fn hostile_strings_are_bound_never_spliced(db: &TestDb) {
    let store = &db.store;
    let t0 = 1_709_797_560_302_715;
    // Rows that must survive everything below.
    store.upsert(&[person(1, t0, "keep")]).await.unwrap();
    for (i, evil) in HOSTILE.iter().enumerate() {
        let i = i as i64;
        // Sync state: stream names, errors, cursors.
        let state = store.sync_state(evil).await.unwrap();
        assert_eq!(state.stream, *evil);
        store.sync_started(evil).await.unwrap();
        store.sync_failed(evil, evil).await.unwrap();
        assert_eq!(
            store.sync_state(evil).await.unwrap().last_error.as_deref(),
            Some(*evil)
        );
        let mut cursor = WalkCursor::start();
        cursor.seen_ids = vec![i];
        let marker = json!({ "walk": cursor, "note": evil });
        let rows = salesloft_storage::PreparedRows::new(&[person(100 + i, t0 + i, evil)]).unwrap();
        let done = store
            .checkpoint(&state, rows, &marker, false)
            .await
            .unwrap();
        let stored: Option<serde_json::Value> =
            store.sync_state(evil).await.unwrap().cursor().unwrap();
        assert_eq!(stored, Some(marker));
        assert_eq!(done.state.stream, *evil);
        store.sync_succeeded(evil).await.unwrap();
        store.reset_sync(evil).await.unwrap();

        // Records whose fields are hostile: stored and read back as they were.
        let (raw, _) = store.raw_record::<Person>(100 + i).await.unwrap().unwrap();
        let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(raw["title"], json!(evil));

        // Jobs: queue, kind, payload, unique key, worker, error.
        let job = NewJob::new(*evil, json!({ "evil": evil }))
            .on_queue(*evil)
            .unique(*evil);
        store.enqueue(&job).await.unwrap();
        store
            .enqueue_batch(std::slice::from_ref(&job))
            .await
            .unwrap();
        let claimed = store
            .claim(evil, 10, evil, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "both jobs of queue {evil:?}");
        assert!(claimed.iter().all(|j| j.kind == *evil && j.queue == *evil));
        store.fail(&claimed[0], evil, true).await.unwrap();
        let failed = store.job(claimed[0].id).await.unwrap().unwrap();
        assert_eq!(failed.last_error.as_deref(), Some(*evil));
        assert_eq!(
            failed.attempt_errors()[0].error,
            *evil,
            "kept as given in the list"
        );
        store.complete_all(&claimed[1..]).await.unwrap();

        // The inbox: event types, bodies, errors.
        let id = store
            .record_webhook(evil, evil.as_bytes(), Some(i), None)
            .await
            .unwrap()
            .unwrap();
        store
            .finish_webhook(id, InboxOutcome::Failed, Some(evil))
            .await
            .unwrap();

        // Tokens and budgets under hostile keys.
        let tokens = DbTokenStore::new(store.clone(), *evil);
        tokens
            .save(&OAuthTokens::new(*evil, Some((*evil).to_owned()), None))
            .await
            .unwrap();
        let loaded = tokens.load().await.unwrap().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(loaded.access_token.expose_secret(), *evil);
        let budget = SharedBudget::new(store.clone(), *evil, BudgetConfig::default())
            .await
            .unwrap();
        assert_eq!(budget.try_acquire(1).await.unwrap(), None);
    }
    // Nothing was dropped, deleted or rewritten behind the calls' backs.
    assert_eq!(
        store.count_live::<Person>().await.unwrap(),
        1 + HOSTILE.len() as i64
    );
    let (raw, _) = store.raw_record::<Person>(1).await.unwrap().unwrap();
    assert!(raw.contains("\"keep\""));
    let streams = fetch_texts(store, "SELECT stream FROM sync_state ORDER BY stream")
        .await
        .unwrap();
    assert_eq!(streams.len(), HOSTILE.len());
    let versions = fetch_texts(
        store,
        "SELECT CAST(version AS TEXT) FROM sync_state WHERE version = 99",
    )
    .await
    .unwrap();
    assert!(versions.is_empty());
    let jobs = fetch_texts(store, "SELECT CAST(COUNT(*) AS TEXT) FROM jobs")
        .await
        .unwrap();
    assert_eq!(jobs, [Some((2 * HOSTILE.len()).to_string())]);
}
on_both!(hostile, &hostile_strings_are_bound_never_spliced);
