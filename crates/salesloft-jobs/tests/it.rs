//! The runner on real databases, both engines: retries then dead, snoozes, timeouts, lease
//! loss, shutdown within the grace, schedules without a leader, wake-ups, no job twice at once.
//! (The toolkit's own jobs are tested beside them: salesloft-services' and salesloft-webhooks'
//! suites.)

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use salesloft_jobs::{
    CancellationToken, Drained, Error, Job, JobContext, JobError, Outcome, Registry, Runner,
    RunnerConfig, Schedule,
};
use salesloft_storage::on_both;
use salesloft_storage::testing::TestDb;

async fn sqlite() -> TestDb {
    TestDb::sqlite().await.unwrap()
}

async fn postgres() -> TestDb {
    TestDb::postgres()
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is unreachable ({e}); these cases never skip"))
}
use salesloft_storage::{Enqueued, Store};

fn config() -> RunnerConfig {
    let mut c = RunnerConfig::default();
    c.lease = Duration::from_millis(900);
    c.poll_min = Duration::from_millis(20);
    c.poll_max = Duration::from_millis(100);
    c.shutdown_grace = Duration::from_millis(500);
    c.maintenance_every = Duration::from_millis(200);
    c
}

/// Makes every pending job due now (retries wait for their backoff otherwise).
async fn due_now(store: &Store) {
    salesloft_storage::testing::execute(
        store,
        "UPDATE jobs SET run_at_ms = 0 WHERE state = 'available'",
    )
    .await
    .unwrap();
}

/// What a test job does.
#[derive(Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Act {
    Succeed,
    Fail,
    FailPermanently,
    SnoozeOnce,
    /// Sleep this many ms, ignoring cancellation.
    SleepStubborn(u64),
    /// Sleep until cancelled, then report a snooze.
    SleepPolitely,
}

#[derive(Default)]
struct Probe {
    runs: AtomicUsize,
    running: Mutex<HashSet<i64>>,
    twice: AtomicUsize,
    cancelled_seen: AtomicUsize,
}

#[derive(Clone)]
struct TestJob(Arc<Probe>);

#[async_trait::async_trait]
impl Job for TestJob {
    type Payload = Act;
    const KIND: &'static str = "test";
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(&self, act: Act, ctx: &JobContext) -> Result<Outcome, JobError> {
        self.0.runs.fetch_add(1, Ordering::SeqCst);
        // No job runs twice at once, in any runner.
        if !self.0.running.lock().unwrap().insert(ctx.id()) {
            self.0.twice.fetch_add(1, Ordering::SeqCst);
        }
        let out = match act {
            Act::Succeed => Ok(Outcome::Done),
            Act::Fail => Err(JobError::retry(format!("attempt {} failed", ctx.attempt()))),
            Act::FailPermanently => Err(JobError::permanent("never works")),
            Act::SnoozeOnce if ctx.attempt() == 1 && self.0.runs.load(Ordering::SeqCst) == 1 => {
                Ok(Outcome::Snooze(Duration::ZERO))
            }
            Act::SnoozeOnce => Ok(Outcome::Done),
            Act::SleepStubborn(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(Outcome::Done)
            }
            Act::SleepPolitely => {
                ctx.cancelled().await;
                self.0.cancelled_seen.fetch_add(1, Ordering::SeqCst);
                Ok(Outcome::Snooze(Duration::ZERO))
            }
        };
        self.0.running.lock().unwrap().remove(&ctx.id());
        out
    }
}

fn runner(db: &TestDb, probe: &Arc<Probe>, config: RunnerConfig) -> Runner {
    Runner::new(
        db.store.clone(),
        Registry::new().register(TestJob(probe.clone())),
        config,
    )
    .unwrap()
}

async fn enqueue(store: &Store, act: Act) -> i64 {
    match store
        .enqueue(&Registry::job::<TestJob>(&act).unwrap())
        .await
        .unwrap()
    {
        Enqueued::Created(id) | Enqueued::Existing(id) => id,
    }
}

async fn failing_jobs_retry_then_die_with_their_errors_kept(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let r = runner(db, &probe, config());
    let failing = enqueue(&db.store, Act::Fail).await;
    let permanent = enqueue(&db.store, Act::FailPermanently).await;
    let first = r.run_once().await.unwrap();
    assert_eq!((first.retrying, first.dead), (1, 1), "{first:?}");
    for _ in 0..2 {
        due_now(&db.store).await;
        r.run_once().await.unwrap();
    }
    let dead = db.store.job(failing).await.unwrap().unwrap();
    assert_eq!((dead.state.as_str(), dead.attempt), ("dead", 3));
    assert_eq!(dead.last_error.as_deref(), Some("attempt 3 failed"));
    let never = db.store.job(permanent).await.unwrap().unwrap();
    assert_eq!((never.state.as_str(), never.attempt), ("dead", 1));
    assert_eq!(never.last_error.as_deref(), Some("never works"));
    // An operator retries it: attempts start again.
    assert!(db.store.retry_job(failing).await.unwrap());
    assert_eq!(r.run_once().await.unwrap().retrying, 1);
}
on_both!(retries, &failing_jobs_retry_then_die_with_their_errors_kept);

