//! The job queue: uniqueness, claims, leases, fencing, retries, reaping, pruning.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use salesloft_storage::{Enqueued, Error, Failed, NewJob};
use serde_json::json;

use crate::helpers::{SteppedClock, TestDb, another_pool, on_both};

const LEASE: Duration = Duration::from_secs(60);

async fn unique_jobs_are_enqueued_once_while_pending_or_running(db: &TestDb) {
    let job = NewJob::new("sync:people", json!({})).unique("sync:people");
    let Enqueued::Created(id) = db.store.enqueue(&job).await.unwrap() else {
        panic!("first enqueue creates")
    };
    assert_eq!(
        db.store.enqueue(&job).await.unwrap(),
        Enqueued::Existing(id)
    );
    let claimed = db.store.claim("default", 10, "w1", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        db.store.enqueue(&job).await.unwrap(),
        Enqueued::Existing(id),
        "still taken while running"
    );
    db.store.complete(&claimed[0]).await.unwrap();
    assert!(
        matches!(db.store.enqueue(&job).await.unwrap(), Enqueued::Created(n) if n != id),
        "free once done"
    );
}
on_both!(
    unique,
    &unique_jobs_are_enqueued_once_while_pending_or_running
);

/// Enqueueing a unique job while another process finishes the one holding its key never
/// fails: the key is either taken (the existing job is reported) or free (a job is created).
async fn a_unique_enqueue_racing_the_holders_completion_never_fails(db: &TestDb) {
    let job = NewJob::new("reconcile", json!({})).unique("reconcile:notes");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finisher = {
        let store = db.store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut finished = 0_u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for claimed in store.claim("default", 10, "w1", LEASE).await.unwrap() {
                    store.complete(&claimed).await.unwrap();
                    finished += 1;
                }
                tokio::task::yield_now().await;
            }
            finished
        })
    };
    let mut created = 0_u32;
    for _ in 0..400 {
        match db.store.enqueue(&job).await {
            Ok(Enqueued::Created(_)) => created += 1,
            Ok(Enqueued::Existing(_)) => {}
            Err(e) => panic!("enqueue failed while the holder finished: {e}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let finished = finisher.await.unwrap();
    assert!(
        created >= 2 && finished >= 1,
        "the race ran: {created} created, {finished} finished"
    );
}
on_both!(
    unique_race,
    &a_unique_enqueue_racing_the_holders_completion_never_fails
);

async fn claims_are_fenced_by_their_token(db: &TestDb) {
    let mut urgent = NewJob::new("urgent", json!({"n": 1}));
    urgent.priority = 1;
    db.store
        .enqueue(&NewJob::new("later", json!({})))
        .await
        .unwrap();
    db.store.enqueue(&urgent).await.unwrap();
    let mut future = NewJob::new("future", json!({}));
    future.run_at_ms = Some(chrono::Utc::now().timestamp_millis() + 3_600_000);
    db.store.enqueue(&future).await.unwrap();
    let jobs = db
        .store
        .claim("default", 10, "w1", Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 2, "the future job is not due");
    let urgent = jobs.iter().find(|j| j.kind == "urgent").unwrap().clone();
    assert_eq!(urgent.attempt, 1);
    assert_eq!(urgent.payload, r#"{"n":1}"#);
    // The lease lapses; the reaper hands the job back; the old worker can no longer write.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(db.store.reap_expired().await.unwrap(), 2);
    let reaped = db.store.job(urgent.id).await.unwrap().unwrap();
    assert_eq!(
        reaped
            .attempt_errors()
            .iter()
            .map(|e| (e.attempt, e.error.as_str()))
            .collect::<Vec<_>>(),
        [(1, "lease expired")]
    );
    assert!(matches!(
        db.store.complete(&urgent).await,
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        db.store.heartbeat(&urgent, LEASE).await,
        Err(Error::LeaseLost { .. })
    ));
    let again = db.store.claim("default", 1, "w2", LEASE).await.unwrap();
    assert_eq!(
        (again[0].id, again[0].attempt),
        (urgent.id, 2),
        "priority first, second attempt"
    );
    db.store.heartbeat(&again[0], LEASE).await.unwrap();
    db.store.complete(&again[0]).await.unwrap();
    assert_eq!(
        db.store.job(urgent.id).await.unwrap().unwrap().state,
        "completed"
    );
}
on_both!(fencing, &claims_are_fenced_by_their_token);

async fn failures_back_off_then_die_and_snoozes_spend_nothing(db: &TestDb) {
    let mut job = NewJob::new("flaky", json!({}));
    job.max_attempts = 2;
    let Enqueued::Created(id) = db.store.enqueue(&job).await.unwrap() else {
        panic!()
    };
    let j = db
        .store
        .claim("default", 1, "w", LEASE)
        .await
        .unwrap()
        .remove(0);
    db.store.snooze(&j, Duration::ZERO).await.unwrap();
    let j = db
        .store
        .claim("default", 1, "w", LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(j.attempt, 1, "the snooze did not spend an attempt");
    let Failed::Retrying { run_at_ms } = db.store.fail(&j, "HTTP 503", false).await.unwrap() else {
        panic!("retries")
    };
    assert!(run_at_ms > chrono::Utc::now().timestamp_millis());
    assert!(
        db.store
            .claim("default", 1, "w", LEASE)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let rec = db.store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (rec.state.as_str(), rec.last_error.as_deref()),
        ("available", Some("HTTP 503"))
    );
    // Make it due and fail it again: out of attempts, dead.
    db.store.snooze_due_for_test(id).await;
    let j = db
        .store
        .claim("default", 1, "w", LEASE)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        db.store.fail(&j, "still 503", false).await.unwrap(),
        Failed::Dead
    );
    let dead = db.store.job(id).await.unwrap().unwrap();
    assert_eq!(dead.state, "dead");
    let errors: Vec<_> = dead
        .attempt_errors()
        .into_iter()
        .map(|e| (e.attempt, e.error, e.at_ms > 0))
        .collect();
    assert_eq!(
        errors,
        [
            (1, "HTTP 503".to_owned(), true),
            (2, "still 503".to_owned(), true)
        ],
        "every attempt's error is kept"
    );
    assert_eq!(db.store.prune_jobs(i64::MAX, i64::MAX).await.unwrap(), 1);
    assert!(db.store.job(id).await.unwrap().is_none());
}
on_both!(
    retries,
    &failures_back_off_then_die_and_snoozes_spend_nothing
);

/// Test-only helper: make a job due now.
trait DueNow {
    async fn snooze_due_for_test(&self, id: i64);
}

impl DueNow for salesloft_storage::Store {
    async fn snooze_due_for_test(&self, id: i64) {
        let sql = format!("UPDATE jobs SET run_at_ms = 0 WHERE id = {id}");
        salesloft_storage::testing::execute(self, &sql)
            .await
            .unwrap();
    }
}

async fn concurrent_claimers_take_every_job_exactly_once(db: &TestDb) {
    let total = 10_000usize;
    let jobs: Vec<NewJob> = (0..total)
        .map(|i| NewJob::new("work", json!({ "i": i })))
        .collect();
    assert_eq!(db.store.enqueue_batch(&jobs).await.unwrap(), total as u64);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..8 {
        // Each claimer has its own pool, like a separate worker process.
        let store = another_pool(db).await;
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let batch = store
                    .claim("default", 50, &format!("worker-{w}"), LEASE)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                for j in batch {
                    store.complete(&j).await.unwrap();
                    seen.lock().unwrap().push(j.id);
                }
            }
            store.close().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), total, "claims");
    assert_eq!(unique.len(), total, "each job once");
    assert_eq!(
        db.store.job_counts().await.unwrap(),
        vec![("completed".to_owned(), total as i64)]
    );
}
on_both!(
    concurrent_claims,
    &concurrent_claimers_take_every_job_exactly_once
);

async fn operators_list_retry_and_cancel_jobs(db: &TestDb) {
    let mut job = NewJob::new("always-fails", json!({"n": 1}));
    job.max_attempts = 1;
    let Enqueued::Created(dead_id) = db.store.enqueue(&job).await.unwrap() else {
        panic!()
    };
    let claimed = db.store.claim("default", 1, "w1", LEASE).await.unwrap();
    assert_eq!(
        db.store.fail(&claimed[0], "boom", false).await.unwrap(),
        Failed::Dead
    );
    let Enqueued::Created(pending) = db
        .store
        .enqueue(&NewJob::new("sync", json!({})))
        .await
        .unwrap()
    else {
        panic!()
    };
    let dead = db.store.jobs(Some("dead"), None, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].id, dead[0].last_error.as_deref()),
        (dead_id, Some("boom"))
    );
    assert_eq!(
        db.store.jobs(None, Some("sync"), 10).await.unwrap().len(),
        1
    );
    assert_eq!(
        db.store.jobs(None, None, 1).await.unwrap()[0].id,
        pending,
        "newest first"
    );

    assert!(db.store.retry_job(dead_id).await.unwrap());
    assert!(!db.store.retry_job(pending).await.unwrap(), "not dead");
    let again = db.store.job(dead_id).await.unwrap().unwrap();
    assert_eq!((again.state.as_str(), again.attempt), ("available", 0));

    // Cancelling a running job fences its worker out.
    let running = db.store.claim("default", 10, "w2", LEASE).await.unwrap();
    assert_eq!(running.len(), 2);
    assert!(db.store.cancel_job(running[0].id).await.unwrap());
    assert!(matches!(
        db.store.heartbeat(&running[0], LEASE).await,
        Err(Error::LeaseLost { .. })
    ));
    assert!(db.store.complete(&running[0]).await.is_err());
    assert!(
        !db.store.cancel_job(running[0].id).await.unwrap(),
        "finished"
    );
    let counts = db.store.job_counts_by_kind().await.unwrap();
    assert!(
        counts.contains(&("always-fails".into(), "running".into(), 1))
            || counts.contains(&("always-fails".into(), "cancelled".into(), 1)),
        "{counts:?}"
    );
}
on_both!(operators, &operators_list_retry_and_cancel_jobs);

