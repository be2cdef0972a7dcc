//! Batched upserts with the monotonic guard, soft deletes, activities, the inbox and tokens.

use chrono::FixedOffset;
use salesloft_client::{Call, Email, OAuthTokens, Person, TokenStore};
use salesloft_storage::DbTokenStore;
use salesloft_storage::testing::fetch_texts;
use serde_json::json;

use crate::helpers::{TestDb, on_both};

fn offset() -> FixedOffset {
    FixedOffset::west_opt(5 * 3600).unwrap()
}

pub fn person(id: i64, updated_us: i64, title: &str) -> Person {
    let t = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap()
            .with_timezone(&offset())
            .to_rfc3339()
    };
    serde_json::from_value(json!({
        "id": id, "created_at": t(updated_us - 1_000_000), "updated_at": t(updated_us),
        "email_address": format!("p{id}@example.com"), "title": title,
        "owner": {"id": 7}, "account": {"id": 9}, "do_not_contact": false,
        "future_field": {"kept": true}
    }))
    .unwrap()
}

async fn raw_title(db: &TestDb, id: i64) -> Option<String> {
    let (raw, _) = db.store.raw_record::<Person>(id).await.unwrap()?;
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        v["future_field"],
        json!({"kept": true}),
        "unknown fields survive storage"
    );
    v["title"].as_str().map(str::to_owned)
}

async fn batched_upserts_keep_the_newest_version(db: &TestDb) {
    let t0 = 1_709_797_560_302_715;
    let people: Vec<Person> = (0..1_200).map(|i| person(i + 1, t0 + i, "v1")).collect();
    let s = db.store.upsert(&people).await.unwrap();
    assert_eq!((s.inserted, s.updated, s.unchanged), (1_200, 0, 0));
    let again = db.store.upsert(&people).await.unwrap();
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, 1_200)
    );
    // An older version never overwrites a newer row; a newer one does.
    let older = vec![person(5, t0 - 10, "stale")];
    assert_eq!(db.store.upsert(&older).await.unwrap().unchanged, 1);
    assert_eq!(raw_title(db, 5).await.as_deref(), Some("v1"));
    let newer = vec![person(5, t0 + 10_000, "v2"), person(6, t0 + 10_000, "v2")];
    assert_eq!(db.store.upsert(&newer).await.unwrap().updated, 2);
    assert_eq!(raw_title(db, 5).await.as_deref(), Some("v2"));
    // One batch naming a record twice keeps its newest version.
    let twice = vec![
        person(7, t0 + 20_000, "late"),
        person(7, t0 + 15_000, "early"),
    ];
    db.store.upsert(&twice).await.unwrap();
    assert_eq!(raw_title(db, 7).await.as_deref(), Some("late"));
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 1_200);
}
on_both!(batched_upserts, &batched_upserts_keep_the_newest_version);

async fn deletes_stay_deleted_until_a_strictly_newer_version(db: &TestDb) {
    let t0 = 1_709_797_560_302_715;
    db.store.upsert(&[person(1, t0, "a")]).await.unwrap();
    assert!(db.store.soft_delete::<Person>(1, Some(t0)).await.unwrap());
    assert!(
        !db.store.soft_delete::<Person>(1, Some(t0)).await.unwrap(),
        "idempotent"
    );
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);
    assert!(db.store.raw_record::<Person>(1).await.unwrap().is_none());
    // A stale copy, or one of the very version deleted (a page read before the delete and
    // stored after it), leaves it deleted; only a strictly newer version revives it.
    for stale in [t0 - 5, t0] {
        let s = db.store.upsert(&[person(1, stale, "stale")]).await.unwrap();
        assert_eq!(s.unchanged, 1);
        assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);
    }
    let s = db.store.upsert(&[person(1, t0 + 1, "b")]).await.unwrap();
    assert_eq!(s.updated, 1);
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 1);

    // A delete of a newer version than the one stored keeps that version.
    assert!(
        db.store
            .soft_delete::<Person>(1, Some(t0 + 50))
            .await
            .unwrap()
    );
    db.store
        .upsert(&[person(1, t0 + 50, "fetched before the delete")])
        .await
        .unwrap();
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);

    // A delete for an id never stored leaves a tombstone: a stale page cannot create it.
    assert!(!db.store.soft_delete::<Person>(2, Some(t0)).await.unwrap());
    db.store.upsert(&[person(2, t0, "stale")]).await.unwrap();
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);
    assert!(db.store.raw_records::<Person>().await.unwrap().is_empty());

    // Without a known version (a reconcile), the moment of the delete stands in.
    db.store.upsert(&[person(3, t0, "c")]).await.unwrap();
    assert!(db.store.soft_delete::<Person>(3, None).await.unwrap());
    db.store
        .upsert(&[person(3, t0 + 1_000_000, "read before the delete")])
        .await
        .unwrap();
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 0);
}
on_both!(
    deletes_stay_deleted,
    &deletes_stay_deleted_until_a_strictly_newer_version
);

