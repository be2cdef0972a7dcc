//! How fast the sandbox serves list pages of 100 people, with rate limiting off, against the
//! reference of its smallest answer (`GET /v2/team`) measured in the same run; and how much
//! memory a team of N people takes.
//!
//! Run: `cargo bench -p salesloft-sandbox --bench serve`
//! Options (environment): BENCH_PEOPLE (default 100000), BENCH_SECS (5), BENCH_CONNECTIONS (4).

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Requests per second and bytes per second of `path_for(i)` over `secs`, from `conns` clients.
async fn load(
    url: &str,
    key: &str,
    conns: u64,
    secs: u64,
    path_for: fn(u64) -> String,
) -> (f64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (done, bytes) = (done.clone(), bytes.clone());
        let (url, key) = (url.to_owned(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = c * 7_919;
            while Instant::now() < deadline {
                i += 1;
                let r = http
                    .get(format!("{url}{}", path_for(i)))
                    .bearer_auth(&key)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let body = r.bytes().await.unwrap();
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    (
        done.load(Ordering::Relaxed) as f64 / secs,
        bytes.load(Ordering::Relaxed) as f64 / secs,
    )
}

/// A walk-shaped request: 100 people updated at or after a point spread over the history.
fn people_page(i: u64) -> String {
    let start = 1_704_067_200i64; // 2024-01-01
    let at = start + ((i * 2_654_435_761) % (600 * 86_400)) as i64;
    let t = chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ");
    format!("/v2/people?sort_by=updated_at&sort_direction=ASC&per_page=100&updated_at%5Bgte%5D={t}")
}

fn team(_: u64) -> String {
    "/v2/team".to_owned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let people = env("BENCH_PEOPLE", 100_000) as usize;
    let secs = env("BENCH_SECS", 5);
    let conns = env("BENCH_CONNECTIONS", 4);
    let before = rss_mib();
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize {
            people,
            users: 10,
            accounts: people / 5,
            ..TeamSize::empty()
        },
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let generated = started.elapsed();
    let after = rss_mib();
    println!(
        "team of {people} people (+{} accounts): generated in {:.1} s; resident memory {:.0} MiB ({:.0} MiB for the team, {:.2} KiB per person)",
        people / 5,
        generated.as_secs_f64(),
        after,
        after - before,
        (after - before) * 1024.0 / people as f64
    );
    println!(
        "record JSON held: {:.0} MiB ({:.2} KiB per record served)",
        sandbox.json_bytes() as f64 / 1_048_576.0,
        sandbox.json_bytes() as f64 / 1024.0 / (people + people / 5 + 10) as f64
    );
    let (reference, _) = load(&sandbox.url(), sandbox.api_key(), conns, secs, team).await;
    let (pages, bytes) = load(&sandbox.url(), sandbox.api_key(), conns, secs, people_page).await;
    println!("reference GET /v2/team:              {reference:>10.0} requests/s");
    println!(
        "list pages of 100 people:            {pages:>10.0} pages/s ({:.0} MB/s, {:.0} people/s)",
        bytes / 1e6,
        pages * 100.0
    );
    println!(
        "ratio pages / reference:             {:>10.2}",
        pages / reference
    );
    println!("(load generator and sandbox share this process and its 2 worker threads)");
}