async fn an_enqueue_wakes_waiting_runners_in_this_process_and_others(db: &TestDb) {
    let mut here = db.store.job_wakeups().await.unwrap();
    let other_process = another_pool(db).await;
    let mut there = other_process.job_wakeups().await.unwrap();
    assert!(
        !here.wait(Duration::from_millis(50)).await,
        "nothing enqueued yet"
    );
    db.store
        .enqueue(&NewJob::new("sync", json!({})))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(
        here.wait(Duration::from_secs(10)).await,
        "woken in this process"
    );
    if db.store.backend() == salesloft_storage::Backend::Postgres {
        assert!(
            there.wait(Duration::from_secs(10)).await,
            "woken through NOTIFY"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // A listener holds a connection of its pool until dropped.
    drop((here, there));
    other_process.close().await;
}
on_both!(
    wakeups,
    &an_enqueue_wakes_waiting_runners_in_this_process_and_others
);

/// Webhook subscriptions keep their tokens, are replaced by id, and list distinct tokens.
async fn webhook_subscriptions_keep_their_tokens(db: &TestDb) {
    use salesloft_storage::StoredSubscription;
    use secrecy::{ExposeSecret, SecretString};
    let sub = |id, event: &str, token: &str| StoredSubscription {
        id,
        event_type: event.into(),
        callback_url: "https://example.com/webhooks/salesloft".into(),
        callback_token: SecretString::from(token.to_owned()),
    };
    db.store
        .save_subscription(&sub(1, "person_updated", "tok-a"))
        .await
        .unwrap();
    db.store
        .save_subscription(&sub(2, "person_deleted", "tok-a"))
        .await
        .unwrap();
    db.store
        .save_subscription(&sub(2, "person_deleted", "tok-b"))
        .await
        .unwrap();
    let kept = db.store.subscriptions().await.unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[1].callback_token.expose_secret(),
        "tok-b",
        "replaced by id"
    );
    assert!(!format!("{kept:?}").contains("tok-"), "Debug hides tokens");
    let mut tokens: Vec<String> = db
        .store
        .callback_tokens()
        .await
        .unwrap()
        .iter()
        .map(|t| t.expose_secret().to_owned())
        .collect();
    tokens.sort();
    assert_eq!(tokens, ["tok-a", "tok-b"]);
    assert!(db.store.delete_subscription(1).await.unwrap());
    assert!(!db.store.delete_subscription(1).await.unwrap());
    assert_eq!(db.store.subscriptions().await.unwrap().len(), 1);
}
on_both!(subscriptions, &webhook_subscriptions_keep_their_tokens);

/// The processing job's payload is written by SQL (a string built on PostgreSQL, serde on
/// SQLite): what each engine writes decodes as the one `ProcessPayload` the processor reads.
async fn the_processing_payload_each_engine_writes_decodes(db: &TestDb) {
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|i| format!("{{\"id\": {i}}}").into_bytes())
        .collect();
    let deliveries: Vec<salesloft_storage::Delivery<'_>> = bodies
        .iter()
        .map(|b| salesloft_storage::Delivery {
            event_type: "person_updated",
            body: b,
            resource_id: None,
            resource_updated_at_us: None,
        })
        .collect();
    let process = NewJob::new("webhook", json!({}));
    let recorded = db
        .store
        .record_webhooks(&deliveries, Some(&process))
        .await
        .unwrap();
    let mut ids: Vec<i64> = recorded
        .iter()
        .filter_map(|r| match r {
            salesloft_storage::Recorded::New(id) => Some(*id),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 3);
    let jobs = db.store.jobs(None, Some("webhook"), 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let payload: salesloft_storage::ProcessPayload =
        serde_json::from_str(&jobs[0].payload).unwrap();
    assert_eq!(payload.inbox_ids, ids);
}
on_both!(
    processing_payload,
    &the_processing_payload_each_engine_writes_decodes
);

async fn the_store_keeps_time_by_its_clock(db: &TestDb) {
    use std::sync::atomic::Ordering::SeqCst;
    let start = salesloft_storage::now_ms();
    let clock = Arc::new(SteppedClock(std::sync::atomic::AtomicI64::new(start)));
    let store = db.store.clone().with_clock(clock.clone());
    let mut job = NewJob::new("later", json!({}));
    job.run_at_ms = Some(start + 3_600_000);
    store.enqueue(&job).await.unwrap();
    assert!(
        store
            .claim("default", 10, "w1", LEASE)
            .await
            .unwrap()
            .is_empty(),
        "not due by the store's clock"
    );
    clock.0.store(start + 3_600_001, SeqCst);
    let claimed = store.claim("default", 10, "w1", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1, "due an hour on by the store's clock");
    // Its lease runs on the same clock: a minute and a second on, it has lapsed.
    assert_eq!(store.reap_expired().await.unwrap(), 0);
    clock.0.store(start + 3_600_001 + 61_000, SeqCst);
    assert_eq!(store.reap_expired().await.unwrap(), 1);
}
on_both!(clock, &the_store_keeps_time_by_its_clock);

/// Claims across teams are fair: every active team's next job before any team's second, at
/// most `max_per_team` running per team, nothing for a paused team; another process's claims
/// at the same time keep the bound.
async fn claims_across_teams_take_turns_and_keep_each_teams_share(db: &TestDb) {
    use salesloft_storage::{Keyring, NewTeam, SecretsKey, TeamCredentials, TeamSlug, TeamState};
    let (key, _) = SecretsKey::generate("k1");
    let store = db.store.clone().with_keyring(Arc::new(Keyring::new(key)));
    let mut teams = Vec::new();
    for (n, slug) in ["big", "small", "tiny", "paused"].into_iter().enumerate() {
        let team = store
            .add_team(&NewTeam {
                slug: TeamSlug::parse(slug).unwrap(),
                base_url: "https://api.salesloft.com".into(),
                salesloft_team_id: Some(n as i64 + 100),
                name: None,
                credentials: TeamCredentials::ApiKey("ak".to_owned().into()),
                settings: json!({}),
            })
            .await
            .unwrap();
        teams.push(team);
    }
    let [big, small, tiny, paused] = [0, 1, 2, 3].map(|i| store.team(teams[i].id));
    // The big team's backlog was enqueued first (older), yet waits its turn.
    let backlog: Vec<NewJob> = (0..10)
        .map(|i| NewJob::new("sync", json!({"i": i})))
        .collect();
    big.enqueue_batch(&backlog).await.unwrap();
    for team in [&small, &tiny, &paused] {
        team.enqueue(&NewJob::new("sync", json!({}))).await.unwrap();
    }
    store
        .set_team_state(&teams[3].slug, TeamState::Paused)
        .await
        .unwrap();

    let first = store
        .claim_across_teams("default", 3, "w1", LEASE, 2)
        .await
        .unwrap();
    let owners: HashSet<_> = first.iter().map(|j| j.team_id).collect();
    assert_eq!(
        owners,
        HashSet::from([big.team_id(), small.team_id(), tiny.team_id()]),
        "one job of each active team first"
    );
    // Another process claims at the same time: together they never pass two for the big team.
    let other = another_pool(db).await;
    let (a, b) = tokio::join!(
        store.claim_across_teams("default", 10, "w1", LEASE, 2),
        other.claim_across_teams("default", 10, "w2", LEASE, 2),
    );
    let more: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(more.len(), 1, "{more:?}");
    assert_eq!(more[0].team_id, big.team_id());
    assert!(
        store
            .claim_across_teams("default", 10, "w1", LEASE, 2)
            .await
            .unwrap()
            .is_empty(),
        "the big team runs two already; the paused team runs nothing"
    );
    // A finished job frees a place; a resumed team runs again.
    store.complete(&more[0]).await.unwrap();
    store
        .set_team_state(&teams[3].slug, TeamState::Active)
        .await
        .unwrap();
    let next = store
        .claim_across_teams("default", 10, "w1", LEASE, 2)
        .await
        .unwrap();
    let owners: HashSet<_> = next.iter().map(|j| j.team_id).collect();
    assert_eq!(owners, HashSet::from([big.team_id(), paused.team_id()]));
    assert_eq!(next.len(), 2);
    // Each team's own claim still sees only its jobs.
    assert!(
        small
            .claim("default", 10, "w1", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
}
on_both!(
    fair_claims,
    &claims_across_teams_take_turns_and_keep_each_teams_share
);
