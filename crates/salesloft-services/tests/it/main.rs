//! The sync engine against the sandbox: backfill, incremental, kill-and-resume, faults, cost.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on purpose, and name what differs on stderr

use salesloft_storage::on_both;
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{Auth, Client, RetryPolicy, Unlimited};
use salesloft_sandbox::{Action, FaultConfig, Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_services::{
    Context, StatusReport, Stream, SyncEngine, SyncOptions, SyncReport, Verifier,
};
use salesloft_storage::Store;
use salesloft_storage::testing::TestDb;

struct Setup {
    sandbox: SandboxHandle,
    engine: SyncEngine,
    store: Store,
    _db: TestDb,
}

fn stream(name: &str) -> Stream {
    Stream::named(name).unwrap()
}

fn people() -> Stream {
    stream("people")
}

async fn setup(config: SandboxConfig, db: TestDb) -> Setup {
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .retry(RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(60),
            max_rate_limited: std::time::Duration::from_secs(60),
        })
        .build()
        .unwrap();
    let store = db.store.clone();
    Setup {
        engine: SyncEngine::new(Context::new(client, store.clone())),
        sandbox,
        store,
        _db: db,
    }
}

fn quiet() -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    }
}

async fn assert_equal(s: &Setup) {
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), Stream::all())
        .await
        .unwrap();
    for d in &diffs {
        assert!(d.is_equal(), "{d:?}");
        assert!(d.source > 0, "{} is empty in the sandbox", d.stream);
    }
}

async fn a_backfill_equals_the_source_exactly(db: TestDb) {
    let s = setup(quiet(), db).await;
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_equal(&s).await;
    assert_eq!(report.stream("people").unwrap().inserted, 1_000);
    // A second run finds nothing new and costs one request per stream: the backfill read
    // every record long after its updated_at, so no late commit can be missing and the
    // lookback reads nothing.
    let again = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(
        again
            .streams
            .iter()
            .all(|r| r.inserted == 0 && r.updated == 0),
        "{again:?}"
    );
    // One request per walked stream; a full list reads its pages again.
    let counts = s.sandbox.counts();
    let idle: u64 = Stream::all()
        .iter()
        .map(|st| match st.resource().walkable() {
            true => 1,
            false => (counts[st.name()] as u64).div_ceil(100).max(1),
        })
        .sum();
    assert_eq!(again.cost(), idle, "{again:?}");
    // Status: every stream backfilled, its records counted, its freshness measured from its
    // last success (by the context's clock), however old its newest record.
    let synced_at = s
        .store
        .sync_state("people")
        .await
        .unwrap()
        .last_success_at_ms
        .unwrap();
    let clock = FixedClock(synced_at + 90_000);
    let ctx = s.engine.context().clone().with_clock(Arc::new(clock));
    let statuses = StatusReport::new(&ctx).streams().await.unwrap();
    let counts = s.sandbox.counts();
    assert_eq!(statuses.len(), Stream::all().len());
    for st in &statuses {
        assert!(st.backfill_done && st.last_error.is_none(), "{st:?}");
        assert_eq!(st.records as usize, counts[st.stream.name()], "{st:?}");
        let fresh = st.freshness.unwrap().as_secs();
        assert!((85..=95).contains(&fresh), "{st:?}");
        assert!(st.cursor_at.is_some(), "{st:?}");
    }
}

/// A clock stopped at an instant (ms since the epoch).
#[derive(Debug)]
struct FixedClock(i64);

impl salesloft_services::Clock for FixedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap()
    }
}

async fn an_incremental_run_picks_up_exactly_the_changes(db: TestDb) {
    let s = setup(quiet(), db).await;
    assert!(
        s.engine
            .sync(Stream::all(), SyncOptions::default())
            .await
            .is_ok()
    );
    for action in [
        Action::EditPerson,
        Action::SendEmail,
        Action::OpenEmail,
        Action::LogCall,
        Action::AdvanceMembership,
    ] {
        s.sandbox.mutate(Some(action), 25).unwrap();
    }
    let before = s.sandbox.counters().list_records;
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_equal(&s).await;
    let changed: u64 = report.streams.iter().map(|r| r.inserted + r.updated).sum();
    assert!(changed >= 100, "{report:?}");
    // Only the changes (and the full lists, and one boundary record per walk) were read.
    let read = s.sandbox.counters().list_records - before;
    let counts = s.sandbox.counts();
    let listed: u64 = Stream::all()
        .iter()
        .filter(|st| !st.resource().walkable())
        .map(|st| counts[st.name()] as u64)
        .sum();
    assert!(
        read < changed + listed + 100,
        "read {read} records for {changed} changes"
    );
}

