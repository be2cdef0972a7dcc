//! Page checkpoints: rows and cursor together or not at all.

use salesloft_client::{Person, WalkCursor};
use salesloft_storage::{Error, PreparedRows, SyncState};

use crate::entities::person;
use crate::helpers::{TestDb, on_both};

/// People `from..to` (ids from 1), updated a microsecond apart, as rows.
fn rows(t0: i64, ids: std::ops::Range<i64>) -> PreparedRows<Person> {
    let people: Vec<Person> = ids.map(|i| person(i + 1, t0 + i, "x")).collect();
    PreparedRows::new(&people).unwrap()
}

fn cursor_of(state: &SyncState) -> Option<WalkCursor> {
    state.cursor().unwrap()
}

async fn a_checkpoint_writes_rows_and_cursor_together(db: &TestDb) {
    let t0 = 1_709_797_560_302_715;
    let state = db.store.sync_state("people").await.unwrap();
    assert_eq!(cursor_of(&state), None);
    assert_eq!(state.version, 0);
    let page = rows(t0, 0..100);
    // Inside a walk window: its bounds and count survive the round trip.
    let cursor = WalkCursor {
        updated_at_us: Some(t0 + 99),
        seen_ids: vec![100],
        page: 7,
        window: Some(salesloft_client::WalkWindow {
            from_us: Some(t0),
            to_us: t0 + 5_000,
            count: Some(1_234),
            read: 0,
            moved: 0,
        }),
        settled_us: None,
    };
    let done = db
        .store
        .checkpoint(&state, page, &cursor, false)
        .await
        .unwrap();
    assert_eq!(done.stats.inserted, 100);
    assert_eq!(done.state.version, 1);
    let reread = db.store.sync_state("people").await.unwrap();
    assert_eq!(cursor_of(&reread), Some(cursor.clone()));
    assert_eq!(reread.records_total, 100);
    assert!(!reread.backfill_done);

    // A failure between the statements (here: another writer moved the state on, so the cursor
    // update fails after the rows were written in the transaction) leaves no half page.
    let page2 = rows(t0, 100..200);
    let cursor2 = WalkCursor {
        updated_at_us: Some(t0 + 199),
        seen_ids: vec![200],
        page: 1,
        window: None,
        settled_us: None,
    };
    let err = db
        .store
        .checkpoint(&state, page2.clone(), &cursor2, true)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(
        db.store.count_live::<Person>().await.unwrap(),
        100,
        "the rows were rolled back"
    );
    assert_eq!(
        cursor_of(&db.store.sync_state("people").await.unwrap()),
        Some(cursor)
    );

    let ok = db
        .store
        .checkpoint(&done.state, page2, &cursor2, true)
        .await
        .unwrap();
    assert_eq!(ok.state.version, 2);
    assert!(db.store.sync_state("people").await.unwrap().backfill_done);
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 200);
}
on_both!(checkpoint, &a_checkpoint_writes_rows_and_cursor_together);

async fn an_open_checkpoint_takes_pages_and_commits_them_together(db: &TestDb) {
    let t0 = 1_709_797_560_302_715;
    let page = |from: i64| rows(t0, from..from + 100);
    let cursor_after = |last: i64| WalkCursor {
        updated_at_us: Some(t0 + last),
        seen_ids: vec![last + 1],
        page: 1,
        window: None,
        settled_us: None,
    };
    let state = db.store.sync_state("people").await.unwrap();

    // Dropped before its commit (a crash, a cancelled run): none of its pages is kept.
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    open.write(page(0)).await.unwrap();
    open.write(page(100)).await.unwrap();
    drop(open);
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);
    assert_eq!(db.store.sync_state("people").await.unwrap(), state);

    // Three pages, the third repeating a record of the first in a newer version: counted once
    // as inserted, once as updated, all committed with the cursor after the last page.
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    for from in [0, 100] {
        let stats = open.write(page(from)).await.unwrap();
        assert_eq!(stats.inserted, 100);
    }
    let newer = PreparedRows::new(&[person(5, t0 + 500, "y")]).unwrap();
    assert_eq!(
        open.write(newer).await.unwrap().updated,
        1,
        "a later page sees the earlier pages of its own checkpoint"
    );
    assert_eq!(open.stats().inserted, 200);
    let done = open.commit(&cursor_after(500), false).await.unwrap();
    assert_eq!((done.stats.inserted, done.stats.updated), (200, 1));
    assert_eq!(done.state.records_total, 201);
    let stored = db.store.sync_state("people").await.unwrap();
    assert_eq!(stored, done.state);
    assert_eq!(cursor_of(&stored), Some(cursor_after(500)));
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 200);

    // Begun from a state another writer has since moved on: the commit fails and every page
    // of it is rolled back.
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    open.write(page(200)).await.unwrap();
    open.write(page(300)).await.unwrap();
    let err = open.commit(&cursor_after(399), true).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 200);
    assert_eq!(db.store.sync_state("people").await.unwrap(), stored);
}
on_both!(
    open_checkpoint,
    &an_open_checkpoint_takes_pages_and_commits_them_together
);

async fn runs_are_recorded(db: &TestDb) {
    db.store.sync_state("accounts").await.unwrap();
    db.store.sync_started("accounts").await.unwrap();
    db.store.sync_failed("accounts", "HTTP 503").await.unwrap();
    let s = db.store.sync_state("accounts").await.unwrap();
    assert!(s.last_started_at_ms.is_some());
    assert_eq!(s.last_error.as_deref(), Some("HTTP 503"));
    db.store.sync_succeeded("accounts").await.unwrap();
    let s = db.store.sync_state("accounts").await.unwrap();
    assert!(s.last_success_at_ms.is_some() && s.last_error.is_none());
    db.store.reset_sync("accounts").await.unwrap();
    assert_eq!(
        cursor_of(&db.store.sync_state("accounts").await.unwrap()),
        None
    );
    assert_eq!(db.store.sync_states().await.unwrap().len(), 1);
}
on_both!(run_marks, &runs_are_recorded);
