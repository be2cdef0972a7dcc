//! `salesloft-worker` as it is deployed: real processes on PostgreSQL against the sandbox
//! with SalesLoft's real 600-per-minute budget, signalled and killed, bounded in time.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

use salesloft_storage::testing::{eventually_blocking, free_port};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use salesloft_storage::testing::TestDb;

struct Team {
    rt: tokio::runtime::Runtime,
    sandbox: salesloft_sandbox::SandboxHandle,
    db: TestDb,
}

fn team(people: usize) -> Team {
    team_of(salesloft_sandbox::TeamSize {
        people,
        accounts: people / 2,
        users: 3,
        emails: people / 2,
        ..salesloft_sandbox::TeamSize::empty()
    })
}

fn team_of(size: salesloft_sandbox::TeamSize) -> Team {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt
        .block_on(salesloft_sandbox::Sandbox::start(
            salesloft_sandbox::SandboxConfig {
                rate_limit_per_minute: Some(600),
                team: size,
                ..salesloft_sandbox::SandboxConfig::default()
            },
        ))
        .unwrap();
    let db = rt.block_on(TestDb::postgres()).unwrap();
    Team { rt, sandbox, db }
}

/// A worker process with only the SALESLOFT_* settings given.
fn worker(team: &Team, extra: &[(&str, &str)]) -> Child {
    spawn(env!("CARGO_BIN_EXE_salesloft-worker").into(), team, extra)
}

/// The worker with checks inside its jobs (`examples/checked_worker.rs`; `cargo test` builds
/// examples beside the tests).
fn checked_worker(team: &Team, extra: &[(&str, &str)]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let harness = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(format!("checked_worker{}", std::env::consts::EXE_SUFFIX));
    assert!(
        harness.exists(),
        "{} is missing: run the tests with `cargo test` (which builds examples), or \
         `cargo build -p salesloft-worker --examples` first",
        harness.display()
    );
    spawn(harness, team, extra)
}

