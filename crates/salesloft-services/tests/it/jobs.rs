//! The services' jobs through salesloft-jobs' runner against the sandbox: the sync jobs copy
//! a team exactly, an enrollment and a push write once.

use std::time::{Duration, Instant};

use salesloft_jobs::{CancellationToken, Registry, Runner, RunnerConfig};
use salesloft_storage::testing::TestDb;

fn config() -> RunnerConfig {
    let mut c = RunnerConfig::default();
    c.lease = Duration::from_millis(900);
    c.poll_min = Duration::from_millis(20);
    c.poll_max = Duration::from_millis(100);
    c.shutdown_grace = Duration::from_millis(500);
    c.maintenance_every = Duration::from_millis(200);
    c
}

/// A sandbox with `team`, a SQLite store and a runner of the built-in jobs over both.
async fn runner_on_sandbox(
    team: salesloft_sandbox::SandboxConfig,
) -> (
    salesloft_sandbox::SandboxHandle,
    TestDb,
    salesloft_services::Context,
    Runner,
) {
    let sandbox = salesloft_sandbox::Sandbox::start(team).await.unwrap();
    let db = TestDb::sqlite().await.unwrap();
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    let ctx = salesloft_services::Context::new(client, db.store.clone());
    let registry = salesloft_services::jobs::sync_registry(ctx.clone(), Default::default());
    let runner = Runner::new(db.store.clone(), registry, config()).unwrap();
    (sandbox, db, ctx, runner)
}

