//! Many teams on one PostgreSQL: `BENCH_TEAMS` small SalesLoft teams (default 200), served by
//! one sandbox at one address as SalesLoft serves every team at one API (each with its own
//! team id, key, data, 600-per-minute budget and webhooks), connected to one deployment and served by `BENCH_WORKERS` (default 3) `salesloft-worker`
//! processes. Prints, from one run:
//! - one small team alone, then every team together: time until every copy equals its
//!   SalesLoft, stream by stream, and the records per second of each (their ratio is the
//!   scale-out);
//! - the 429s the sandboxes sent (none expected: each team spends from its own budget);
//! - the workers' memory per team (their resident memory over the teams' count) and the
//!   database rows each team adds beside its records;
//! - the wait of small teams' first syncs while `BENCH_BIG` (default 5) teams of
//!   `BENCH_BIG_PEOPLE` (default 20,000) people backfill: p50 and p99 (target under 10 s).
//!
//! Run: `cargo bench -p salesloft-worker --bench teams` (PostgreSQL as for the tests:
//! SALESLOFT_TEST_DATABASE_URL or the local server).

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use salesloft_runtime::Settings;
use salesloft_runtime::teams::{TeamConnection, TeamOverrides, connect_team};
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_storage::testing::{TestDb, fetch_texts};
use salesloft_storage::{SecretsKey, Store, TeamId, TeamRecord, TeamSlug};
use secrecy::ExposeSecret;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn small_team() -> TeamSize {
    TeamSize {
        people: 40,
        accounts: 10,
        users: 2,
        emails: 20,
        ..TeamSize::empty()
    }
}

/// A deployment: a database, its settings (no credentials of its own) and its store.
struct Deployment {
    db: TestDb,
    settings: Settings,
    secrets_key: String,
    store: Store,
}

async fn deployment() -> Deployment {
    let db = TestDb::postgres().await.unwrap();
    let (_, encoded) = SecretsKey::generate("k1");
    let mut settings = Settings::defaults().unwrap();
    settings.database.url = db.url().to_owned().into();
    settings.secrets.key = Some(encoded.clone());
    settings.validate().unwrap();
    let store = db
        .store
        .clone()
        .with_keyring(std::sync::Arc::new(settings.keyring().unwrap().unwrap()));
    Deployment {
        db,
        settings,
        secrets_key: encoded.expose_secret().to_owned(),
        store,
    }
}

/// `n` teams of `size` in one sandbox, each with its own SalesLoft id and key.
async fn sandboxes(n: usize, size: TeamSize, seed: u64) -> Vec<SandboxHandle> {
    let configs = (0..n)
        .map(|i| SandboxConfig {
            team: size,
            seed: seed + i as u64,
            team_id: (seed * 1_000 + i as u64) as i64,
            api_keys: vec![format!("ak_bench_team_{seed}_{i:05}_0123456789abcdef")],
            rate_limit_per_minute: Some(600),
            ..SandboxConfig::default()
        })
        .collect();
    Sandbox::start_teams(configs).await.unwrap()
}

async fn connect(d: &Deployment, prefix: &str, sandboxes: &[SandboxHandle]) -> Vec<TeamRecord> {
    let mut teams = Vec::with_capacity(sandboxes.len());
    for (i, s) in sandboxes.iter().enumerate() {
        let team = connect_team(
            &d.store,
            &d.settings,
            TeamConnection {
                slug: TeamSlug::parse(&format!("{prefix}-{i}")).unwrap(),
                base_url: Some(s.url()),
                credentials: salesloft_storage::TeamCredentials::ApiKey(
                    s.api_key().to_owned().into(),
                ),
                overrides: TeamOverrides::default(),
            },
        )
        .await
        .unwrap();
        teams.push(team);
    }
    teams
}

