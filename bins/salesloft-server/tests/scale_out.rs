//! The production shape: two `salesloft-server` processes and three `salesloft-worker`
//! processes on one PostgreSQL against the sandbox, which delivers every change to both
//! servers. Each delivery is stored and applied once, the team budget is never exceeded by the
//! five processes together, and every process's `/metrics` answers.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod common;

use common::{eventually, free_port};

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use salesloft_storage::testing::fetch_texts;

const TOKEN: &str = "scale-out-callback-token";
/// Every process's operator routes ask for it.
const ADMIN_TOKEN: &str = "scale-out-admin-token-0123456789";
/// What the sandbox grants per minute, and what the processes may spend of it together: a
/// backfill of more than a minute of budget, beside the syncs webhooks pull forward and the
/// live team's deletions (each confirmed with SalesLoft, cost 1, about 12 a minute).
const SANDBOX_PER_MINUTE: u32 = 100;
const BUDGET_PER_MINUTE: u32 = 80;

/// Processes killed when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The worker binary beside this package's server binary (`cargo test --workspace` builds
/// both; alone, this package's tests build it first).
fn worker_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_salesloft-server"))
        .with_file_name(format!("salesloft-worker{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let built = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "salesloft-worker",
                "--bin",
                "salesloft-worker",
            ])
            .status()
            .unwrap();
        assert!(built.success(), "building salesloft-worker");
    }
    assert!(path.exists(), "{} is missing", path.display());
    path
}

fn spawn(
    program: &std::path::Path,
    sandbox: &salesloft_sandbox::SandboxHandle,
    db: &str,
    extra: &[(&str, String)],
) -> Child {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    cmd.env("SALESLOFT_API_KEY", sandbox.api_key())
        .env("SALESLOFT_BASE_URL", sandbox.url())
        .env("SALESLOFT_DATABASE_URL", db)
        .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
        .env("SALESLOFT_SERVER__ADMIN_TOKEN", ADMIN_TOKEN)
        .env(
            "SALESLOFT_BUDGET__PER_MINUTE",
            BUDGET_PER_MINUTE.to_string(),
        )
        .env("SALESLOFT_BUDGET__BURST", "20")
        .env("SALESLOFT_BUDGET__RESERVE_PERCENT", "12")
        .env("SALESLOFT_JOBS__SYNC_EVERY_SECS", "60")
        .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().unwrap()
}

