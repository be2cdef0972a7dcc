//! The change feed: positions in commit order, compaction, deletions, the toolkit's own
//! writes, parked writes and people by CRM id.

use std::time::Duration;

use salesloft_client::Person;
use salesloft_storage::testing::fetch_texts;
use salesloft_storage::{ChangedRow, FeedPosition, OwnWrite, PreparedRows};

use crate::entities::person;
use crate::helpers::{TestDb, on_both};

const T0: i64 = 1_709_797_560_302_715;

async fn rows_after(db: &TestDb, after: FeedPosition, limit: i64) -> Vec<ChangedRow> {
    db.store
        .changes_since::<Person>(after, limit)
        .await
        .unwrap()
}

async fn ids_after(db: &TestDb, after: FeedPosition) -> Vec<(i64, bool)> {
    rows_after(db, after, 100)
        .await
        .into_iter()
        .map(|r| (r.position.id, r.deleted))
        .collect()
}

async fn the_feed_holds_each_row_once_at_its_last_change(db: &TestDb) {
    db.store
        .upsert(&[person(1, T0, "a"), person(2, T0, "a"), person(3, T0, "a")])
        .await
        .unwrap();
    let first = rows_after(db, FeedPosition::START, 100).await;
    assert_eq!(first.len(), 3);
    let p1 = first[0].position;
    assert!(
        first
            .iter()
            .all(|r| r.position.seq == p1.seq && r.first_seq == p1.seq)
    );
    // A version already stored changes nothing and moves nothing.
    db.store.upsert(&[person(1, T0, "a")]).await.unwrap();
    assert_eq!(ids_after(db, first[2].position).await, []);
    // An update moves its row past the others; a delete moves it too, marked deleted.
    db.store.upsert(&[person(2, T0 + 1, "b")]).await.unwrap();
    db.store.soft_delete::<Person>(3, None).await.unwrap();
    assert_eq!(
        ids_after(db, FeedPosition::START).await,
        [(1, false), (2, false), (3, true)]
    );
    let later = rows_after(db, p1, 100).await;
    assert_eq!(later[0].position.id, 2);
    assert!(later[0].position.seq > p1.seq);
    assert_eq!(later[0].first_seq, p1.seq, "first stored with the others");
    // Paging by position resumes exactly after the last row read.
    let one = rows_after(db, FeedPosition::START, 1).await;
    assert_eq!(
        ids_after(db, one[0].position).await,
        [(2, false), (3, true)]
    );
    assert_eq!(
        db.store.feed_head::<Person>().await.unwrap(),
        later.last().unwrap().position
    );
    // A tombstone (a delete of a person never stored) is a change too.
    db.store.soft_delete::<Person>(99, None).await.unwrap();
    let tail = rows_after(db, later[1].position, 10).await;
    assert_eq!(tail.len(), 1);
    assert_eq!(
        (tail[0].position.id, tail[0].deleted, tail[0].raw.as_str()),
        (99, true, "")
    );
}
on_both!(
    compacted_feed,
    &the_feed_holds_each_row_once_at_its_last_change
);

async fn a_change_committed_late_is_never_behind_a_reader(db: &TestDb) {
    // A sync's checkpoint takes its position and stays open...
    let state = db.store.sync_state("people").await.unwrap();
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    open.write(PreparedRows::new(&[person(10, T0, "slow")]).unwrap())
        .await
        .unwrap();
    // ...while another writer (a webhook) changes another person.
    let other = db.store.clone();
    let webhook =
        tokio::spawn(async move { other.upsert(&[person(11, T0, "fast")]).await.unwrap() });
    if db.store.backend() == salesloft_storage::Backend::Postgres {
        // Wait until the second writer is queued behind the first one's position.
        let waiting = "SELECT CAST(count(*) AS TEXT) FROM pg_locks WHERE NOT granted";
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while fetch_texts(&db.store, waiting).await.unwrap()[0].as_deref() == Some("0") {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the writer never waited"
            );
            tokio::task::yield_now().await;
        }
    }
    // A reader meanwhile sees neither: the later writer cannot commit first.
    assert_eq!(ids_after(db, FeedPosition::START).await, []);
    open.commit(&serde_json::json!({"page": 1}), false)
        .await
        .unwrap();
    webhook.await.unwrap();
    let rows = rows_after(db, FeedPosition::START, 10).await;
    assert_eq!(
        rows.iter().map(|r| r.position.id).collect::<Vec<_>>(),
        [10, 11]
    );
    assert!(rows[0].position.seq < rows[1].position.seq, "{rows:?}");
}
on_both!(
    commit_order,
    &a_change_committed_late_is_never_behind_a_reader
);

async fn own_writes_parked_writes_and_crm_ids(db: &TestDb) {
    let mut p = person(5, T0, "mine");
    p.crm_id = Some("003ABC".into());
    let own = OwnWrite {
        version_us: T0,
        content_hash: "h1".into(),
    };
    db.store
        .upsert_written(PreparedRows::new(&[p]).unwrap(), &[(5, own.clone())])
        .await
        .unwrap();
    let rows = rows_after(db, FeedPosition::START, 10).await;
    assert_eq!(rows[0].own_write.as_ref(), Some(&own));
    assert_eq!(rows[0].version_us, T0);
    // An older write's note never replaces a newer one's.
    let older = OwnWrite {
        version_us: T0 - 1,
        content_hash: "h0".into(),
    };
    db.store
        .upsert_written(
            PreparedRows::new(&[person(5, T0 - 1, "old")]).unwrap(),
            &[(5, older)],
        )
        .await
        .unwrap();
    let rows = rows_after(db, FeedPosition::START, 10).await;
    assert_eq!(rows[0].own_write.as_ref(), Some(&own));

    let (id, _) = db
        .store
        .live_person_by_crm_id("003ABC")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(id, 5);
    assert!(
        db.store
            .live_person_by_crm_id("nope")
            .await
            .unwrap()
            .is_none()
    );

    for _ in 0..2 {
        db.store
            .park_write(
                "people",
                "email:a@x",
                "{}",
                r#"{"email_address":["is invalid"]}"#,
            )
            .await
            .unwrap();
    }
    let parked = db.store.parked_writes("people").await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].attempts, 2);
    assert!(db.store.unpark_write("people", "email:a@x").await.unwrap());
    assert!(!db.store.unpark_write("people", "email:a@x").await.unwrap());
    assert!(db.store.parked_writes("people").await.unwrap().is_empty());
}
on_both!(own_writes, &own_writes_parked_writes_and_crm_ids);