fn start_workers(d: &Deployment, n: usize) -> Vec<Child> {
    (0..n)
        .map(|_| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-worker"));
            for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
                cmd.env_remove(k);
            }
            cmd.env("SALESLOFT_DATABASE_URL", d.db.url())
                .env("SALESLOFT_SECRETS__KEY", &d.secrets_key)
                .env("SALESLOFT_LOG__FILTER", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect()
}

fn stop_workers(workers: Vec<Child>) {
    for mut w in workers {
        let _ = Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status();
        let _ = w.wait();
    }
}

/// Whether `team`'s copy holds exactly what its SalesLoft does, stream by stream.
async fn equal(store: &Store, team: &TeamRecord, sandbox: &SandboxHandle) -> bool {
    let Ok(status) = salesloft_runtime::status::StatusSnapshot::gather(&store.team(team.id)).await
    else {
        return false;
    };
    let counts = sandbox.counts();
    status.streams.iter().all(|s| {
        counts
            .get(s.stream.name())
            .is_none_or(|n| i64::try_from(*n).unwrap_or(-1) == s.records)
    })
}

/// Wait until every team's copy equals its SalesLoft; the time it took.
async fn until_equal(d: &Deployment, teams: &[(TeamRecord, &SandboxHandle)]) -> Duration {
    let started = Instant::now();
    let mut pending: Vec<_> = teams.iter().collect();
    while !pending.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(1_800),
            "{} teams not equal after 30 minutes",
            pending.len()
        );
        let mut still = Vec::new();
        for t in pending {
            if !equal(&d.store, &t.0, t.1).await {
                still.push(t);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    started.elapsed()
}

fn records(sandboxes: &[SandboxHandle]) -> usize {
    sandboxes
        .iter()
        .map(|s| s.counts().values().sum::<usize>())
        .sum()
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Rows a team adds beside its records: its sync state, counters, jobs, leases, budget.
async fn overhead_rows(store: &Store, team: TeamId) -> i64 {
    let mut total = 0;
    for table in [
        "sync_state",
        "change_counters",
        "jobs",
        "leases",
        "engagement_state",
    ] {
        let sql = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM {table} WHERE team_id = {}",
            team.get()
        );
        let n = fetch_texts(store, &sql).await.unwrap();
        total += n[0].as_deref().unwrap_or("0").parse::<i64>().unwrap_or(0);
    }
    total
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_or("BENCH_TEAMS", 200);
    let workers = env_or("BENCH_WORKERS", 3);
    let big = env_or("BENCH_BIG", 5);
    let big_people = env_or("BENCH_BIG_PEOPLE", 20_000);

    // One small team alone.
    let alone = deployment().await;
    let one = sandboxes(1, small_team(), 1).await;
    let team = connect(&alone, "alone", &one).await;
    let procs = start_workers(&alone, workers);
    let took_one = until_equal(&alone, &[(team[0].clone(), &one[0])]).await;
    stop_workers(procs);
    let one_rate = records(&one) as f64 / took_one.as_secs_f64();

    // Every team together.
    let all = deployment().await;
    let small = sandboxes(n, small_team(), 100).await;
    let teams = connect(&all, "team", &small).await;
    let procs = start_workers(&all, workers);
    let pairs: Vec<_> = teams.iter().cloned().zip(small.iter()).collect();
    let took_all = until_equal(&all, &pairs).await;
    let rss: u64 = procs.iter().map(|p| resident_kib(p.id())).sum();
    stop_workers(procs);
    let all_rate = records(&small) as f64 / took_all.as_secs_f64();
    let limited: u64 = small.iter().map(|s| s.counters().rate_limited).sum();
    let overhead = overhead_rows(&all.store, teams[0].id).await;

    // Small teams' first syncs while big teams backfill.
    let busy = deployment().await;
    let bigs = sandboxes(
        big,
        TeamSize {
            people: big_people,
            accounts: big_people / 4,
            users: 5,
            emails: big_people,
            ..TeamSize::empty()
        },
        500,
    )
    .await;
    connect(&busy, "big", &bigs).await;
    let procs = start_workers(&busy, workers);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let late = sandboxes(10, small_team(), 900).await;
    let mut waits = Vec::new();
    for (i, s) in late.iter().enumerate() {
        let team = connect(&busy, &format!("late-{i}"), std::slice::from_ref(s)).await;
        waits.push(until_equal(&busy, &[(team[0].clone(), s)]).await);
    }
    stop_workers(procs);
    waits.sort();

    println!("teams on one PostgreSQL, {workers} worker processes");
    println!(
        "  one small team alone: {} records in {:.1} s = {one_rate:.0} records/s",
        records(&one),
        took_one.as_secs_f64()
    );
    println!(
        "  {n} small teams: {} records in {:.1} s = {all_rate:.0} records/s ({:.1}x one team alone)",
        records(&small),
        took_all.as_secs_f64(),
        all_rate / one_rate
    );
    println!("  429s sent by the {n} sandboxes: {limited}");
    println!(
        "  worker memory: {:.0} MiB resident over {workers} processes = {:.0} KiB per team",
        rss as f64 / 1024.0,
        rss as f64 / n as f64
    );
    println!("  database rows per team beside its records: {overhead}");
    println!(
        "  first sync of a small team while {big} teams of {big_people} people backfill: p50 {:.1} s, p99 {:.1} s over {} teams (target p99 < 10 s)",
        percentile(&waits, 0.5).as_secs_f64(),
        percentile(&waits, 0.99).as_secs_f64(),
        waits.len()
    );
}
