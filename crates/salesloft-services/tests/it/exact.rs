//! Exact while SalesLoft changes under the sync: tie groups larger than a page changed between
//! page reads, backfills under the live simulator, late commits behind the cursor, type drift,
//! JSON kept as received, and deletes nobody reported.

use salesloft_storage::on_both;
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::WalkCursor;
use salesloft_sandbox::SimulatorConfig;
use salesloft_services::{
    Clock, ReconcileOptions, Reconciler, StatusReport, Stream, SyncOptions, Verifier,
};
use salesloft_storage::testing::TestDb;

use crate::{Setup, people, people_team, setup};

/// Run a test body per seed, each on a fresh database, on SQLite and on PostgreSQL.
macro_rules! on_both_seeds {
    ($name:ident, $body:ident) => {
        mod $name {
            use salesloft_storage::testing::TestDb;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                for seed in 1..=super::seeds() {
                    super::$body(TestDb::sqlite().await.unwrap(), seed).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                for seed in 1..=super::seeds() {
                    let db = TestDb::postgres().await.unwrap_or_else(|e| {
                        panic!("PostgreSQL is unreachable ({e}): start it, set SALESLOFT_TEST_DATABASE_URL, or leave these cases out with `cargo test -- --skip postgres`")
                    });
                    super::$body(db, seed).await;
                }
            }
        }
    };
}

/// How many seeds each randomised test tries: `SALESLOFT_TEST_SEEDS`, default 3.
fn seeds() -> u64 {
    std::env::var("SALESLOFT_TEST_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// Every stream of the local copy equal to the sandbox's, JSON text and all.
async fn assert_all_equal(s: &Setup, context: &str) {
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), Stream::all())
        .await
        .unwrap();
    for d in &diffs {
        if !d.is_equal() {
            // Name what differs: the versions on both sides.
            let snapshot = s.sandbox.snapshot();
            let stream = Stream::named(&d.stream).unwrap();
            let local = stream.raw_records(&s.store).await.unwrap();
            for id in d.different.iter().chain(&d.missing).take(3) {
                let source = snapshot[&d.stream]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["id"] == *id)
                    .map(|r| r["updated_at"].to_string());
                let mine = local.iter().find(|(i, _)| i == id).map(|(_, raw)| {
                    serde_json::from_str::<serde_json::Value>(raw).unwrap()["updated_at"]
                        .to_string()
                });
                eprintln!(
                    "{context}: {} {id}: source {source:?}, local {mine:?}",
                    d.stream
                );
                if mine.is_none() && d.stream == "people" {
                    let row = salesloft_storage::testing::fetch_texts(
                        &s.store,
                        &format!(
                            "SELECT CAST(deleted_at_ms AS TEXT) || ' ' || CAST(sl_updated_at_us AS TEXT) \
                             FROM people WHERE id = {id}"
                        ),
                    )
                    .await
                    .unwrap();
                    eprintln!("{context}: stored row (deleted_at_ms, version): {row:?}");
                }
            }
        }
        assert!(d.is_equal(), "{context}: {d:?}");
    }
}

/// Deletes reach the local copy by webhook or by a reconcile pass: run the pass.
async fn reconcile_all(s: &Setup) {
    let reports = Reconciler::new(s.engine.context().clone())
        .reconcile(Stream::all(), ReconcileOptions::default())
        .await;
    for r in &reports {
        assert!(r.error.is_none() && r.refused.is_none(), "{r:?}");
        if r.deleted > 0 {
            eprintln!("reconcile: {r:?}");
        }
    }
}

/// Runs without the lookback, which would otherwise re-read a recent group and hide a loss
/// by the walk.
fn walk_only() -> SyncOptions {
    SyncOptions {
        lookback: Duration::ZERO,
        ..SyncOptions::default()
    }
}

