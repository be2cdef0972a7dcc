//! Sync benchmarks against the sandbox, each beside a reference from the same run.
//!
//! `BENCH_MODE=budget` (default): a backfill of BENCH_PEOPLE (default 100,000) people under
//! SalesLoft's real 600-per-minute budget (sandbox enforcing it, client CostBudget at its
//! default 540/min): cost spent and wall time, beside the cost page-number paging of the same
//! data would spend (the sandbox's page table).
//!
//! `BENCH_MODE=live`: the same backfill of BENCH_PEOPLE (default 100,000) people under the
//! 600-per-minute budget twice: on a quiet team (the reference), and with the live simulator
//! making BENCH_EVENTS (default 300) changes a second (bulk updates and late commits among
//! them) until the backfill is done; then the simulator stops, one more run and a reconcile
//! make the copy exact (checked record by record). Then the lookback's extra cost on an idle
//! team: incremental runs on the quiet copy with the default 2 s lookback beside runs with none.
//!
//! `BENCH_MODE=throughput`: rate limiting off, BENCH_PEOPLE (default 1,000,000) people synced
//! into SQLite and PostgreSQL (the server SALESLOFT_TEST_DATABASE_URL names, else the local
//! one): people per second and peak resident memory, beside the reference of walking the same
//! pages without storing them.
//!
//! Run: `cargo bench -p salesloft-services --bench sync`; BENCH_BACKENDS (default
//! `sqlite,postgres`) picks the engines of the throughput run.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use salesloft_client::Person;
use salesloft_client::{Auth, Client, CostBudget, CostLimiter, Unlimited, WalkCursor};
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, SimulatorConfig, TeamSize};
use salesloft_services::{
    Clock, Context, ReconcileOptions, Reconciler, Stream, SyncEngine, SyncOptions, Verifier,
};
use salesloft_storage::Store;
use salesloft_storage::testing::TestDb;

fn people_stream() -> [Stream; 1] {
    [Stream::named("people").unwrap()]
}