/// A list SalesLoft answered after a delete was recorded here proves the record exists: its
/// rows restore it whatever their version; a list asked for before the delete does not.
async fn a_listing_after_a_delete_restores_the_record(db: &TestDb) {
    use salesloft_storage::PreparedRows;
    let t0 = 1_709_797_560_302_715;
    db.store
        .upsert(&[person(1, t0, "a"), person(2, t0, "b")])
        .await
        .unwrap();
    let before = salesloft_storage::now_ms() - 1;
    // Deleted here without a version (the moment stands in, far above the record's).
    assert!(db.store.soft_delete::<Person>(1, None).await.unwrap());
    // A tombstone for an id never stored.
    assert!(!db.store.soft_delete::<Person>(3, Some(t0)).await.unwrap());
    let rows = |ids: &[i64]| {
        let people: Vec<Person> = ids.iter().map(|id| person(*id, t0, "listed")).collect();
        PreparedRows::new(&people).unwrap()
    };
    // Listed before the delete (a page read, then stored after it): still deleted.
    let s = db
        .store
        .upsert_prepared(rows(&[1, 3]).listed_at(before))
        .await
        .unwrap();
    assert_eq!((s.updated, s.unchanged), (0, 2), "{s:?}");
    assert_eq!(db.store.count_live::<Person>().await.unwrap(), 1);
    assert_eq!(
        db.store.deleted_ids_since::<Person>(before).await.unwrap(),
        [1, 3]
    );
    // Listed after it: restored with the listed state, tombstone or not.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let after = salesloft_storage::now_ms();
    let s = db
        .store
        .upsert_prepared(rows(&[1, 2, 3]).listed_at(after))
        .await
        .unwrap();
    assert_eq!(
        (s.updated, s.unchanged),
        (2, 1),
        "the live one is unchanged: {s:?}"
    );
    assert_eq!(db.store.live_ids::<Person>().await.unwrap(), [1, 2, 3]);
    assert_eq!(raw_title(db, 1).await.as_deref(), Some("listed"));
    assert_eq!(raw_title(db, 2).await.as_deref(), Some("b"));
    assert!(
        db.store
            .deleted_ids_since::<Person>(before)
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(
    restored_by_a_later_listing,
    &a_listing_after_a_delete_restores_the_record
);

/// Settled deliveries go after their retention, failed ones after theirs, pending ones never,
/// at most a batch per call; the inbox's size says what is left.
async fn the_inbox_forgets_settled_deliveries_on_schedule(db: &TestDb) {
    use salesloft_storage::InboxOutcome;
    let day = 86_400_000;
    let now = salesloft_storage::now_ms();
    let mut ids = Vec::new();
    for i in 0..10 {
        let body = format!(r#"{{"id": {i}}}"#);
        ids.push(
            db.store
                .record_webhook("person_updated", body.as_bytes(), Some(i), None)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert_eq!(db.store.webhook_inbox_size().await.unwrap(), (10, 90));
    // 0-3 processed 10 days ago, 4 skipped 10 days ago, 5-6 failed 10 days ago, 7 failed 40
    // days ago, 8 pending from 40 days ago, 9 processed today.
    for (i, id) in ids.iter().enumerate() {
        let outcome = match i {
            0..=3 | 9 => Some(InboxOutcome::Processed),
            4 => Some(InboxOutcome::Skipped),
            5..=7 => Some(InboxOutcome::Failed),
            _ => None,
        };
        if let Some(outcome) = outcome {
            db.store.finish_webhook(*id, outcome, None).await.unwrap();
        }
        let age = match i {
            7 | 8 => 40,
            9 => 0,
            _ => 10,
        };
        salesloft_storage::testing::execute(
            &db.store,
            &format!(
                "UPDATE webhook_events SET received_at_ms = {} WHERE id = {id}",
                now - age * day
            ),
        )
        .await
        .unwrap();
    }
    let (settled, failed) = (now - 7 * day, now - 30 * day);
    assert_eq!(
        db.store.prune_webhooks(settled, failed, 3).await.unwrap(),
        3
    );
    assert_eq!(
        db.store.prune_webhooks(settled, failed, 3).await.unwrap(),
        3
    );
    assert_eq!(
        db.store.prune_webhooks(settled, failed, 3).await.unwrap(),
        0
    );
    let left = fetch_texts(
        &db.store,
        "SELECT CAST(resource_id AS TEXT) FROM webhook_events ORDER BY resource_id",
    )
    .await
    .unwrap();
    let left: Vec<&str> = left.iter().flatten().map(String::as_str).collect();
    assert_eq!(
        left,
        ["5", "6", "8", "9"],
        "failed within 30 days, pending, recent"
    );
    assert_eq!(db.store.webhook_inbox_size().await.unwrap(), (4, 36));
}
on_both!(
    inbox_pruned,
    &the_inbox_forgets_settled_deliveries_on_schedule
);

async fn tombstones_fill_the_columns_activities_require(db: &TestDb) {
    assert!(!db.store.soft_delete::<Email>(77, Some(5)).await.unwrap());
    assert!(!db.store.soft_delete::<Call>(77, None).await.unwrap());
    assert_eq!(db.store.count_live::<Email>().await.unwrap(), 0);
    assert_eq!(db.store.count_live::<Call>().await.unwrap(), 0);
}
on_both!(
    activity_tombstones,
    &tombstones_fill_the_columns_activities_require
);

async fn emails_and_calls_share_the_activities_table(db: &TestDb) {
    let email: Email = serde_json::from_value(json!({
        "id": 10, "created_at": "2024-05-16T23:30:01.000000-04:00", "updated_at": "2024-05-17T09:14:52.302715-04:00",
        "sent_at": "2024-05-16T23:30:03.000000-04:00", "status": "sent", "bounced": false,
        "counts": {"views": 2, "clicks": 0, "replies": 1}, "user": {"id": 1}, "recipient": {"id": 5}
    }))
    .unwrap();
    let call: Call = serde_json::from_value(json!({
        "id": 10, "created_at": "2024-05-17T14:02:11.000000-04:00", "updated_at": "2024-05-17T14:05:40.118822-04:00",
        "duration": 184, "disposition": "Connected", "user": {"id": 1}, "called_person": {"id": 5}
    }))
    .unwrap();
    let s1 = db.store.upsert(&[email]).await.unwrap();
    let s2 = db.store.upsert(&[call]).await.unwrap();
    assert_eq!(
        (s1.inserted, s2.inserted),
        (1, 1),
        "same id, different kinds"
    );
    // An e-mail counts at its sending instant (the local day is the engagement recompute's,
    // in the user's zone).
    let sent_us = chrono::DateTime::parse_from_rfc3339("2024-05-16T23:30:03-04:00")
        .unwrap()
        .timestamp_micros();
    assert_eq!(email_occurred_us(db).await, sent_us.to_string());
}
on_both!(activities, &emails_and_calls_share_the_activities_table);

async fn email_occurred_us(db: &TestDb) -> String {
    let sql = "SELECT CAST(occurred_at_us AS TEXT) FROM activities WHERE kind = 'email'";
    let occurred = fetch_texts(&db.store, sql).await.unwrap();
    occurred.into_iter().flatten().next().unwrap()
}

async fn the_inbox_makes_duplicate_deliveries_harmless(db: &TestDb) {
    let body = br#"{"id": 1, "updated_at": "2024-03-07T02:46:00.302715-05:00"}"#;
    let first = db
        .store
        .record_webhook("person_updated", body, Some(1), Some(5))
        .await
        .unwrap();
    assert!(first.is_some());
    assert!(
        db.store
            .record_webhook("person_updated", body, Some(1), Some(5))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        db.store
            .record_webhook("person_created", body, Some(1), Some(5))
            .await
            .unwrap()
            .is_some(),
        "another type is another event"
    );
    let pending = db.store.pending_webhooks(10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].body, body.to_vec());
    db.store
        .finish_webhook(
            pending[0].id,
            salesloft_storage::InboxOutcome::Processed,
            None,
        )
        .await
        .unwrap();
    assert_eq!(db.store.pending_webhooks(10).await.unwrap().len(), 1);
}
on_both!(inbox, &the_inbox_makes_duplicate_deliveries_harmless);

async fn a_batch_of_deliveries_is_stored_once_each_with_its_jobs_and_wakes_other_processes(
    db: &TestDb,
) {
    let other = crate::helpers::another_pool(db).await;
    let mut woken = other.job_wakeups().await.unwrap();
    let earlier = br#"{"id": 7}"#;
    db.store
        .record_webhook("person_updated", earlier, Some(7), None)
        .await
        .unwrap()
        .unwrap();
    let bodies: Vec<Vec<u8>> = (0..1_200)
        .map(|i| format!(r#"{{"id": {i}}}"#).into_bytes())
        .collect();
    let mut deliveries: Vec<salesloft_storage::Delivery<'_>> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| salesloft_storage::Delivery {
            event_type: "person_updated",
            body,
            resource_id: Some(i as i64),
            resource_updated_at_us: if i % 2 == 0 {
                Some(i as i64 * 10)
            } else {
                None
            },
        })
        .collect();
    // Delivered twice within the batch, and one stored before the batch.
    deliveries.insert(5, deliveries[3]);
    let mut process = salesloft_storage::NewJob::new("webhook", json!(null));
    process.priority = 10;
    let recorded = db
        .store
        .record_webhooks(&deliveries, Some(&process))
        .await
        .unwrap();
    assert_eq!(recorded.len(), deliveries.len(), "one answer per delivery");
    let duplicates: Vec<usize> = recorded
        .iter()
        .enumerate()
        .filter(|(_, r)| **r == salesloft_storage::Recorded::Duplicate)
        .map(|(i, _)| i)
        .collect();
    // Index 5 repeats index 3; index 8 is the body stored before (id 7, shifted by one).
    assert_eq!(duplicates, vec![5, 8]);
    let mut new_ids: Vec<i64> = recorded
        .iter()
        .filter_map(|r| match r {
            salesloft_storage::Recorded::New(id) => Some(*id),
            salesloft_storage::Recorded::Duplicate => None,
        })
        .collect();
    assert_eq!(new_ids.len(), 1_199);
    for (delivery, answer) in deliveries.iter().zip(&recorded) {
        if let salesloft_storage::Recorded::New(id) = answer {
            let stored = db.store.webhook_event(*id).await.unwrap().unwrap();
            assert_eq!(
                stored.body, delivery.body,
                "each answer names its own delivery"
            );
            assert_eq!(stored.status, "pending");
        }
    }
    new_ids.sort_unstable();
    let jobs = db.store.jobs(None, Some("webhook"), 100).await.unwrap();
    let mut sizes: Vec<usize> = Vec::new();
    let mut in_jobs: Vec<i64> = Vec::new();
    for job in &jobs {
        assert_eq!(job.state, "available");
        let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
        let ids: Vec<i64> = serde_json::from_value(payload["inbox_ids"].clone()).unwrap();
        sizes.push(ids.len());
        in_jobs.extend(ids);
    }
    sizes.sort_unstable();
    assert_eq!(sizes, vec![199, 500, 500], "at most 500 deliveries per job");
    in_jobs.sort_unstable();
    assert_eq!(in_jobs, new_ids, "every new delivery has exactly one job");
    if db.url().starts_with("postgres") {
        // SQLite is one process: its runners are woken in memory.
        assert!(
            woken.wait(std::time::Duration::from_secs(10)).await,
            "another process's runners are told"
        );
    }
    // A batch of nothing but duplicates adds no job.
    let again = db
        .store
        .record_webhooks(&deliveries[..10], Some(&process))
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .all(|r| *r == salesloft_storage::Recorded::Duplicate)
    );
    assert_eq!(
        db.store
            .jobs(None, Some("webhook"), 100)
            .await
            .unwrap()
            .len(),
        3
    );
    assert!(
        db.store
            .record_webhooks(&[], Some(&process))
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(
    inbox_batch,
    &a_batch_of_deliveries_is_stored_once_each_with_its_jobs_and_wakes_other_processes
);

async fn oauth_tokens_survive_in_the_database(db: &TestDb) {
    let store = DbTokenStore::new(db.store.clone(), "team:16");
    assert!(store.load().await.unwrap().is_none());
    let expires = chrono::DateTime::from_timestamp_millis(1_900_000_000_000).unwrap();
    store
        .save(&OAuthTokens::new("a1", Some("r1".into()), Some(expires)))
        .await
        .unwrap();
    store
        .save(&OAuthTokens::new("a2", Some("r2".into()), Some(expires)))
        .await
        .unwrap();
    let loaded = store.load().await.unwrap().unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(loaded.access_token.expose_secret(), "a2");
    assert_eq!(loaded.refresh_token.unwrap().expose_secret(), "r2");
    assert_eq!(loaded.expires_at, Some(expires));
}
on_both!(tokens, &oauth_tokens_survive_in_the_database);

async fn the_oauth_refresh_lock_is_one_holder_at_a_time_and_lapses(db: &TestDb) {
    use std::time::Duration;
    let first = DbTokenStore::new(db.store.clone(), "team:17")
        .with_lock_times(Duration::from_millis(700), Duration::from_millis(100));
    let second = first.clone();
    let other_key = DbTokenStore::new(db.store.clone(), "team:18");
    let held = first.lock_refresh().await.unwrap();
    let refused = second.lock_refresh().await.unwrap_err().to_string();
    assert!(refused.contains("oauth-refresh:team:17"), "{refused}");
    other_key
        .lock_refresh()
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    held.release().await.unwrap();
    // Released: the next holder takes it at once.
    let crashed = second.lock_refresh().await.unwrap();
    // A holder that never releases (it crashed) loses the lock when the lease lapses.
    std::mem::forget(crashed);
    let patient = DbTokenStore::new(db.store.clone(), "team:17")
        .with_lock_times(Duration::from_millis(700), Duration::from_secs(5));
    let started = std::time::Instant::now();
    patient
        .lock_refresh()
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "waited for the lease"
    );
}
/// `store.try_lease(name, ttl)`, which must not fail.
async fn take(
    store: &salesloft_storage::Store,
    name: &str,
    ttl: std::time::Duration,
) -> Option<salesloft_storage::Lease> {
    store.try_lease(name, ttl).await.unwrap()
}

async fn a_lease_has_one_holder_renews_and_is_lost_once_lapsed(db: &TestDb) {
    use std::time::Duration;
    let ttl = Duration::from_millis(1_000);
    let a = take(&db.store, "sync:people", ttl).await.unwrap();
    assert!(take(&db.store, "sync:people", ttl).await.is_none());
    let other = take(&db.store, "sync:accounts", ttl).await.unwrap();
    // Renewed before it lapses, it stays held past its first lease time.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(a.renew().await.unwrap());
        assert!(take(&db.store, "sync:people", ttl).await.is_none());
    }
    // Not renewed, it lapses; the next holder takes it and the first has lost it.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let waited = std::sync::atomic::AtomicBool::new(false);
    let b = db
        .store
        .lease("sync:people", ttl, Duration::from_secs(2), || {
            waited.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .await
        .unwrap();
    assert!(!a.renew().await.unwrap(), "lost");
    a.release().await.unwrap();
    assert!(
        b.renew().await.unwrap(),
        "the loser's release leaves the new holder's lease"
    );
    // Waiting: taken as soon as the holder gives it back.
    let store = db.store.clone();
    let giver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.release().await.unwrap();
    });
    let c = store
        .lease(
            "sync:people",
            Duration::from_secs(30),
            Duration::from_secs(5),
            || waited.store(true, std::sync::atomic::Ordering::SeqCst),
        )
        .await
        .unwrap();
    giver.await.unwrap();
    assert!(waited.load(std::sync::atomic::Ordering::SeqCst));
    c.release().await.unwrap();
    other.release().await.unwrap();

    // A holder on this machine whose process is gone is taken over at once, long before its
    // lease lapses; a live one is not.
    let held = take(&db.store, "sync:calls", Duration::from_secs(600))
        .await
        .unwrap();
    assert!(take(&db.store, "sync:calls", ttl).await.is_none(), "alive");
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let me = std::process::id();
    salesloft_storage::testing::execute(
        &db.store,
        &format!("UPDATE leases SET owner = replace(owner, ':{me}:', ':{dead_pid}:') WHERE name = 'sync:calls'"),
    )
    .await
    .unwrap();
    let taken = take(&db.store, "sync:calls", ttl).await;
    if cfg!(target_os = "linux") {
        assert!(taken.is_some(), "the dead holder's lease is taken over");
        assert!(!held.renew().await.unwrap());
    }
}
on_both!(
    leases,
    &a_lease_has_one_holder_renews_and_is_lost_once_lapsed
);

on_both!(
    refresh_lock,
    &the_oauth_refresh_lock_is_one_holder_at_a_time_and_lapses
);

async fn records_keep_their_text_as_received_and_drift_is_counted(db: &TestDb) {
    let text = r#"{"id":41,"created_at":"2024-01-20T17:00:00.000000-07:00","updated_at":"2024-01-20T17:00:00.773000-07:00","title":42,"email_address":"x@example.com"}"#;
    let page = salesloft_client::wire::parse_page::<Person>(format!("[{text}]").as_bytes())
        .expect("a list");
    assert_eq!(page.items[0].drifted, ["title"]);
    let rows = salesloft_storage::PreparedRows::received(&page.items);
    db.store.upsert_prepared(rows).await.unwrap();
    let (raw, _) = db.store.raw_record::<Person>(41).await.unwrap().unwrap();
    assert_eq!(raw, text, "the JSON text exactly as sent");
    let (n, fields) = db.store.drift::<Person>().await.unwrap();
    assert_eq!((n, fields), (1, vec![("title".to_owned(), 1)]));
    // A later, well-typed version clears the mark.
    let fixed = text
        .replace(r#""title":42"#, r#""title":"CTO""#)
        .replace(".773000", ".774000");
    let page = salesloft_client::wire::parse_page::<Person>(format!("[{fixed}]").as_bytes())
        .expect("a list");
    db.store
        .upsert_prepared(salesloft_storage::PreparedRows::received(&page.items))
        .await
        .unwrap();
    assert_eq!(db.store.drift::<Person>().await.unwrap().0, 0);
}
on_both!(
    raw_text_and_drift,
    &records_keep_their_text_as_received_and_drift_is_counted
);

async fn unreadable_items_are_quarantined_once_per_body_and_with_a_checkpoint(db: &TestDb) {
    let page = salesloft_client::wire::parse_page::<Person>(
        br#"[{"no_id": true, "email_address": "secret@example.com"}, 7]"#,
    )
    .expect("a list");
    assert_eq!(page.rejected.len(), 2);
    db.store.quarantine("people", &page.rejected).await.unwrap();
    db.store
        .quarantine("people", &page.rejected[..1])
        .await
        .unwrap();
    let kept = db.store.quarantined("people").await.unwrap();
    assert_eq!(kept.len(), 2);
    let first = kept.iter().find(|q| q.raw.contains("no_id")).unwrap();
    assert_eq!(first.times, 2);
    assert!(
        !format!("{kept:?}").contains("secret"),
        "Debug hides the body"
    );
    // Inside a checkpoint: kept if and only if the checkpoint commits.
    let state = db.store.sync_state("people").await.unwrap();
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    open.quarantine(&page.rejected).await.unwrap();
    drop(open);
    let after_rollback = db.store.quarantined("people").await.unwrap();
    let times: Vec<i64> = after_rollback.iter().map(|q| q.times).collect();
    assert_eq!(
        times.iter().sum::<i64>(),
        3,
        "nothing counted again: {times:?}"
    );
    let mut open = db.store.begin_checkpoint(&state).await.unwrap();
    let other = salesloft_client::wire::parse_page::<Person>(br#"["x"]"#).unwrap();
    open.quarantine(&other.rejected).await.unwrap();
    open.commit(&serde_json::json!({}), false).await.unwrap();
    assert_eq!(
        db.store.quarantine_counts().await.unwrap(),
        [("people".to_owned(), 3)]
    );
}
on_both!(
    quarantine,
    &unreadable_items_are_quarantined_once_per_body_and_with_a_checkpoint
);