async fn tie_groups_changed_between_page_reads_end_exact(db: TestDb) {
    let s = setup(people_team(3_000), db).await;
    let report = s.engine.sync(&[people()], SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    for group in [150usize, 250, 1_000] {
        for seed in 1..=seeds() {
            let context = format!("group {group}, seed {seed}");
            let (members, at) = s.sandbox.tie_group(group);
            assert_eq!(members.len(), group);
            let mut dice = fastrand::Rng::with_seed(seed ^ (group as u64) << 20);
            // One page per run, the cursor committed after each: between two page reads,
            // members of the group are updated (they leave it for a later instant) or
            // deleted, read ones and unread ones alike.
            let mut runs = 0;
            loop {
                runs += 1;
                assert!(runs < 200, "{context}: no progress");
                let report = s
                    .engine
                    .sync(
                        &[people()],
                        SyncOptions {
                            max_pages: Some(1),
                            ..walk_only()
                        },
                    )
                    .await;
                assert!(report.is_ok(), "{context}: {report:?}");
                if report.streams[0].caught_up {
                    break;
                }
                for _ in 0..dice.usize(..4) {
                    let id = members[dice.usize(..members.len())];
                    if dice.usize(..3) == 0 {
                        s.sandbox.delete_silently("people", &[id]);
                    } else {
                        s.sandbox.retime("people", &[id], Duration::ZERO);
                    }
                }
            }
            assert!(runs > group / 100, "{context}: the group took {runs} runs");
            let state = s.store.sync_state("people").await.unwrap();
            let cursor = state.cursor::<WalkCursor>().unwrap().unwrap();
            assert!(
                cursor.updated_at_us.unwrap() > at,
                "{context}: the walk went past the group"
            );
            // The changes stop; one more run, and a reconcile for the deletes.
            let report = s.engine.sync(&[people()], walk_only()).await;
            assert!(report.is_ok(), "{context}: {report:?}");
            let reports = Reconciler::new(s.engine.context().clone())
                .reconcile(&[people()], ReconcileOptions::default())
                .await;
            assert!(
                reports[0].error.is_none() && reports[0].refused.is_none(),
                "{reports:?}"
            );
            assert_equal_people(&s).await;
        }
    }
}
on_both!(tie_groups, tie_groups_changed_between_page_reads_end_exact);

async fn a_backfill_under_the_live_simulator_ends_exact(db: TestDb, seed: u64) {
    let context = format!("seed {seed}");
    let mut config = people_team(20_000);
    config.seed = seed;
    let s = setup(config, db).await;
    // Hundreds of changes a second, bulk updates (tie groups of 100 to 400 people) and late
    // commits among them, while the backfill runs.
    s.sandbox.start_simulator(SimulatorConfig {
        events_per_second: 400.0,
        seed,
        bulk_updates: true,
    });
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{context}: {report:?}");
    assert!(report.stream("people").unwrap().inserted >= 20_000 - 100);
    // Keep syncing while it runs, as a scheduler would.
    for _ in 0..3 {
        let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
        assert!(report.is_ok(), "{context}: {report:?}");
    }
    s.sandbox.stop_simulator();
    let changes = s.sandbox.counts();
    assert!(changes["emails"] > 0, "{context}: the simulator ran");
    // The changes stop; one more run, and a reconcile for the deletes nobody reported.
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{context}: {report:?}");
    reconcile_all(&s).await;
    assert_all_equal(&s, &context).await;
}
on_both_seeds!(
    live_backfill,
    a_backfill_under_the_live_simulator_ends_exact
);

/// The people stream's committed cursor.
async fn people_cursor(s: &Setup) -> WalkCursor {
    s.store
        .sync_state("people")
        .await
        .unwrap()
        .cursor::<WalkCursor>()
        .unwrap()
        .unwrap()
}

/// A clock `ahead` of the system's.
#[derive(Debug)]
struct AheadClock(Duration);

impl Clock for AheadClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::from_std(self.0).unwrap()
    }
}

