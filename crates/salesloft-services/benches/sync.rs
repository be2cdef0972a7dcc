//! Sync benchmarks against the sandbox, each beside a reference from the same run.
//!
//! `BENCH_MODE=budget` (default): a backfill of BENCH_PEOPLE (default 100,000) people under
//! SalesLoft's real 600-per-minute budget (sandbox enforcing it, client CostBudget at its
//! default 540/min): cost spent and wall time, beside the cost page-number paging of the same
//! data would spend (the sandbox's page table).
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
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_services::{Context, Stream, SyncEngine, SyncOptions};
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
    let store = db.store.clone();
    let started = Instant::now();
    let ctx = Context::new(client(&sb, Arc::new(CostBudget::default())), store.clone());
    let report = SyncEngine::new(ctx)
        .sync(&people_stream(), SyncOptions::default())
        .await;
    let elapsed = started.elapsed();
    assert!(report.is_ok(), "{report:?}");
    let c = sb.counters();
    println!("backfill of {people} people under a 600/minute budget (client budget 540/minute):");
    println!(
        "  cost spent:                 {:>8}   ({} requests, {} 429s)",
        c.cost_spent, c.requests, c.rate_limited
    );
    println!(
        "  wall time:                  {:>8.1} s",
        elapsed.as_secs_f64()
    );
    println!(
        "  reference, page-number paging of the same people: cost {}",
        salesloft_sandbox::naive_cost(people as u64, 100)
    );
    println!(
        "  ratio naive / ours:         {:>8.1}",
        salesloft_sandbox::naive_cost(people as u64, 100) as f64 / c.cost_spent as f64
    );
    store.close().await;
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
        _ => budget(people(100_000)).await,
    }
}
