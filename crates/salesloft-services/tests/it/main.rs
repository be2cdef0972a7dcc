//! The sync engine against the sandbox: backfill, incremental, kill-and-resume, faults, cost.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{Auth, Client, RetryPolicy, Unlimited};
use salesloft_sandbox::{Action, FaultConfig, Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_services::verify::compare;
use salesloft_services::{Stream, SyncEngine, SyncOptions};
use salesloft_storage::Store;

struct Setup {
    sandbox: SandboxHandle,
    engine: SyncEngine,
    store: Store,
    _dir: TempFile,
}

struct TempFile(std::path::PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

async fn setup(config: SandboxConfig) -> Setup {
    let sandbox = Sandbox::start(config).await.unwrap();
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .retry(RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    let path = std::env::temp_dir().join(format!(
        "salesloft-sync-{}.db",
        std::process::id() as u128 * 1_000_000 + u128::from(fastrand_u32())
    ));
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Setup {
        engine: SyncEngine::new(client, store.clone()),
        sandbox,
        store,
        _dir: TempFile(path),
    }
}

fn fastrand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish() as u32
}

fn quiet() -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    }
}

async fn assert_equal(s: &Setup) {
    let diffs = compare(&s.store, &s.sandbox.snapshot(), &Stream::ALL)
        .await
        .unwrap();
    for d in &diffs {
        assert!(d.is_equal(), "{d:?}");
        assert!(d.source > 0, "{} is empty in the sandbox", d.stream);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_equals_the_source_exactly() {
    let s = setup(quiet()).await;
    let report = s.engine.sync(&Stream::ALL, SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_equal(&s).await;
    let people = report
        .streams
        .iter()
        .find(|r| r.stream == "people")
        .unwrap();
    assert_eq!(people.inserted, 1_000);
    // A second run finds nothing new and costs one request per stream.
    let again = s.engine.sync(&Stream::ALL, SyncOptions::default()).await;
    assert!(
        again
            .streams
            .iter()
            .all(|r| r.inserted == 0 && r.updated == 0),
        "{again:?}"
    );
    assert_eq!(again.cost(), Stream::ALL.len() as u64);
    let states = s.engine.status().await.unwrap();
    assert!(
        states
            .iter()
            .all(|st| st.backfill_done && st.last_success_at_ms.is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_run_picks_up_exactly_the_changes() {
    let s = setup(quiet()).await;
    assert!(
        s.engine
            .sync(&Stream::ALL, SyncOptions::default())
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
    let report = s.engine.sync(&Stream::ALL, SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    assert_equal(&s).await;
    let changed: u64 = report.streams.iter().map(|r| r.inserted + r.updated).sum();
    assert!(changed >= 100, "{report:?}");
    // Only the changes (and the small full lists, and one boundary record per walk) were read.
    let read = s.sandbox.counters().list_records - before;
    assert!(
        read < changed + 200,
        "read {read} records for {changed} changes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_any_page_resumes_to_an_exact_copy() {
    let s = setup(quiet()).await;
    // Kill every stream after each page, rerun until caught up.
    let mut runs = 0;
    loop {
        runs += 1;
        let report = s
            .engine
            .sync(
                &Stream::ALL,
                SyncOptions {
                    max_pages: Some(1),
                    ..Default::default()
                },
            )
            .await;
        assert!(report.is_ok(), "{report:?}");
        if report.streams.iter().all(|r| r.fetched < 100) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_429_bursts_still_end_exactly_equal() {
    let s = setup(SandboxConfig {
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
    })
    .await;
    let mut report = s.engine.sync(&Stream::ALL, SyncOptions::default()).await;
    // A stream that ran out of retries resumes on the next run from its last checkpoint.
    for _ in 0..5 {
        if report.is_ok() {
            break;
        }
        report = s.engine.sync(&Stream::ALL, SyncOptions::default()).await;
    }
    assert!(report.is_ok(), "{report:?}");
    assert!(
        s.sandbox.counters().faults_injected >= 5,
        "{:?}",
        s.sandbox.counters()
    );
    assert_equal(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_of_n_people_costs_about_n_over_100() {
    let n = 5_000;
    let s = setup(SandboxConfig {
        rate_limit_per_minute: None,
        team: TeamSize {
            people: n,
            users: 5,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    })
    .await;
    let report = s
        .engine
        .sync(&[Stream::People], SyncOptions::default())
        .await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.streams[0].inserted, n as u64);
    let cost = s.sandbox.counters().cost_spent;
    // Each page after the first repeats the one record at its cursor instant: N/99 pages.
    let bound = (n as u64).div_ceil(99) + 2;
    assert!(cost <= bound, "cost {cost} > {bound}");
    assert_eq!(
        cost,
        report.cost(),
        "the engine's cost matches the sandbox's count"
    );
}