async fn a_record_committed_behind_the_cursor_is_picked_up_by_the_lookback(db: TestDb) {
    let s = setup(people_team(500), db).await;
    assert!(
        s.engine
            .sync(&[people()], SyncOptions::default())
            .await
            .is_ok()
    );
    // Changes now: the cursor moves to the present.
    let ids: Vec<i64> = people()
        .raw_records(&s.store)
        .await
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    s.sandbox.retime("people", &ids[..2], Duration::ZERO);
    assert!(
        s.engine
            .sync(&[people()], SyncOptions::default())
            .await
            .is_ok()
    );
    let cursor = people_cursor(&s).await;
    // A change that committed late: its updated_at is 800 ms behind the cursor.
    let behind = {
        let now = chrono::Utc::now().timestamp_micros();
        let lag = now - cursor.updated_at_us.unwrap();
        Duration::from_micros(u64::try_from(lag).unwrap() + 800_000)
    };
    let late = ids[100];
    let at = s.sandbox.retime("people", &[late], behind);
    assert!(at < cursor.updated_at_us.unwrap());
    // Without a lookback the walk never sees it: the test can tell.
    let blind = s
        .engine
        .sync(
            &[people()],
            SyncOptions {
                lookback: Duration::ZERO,
                ..SyncOptions::default()
            },
        )
        .await;
    assert!(blind.is_ok());
    assert_eq!(blind.streams[0].updated, 0, "{blind:?}");
    // With the default 2 s, the next run starts from where every record was read late enough
    // (behind the late commit) and stores it: one request, as the stretch holds few records.
    let report = s.engine.sync(&[people()], SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.streams[0].updated, 1, "{report:?}");
    assert_eq!(report.cost(), 1, "{report:?}");
    assert_equal_people(&s).await;
    // Idle, the lookback costs nothing extra: one request a run, before the cursor settles and
    // after.
    let idle = s.engine.sync(&[people()], SyncOptions::default()).await;
    assert_eq!(idle.cost(), 1, "{idle:?}");
    let later = s
        .engine
        .context()
        .clone()
        .with_clock(Arc::new(AheadClock(Duration::from_secs(10))));
    let engine = salesloft_services::SyncEngine::new(later);
    assert_eq!(
        engine
            .sync(&[people()], SyncOptions::default())
            .await
            .cost(),
        1
    );
    let settled = people_cursor(&s).await;
    assert!(
        settled.settled_us >= settled.updated_at_us,
        "read 10 s later, everything up to the cursor is settled: {settled:?}"
    );
    assert_eq!(
        engine
            .sync(&[people()], SyncOptions::default())
            .await
            .cost(),
        1
    );
}
on_both!(
    lookback,
    a_record_committed_behind_the_cursor_is_picked_up_by_the_lookback
);

async fn assert_equal_people(s: &Setup) {
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), &[people()])
        .await
        .unwrap();
    assert!(diffs.iter().all(|d| d.is_equal()), "{diffs:?}");
}