/// A job of a kind no process here handles is retried (another process may know it) and
/// dies after its attempts, saying why: never put back forever.
async fn an_unknown_kind_dies_after_its_attempts_with_why(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let r = runner(db, &probe, config());
    let mut job = salesloft_storage::NewJob::new("made_up_kind", serde_json::json!({}));
    job.max_attempts = 3;
    let Enqueued::Created(id) = db.store.enqueue(&job).await.unwrap() else {
        panic!("enqueued")
    };
    for attempt in 1..=3 {
        due_now(&db.store).await;
        let drained = r.run_once().await.unwrap();
        assert_eq!(drained.snoozed, 0, "attempt {attempt}: {drained:?}");
    }
    let dead = db.store.job(id).await.unwrap().unwrap();
    assert_eq!((dead.state.as_str(), dead.attempt), ("dead", 3));
    let why = dead.last_error.unwrap_or_default();
    assert!(
        why.contains("no handler for job kind \"made_up_kind\"") && why.contains("test"),
        "{why}"
    );
}
on_both!(
    unknown_kind,
    &an_unknown_kind_dies_after_its_attempts_with_why
);

/// A SQLite runner whose lease another process took (it stalled past it) stops claiming and
/// returns an error, so its supervisor restarts it, instead of running beside the new holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_runner_that_loses_its_lease_stops_with_an_error() {
    let db = sqlite().await;
    let probe = Arc::new(Probe::default());
    let r = runner(&db, &probe, config());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { r.run(shutdown).await }
    });
    // Wait for it to hold the lease, then hand the lease to another owner.
    let started = Instant::now();
    loop {
        let held = salesloft_storage::testing::fetch_texts(
            &db.store,
            "SELECT owner FROM leases WHERE name = 'jobs-runner'",
        )
        .await
        .unwrap();
        if !held.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never took its lease"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    salesloft_storage::testing::execute(
        &db.store,
        "UPDATE leases SET owner = 'another-process' WHERE name = 'jobs-runner'",
    )
    .await
    .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stopped within 10 s")
        .unwrap();
    assert!(matches!(ended, Err(Error::RunnerLeaseLost)), "{ended:?}");
    assert!(!shutdown.is_cancelled(), "it stopped on its own");
    // It left the new holder's lease alone.
    let owner = salesloft_storage::testing::fetch_texts(
        &db.store,
        "SELECT owner FROM leases WHERE name = 'jobs-runner'",
    )
    .await
    .unwrap();
    assert_eq!(owner[0].as_deref(), Some("another-process"));
}

async fn snoozes_spend_no_attempt_and_timeouts_are_retried(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let id = enqueue(&db.store, Act::SnoozeOnce).await;
    let r = runner(db, &probe, config());
    assert_eq!(
        r.run_once().await.unwrap().completed,
        1,
        "snoozed, then due again at once"
    );
    assert_eq!(
        db.store.job(id).await.unwrap().unwrap().attempt,
        1,
        "the snooze spent none"
    );

    let mut c = config();
    c.job_timeout = Duration::from_millis(100);
    let slow = enqueue(&db.store, Act::SleepStubborn(5_000)).await;
    let started = Instant::now();
    assert_eq!(runner(db, &probe, c).run_once().await.unwrap().retrying, 1);
    assert!(started.elapsed() < Duration::from_secs(3));
    let rec = db.store.job(slow).await.unwrap().unwrap();
    assert!(rec.last_error.unwrap().contains("timed out"));
}
on_both!(
    snooze_timeout,
    &snoozes_spend_no_attempt_and_timeouts_are_retried
);

async fn a_cancelled_running_job_is_stopped_and_writes_nothing(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let id = enqueue(&db.store, Act::SleepPolitely).await;
    let r = runner(db, &probe, config());
    let store = db.store.clone();
    let canceller = tokio::spawn(async move {
        while store.job(id).await.unwrap().unwrap().state != "running" {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(store.cancel_job(id).await.unwrap());
    });
    let started = Instant::now();
    let drained = r.run_once().await.unwrap();
    canceller.await.unwrap();
    assert_eq!(
        drained,
        Drained {
            lease_lost: 1,
            ..Drained::default()
        }
    );
    // Found at the next heartbeat (a third of the 900 ms lease) and stopped there.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(db.store.job(id).await.unwrap().unwrap().state, "cancelled");
}
on_both!(
    cancel,
    &a_cancelled_running_job_is_stopped_and_writes_nothing
);

async fn shutdown_gives_the_grace_then_snoozes_without_spending_an_attempt(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let polite = enqueue(&db.store, Act::SleepPolitely).await;
    let stubborn = enqueue(&db.store, Act::SleepStubborn(60_000)).await;
    let r = runner(db, &probe, config());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (r, shutdown) = (r.clone(), shutdown.clone());
        async move { r.run(shutdown).await }
    });
    while probe.runs.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let asked = Instant::now();
    shutdown.cancel();
    running.await.unwrap().unwrap();
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "stopped within the grace: {took:?}"
    );
    assert_eq!(
        probe.cancelled_seen.load(Ordering::SeqCst),
        1,
        "the polite job was told to stop"
    );
    for id in [polite, stubborn] {
        let rec = db.store.job(id).await.unwrap().unwrap();
        assert_eq!(
            (rec.state.as_str(), rec.attempt),
            ("available", 0),
            "job {id}"
        );
    }
}
on_both!(
    shutdown,
    &shutdown_gives_the_grace_then_snoozes_without_spending_an_attempt
);

