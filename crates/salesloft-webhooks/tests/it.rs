//! The inbox and the processor on real databases (SQLite and PostgreSQL, never skipped),
//! with record bodies from the sandbox signed by the sandbox's own signing code.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

use salesloft_storage::on_both;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use salesloft_client::{Auth, Client, Unlimited};
use salesloft_services::{Applied, Context, LookupConfig, Lookups, Stream};
use salesloft_storage::NewJob;
use salesloft_storage::testing::{TestDb, fetch_texts};
use salesloft_webhooks::{
    Inbox, InboxConfig, PROCESS_KIND, Processed, Processor, Receipt, Refusal, SignatureError,
    Verifier, sign,
};
use secrecy::SecretString;

const TOKEN: &str = "the-callback-token";

fn token() -> SecretString {
    SecretString::from(TOKEN.to_owned())
}

struct Setup {
    sandbox: salesloft_sandbox::SandboxHandle,
    inbox: Inbox,
    processor: Processor,
    lookups: Lookups,
    db: TestDb,
}

async fn setup(db: TestDb) -> Setup {
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            people: 20,
            accounts: 5,
            users: 2,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .build()
        .unwrap();
    let ctx = Context::new(client, db.store.clone());
    let sync_job: salesloft_webhooks::SyncJobFor = Arc::new(|stream: Stream| {
        NewJob::new("sync", serde_json::json!({ "stream": stream.name() }))
            .unique(format!("sync:{}", stream.name()))
    });
    // Local only: what the lookups see comes from what the processor applied.
    let lookups = Lookups::new(
        ctx.clone(),
        LookupConfig::default().with_ask_salesloft(false),
    );
    let processor = Processor::new(ctx)
        .pull_syncs_forward(sync_job, Duration::from_secs(5))
        .invalidate_lookups(lookups.clone());
    let other = SecretString::from("an-older-token".to_owned());
    let inbox = Inbox::new(
        db.store.clone(),
        Verifier::new([&other, &token()]),
        InboxConfig::default(),
    );
    Setup {
        sandbox,
        inbox,
        processor,
        lookups,
        db,
    }
}

/// A sandbox person's JSON as a webhook carries it, with `updated_at` set to `updated_at`.
fn person_body(s: &Setup, index: usize, updated_at: &str, title: &str) -> Bytes {
    let mut person = s.sandbox.snapshot()["people"][index].clone();
    person["updated_at"] = updated_at.into();
    person["title"] = title.into();
    Bytes::from(serde_json::to_vec(&person).unwrap())
}

/// Signed by the sandbox's signing code, so ours is checked against an independent one.
async fn deliver(s: &Setup, event: &str, body: &Bytes) -> Result<Receipt, Refusal> {
    let signature = salesloft_sandbox::sign_webhook(TOKEN, body);
    assert_eq!(signature, sign(&token(), body), "the two signers agree");
    s.inbox
        .receive(
            Some(event.as_bytes()),
            Some(signature.as_bytes()),
            body.clone(),
        )
        .await
}