async fn drifted_and_unreadable_records_never_stop_the_stream(db: TestDb) {
    let s = setup(people_team(300), db).await;
    let person = |id: i64, extra: &str| {
        format!(
            r#"{{"id":{id},"created_at":"2024-01-20T17:00:00.000000-07:00","updated_at":"2024-01-21T17:00:00.{id:06}-07:00","email_address":"drift{id}@example.com"{extra}}}"#
        )
    };
    let drifted = [
        person(900_001, r#","title":42"#),
        person(900_002, r#","custom_fields":[]"#),
        person(900_003, r#","tags":null,"counts":{"calls":"three"}"#),
        person(900_004, r#","do_not_contact":"no","owner":{"id":"x"}"#),
    ];
    for (i, text) in drifted.iter().enumerate() {
        assert!(s.sandbox.put_raw("people", 900_001 + i as i64, text));
    }
    // Not records: no id, and not an object at all.
    let no_id = r#"{"created_at":"2024-01-20T17:00:00.000000-07:00","updated_at":"2024-01-21T17:00:00.500000-07:00"}"#;
    assert!(s.sandbox.put_raw("people", 900_010, no_id));
    assert!(s.sandbox.put_raw("people", 900_011, r#""just a string""#));

    for run in 0..2 {
        let report = s.engine.sync(&[people()], SyncOptions::default()).await;
        assert!(report.is_ok(), "run {run}: {report:?}");
        if run == 0 {
            let r = &report.streams[0];
            assert_eq!((r.drifted, r.quarantined), (4, 2), "{r:?}");
            assert!(r.drifted_fields.contains(&"title".to_owned()), "{r:?}");
            // Every record is stored, drifted ones too.
            assert_eq!(r.inserted, 304, "{r:?}");
        }
    }
    for (i, text) in drifted.iter().enumerate() {
        let (raw, _) = s
            .store
            .raw_record::<salesloft_client::Person>(900_001 + i as i64)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(&raw, text, "stored exactly as sent");
    }
    let status = StatusReport::new(s.engine.context())
        .streams()
        .await
        .unwrap();
    let p = status.iter().find(|st| st.stream == people()).unwrap();
    assert_eq!((p.drifted, p.quarantined), (4, 2), "{p:?}");
    assert!(
        p.drifted_fields
            .iter()
            .any(|(f, n)| f == "counts.calls" && *n == 1),
        "{p:?}"
    );
    let kept = s.store.quarantined("people").await.unwrap();
    assert!(kept.iter().any(|q| q.raw == no_id), "{kept:?}");
}
on_both!(drift, drifted_and_unreadable_records_never_stop_the_stream);

async fn a_reconcile_soft_deletes_what_salesloft_no_longer_has(db: TestDb) {
    let s = setup(people_team(2_000), db).await;
    assert!(
        s.engine
            .sync(&[people()], SyncOptions::default())
            .await
            .is_ok()
    );
    let ids: Vec<i64> = s
        .store
        .live_ids::<salesloft_client::Person>()
        .await
        .unwrap();
    // 5% deleted with no webhook.
    let gone: Vec<i64> = ids.iter().copied().step_by(20).collect();
    assert_eq!(s.sandbox.delete_silently("people", &gone), 100);
    let before = s.sandbox.counters().cost_spent;
    let reconciler = Reconciler::new(s.engine.context().clone());
    let reports = reconciler
        .reconcile(&[people()], ReconcileOptions::default())
        .await;
    let r = &reports[0];
    assert_eq!((r.local, r.missing, r.deleted), (2_000, 100, 100), "{r:?}");
    assert_eq!(r.cost, 20, "one request per 100 ids");
    assert_eq!(s.sandbox.counters().cost_spent - before, 20);
    assert_equal_people(&s).await;
    // A stale page of a deleted person (read before the delete) does not bring it back.
    let report = s
        .engine
        .sync(
            &[people()],
            SyncOptions {
                full: true,
                ..SyncOptions::default()
            },
        )
        .await;
    assert!(report.is_ok());
    assert_equal_people(&s).await;

    // A listing that comes back short is not believed: 30% missing deletes nothing...
    let ids: Vec<i64> = s
        .store
        .live_ids::<salesloft_client::Person>()
        .await
        .unwrap();
    let gone: Vec<i64> = ids.iter().copied().take(ids.len() * 3 / 10).collect();
    s.sandbox.delete_silently("people", &gone);
    let r = &reconciler
        .reconcile(&[people()], ReconcileOptions::default())
        .await[0];
    assert_eq!((r.missing, r.deleted), (gone.len() as u64, 0), "{r:?}");
    assert!(r.refused.as_deref().unwrap().contains("--force"), "{r:?}");
    // ...unless forced.
    let r = &reconciler
        .reconcile(
            &[people()],
            ReconcileOptions {
                force: true,
                ..ReconcileOptions::default()
            },
        )
        .await[0];
    assert_eq!(r.deleted, gone.len() as u64, "{r:?}");
    assert_equal_people(&s).await;
}
on_both!(
    reconcile,
    a_reconcile_soft_deletes_what_salesloft_no_longer_has
);

/// A `*_deleted` delivery is a hint: a body of another resource is refused, a record
/// SalesLoft still lists is kept live (one `ids[]` list, cost 1), one it no longer lists is
/// tombstoned; and a record deleted here that SalesLoft still lists is restored by the next
/// reconcile or full sync.
async fn a_delete_delivery_is_confirmed_before_it_tombstones(db: TestDb) {
    use salesloft_services::Applied;
    let s = setup(people_team(300), db).await;
    assert!(
        s.engine
            .sync(&[people()], SyncOptions::default())
            .await
            .is_ok()
    );
    let ctx = s.engine.context().clone();
    let snapshot = s.sandbox.snapshot();
    let body = |i: usize| serde_json::to_vec(&snapshot["people"][i]).unwrap();
    let id = |i: usize| snapshot["people"][i]["id"].as_i64().unwrap();
    let live = || async {
        s.store
            .count_live::<salesloft_client::Person>()
            .await
            .unwrap()
    };
    assert_eq!(live().await, 300);

    // A live person's body replayed as person_deleted: asked about, still listed, kept.
    let spent = s.sandbox.counters().cost_spent;
    let applied = people().apply_pushed(&ctx, &body(0), true).await.unwrap();
    assert_eq!(applied, Applied::NotDeleted);
    assert_eq!(s.sandbox.counters().cost_spent - spent, 1, "one ids[] list");
    assert_eq!(live().await, 300);
    // The same body as account_deleted, or as a user: not an account or a user at all.
    for other in ["accounts", "users", "notes"] {
        let stream = Stream::named(other).unwrap();
        let accounts_before = stream.count_live(&s.store).await.unwrap();
        match stream.apply_pushed(&ctx, &body(0), true).await.unwrap() {
            Applied::Rejected(reason) => {
                assert!(
                    reason.contains(&format!("not a {other} record")),
                    "{reason}"
                );
            }
            applied => panic!("a person's body applied to {other}: {applied:?}"),
        }
        assert_eq!(stream.count_live(&s.store).await.unwrap(), accounts_before);
    }
    assert!(
        s.store
            .deleted_ids_since::<salesloft_client::Account>(0)
            .await
            .unwrap()
            .is_empty(),
        "no tombstone left for the person's id among accounts"
    );

    // A real deletion: SalesLoft no longer lists the person, so the delivery tombstones it.
    assert_eq!(s.sandbox.delete_silently("people", &[id(1)]), 1);
    let applied = people().apply_pushed(&ctx, &body(1), true).await.unwrap();
    assert_eq!(applied, Applied::Deleted);
    assert_eq!(live().await, 299);

    // Deleted here although SalesLoft has them (a forged delete stored before deliveries were
    // confirmed): the next reconcile restores one, a full sync the other.
    people().soft_delete(&s.store, id(2), None).await.unwrap();
    people().soft_delete(&s.store, id(3), None).await.unwrap();
    assert_eq!(live().await, 297);
    let reports = Reconciler::new(ctx.clone())
        .reconcile(&[people()], ReconcileOptions::default())
        .await;
    let r = &reports[0];
    assert_eq!((r.restored, r.deleted), (2, 0), "{r:?}");
    assert_eq!(live().await, 299);
    people().soft_delete(&s.store, id(2), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let report = s
        .engine
        .sync(
            &[people()],
            SyncOptions {
                full: true,
                ..SyncOptions::default()
            },
        )
        .await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        live().await,
        299,
        "the full sync listed it after the delete"
    );
    assert_equal_people(&s).await;
}
on_both!(
    delete_hints,
    a_delete_delivery_is_confirmed_before_it_tombstones
);