/// The built-in sync jobs copy every stream of a sandbox team exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_jobs_copy_the_sandbox_team_exactly() {
    let (sandbox, db, ctx, r) = runner_on_sandbox(salesloft_sandbox::SandboxConfig {
        team: salesloft_sandbox::TeamSize {
            people: 500,
            users: 3,
            accounts: 200,
            emails: 300,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await;
    let r = r.with_schedules(
        salesloft_services::jobs::sync_schedules(Duration::from_secs(300)).unwrap(),
    );
    // At a runner's start the sync schedules are due at once; reconciles wait for tomorrow.
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (r, shutdown) = (r.clone(), shutdown.clone());
        async move { r.run(shutdown).await }
    });
    let streams = salesloft_services::Stream::all().len();
    let started = Instant::now();
    while db
        .store
        .jobs(Some("completed"), Some("sync"), 100)
        .await
        .unwrap()
        .len()
        < streams
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{:?}",
            db.store.jobs(None, None, 50).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The e-mails synced: their engagement is recomputed by the job the sync asked for.
    while db
        .store
        .jobs(Some("completed"), Some("engagement"), 10)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{:?}",
            db.store.jobs(None, None, 50).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
    r.tick_schedules().await.unwrap();
    let engagement = salesloft_services::EngagementMetrics::new(ctx.clone(), Default::default())
        .rows(
            chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
        )
        .await
        .unwrap();
    let sent: i64 = engagement.iter().map(|r| r.emails_sent).sum();
    let in_sandbox = sandbox.snapshot()["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["sent_at"].is_null())
        .count();
    assert_eq!(sent as usize, in_sandbox, "every sent e-mail counted once");
    let diffs = salesloft_services::Verifier::new(ctx)
        .compare(&sandbox.snapshot_bytes(), salesloft_services::Stream::all())
        .await
        .unwrap();
    assert!(diffs.iter().all(|d| d.is_equal()), "{diffs:?}");
    let pending = db.store.jobs(Some("available"), None, 100).await.unwrap();
    assert_eq!(
        pending.len(),
        2 * streams + 1,
        "next syncs, reconciles and the daily engagement are scheduled"
    );
}

/// An `enroll` job through the runner: the people are enrolled, and the job run again (as
/// after a crash) writes nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enroll_job_enrolls_and_a_second_run_writes_nothing() {
    let (sandbox, db, _, r) = runner_on_sandbox(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            people: 60,
            users: 2,
            accounts: 10,
            cadences: 2,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await;
    let snapshot = sandbox.snapshot();
    let cadence = snapshot["cadences"][0]["id"].as_i64().unwrap();
    let people: Vec<i64> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["do_not_contact"].as_bool() != Some(true))
        .take(20)
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let already: Vec<i64> = snapshot["cadence_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["cadence"]["id"].as_i64() == Some(cadence))
        .filter(|m| m["currently_on_cadence"].as_bool() == Some(true))
        .filter_map(|m| m["person"]["id"].as_i64())
        .collect();
    let payload = salesloft_services::jobs::EnrollPayload {
        cadence_id: cadence,
        person_ids: people.clone(),
        user_id: None,
        step_id: None,
        remove: false,
    };
    let writes = || {
        sandbox
            .requests()
            .iter()
            .filter(|q| q.method == "POST" && q.path.starts_with("/v2/cadence_memberships"))
            .count()
    };
    for _ in 0..2 {
        let job = Registry::job::<salesloft_services::jobs::EnrollJob>(&payload).unwrap();
        db.store.enqueue(&job).await.unwrap();
        let drained = r.run_once().await.unwrap();
        assert_eq!(drained.completed, 1, "{drained:?}");
    }
    let on: Vec<i64> = sandbox.snapshot()["cadence_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["cadence"]["id"].as_i64() == Some(cadence))
        .filter(|m| m["currently_on_cadence"].as_bool() == Some(true))
        .filter_map(|m| m["person"]["id"].as_i64())
        .collect();
    assert!(people.iter().all(|p| on.contains(p)));
    let newly = people.iter().filter(|p| !already.contains(p)).count();
    assert!(newly > 0);
    assert_eq!(writes(), newly, "one write each over both runs");
}

/// A push job through the runner writes what changed once: run again, it writes nothing but
/// the record SalesLoft refused, which is parked and does not fail the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_job_writes_once_and_parks_refusals() {
    let (sandbox, db, _, r) = runner_on_sandbox(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            users: 2,
            people: 30,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await;
    let people: Vec<i64> = sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .take(6)
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut records: Vec<salesloft_services::LocalPerson> = people[..5]
        .iter()
        .map(|id| {
            let fields = serde_json::json!({"id": id, "title": format!("Pushed {id}")});
            salesloft_services::LocalPerson::new(fields.as_object().unwrap().clone(), later)
        })
        .collect();
    let refused = serde_json::json!({"id": people[5], "job_seniority": "wizard"});
    records.push(salesloft_services::LocalPerson::new(
        refused.as_object().unwrap().clone(),
        later,
    ));
    let fresh = serde_json::json!({"email_address": "job@local.example", "last_name": "Job"});
    records.push(salesloft_services::LocalPerson::new(
        fresh.as_object().unwrap().clone(),
        later,
    ));
    let payload = salesloft_services::jobs::PushPayload::of(&records);
    let writes = || {
        sandbox
            .requests()
            .iter()
            .filter(|q| q.method == "PUT" || q.method == "POST")
            .count()
    };
    // First run: every record written once (the refused one parked, the job done).
    let job = Registry::job::<salesloft_services::jobs::PushJob>(&payload).unwrap();
    db.store.enqueue(&job).await.unwrap();
    let drained = r.run_once().await.unwrap();
    assert_eq!(drained.completed, 1, "{drained:?}");
    let first = writes();
    assert_eq!(first, 7, "5 updates, 1 refused, 1 create");
    let snapshot = sandbox.snapshot();
    let titles: Vec<&str> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| people[..5].contains(&p["id"].as_i64().unwrap()))
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(titles.len(), 5);
    assert!(titles.iter().all(|t| t.starts_with("Pushed")), "{titles:?}");
    assert_eq!(db.store.parked_writes("people").await.unwrap().len(), 1);
    // Second run: only the refused record is written again (and parked again).
    db.store.enqueue(&job).await.unwrap();
    let drained = r.run_once().await.unwrap();
    assert_eq!(drained.completed, 1, "{drained:?}");
    assert_eq!(writes() - first, 1, "only the refused one is tried again");
    assert_eq!(
        db.store.parked_writes("people").await.unwrap()[0].attempts,
        2
    );
}