fn status_mib(status: &str, field: &str) -> f64 {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// This process's peak resident size since start or the last [`reset_rss_peak`].
fn rss_peak_mib() -> f64 {
    status_mib(
        &std::fs::read_to_string("/proc/self/status").unwrap_or_default(),
        "VmHWM:",
    )
}

fn client(sb: &SandboxHandle, limiter: Arc<dyn CostLimiter>) -> Client {
    Client::builder(Auth::api_key(sb.api_key()))
        .base_url(sb.url())
        .limiter(limiter)
        .build()
        .unwrap()
}

/// A team of `people` people and 10 users, with this per-minute budget.
fn people_team(people: usize, rate_limit_per_minute: Option<u32>) -> SandboxConfig {
    SandboxConfig {
        team: TeamSize {
            people,
            users: 10,
            ..TeamSize::empty()
        },
        rate_limit_per_minute,
        ..SandboxConfig::default()
    }
}

async fn budget(people: usize) {
    let sb = Sandbox::start(people_team(people, Some(600)))
        .await
        .unwrap();
    let db = TestDb::sqlite().await.unwrap();
    let spent = backfill(&sb, &db.store).await;
    println!("backfill of {people} people under a 600/minute budget (client budget 540/minute):");
    println!(
        "  cost spent:                 {:>8}   ({} requests, {} 429s)",
        spent.cost, spent.requests, spent.rate_limited
    );
    println!("  wall time:                  {:>8.1} s", spent.secs);
    println!(
        "  reference, page-number paging of the same people: cost {}",
        salesloft_sandbox::naive_cost(people as u64, 100)
    );
    println!(
        "  ratio naive / ours:         {:>8.1}",
        salesloft_sandbox::naive_cost(people as u64, 100) as f64 / spent.cost as f64
    );
    db.store.close().await;
}

/// What one backfill under the budget spent.
struct Backfill {
    cost: u64,
    requests: u64,
    rate_limited: u64,
    secs: f64,
}

/// Sync people from `sb` into `store` under the client's default budget until caught up (one
/// run; a backfill ends caught up).
async fn backfill(sb: &SandboxHandle, store: &Store) -> Backfill {
    let before = sb.counters();
    let started = Instant::now();
    let ctx = Context::new(client(sb, Arc::new(CostBudget::default())), store.clone());
    let report = SyncEngine::new(ctx)
        .sync(&people_stream(), SyncOptions::default())
        .await;
    assert!(report.is_ok(), "{report:?}");
    let after = sb.counters();
    Backfill {
        cost: after.cost_spent - before.cost_spent,
        requests: after.requests - before.requests,
        rate_limited: after.rate_limited - before.rate_limited,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// A clock `ahead` of the system's: the runs of an idle team after its cursor settled.
#[derive(Debug)]
struct AheadClock(std::time::Duration);

impl Clock for AheadClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::from_std(self.0).unwrap()
    }
}

/// How many of the sandbox's people carry an `updated_at` at or after `since_us`.
fn people_changed_since(sb: &SandboxHandle, since_us: i64) -> usize {
    let snapshot = sb.snapshot();
    snapshot["people"].as_array().map_or(0, |people| {
        people
            .iter()
            .filter_map(|p| p["updated_at"].as_str())
            .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .filter(|t| t.timestamp_micros() >= since_us)
            .count()
    })
}

/// The cost of `runs` incremental people runs, one after the other.
async fn idle_runs(engine: &SyncEngine, options: &SyncOptions, runs: u32) -> u64 {
    let mut cost = 0;
    for _ in 0..runs {
        let report = engine.sync(&people_stream(), *options).await;
        assert!(report.is_ok(), "{report:?}");
        cost += report.cost();
    }
    cost
}

async fn live(people: usize, events_per_second: f64) {
    // Reference: the quiet team.
    let sb = Sandbox::start(people_team(people, Some(600)))
        .await
        .unwrap();
    let quiet_db = TestDb::sqlite().await.unwrap();
    let quiet = backfill(&sb, &quiet_db.store).await;
    println!("backfill of {people} people under a 600/minute budget (client budget 540/minute):");
    println!(
        "  reference, quiet team:      cost {:>6}  ({} requests, {} 429s, {:.1} s)",
        quiet.cost, quiet.requests, quiet.rate_limited, quiet.secs
    );

    // The same team changing under the backfill.
    let live_sb = Sandbox::start(people_team(people, Some(600)))
        .await
        .unwrap();
    let live_db = TestDb::sqlite().await.unwrap();
    // The simulator runs for as long as the quiet backfill took, so the figures compare like
    // with like (a team changing faster than its budget can read is never caught up).
    let started_us = chrono::Utc::now().timestamp_micros();
    live_sb.start_simulator(SimulatorConfig {
        events_per_second,
        seed: 7,
        bulk_updates: true,
    });
    let simulated = std::time::Duration::from_secs_f64(quiet.secs);
    let run = backfill(&live_sb, &live_db.store);
    tokio::pin!(run);
    let changing = tokio::select! {
        done = &mut run => done,
        () = tokio::time::sleep(simulated) => {
            live_sb.stop_simulator();
            run.await
        }
    };
    live_sb.stop_simulator();
    let changed = people_changed_since(&live_sb, started_us);
    println!(
        "  with {events_per_second:.0} changes/s for {:.0} s: cost {:>6}  ({} requests, {} 429s, {:.1} s; ratio to quiet {:.2})",
        simulated.as_secs_f64(),
        changing.cost,
        changing.requests,
        changing.rate_limited,
        changing.secs,
        changing.cost as f64 / quiet.cost as f64
    );
    println!(
        "    {changed} distinct people changed while it ran (bulk updates of 100-400 among them)"
    );
    let ctx = Context::new(
        client(&live_sb, Arc::new(CostBudget::default())),
        live_db.store.clone(),
    );
    let last = backfill(&live_sb, &live_db.store).await;
    let reconciled = Reconciler::new(ctx.clone())
        .reconcile(&people_stream(), ReconcileOptions::default())
        .await;
    let r = &reconciled[0];
    assert!(r.error.is_none() && r.refused.is_none(), "{r:?}");
    let diffs = Verifier::new(ctx)
        .compare(&live_sb.snapshot_bytes(), &people_stream())
        .await
        .unwrap();
    let exact = diffs.iter().all(|d| d.is_equal());
    println!(
        "    then, changes stopped: one more run cost {}, a reconcile cost {} (deleted {}); local copy {}",
        last.cost,
        r.cost,
        r.deleted,
        if exact { "exact" } else { "NOT EXACT" }
    );
    assert!(exact, "{diffs:?}");

    // The lookback on an idle team: the quiet copy, runs with and without it, before the
    // cursor settles (now) and after (the clock 10 s ahead).
    let runs = 10;
    let now = SyncEngine::new(Context::new(
        client(&sb, Arc::new(CostBudget::default())),
        quiet_db.store.clone(),
    ));
    let ahead = SyncEngine::new(
        now.context()
            .clone()
            .with_clock(Arc::new(AheadClock(std::time::Duration::from_secs(10)))),
    );
    let none = SyncOptions {
        lookback: std::time::Duration::ZERO,
        ..SyncOptions::default()
    };
    let without = idle_runs(&now, &none, runs).await;
    let with = idle_runs(&now, &SyncOptions::default(), runs).await;
    let settled = idle_runs(&ahead, &SyncOptions::default(), runs).await;
    println!("idle team, {runs} incremental runs each:");
    println!("  reference, no lookback:     cost {without:>6}");
    println!(
        "  lookback 2 s:               cost {with:>6}  (extra per run {:.2}); after it settled: cost {settled} (extra per run {:.2})",
        (with as f64 - without as f64) / f64::from(runs),
        (settled as f64 - without as f64) / f64::from(runs)
    );
    quiet_db.store.close().await;
    live_db.store.close().await;
}

/// The sandbox of the throughput run, in a child process (this same executable, started with
/// BENCH_SANDBOX_CHILD set), so the sync's memory and CPU are measured apart from the sandbox's.
struct SandboxProcess {
    child: std::process::Child,
    url: String,
    api_key: String,
}

impl SandboxProcess {
    fn spawn(people: usize) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .env("BENCH_SANDBOX_CHILD", people.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let (url, api_key) = line.trim().split_once(' ').unwrap();
        Self {
            url: url.to_owned(),
            api_key: api_key.to_owned(),
            child,
        }
    }

    fn client(&self) -> Client {
        Client::builder(Auth::api_key(self.api_key.clone()))
            .base_url(self.url.as_str())
            .limiter(Arc::new(Unlimited))
            .build()
            .unwrap()
    }

    fn resident_mib(&self) -> f64 {
        status_mib(
            &std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
                .unwrap_or_default(),
            "VmRSS:",
        )
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's side: serve a sandbox of `people` until the parent closes our stdin.
async fn sandbox_child(people: usize) {
    use std::io::Write;
    let sb = Sandbox::start(people_team(people, None)).await.unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "{} {}", sb.url(), sb.api_key()).unwrap();
    out.flush().unwrap();
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
}

/// Reset this process's peak resident size (VmHWM), so each target's peak is its own.
fn reset_rss_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn throughput(people: usize) {
    let started = Instant::now();
    let sb = SandboxProcess::spawn(people);
    println!(
        "sandbox with {people} people in a child process: {:.0} MiB resident, ready in {:.1} s",
        sb.resident_mib(),
        started.elapsed().as_secs_f64()
    );

    // Reference: walking the same pages, decoding them, storing nothing.
    reset_rss_peak();
    let started = Instant::now();
    let mut walk = sb.client().people().list().walk(WalkCursor::start());
    let mut n = 0usize;
    while let Some(p) = walk.next_page().await.unwrap() {
        n += p.items.len();
    }
    let walk_rate = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "reference, walk and decode only:     {walk_rate:>10.0} people/s  (peak RSS {:.0} MiB)",
        rss_peak_mib()
    );

    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for name in ["sqlite", "postgres"] {
        if !backends.contains(name) {
            continue;
        }
        // Each target starts on a quiet disk, not behind the previous one's writeback (a
        // gigabyte or more of dirty pages after a million people).
        let _ = std::process::Command::new("sync").status();
        let db = match name {
            "sqlite" => TestDb::sqlite().await.unwrap(),
            _ => TestDb::postgres().await.unwrap(),
        };
        let store: Store = db.store.clone();
        reset_rss_peak();
        let started = Instant::now();
        let report = SyncEngine::new(Context::new(sb.client(), store.clone()))
            .sync(&people_stream(), SyncOptions::default())
            .await;
        let secs = started.elapsed().as_secs_f64();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(store.count_live::<Person>().await.unwrap(), people as i64);
        println!(
            "sync into {name:<8}                {:>10.0} people/s  ({:.1} s; ratio to walk-only {:.2}; peak RSS of the syncing process {:.0} MiB)",
            people as f64 / secs,
            secs,
            (people as f64 / secs) / walk_rate,
            rss_peak_mib()
        );
        store.close().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mode = std::env::var("BENCH_MODE").unwrap_or_else(|_| "budget".into());
    let people = |d: usize| {
        std::env::var("BENCH_PEOPLE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    if let Some(n) = std::env::var("BENCH_SANDBOX_CHILD")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return sandbox_child(n).await;
    }
    match mode.as_str() {
        "throughput" => throughput(people(1_000_000)).await,
        "live" => {
            let events = std::env::var("BENCH_EVENTS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(300.0);
            live(people(100_000), events).await;
        }
        _ => budget(people(100_000)).await,
    }
}