async fn schedules_run_once_per_period_however_many_runners_tick(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let schedule =
        Schedule::every::<TestJob>("test:every", &Act::Succeed, Duration::from_secs(3600)).unwrap();
    let runners: Vec<Runner> = (0..3)
        .map(|_| runner(db, &probe, config()).with_schedules(vec![schedule.clone()]))
        .collect();
    for r in &runners {
        r.tick_schedules().await.unwrap();
        r.tick_schedules().await.unwrap();
    }
    let pending = db
        .store
        .jobs(Some("available"), Some("test"), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].unique_key.as_deref(), Some("test:every"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        pending[0].run_at_ms > now && pending[0].run_at_ms % 3_600_000 == 0,
        "at the next boundary"
    );
}
on_both!(
    schedules,
    &schedules_run_once_per_period_however_many_runners_tick
);

async fn an_idle_runner_wakes_on_enqueue_not_on_its_poll(db: &TestDb) {
    let probe = Arc::new(Probe::default());
    let mut c = config();
    c.poll_min = Duration::from_secs(30);
    c.poll_max = Duration::from_secs(30);
    let r = runner(db, &probe, c);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (r, shutdown) = (r.clone(), shutdown.clone());
        async move { r.run(shutdown).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // From another pool: another process, woken through NOTIFY on PostgreSQL; on SQLite the
    // embedded process enqueues through its own store.
    let other = match db.store.backend() {
        salesloft_storage::Backend::Postgres => db.another_pool().await.unwrap(),
        salesloft_storage::Backend::Sqlite => db.store.clone(),
    };
    let started = Instant::now();
    enqueue(&other, Act::Succeed).await;
    while probe.runs.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "woken long before the 30 s poll"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("woken after {:?}", started.elapsed());
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
on_both!(wakeups, &an_idle_runner_wakes_on_enqueue_not_on_its_poll);

/// Three runners on one PostgreSQL (as three worker processes would be) share 300 jobs: each
/// runs once, none twice at once. On SQLite a second runner is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_runners_share_the_queue_on_postgres_and_one_runs_on_sqlite() {
    let db = postgres().await;
    let probe = Arc::new(Probe::default());
    for _ in 0..300 {
        enqueue(&db.store, Act::SleepStubborn(2)).await;
    }
    let shutdown = CancellationToken::new();
    let mut handles = Vec::new();
    for _ in 0..3 {
        let store = db.another_pool().await.unwrap();
        let r = Runner::new(
            store,
            Registry::new().register(TestJob(probe.clone())),
            config(),
        )
        .unwrap();
        let shutdown = shutdown.clone();
        handles.push(tokio::spawn(async move { r.run(shutdown).await }));
    }
    let started = Instant::now();
    while db
        .store
        .jobs(Some("completed"), None, 1000)
        .await
        .unwrap()
        .len()
        < 300
    {
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(probe.runs.load(Ordering::SeqCst), 300, "each job ran once");
    assert_eq!(probe.twice.load(Ordering::SeqCst), 0);

    let lite = sqlite().await;
    let first = runner(&lite, &probe, config());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { first.run(shutdown).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = runner(&lite, &probe, config())
        .run(CancellationToken::new())
        .await;
    assert!(matches!(second, Err(Error::RunnerBusy)), "{second:?}");
    shutdown.cancel();
    running.await.unwrap().unwrap();
}

/// A runner busy with a long job does not sit on the jobs it prefetched: they go back within
/// a moment and another runner runs them, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetched_jobs_of_a_busy_runner_go_to_another() {
    let db = postgres().await;
    let probe = Arc::new(Probe::default());
    let mut busy_config = config();
    busy_config.concurrency = 1;
    busy_config.lease = Duration::from_secs(30);
    let busy = runner(&db, &probe, busy_config);
    enqueue(&db.store, Act::SleepStubborn(8_000)).await;
    let quick: Vec<i64> = {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(enqueue(&db.store, Act::Succeed).await);
        }
        ids
    };
    let shutdown = CancellationToken::new();
    let a = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { busy.run(shutdown).await }
    });
    while probe.runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let other = Runner::new(
        db.another_pool().await.unwrap(),
        Registry::new().register(TestJob(probe.clone())),
        config(),
    )
    .unwrap();
    let b = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { other.run(shutdown).await }
    });
    let started = Instant::now();
    for id in quick {
        while db.store.job(id).await.unwrap().unwrap().state != "completed" {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the long job holds the others' slots"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    shutdown.cancel();
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    assert_eq!(probe.twice.load(Ordering::SeqCst), 0);
}
