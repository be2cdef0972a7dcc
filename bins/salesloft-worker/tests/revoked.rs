//! A revoked API key is a fact, not a hiccup: a `salesloft-worker` process whose key the
//! sandbox rejects sends at most one request per stream, however often its schedule fires;
//! its jobs wait (no attempts spent, no new ones enqueued) and `status`'s source, the
//! `credential_holds` row, says since when and by which request; a worker started with a key
//! that works takes the held jobs over and syncs at once. On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use salesloft_storage::testing::{TestDb, fetch_texts};

/// The worker process, killed when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A worker syncing every 10 s (the shortest allowed) with `key`, against `sandbox`, on `db`.
fn worker(sandbox: &salesloft_sandbox::SandboxHandle, db: &TestDb, key: &str) -> Worker {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-worker"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    Worker(
        cmd.env("SALESLOFT_API_KEY", key)
            .env("SALESLOFT_BASE_URL", sandbox.url())
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_JOBS__SYNC_EVERY_SECS", "10")
            .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("SHOW_WORKER").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .unwrap(),
    )
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    fetch_texts(&db.store, sql)
        .await
        .ok()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Wait for `done`, at most 60 s.
async fn until<F, Fut>(what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_revoked_key_is_held_not_hammered(db: TestDb) {
    let good = "ak_the_key_that_works";
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        api_keys: vec![good.to_owned()],
        team: salesloft_sandbox::TeamSize {
            people: 20,
            accounts: 3,
            users: 2,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let mut revoked = worker(&sandbox, &db, "ak_revoked");
    until("the credentials to be held", || async {
        count(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM credential_holds").await == 1
    })
    .await;
    // Three schedule periods with the key held.
    let held_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(
        revoked.0.try_wait().unwrap().is_none(),
        "the worker keeps running"
    );
    let requests = sandbox.requests();
    let mut per_path: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        assert_eq!(r.status, 401, "{} {}", r.method, r.path);
        *per_path.entry(r.path.clone()).or_default() += 1;
    }
    eprintln!(
        "{} requests in the {} s after the first rejection (and before it): {per_path:?}",
        requests.len(),
        held_at.elapsed().as_secs()
    );
    assert!(
        per_path.values().all(|&n| n == 1),
        "at most one request per stream: {per_path:?}"
    );
    let streams = salesloft_services::Stream::all().len();
    assert!(requests.len() <= streams, "{} requests", requests.len());
    let hold = fetch_texts(
        &db.store,
        "SELECT request || ' ' || CAST(status AS TEXT) FROM credential_holds",
    )
    .await
    .unwrap();
    let hold = hold[0].clone().unwrap();
    assert!(
        hold.starts_with("GET /v2/") && hold.ends_with(" 401"),
        "{hold}"
    );
    // The jobs wait for the credentials: none dead, none retrying, no attempt spent, and
    // the schedule added no new ones.
    let dead = count(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM jobs WHERE state IN ('dead', 'completed') AND kind = 'sync'",
    )
    .await;
    assert_eq!(dead, 0, "no sync job ended while the key is rejected");
    let syncs = count(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM jobs WHERE kind = 'sync'",
    )
    .await;
    let held = count(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM jobs WHERE kind = 'sync' AND held_by IS NOT NULL AND attempt = 0",
    )
    .await;
    eprintln!("{syncs} sync jobs, {held} held");
    assert!(
        syncs as usize <= streams,
        "{syncs} sync jobs for {streams} streams"
    );
    assert!(
        held >= 1,
        "the jobs that were rejected wait, attempts unspent"
    );
    drop(revoked);

    // A new key in the configuration: the held jobs run at once and the copy fills.
    let _fixed = worker(&sandbox, &db, good);
    until("the copy to fill with the key that works", || async {
        count(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE deleted_at_ms IS NULL",
        )
        .await
            == 20
    })
    .await;
    assert_eq!(
        count(&db, "SELECT CAST(COUNT(*) AS TEXT) FROM credential_holds").await,
        0,
        "the old key's hold is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    a_revoked_key_is_held_not_hammered(TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    a_revoked_key_is_held_not_hammered(TestDb::postgres().await.unwrap()).await;
}