async fn a_run_killed_after_any_page_resumes_to_an_exact_copy(db: TestDb) {
    let s = setup(quiet(), db).await;
    // Kill every stream after each page, rerun until caught up.
    let mut runs = 0;
    loop {
        runs += 1;
        let report = s
            .engine
            .sync(
                Stream::all(),
                SyncOptions {
                    max_pages: Some(1),
                    ..Default::default()
                },
            )
            .await;
        assert!(report.is_ok(), "{report:?}");
        if report.streams.iter().all(|r| r.caught_up) {
            break;
        }
        assert!(runs < 200, "no progress");
    }
    assert!(
        runs > 10,
        "the walk took many runs ({runs}), crossing tie groups larger than a page"
    );
    assert_equal(&s).await;
}

async fn a_run_cancelled_at_any_moment_resumes_to_an_exact_copy(db: TestDb) {
    let s = setup(quiet(), db).await;
    // Each run is dropped where it stands (mid request, mid write, with a checkpoint of several
    // pages open) a little later than the last, until one finishes: 3 ms, then 5% longer each
    // time, so a slow machine takes a few more runs, not quadratically more time.
    let mut cut = 0;
    for run in 1i32.. {
        let limit = Duration::from_secs_f64(0.003 * 1.05f64.powi(run));
        match tokio::time::timeout(limit, s.engine.sync(Stream::all(), SyncOptions::default()))
            .await
        {
            Err(_) => cut += 1,
            Ok(report) => {
                assert!(report.is_ok(), "{report:?}");
                break;
            }
        }
        assert!(run < 2_000, "no progress");
    }
    assert!(cut > 5, "runs were cut short: {cut}");
    assert_equal(&s).await;
}

async fn server_errors_and_429_bursts_still_end_exactly_equal(db: TestDb) {
    let s = setup(
        SandboxConfig {
            rate_limit_per_minute: None,
            faults: FaultConfig {
                error_500: 0.05,
                error_503: 0.05,
                rate_limited: 0.05,
                truncate: 0.02,
                seed: 3,
                ..FaultConfig::default()
            },
            ..SandboxConfig::default()
        },
        db,
    )
    .await;
    let mut report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    // A stream that ran out of retries resumes on the next run from its last checkpoint.
    for _ in 0..5 {
        if report.is_ok() {
            break;
        }
        report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    }
    assert!(report.is_ok(), "{report:?}");
    assert!(
        s.sandbox.counters().faults_injected >= 5,
        "{:?}",
        s.sandbox.counters()
    );
    assert_equal(&s).await;
}

fn people_team(n: usize) -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        team: TeamSize {
            people: n,
            users: 5,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    }
}

async fn assert_people_equal(s: &Setup) {
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), &[people()])
        .await
        .unwrap();
    assert!(diffs.iter().all(|d| d.is_equal()), "{diffs:?}");
}

/// A team of `n` people, backfilled in one run that inserts every one of them; its report.
async fn backfill_people(n: usize, db: TestDb) -> (Setup, SyncReport) {
    let s = setup(people_team(n), db).await;
    let report = s.engine.sync(&[people()], SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.streams[0].inserted, n as u64);
    (s, report)
}

async fn a_backfill_past_a_window_costs_n_over_100_plus_three(db: TestDb) {
    let n = 25_000;
    let (s, report) = backfill_people(n, db).await;
    assert_people_equal(&s).await;
    // The first page, a probe for the window's ceiling, pages 1..100 of each window, and one
    // request past the ceiling at the end.
    let cost = s.sandbox.counters().cost_spent;
    let bound = (n as u64).div_ceil(100) + 3;
    assert!(cost <= bound, "cost {cost} > {bound}");
    assert_eq!(cost, report.cost(), "the engine counts every request");
}