fn spawn(program: std::path::PathBuf, team: &Team, extra: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    cmd.env("SALESLOFT_API_KEY", team.sandbox.api_key())
        .env("SALESLOFT_BASE_URL", team.sandbox.url())
        .env("SALESLOFT_DATABASE_URL", team.db.url())
        .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
        .env("RUST_LOG", "info")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd.spawn().unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// Wait for `child` to exit within `limit`; its exit status.
fn exits_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the worker did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sql(team: &Team, statement: &str) {
    team.rt
        .block_on(salesloft_storage::testing::execute(
            &team.db.store,
            statement,
        ))
        .unwrap();
}

fn texts(team: &Team, query: &str) -> Vec<String> {
    team.rt
        .block_on(salesloft_storage::testing::fetch_texts(
            &team.db.store,
            query,
        ))
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

/// Jobs the check caught running twice at once (but the probe, caught on purpose): which
/// job, in which process, when, and who held it.
fn violations(team: &Team) -> Vec<String> {
    texts(
        team,
        r#"SELECT key || ': job ' || CAST(job_id AS TEXT) || ' in process ' || CAST(pid AS TEXT)
           || ' at ' || CAST(at_ms AS TEXT) || ', held by ' || COALESCE(holder, 'nobody now')
           FROM harness_violations WHERE key <> 'always_fails:{"probe":true}'"#,
    )
}

fn jobs(team: &Team, state: &str, kind: &str) -> Vec<salesloft_storage::JobRecord> {
    team.rt
        .block_on(team.db.store.jobs(Some(state), Some(kind), 1000))
        .unwrap()
}

/// The running sync job of `stream`, if any.
fn running_sync_of(team: &Team, stream: &str) -> Option<salesloft_storage::JobRecord> {
    jobs(team, "running", "sync").into_iter().find(|j| {
        serde_json::from_str::<serde_json::Value>(&j.payload).is_ok_and(|p| p["stream"] == stream)
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Every stream has a sync job that completed at or after `since_ms`.
fn synced_since(team: &Team, since_ms: i64) -> bool {
    let done: std::collections::HashSet<String> = jobs(team, "completed", "sync")
        .into_iter()
        .filter(|j| j.updated_at_ms >= since_ms)
        .filter_map(|j| {
            serde_json::from_str::<serde_json::Value>(&j.payload)
                .ok()?
                .get("stream")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    salesloft_services::Stream::all()
        .iter()
        .all(|s| done.contains(s.name()))
}

fn exact(team: &Team) -> bool {
    let ctx = salesloft_services::Context::new(
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(team.sandbox.api_key()))
            .base_url(team.sandbox.url())
            .limiter(std::sync::Arc::new(salesloft_client::Unlimited))
            .build()
            .unwrap(),
        team.db.store.clone(),
    );
    let diffs = team
        .rt
        .block_on(salesloft_services::Verifier::new(ctx).compare(
            &team.sandbox.snapshot_bytes(),
            salesloft_services::Stream::all(),
        ))
        .unwrap();
    for d in diffs.iter().filter(|d| !d.is_equal()) {
        eprintln!(
            "{}: {} missing, {} extra, {} different",
            d.stream, d.missing_count, d.extra_count, d.different_count
        );
    }
    diffs.iter().all(|d| d.is_equal())
}

/// How long the four checked workers keep the copy fresh while the simulator changes the
/// team.
const CHANGING_FOR: Duration = Duration::from_secs(300);

/// Four worker processes, every job checked inside its run for a second run of the same job
/// at once, keep the copy fresh on a schedule for five minutes while the simulator changes
/// the team: no job ran twice at once, the copy ends exact, the sandbox never sent a 429, a
/// job that always fails ends dead with every attempt's error, and SIGTERM stops all four
/// within the grace with exit 0.
#[test]
fn four_workers_keep_the_copy_exact_for_five_minutes_and_no_job_runs_twice_at_once() {
    let team = team(2_000);
    for table in [
        "harness_running (key TEXT PRIMARY KEY, job_id BIGINT NOT NULL, pid BIGINT NOT NULL, \
         started_at_ms BIGINT NOT NULL)",
        "harness_runs (key TEXT NOT NULL, job_id BIGINT NOT NULL, pid BIGINT NOT NULL, \
         started_at_ms BIGINT NOT NULL)",
        "harness_violations (key TEXT NOT NULL, job_id BIGINT NOT NULL, pid BIGINT NOT NULL, \
         at_ms BIGINT NOT NULL, holder TEXT)",
    ] {
        sql(&team, &format!("CREATE TABLE {table}"));
    }
    let every = [("SALESLOFT_JOBS__SYNC_EVERY_SECS", "10")];
    let mut workers: Vec<Child> = (0..4).map(|_| checked_worker(&team, &every)).collect();
    eventually_blocking(
        "the first syncs of every stream",
        Duration::from_secs(120),
        || synced_since(&team, 0),
    );
    let failing = team
        .rt
        .block_on(team.db.store.enqueue(&{
            let mut job = salesloft_storage::NewJob::new("always_fails", serde_json::json!({}));
            job.max_attempts = 3;
            job
        }))
        .unwrap();
    let salesloft_storage::Enqueued::Created(failing) = failing else {
        panic!("a new job")
    };
    // The check can fail: a job whose identity is held already (as by a run elsewhere) is
    // caught and dies at once.
    sql(
        &team,
        r#"INSERT INTO harness_running VALUES ('always_fails:{"probe":true}', 0, 0, 0)"#,
    );
    let probe = team
        .rt
        .block_on(team.db.store.enqueue(&salesloft_storage::NewJob::new(
            "always_fails",
            serde_json::json!({"probe": true}),
        )))
        .unwrap();
    let salesloft_storage::Enqueued::Created(probe) = probe else {
        panic!("a new job")
    };
    {
        let _runtime = team.rt.enter();
        team.sandbox
            .start_simulator(salesloft_sandbox::SimulatorConfig {
                events_per_second: 20.0,
                bulk_updates: true,
                ..Default::default()
            });
    }
    // Five minutes of scheduled syncs under changes, watching for a job run twice at once.
    let changing = Instant::now();
    while changing.elapsed() < CHANGING_FOR {
        let violations = violations(&team);
        assert!(
            violations.is_empty(),
            "a job ran twice at once: {violations:#?}"
        );
        assert!(jobs(&team, "dead", "sync").is_empty(), "a sync died");
        std::thread::sleep(Duration::from_secs(1));
    }
    team.sandbox.stop_simulator();
    let stopped = now_ms();
    // A scheduled round that started after the changes stopped: one finishing more than a
    // period (10 s) after the stop began after it (each run here takes well under a second).
    eventually_blocking(
        "scheduled syncs after the changes",
        Duration::from_secs(90),
        || synced_since(&team, stopped + 11_000),
    );
    // Deletes reach the copy by webhook or by reconcile: pull the daily reconciles forward
    // (an earlier time wins over the pending ones), as an operator would.
    let asked = now_ms();
    for stream in salesloft_services::Stream::all() {
        let job = salesloft_jobs::Registry::job::<salesloft_services::jobs::ReconcileJob>(
            &salesloft_services::jobs::StreamPayload {
                stream: stream.name().to_owned(),
            },
        )
        .unwrap()
        .unique(format!("reconcile:{}", stream.name()));
        team.rt.block_on(team.db.store.enqueue(&job)).unwrap();
    }
    eventually_blocking("reconciles", Duration::from_secs(90), || {
        jobs(&team, "completed", "reconcile")
            .iter()
            .filter(|j| j.updated_at_ms >= asked)
            .count()
            >= salesloft_services::Stream::all().len()
    });
    assert!(exact(&team), "the copy is exact");
    assert_eq!(team.sandbox.counters().rate_limited, 0, "no 429s");
    assert!(jobs(&team, "dead", "sync").is_empty());
    let violations = violations(&team);
    assert!(
        violations.is_empty(),
        "a job ran twice at once: {violations:#?}"
    );
    // The checks ran: many checked runs, spread over the processes.
    let runs = texts(&team, "SELECT CAST(pid AS TEXT) FROM harness_runs");
    let processes: std::collections::HashSet<_> = runs.iter().collect();
    eprintln!(
        "{} checked runs in {} processes",
        runs.len(),
        processes.len()
    );
    assert!(runs.len() >= 100, "{} checked runs", runs.len());
    assert!(
        processes.len() >= 3,
        "runs in {} processes",
        processes.len()
    );

    let caught = team.rt.block_on(team.db.store.job(probe)).unwrap().unwrap();
    assert_eq!(
        (caught.state.as_str(), caught.attempt),
        ("dead", 1),
        "the probe was caught: {caught:?}"
    );
    assert!(
        caught
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("ran twice at once"),
        "{caught:?}"
    );

    // The job that always fails: dead after its three attempts, each one's error kept.
    let dead = team
        .rt
        .block_on(team.db.store.job(failing))
        .unwrap()
        .unwrap();
    let errors = dead.attempt_errors();
    assert_eq!(dead.state, "dead", "{dead:?}");
    assert_eq!(
        errors.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.error.contains("failed on purpose in process")),
        "{errors:?}"
    );

    let asked = Instant::now();
    for w in &workers {
        signal(w, "-TERM");
    }
    for w in &mut workers {
        let status = exits_within(w, Duration::from_secs(10));
        assert!(status.success(), "{status:?}");
    }
    eprintln!("four workers stopped {:?} after SIGTERM", asked.elapsed());
}

/// A worker killed with SIGKILL mid-backfill: its sync is picked up by another worker once
/// the lease lapses, and the copy ends exact. A worker stopped with SIGTERM mid-sync exits
/// within the grace and its job is snoozed with no attempt spent.
#[test]
fn a_killed_workers_job_is_taken_over_and_a_terminated_ones_is_snoozed() {
    let team = team(30_000);
    let solo = [
        ("SALESLOFT_JOBS__CONCURRENCY", "1"),
        ("SALESLOFT_JOBS__SYNC_EVERY_SECS", "3600"),
    ];
    // SIGTERM during a sync.
    let mut first = worker(&team, &solo);
    // The people backfill (30,000 under the 600/minute budget) runs for well over a minute;
    // a small stream's sync could end on its own before the signal.
    // Running, not only claimed: a claimed job waiting in the runner's prefetch buffer is
    // "running" too, until it goes back; the sync itself marks its start.
    eventually_blocking("the people sync running", Duration::from_secs(60), || {
        running_sync_of(&team, "people").is_some()
            && team
                .rt
                .block_on(team.db.store.sync_state("people"))
                .unwrap()
                .last_started_at_ms
                .is_some()
    });
    std::thread::sleep(Duration::from_secs(1));
    let running = running_sync_of(&team, "people").expect("still running").id;
    let asked = Instant::now();
    signal(&first, "-TERM");
    let status = exits_within(&mut first, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
    let job = team
        .rt
        .block_on(team.db.store.job(running))
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.state.as_str(), job.attempt),
        ("available", 0),
        "snoozed, no attempt spent"
    );

    // SIGKILL during a sync: the lease lapses (30 s) and a third worker finishes the work.
    let mut second = worker(&team, &solo);
    eventually_blocking("a sync running again", Duration::from_secs(60), || {
        !jobs(&team, "running", "sync").is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    let orphan = jobs(&team, "running", "sync")[0].clone();
    signal(&second, "-KILL");
    let _ = second.wait();
    let killed = now_ms();
    let mut third = worker(&team, &solo);
    // The killed worker's job is reaped once its lease (30 s) lapses and claimed again.
    eventually_blocking(
        "the killed worker's job taken over",
        Duration::from_secs(120),
        || {
            let job = team
                .rt
                .block_on(team.db.store.job(orphan.id))
                .unwrap()
                .unwrap();
            job.state == "completed"
                || (job.state == "running" && job.locked_by != orphan.locked_by)
        },
    );
    eventually_blocking(
        "every stream synced by the third worker",
        Duration::from_secs(300),
        || synced_since(&team, killed),
    );
    assert!(exact(&team), "the copy is exact");
    assert_eq!(team.sandbox.counters().rate_limited, 0, "no 429s");
    signal(&third, "-TERM");
    assert!(exits_within(&mut third, Duration::from_secs(10)).success());
}

/// Work queued for the worker (a people push and an enrollment, as `salesloft people push
/// --enqueue` and an embedding service queue them) is done by the worker process, under the
/// team's real budget, beside its scheduled syncs.
#[test]
fn the_worker_runs_the_pushes_and_enrollments_queued_for_it() {
    let team = team_of(salesloft_sandbox::TeamSize {
        people: 120,
        accounts: 20,
        users: 3,
        cadences: 2,
        memberships: 30,
        emails: 60,
        calls: 30,
        ..salesloft_sandbox::TeamSize::empty()
    });
    let snapshot = team.sandbox.snapshot();
    let people: Vec<i64> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["do_not_contact"].as_bool() != Some(true))
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let cadence = snapshot["cadences"][1]["id"].as_i64().unwrap();
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut records: Vec<salesloft_services::LocalPerson> = people[..10]
        .iter()
        .map(|id| {
            let fields = serde_json::json!({"id": id, "title": format!("From the worker {id}")});
            salesloft_services::LocalPerson::new(fields.as_object().unwrap().clone(), later)
        })
        .collect();
    let fresh = serde_json::json!({"email_address": "worker@local.example", "last_name": "W"});
    records.push(salesloft_services::LocalPerson::new(
        fresh.as_object().unwrap().clone(),
        later,
    ));
    let push = salesloft_jobs::Registry::job::<salesloft_services::jobs::PushJob>(
        &salesloft_services::jobs::PushPayload::of(&records),
    )
    .unwrap();
    let enroll = salesloft_jobs::Registry::job::<salesloft_services::jobs::EnrollJob>(
        &salesloft_services::jobs::EnrollPayload {
            cadence_id: cadence,
            person_ids: people[..40].to_vec(),
            user_id: None,
            step_id: None,
            remove: false,
        },
    )
    .unwrap();
    team.rt.block_on(team.db.store.enqueue(&push)).unwrap();
    team.rt.block_on(team.db.store.enqueue(&enroll)).unwrap();

    let mut w = worker(&team, &[]);
    eventually_blocking(
        "the push and the enrollment complete",
        Duration::from_secs(120),
        || {
            jobs(&team, "completed", "people_push").len() == 1
                && jobs(&team, "completed", "enroll").len() == 1
        },
    );
    signal(&w, "-TERM");
    assert!(exits_within(&mut w, Duration::from_secs(30)).success());

    let after = team.sandbox.snapshot();
    let by_id = |id: i64| {
        after["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"].as_i64() == Some(id))
            .cloned()
            .unwrap()
    };
    for id in &people[..10] {
        assert_eq!(by_id(*id)["title"], format!("From the worker {id}"));
    }
    let created = after["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["email_address"] == "worker@local.example")
        .count();
    assert_eq!(created, 1);
    let on: std::collections::BTreeSet<i64> = after["cadence_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["cadence"]["id"].as_i64() == Some(cadence))
        .filter(|m| m["currently_on_cadence"].as_bool() == Some(true))
        .filter_map(|m| m["person"]["id"].as_i64())
        .collect();
    assert!(
        people[..40].iter().all(|p| on.contains(p)),
        "all 40 on the cadence"
    );
}

/// `GET path` from 127.0.0.1:`port` (HTTP/1.0, optional bearer token): status and body.
fn http_get(port: u16, path: &str, bearer: Option<&str>) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_owned()))
}

/// With its log pipe broken, the worker keeps working (its jobs log, and nothing panics),
/// counts the lines it dropped, serves /metrics behind the admin token, and exits 0 on
/// SIGTERM.
#[test]
fn a_broken_log_pipe_stops_nothing_and_sigterm_still_works() {
    const ADMIN: &str = "worker-admin-token-0123456789";
    let team = team(50);
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-worker"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .env("SALESLOFT_API_KEY", team.sandbox.api_key())
        .env("SALESLOFT_BASE_URL", team.sandbox.url())
        .env("SALESLOFT_DATABASE_URL", team.db.url())
        .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
        .env("SALESLOFT_JOBS__METRICS_BIND", format!("127.0.0.1:{port}"))
        .env("SALESLOFT_SERVER__ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The log reader goes away.
    drop(child.stderr.take());
    let people = || texts(&team, "SELECT CAST(COUNT(*) AS TEXT) FROM people");
    eventually_blocking("the worker synced people", Duration::from_secs(60), || {
        people().first().map(String::as_str) == Some("50")
    });
    let (status, _) = http_get(port, "/metrics", None).unwrap();
    assert_eq!(status, 401, "/metrics without the token");
    let (status, metrics) = http_get(port, "/metrics", Some(ADMIN)).unwrap();
    assert_eq!(status, 200);
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("salesloft_log_lines_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    assert!(dropped > 0.0, "dropped lines are counted:\n{metrics}");
    assert_eq!(
        http_get(port, "/ready", None).map(|r| r.0),
        Some(200),
        "probes need no token"
    );
    signal(&child, "-TERM");
    let status = exits_within(&mut child, Duration::from_secs(15));
    assert!(status.success(), "{status}");
    eprintln!("{dropped} log lines dropped; exited {status} after SIGTERM");
}