fn stored_id(r: Result<Receipt, Refusal>) -> i64 {
    match r {
        Ok(Receipt::Stored(id)) => id,
        other => panic!("not stored: {other:?}"),
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    fetch_texts(&db.store, sql).await.unwrap()[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

async fn title_of(db: &TestDb, id: i64) -> Option<String> {
    let raw = fetch_texts(
        &db.store,
        &format!("SELECT raw FROM people WHERE id = {id} AND deleted_at_ms IS NULL"),
    )
    .await
    .unwrap();
    let raw = raw.first()?.as_deref()?;
    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
    v["title"].as_str().map(str::to_owned)
}

async fn deliveries_are_stored_once_applied_monotonically_and_pull_the_sync_forward(db: TestDb) {
    let s = setup(db).await;
    let id = s.sandbox.snapshot()["people"][0]["id"].as_i64().unwrap();
    let newer = person_body(&s, 0, "2030-01-02T00:00:00.000000Z", "newer");
    let older = person_body(&s, 0, "2030-01-01T00:00:00.000000Z", "older");

    // Stored with its job; a redelivery is answered and not stored again.
    let first = stored_id(deliver(&s, "person_updated", &newer).await);
    assert_eq!(
        deliver(&s, "person_updated", &newer).await.unwrap(),
        Receipt::Duplicate
    );
    let jobs = s.db.store.jobs(None, Some(PROCESS_KIND), 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "one job per stored delivery");
    assert_eq!(
        jobs[0].payload,
        serde_json::json!({ "inbox_ids": [first] }).to_string()
    );

    // Applied; the sync of people is pulled forward.
    let done = s.processor.process(first).await.unwrap();
    let people = Stream::named("people").unwrap();
    assert_eq!(
        done,
        Processed::Applied {
            stream: people,
            applied: Applied::Inserted
        }
    );
    assert_eq!(title_of(&s.db, id).await.as_deref(), Some("newer"));
    let syncs =
        s.db.store
            .jobs(Some("available"), Some("sync"), 10)
            .await
            .unwrap();
    assert_eq!(syncs.len(), 1, "{syncs:?}");
    assert_eq!(syncs[0].unique_key.as_deref(), Some("sync:people"));
    assert_eq!(
        s.processor.process(first).await.unwrap(),
        Processed::AlreadyDone
    );

    // An older state delivered after the newer one changes nothing.
    let late = stored_id(deliver(&s, "person_updated", &older).await);
    assert_eq!(
        s.processor.process(late).await.unwrap(),
        Processed::Applied {
            stream: people,
            applied: Applied::Stale
        }
    );
    assert_eq!(title_of(&s.db, id).await.as_deref(), Some("newer"));

    // A captured body replayed as a delete of its own resource: SalesLoft still lists the
    // person, so it stays; replayed as another resource's delete: not that resource's record.
    let replayed = stored_id(deliver(&s, "person_deleted", &newer).await);
    assert_eq!(
        s.processor.process(replayed).await.unwrap(),
        Processed::Applied {
            stream: people,
            applied: Applied::NotDeleted
        }
    );
    assert_eq!(title_of(&s.db, id).await.as_deref(), Some("newer"));
    let relabelled = stored_id(deliver(&s, "account_deleted", &newer).await);
    match s.processor.process(relabelled).await.unwrap() {
        Processed::Failed(reason) => assert!(reason.contains("not a accounts record"), "{reason}"),
        other => panic!("a person's body applied as an account: {other:?}"),
    }
    assert_eq!(
        count(&s.db, "SELECT CAST(COUNT(*) AS TEXT) FROM accounts").await,
        0,
        "no account tombstone"
    );

    // Deleted in SalesLoft, then delivered with its last state; a late update older than the
    // deletion does not revive it.
    let deleted = person_body(&s, 0, "2030-01-03T00:00:00.000000Z", "deleted");
    assert_eq!(s.sandbox.delete_silently("people", &[id]), 1);
    // The real deletion may carry the very body replayed before: it is no duplicate of the
    // replay, which was not confirmed.
    let real = stored_id(deliver(&s, "person_deleted", &newer).await);
    assert_eq!(
        s.processor.process(real).await.unwrap(),
        Processed::Applied {
            stream: people,
            applied: Applied::Deleted
        }
    );
    let gone = stored_id(deliver(&s, "person_deleted", &deleted).await);
    assert_eq!(
        s.processor.process(gone).await.unwrap(),
        Processed::Applied {
            stream: people,
            applied: Applied::AlreadyDeleted
        }
    );
    assert_eq!(title_of(&s.db, id).await, None);
    let stale = person_body(&s, 0, "2030-01-02T12:00:00.000000Z", "stale");
    let revive = stored_id(deliver(&s, "person_updated", &stale).await);
    s.processor.process(revive).await.unwrap();
    assert_eq!(title_of(&s.db, id).await, None, "stays deleted");

    // Only one sync job for the whole burst.
    assert_eq!(
        s.db.store
            .jobs(Some("available"), Some("sync"), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        count(
            &s.db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events WHERE status = 'processed'"
        )
        .await,
        6,
        "six deliveries processed"
    );
    assert_eq!(
        count(
            &s.db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events WHERE status = 'failed'"
        )
        .await,
        1,
        "the relabelled one kept as failed"
    );
}
on_both!(
    applied,
    deliveries_are_stored_once_applied_monotonically_and_pull_the_sync_forward
);

/// A person webhook applied forgets what the lookups kept: the new address (kept as absent)
/// finds the person, and after the deletion nothing does.
async fn applied_people_invalidate_the_lookups(db: TestDb) {
    let s = setup(db).await;
    let address = "moved-here@example.invalid";
    assert!(s.lookups.person_by_email(address).await.unwrap().is_none());
    let mut person = s.sandbox.snapshot()["people"][0].clone();
    let id = person["id"].as_i64().unwrap();
    person["updated_at"] = "2030-01-02T00:00:00.000000Z".into();
    person["email_address"] = address.into();
    let body = Bytes::from(serde_json::to_vec(&person).unwrap());
    let stored = stored_id(deliver(&s, "person_updated", &body).await);
    s.processor.process(stored).await.unwrap();
    let found = s.lookups.person_by_email(address).await.unwrap();
    assert_eq!(found.map(|p| p.id.get()), Some(id));

    person["updated_at"] = "2030-01-03T00:00:00.000000Z".into();
    let body = Bytes::from(serde_json::to_vec(&person).unwrap());
    assert_eq!(s.sandbox.delete_silently("people", &[id]), 1);
    let gone = stored_id(deliver(&s, "person_deleted", &body).await);
    s.processor.process(gone).await.unwrap();
    assert!(s.lookups.person_by_email(address).await.unwrap().is_none());
}
on_both!(lookups_invalidated, applied_people_invalidate_the_lookups);

async fn bad_deliveries_are_refused_with_nothing_stored_and_odd_ones_kept(db: TestDb) {
    let s = setup(db).await;
    let body = person_body(&s, 1, "2030-01-01T00:00:00.000000Z", "x");
    let wrong = sign(&SecretString::from("not-ours".to_owned()), &body);
    let refused = [
        s.inbox
            .receive(Some(b"person_updated"), None, body.clone())
            .await,
        s.inbox
            .receive(
                Some(b"person_updated"),
                Some(wrong.as_bytes()),
                body.clone(),
            )
            .await,
        s.inbox
            .receive(Some(b"person_updated"), Some(b"not hex"), body.clone())
            .await,
    ];
    let statuses: Vec<u16> = refused
        .iter()
        .map(|r| r.as_ref().unwrap_err().status())
        .collect();
    assert_eq!(statuses, [401, 401, 401]);
    assert!(matches!(
        refused[0],
        Err(Refusal::Signature(SignatureError::Missing))
    ));
    // Above the size limit: 413 before anything else.
    let huge = Bytes::from(vec![b' '; (1 << 20) + 1]);
    let sig = sign(&token(), &huge);
    let too_large = s
        .inbox
        .receive(Some(b"person_updated"), Some(sig.as_bytes()), huge)
        .await
        .unwrap_err();
    assert_eq!(too_large.status(), 413);
    // No event type: 400.
    let sig = sign(&token(), &body);
    let untyped = s
        .inbox
        .receive(None, Some(sig.as_bytes()), body.clone())
        .await
        .unwrap_err();
    assert_eq!(untyped.status(), 400);
    assert_eq!(
        count(&s.db, "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events").await,
        0,
        "nothing refused was stored"
    );

    // A valid signature over malformed JSON: stored (SalesLoft sent it), then failed with a
    // reason, kept.
    let malformed = Bytes::from_static(b"{\"id\": 12, \"updated_at\": ");
    let kept = stored_id(deliver(&s, "person_updated", &malformed).await);
    match s.processor.process(kept).await.unwrap() {
        Processed::Failed(reason) => assert!(!reason.is_empty()),
        other => panic!("{other:?}"),
    }
    let status = fetch_texts(
        &s.db.store,
        &format!("SELECT status FROM webhook_events WHERE id = {kept}"),
    )
    .await
    .unwrap();
    assert_eq!(status[0].as_deref(), Some("failed"));
    // An event type nobody handles: stored, answered, skipped.
    let unknown = stored_id(deliver(&s, "brand_new_event", &body).await);
    assert_eq!(
        s.processor.process(unknown).await.unwrap(),
        Processed::Skipped
    );
    // A documented type no stream keeps yet: skipped.
    let meeting = stored_id(deliver(&s, "meeting_booked", &body).await);
    assert_eq!(
        s.processor.process(meeting).await.unwrap(),
        Processed::Skipped
    );
    // A kept type over another resource's body (a person as a task): failed, with why.
    let task = stored_id(deliver(&s, "task_created", &body).await);
    match s.processor.process(task).await.unwrap() {
        Processed::Failed(reason) => assert!(reason.contains("not a tasks record"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.processor.process(987_654).await.unwrap(),
        Processed::Missing
    );
}
on_both!(
    refused,
    bad_deliveries_are_refused_with_nothing_stored_and_odd_ones_kept
);

async fn concurrent_deliveries_are_each_stored_once_with_one_job_each(db: TestDb) {
    let s = setup(db).await;
    let mut tasks = Vec::new();
    for sender in 0..64 {
        let inbox = s.inbox.clone();
        tasks.push(tokio::spawn(async move {
            let mut receipts = Vec::new();
            for n in 0..20 {
                // Every sender sends 20 distinct bodies and repeats its first one.
                let body = Bytes::from(format!(
                    r#"{{"id": {}, "updated_at": "2030-01-01T00:00:00Z"}}"#,
                    sender * 1000 + n
                ));
                let sig = sign(&token(), &body);
                receipts.push(
                    inbox
                        .receive(Some(b"note_updated"), Some(sig.as_bytes()), body.clone())
                        .await
                        .unwrap(),
                );
                if n == 0 {
                    receipts.push(
                        inbox
                            .receive(Some(b"note_updated"), Some(sig.as_bytes()), body)
                            .await
                            .unwrap(),
                    );
                }
            }
            receipts
        }));
    }
    let mut stored = 0;
    let mut duplicates = 0;
    for t in tasks {
        for r in t.await.unwrap() {
            match r {
                Receipt::Stored(_) => stored += 1,
                Receipt::Duplicate => duplicates += 1,
            }
        }
    }
    assert_eq!((stored, duplicates), (64 * 20, 64));
    assert_eq!(
        count(&s.db, "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events").await,
        64 * 20
    );
    // Every stored delivery is in exactly one processing job (one per transaction).
    let payloads = fetch_texts(
        &s.db.store,
        "SELECT payload FROM jobs WHERE kind = 'webhook'",
    )
    .await
    .unwrap();
    let mut ids: Vec<i64> = payloads
        .iter()
        .flatten()
        .flat_map(|p| {
            serde_json::from_str::<salesloft_webhooks::ProcessPayload>(p)
                .unwrap()
                .inbox_ids
        })
        .collect();
    let jobs = payloads.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 64 * 20, "each delivery in one job");
    assert!(jobs < 64 * 20, "batched: {jobs} jobs");
}
on_both!(
    concurrent,
    concurrent_deliveries_are_each_stored_once_with_one_job_each
);

/// The delete deliveries of one processing job are confirmed together: one `ids[]` list per
/// stream and 100 live records (a mass delete is not a request each), none for records that
/// are not live here.
async fn delete_deliveries_are_confirmed_together(db: TestDb) {
    let s = setup(db).await;
    let people: Vec<serde_json::Value> = s.sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .take(7)
        .cloned()
        .collect();
    let ids: Vec<i64> = people.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    // Six of them live here.
    let mut stored = Vec::new();
    for person in &people[..6] {
        let body = Bytes::from(serde_json::to_vec(person).unwrap());
        stored.push(stored_id(deliver(&s, "person_updated", &body).await));
    }
    let report = s.processor.process_batch(&stored, false).await;
    assert_eq!(report.applied, 6, "{report:?}");
    // Three are deleted in SalesLoft; deletes are delivered for all seven.
    assert_eq!(s.sandbox.delete_silently("people", &ids[..3]), 3);
    let mut deletes = Vec::new();
    for person in &people {
        let body = Bytes::from(serde_json::to_vec(person).unwrap());
        deletes.push(stored_id(deliver(&s, "person_deleted", &body).await));
    }
    let spent = s.sandbox.counters().cost_spent;
    let report = s.processor.process_batch(&deletes, false).await;
    assert_eq!((report.applied, report.failed), (7, 0), "{report:?}");
    assert_eq!(
        s.sandbox.counters().cost_spent - spent,
        1,
        "one list for the six live ones, none for the one never seen"
    );
    let live = count(
        &s.db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE deleted_at_ms IS NULL",
    )
    .await;
    assert_eq!(live, 3, "the three SalesLoft still has stay");
    let tombstones = count(
        &s.db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE deleted_at_ms IS NOT NULL",
    )
    .await;
    assert_eq!(tombstones, 4, "the three deleted and the one never seen");
}
on_both!(deletes_together, delete_deliveries_are_confirmed_together);

/// The hourly prune deletes settled deliveries past their retention in short batches (see
/// below), through the runner.
mod prune {
    use salesloft_jobs::{Registry, Runner, RunnerConfig};
    use salesloft_storage::testing::TestDb;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    fn config() -> RunnerConfig {
        let mut c = RunnerConfig::default();
        c.lease = Duration::from_millis(900);
        c.poll_min = Duration::from_millis(20);
        c.poll_max = Duration::from_millis(100);
        c.shutdown_grace = Duration::from_millis(500);
        c.maintenance_every = Duration::from_millis(200);
        c
    }

    /// The hourly prune deletes settled deliveries past their retention in short batches, so
    /// deliveries keep being stored while it runs (on SQLite's one writer too), and never touches
    /// recent or pending ones.
    async fn the_inbox_prune_never_holds_intake_back(db: TestDb) {
        const OLD: usize = 12_000;
        let store = db.store.clone();
        let body = vec![b'x'; 512];
        let bodies: Vec<Vec<u8>> = (0..OLD)
            .map(|i| {
                let mut b = format!("{{\"id\": {i}, \"pad\": \"").into_bytes();
                b.extend_from_slice(&body);
                b.extend_from_slice(b"\"}");
                b
            })
            .collect();
        for chunk in bodies.chunks(500) {
            let deliveries: Vec<salesloft_storage::Delivery<'_>> = chunk
                .iter()
                .map(|b| salesloft_storage::Delivery {
                    event_type: "person_updated",
                    body: b,
                    resource_id: None,
                    resource_updated_at_us: None,
                })
                .collect();
            store.record_webhooks(&deliveries, None).await.unwrap();
        }
        let month_ago = salesloft_storage::now_ms() - 31 * 86_400_000;
        salesloft_storage::testing::execute(
            &store,
            &format!(
                "UPDATE webhook_events SET status = 'processed', received_at_ms = {month_ago}"
            ),
        )
        .await
        .unwrap();
        let registry = Registry::new().register(salesloft_webhooks::jobs::InboxPruneJob::new(
            store.clone(),
            salesloft_webhooks::jobs::InboxRetention::default(),
        ));
        store
            .enqueue(
                &Registry::job::<salesloft_webhooks::jobs::InboxPruneJob>(&Default::default())
                    .unwrap(),
            )
            .await
            .unwrap();
        let runner = Runner::new(store.clone(), registry, config()).unwrap();

        // Deliveries arrive every 5 ms while the prune runs.
        let pruning = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let arrivals = {
            let (store, pruning) = (store.clone(), pruning.clone());
            tokio::spawn(async move {
                let mut stored_at = Vec::new();
                let mut i = 0;
                while pruning.load(Ordering::Relaxed) {
                    let body = format!("{{\"id\": {i}, \"fresh\": true}}");
                    store
                        .record_webhook("person_updated", body.as_bytes(), None, None)
                        .await
                        .unwrap();
                    stored_at.push(Instant::now());
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                stored_at
            })
        };
        let started = Instant::now();
        let drained = runner.run_once().await.unwrap();
        let ended = Instant::now();
        pruning.store(false, Ordering::Relaxed);
        let stored_at = arrivals.await.unwrap();
        assert_eq!(drained.completed, 1, "{drained:?}");
        let during = stored_at
            .iter()
            .filter(|t| **t > started && **t < ended)
            .count();
        eprintln!(
            "pruned {OLD} deliveries in {:?}; {during} deliveries stored meanwhile",
            ended - started
        );
        assert!(
            during >= 10,
            "deliveries were stored while the prune ran ({during} in {:?})",
            ended - started
        );
        let (rows, _) = store.webhook_inbox_size().await.unwrap();
        assert_eq!(
            rows as usize,
            stored_at.len(),
            "only the fresh deliveries are left"
        );
    }
    salesloft_storage::on_both!(inbox_prune, the_inbox_prune_never_holds_intake_back);
}