async fn count(db: &salesloft_storage::testing::TestDb, sql: &str) -> i64 {
    fetch_texts(&db.store, sql).await.unwrap()[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_three_workers_share_one_postgresql_and_one_budget() {
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: Some(SANDBOX_PER_MINUTE),
        webhook_retry_interval_ms: 1_000,
        team: salesloft_sandbox::TeamSize {
            people: 6_000,
            users: 3,
            accounts: 200,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let db = salesloft_storage::testing::TestDb::postgres()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is unreachable ({e}): start it, or leave this test out with `--skip postgresql`"));
    let worker = worker_binary();
    let server = PathBuf::from(env!("CARGO_BIN_EXE_salesloft-server"));
    let server_ports = [free_port(), free_port()];
    let worker_ports = [free_port(), free_port(), free_port()];
    let mut processes = Processes(Vec::new());
    for port in server_ports {
        processes.0.push(spawn(
            &server,
            &sandbox,
            db.url(),
            // Webhooks and the operator routes on one port, as behind a private proxy.
            &[
                ("SALESLOFT_SERVER__BIND", format!("127.0.0.1:{port}")),
                ("SALESLOFT_SERVER__OPS_BIND", String::new()),
            ],
        ));
    }
    for port in worker_ports {
        processes.0.push(spawn(
            &worker,
            &sandbox,
            db.url(),
            &[("SALESLOFT_JOBS__METRICS_BIND", format!("127.0.0.1:{port}"))],
        ));
    }
    let http = reqwest::Client::new();
    let all_ports: Vec<u16> = server_ports.iter().chain(&worker_ports).copied().collect();
    eventually("every process ready", Duration::from_secs(60), || {
        let http = http.clone();
        let ports = all_ports.clone();
        async move {
            for port in ports {
                let ok = http
                    .get(format!("http://127.0.0.1:{port}/ready"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 200);
                if !ok {
                    return false;
                }
            }
            true
        }
    })
    .await;
    // Every change goes to both servers, as when one URL's balancer or a retry reaches either.
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .limiter(std::sync::Arc::new(salesloft_client::Unlimited))
            .build()
            .unwrap();
    for port in server_ports {
        for event_type in ["person_updated", "person_created", "person_deleted"] {
            let input = salesloft_client::WebhookSubscriptionInput {
                callback_url: format!("http://127.0.0.1:{port}/webhooks/salesloft"),
                callback_token: secrecy::SecretString::from(TOKEN.to_owned()),
                event_type: event_type.to_owned(),
            };
            client.webhook_subscriptions().create(&input).await.unwrap();
        }
    }
    sandbox.start_simulator(salesloft_sandbox::SimulatorConfig {
        events_per_second: 20.0,
        ..salesloft_sandbox::SimulatorConfig::default()
    });
    let people = sandbox.counts()["people"] as i64;
    eventually(
        "the backfill, past a minute of budget",
        Duration::from_secs(240),
        || async { count(&db, "SELECT CAST(count(*) AS TEXT) FROM people").await >= people - 50 },
    )
    .await;
    sandbox.stop_simulator();
    // Every delivery accepted by either server, stored once and applied.
    let accepted = || {
        sandbox
            .deliveries()
            .into_iter()
            .filter(|d| d.status == Some(200))
            .collect::<Vec<_>>()
    };
    // Deliveries the sandbox queued before the simulator stopped may still be on their way:
    // wait for a quiet state (nothing pending, every delivery answered, and as many stored as
    // distinct deliveries accepted). One stored twice would keep it from coming.
    eventually(
        "every delivery stored once and applied",
        Duration::from_secs(60),
        || async {
            let delivered = sandbox.deliveries();
            let distinct: BTreeSet<(&str, &str)> = delivered
                .iter()
                .filter(|d| d.status == Some(200))
                .map(|d| (d.event_type.as_str(), d.signature.as_str()))
                .collect();
            let settled = delivered
                .iter()
                .all(|d| d.status == Some(200) || d.attempt > 0);
            let pending =
                "SELECT CAST(count(*) AS TEXT) FROM webhook_events WHERE status = 'pending'";
            let stored = "SELECT CAST(count(*) AS TEXT) FROM webhook_events";
            settled
                && count(&db, pending).await == 0
                && count(&db, stored).await == i64::try_from(distinct.len()).unwrap_or(-1)
        },
    )
    .await;
    let deliveries = accepted();
    let distinct: BTreeSet<(String, String)> = deliveries
        .iter()
        .map(|d| (d.event_type.clone(), d.signature.clone()))
        .collect();
    let per_server: Vec<usize> = server_ports
        .iter()
        .map(|port| {
            deliveries
                .iter()
                .filter(|d| d.url.contains(&format!(":{port}/")))
                .count()
        })
        .collect();
    let stored = count(&db, "SELECT CAST(count(*) AS TEXT) FROM webhook_events").await;
    let processed = count(
        &db,
        "SELECT CAST(count(*) AS TEXT) FROM webhook_events WHERE status IN ('processed', 'skipped')",
    )
    .await;
    eprintln!(
        "deliveries accepted: {} ({per_server:?} per server), distinct: {}, stored: {stored}, applied: {processed}",
        deliveries.len(),
        distinct.len()
    );
    assert!(
        per_server.iter().all(|n| *n > 0),
        "both servers took deliveries"
    );
    assert!(
        deliveries.len() >= 2 * distinct.len(),
        "each change reached both servers"
    );
    assert_eq!(stored as usize, distinct.len(), "each delivery stored once");
    assert_eq!(processed, stored, "each stored delivery applied");
    // The five processes together within the team budget, in every calendar minute.
    let minutes = sandbox.spend_by_minute();
    let peak = minutes.iter().map(|m| m.spent).max().unwrap_or(0);
    eprintln!("spend per calendar minute: {minutes:?}, peak {peak} of {BUDGET_PER_MINUTE}");
    assert!(
        minutes.len() >= 2,
        "the run crossed a minute boundary: {minutes:?}"
    );
    assert!(peak <= BUDGET_PER_MINUTE, "peak {peak}");
    assert_eq!(sandbox.counters().rate_limited, 0, "no 429s");
    // Every process's /metrics is scrapeable.
    for port in &all_ports {
        let r = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "port {port}");
        let text = r.text().await.unwrap();
        assert!(text.contains("salesloft_jobs"), "port {port}: {text}");
        let anonymous = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status().as_u16(),
            401,
            "port {port} without the token"
        );
    }
    for c in &processes.0 {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in &mut processes.0 {
        let started = Instant::now();
        while c.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "a process did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