async fn people_changed_and_deleted_during_a_windowed_backfill_are_all_caught(db: TestDb) {
    let s = setup(people_team(25_000), db).await;
    // Stop after every 30 pages (the cursor, inside a window, is persisted), change and delete
    // people all over the list, go on.
    let mut runs = 0;
    loop {
        runs += 1;
        let report = s
            .engine
            .sync(
                &[people()],
                SyncOptions {
                    max_pages: Some(30),
                    ..Default::default()
                },
            )
            .await;
        assert!(report.is_ok(), "{report:?}");
        if s.store.sync_state("people").await.unwrap().backfill_done {
            break;
        }
        s.sandbox.mutate(Some(Action::EditPerson), 15).unwrap();
        s.sandbox.mutate(Some(Action::DeletePerson), 2).unwrap();
        assert!(runs < 100, "no progress");
    }
    assert!(runs > 5, "{runs} runs");
    // Deletions reach the local copy by webhook, not by the walk: apply them as the webhook
    // processor would, then one more run picks up what changed after the ceiling.
    let report = s.engine.sync(&[people()], SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let snapshot = s.sandbox.snapshot();
    let live: std::collections::HashSet<i64> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    for (id, _) in people().raw_records(&s.store).await.unwrap() {
        if !live.contains(&id) {
            people().soft_delete(&s.store, id, None).await.unwrap();
        }
    }
    assert_people_equal(&s).await;
}

async fn a_backfill_of_n_people_costs_about_n_over_100(db: TestDb) {
    let n = 5_000;
    let (s, report) = backfill_people(n, db).await;
    let cost = s.sandbox.counters().cost_spent;
    // Below a window's worth, each page after the first repeats the one record at its cursor
    // instant: N/99 pages, within ceil(N/100) + 3 at this size.
    let bound = (n as u64).div_ceil(100) + 3;
    assert!(cost <= bound, "cost {cost} > {bound}");
    assert_eq!(
        cost,
        report.cost(),
        "the engine's cost matches the sandbox's count"
    );
}
on_both!(backfill, a_backfill_equals_the_source_exactly);
on_both!(incremental, an_incremental_run_picks_up_exactly_the_changes);
on_both!(
    killed_and_resumed,
    a_run_killed_after_any_page_resumes_to_an_exact_copy
);
on_both!(
    cancelled,
    a_run_cancelled_at_any_moment_resumes_to_an_exact_copy
);
on_both!(faults, server_errors_and_429_bursts_still_end_exactly_equal);
on_both!(backfill_cost, a_backfill_of_n_people_costs_about_n_over_100);
on_both!(
    windowed_backfill_cost,
    a_backfill_past_a_window_costs_n_over_100_plus_three
);
on_both!(
    changes_during_a_windowed_backfill,
    people_changed_and_deleted_during_a_windowed_backfill_are_all_caught
);

mod cadences;
mod definitions;
mod engagement;
mod exact;
mod jobs;
mod lookup;
mod people;
mod tasks;

/// Asked to stop mid-backfill (a worker shutting down), a sync fetches no further page,
/// commits what it fetched with its cursor, says it did not catch up, and the next run
/// resumes there and ends exact.
async fn a_stopped_sync_commits_what_it_fetched_and_the_next_run_resumes(db: TestDb) {
    let n = 20_000;
    let s = setup(people_team(n), db).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    let engine = s.engine.clone().with_progress(Arc::new(
        move |report: &salesloft_services::StreamReport| {
            // After the first committed checkpoint.
            if report.inserted > 0 {
                stopper.cancel();
            }
        },
    ));
    let stopped = engine
        .sync_stream_until(people(), SyncOptions::default(), &stop)
        .await;
    assert!(stopped.error.is_none(), "{stopped:?}");
    assert!(!stopped.caught_up, "{stopped:?}");
    assert!(stopped.fetched < n as u64, "stopped early: {stopped:?}");
    let stored = people().count_live(&s.store).await.unwrap();
    assert_eq!(
        stored as u64, stopped.inserted,
        "every fetched page was committed"
    );
    let state = s.store.sync_state("people").await.unwrap();
    assert!(!state.backfill_done);
    let resumed = s.engine.sync_stream(people(), SyncOptions::default()).await;
    assert!(resumed.error.is_none() && resumed.caught_up, "{resumed:?}");
    assert_eq!(
        stopped.inserted + resumed.inserted,
        n as u64,
        "resumed, not restarted"
    );
    assert_people_equal(&s).await;
    // A stop before the run starts ends it at once, having fetched nothing.
    let stopped_before = CancelledAlready::new();
    let nothing = s
        .engine
        .sync_stream_until(people(), SyncOptions::default(), &stopped_before.0)
        .await;
    assert_eq!(
        (nothing.requests, nothing.caught_up),
        (0, false),
        "{nothing:?}"
    );
}
on_both!(
    stopped_sync,
    a_stopped_sync_commits_what_it_fetched_and_the_next_run_resumes
);

/// A token cancelled from the start.
struct CancelledAlready(tokio_util::sync::CancellationToken);

impl CancelledAlready {
    fn new() -> Self {
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        Self(token)
    }
}
