//! Job throughput through the full runner, beside the raw rate of storage's primitives
//! measured in the same run on the same database:
//! - reference: 4 tasks claiming 100 at a time and completing them in one statement;
//! - runner: no-op jobs through `Runner::run` (claim loop, a task per job, heartbeats, fenced
//!   completion): 4 runners on PostgreSQL (as 4 worker processes would be, each with its own
//!   pool), and on SQLite the one runner a file allows, 4 jobs at a time.
//!
//! Run: `cargo bench -p salesloft-jobs --bench runner`. BENCH_JOBS (default 20000) sets the
//! size; BENCH_CONCURRENCY (default 4) the jobs each runner runs at once; BENCH_BACKENDS (default `sqlite,postgres`) picks the engines; PostgreSQL runs on the
//! server SALESLOFT_TEST_DATABASE_URL names, else the local one.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use salesloft_jobs::{
    CancellationToken, Job, JobContext, JobError, Outcome, Registry, Runner, RunnerConfig,
};
use salesloft_storage::testing::TestDb;
use salesloft_storage::{NewJob, Store};

struct Noop;

#[async_trait::async_trait]
impl Job for Noop {
    type Payload = u64;
    const KIND: &'static str = "noop";
    async fn run(&self, _: u64, _: &JobContext) -> Result<Outcome, JobError> {
        Ok(Outcome::Done)
    }
}

async fn enqueue(store: &Store, n: usize) {
    let jobs: Vec<NewJob> = (0..n as u64)
        .map(|i| Registry::job::<Noop>(&i).unwrap())
        .collect();
    store.enqueue_batch(&jobs).await.unwrap();
}

async fn completed(store: &Store) -> i64 {
    store
        .job_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| s == "completed")
        .map_or(0, |(_, n)| n)
}

async fn raw(store: &Store, n: usize) -> f64 {
    enqueue(store, n).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let claimed = store
                    .claim("default", 100, &format!("raw-{w}"), Duration::from_secs(60))
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return;
                }
                store.complete_all(&claimed).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

async fn through_runners(db: &TestDb, runners: usize, concurrency: usize, n: usize) -> f64 {
    let before = completed(&db.store).await;
    enqueue(&db.store, n).await;
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..runners {
        let store = match db.store.backend() {
            salesloft_storage::Backend::Postgres => db.another_pool().await.unwrap(),
            salesloft_storage::Backend::Sqlite => db.store.clone(),
        };
        let mut config = RunnerConfig::default();
        config.concurrency = concurrency;
        config.poll_min = Duration::from_millis(10);
        let runner = Runner::new(store, Registry::new().register(Noop), config).unwrap();
        let shutdown = shutdown.clone();
        handles.push(tokio::spawn(async move { runner.run(shutdown).await }));
    }
    while completed(&db.store).await - before < n as i64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    shutdown.cancel();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    for backend in backends.split(',') {
        let (db, runners) = match backend {
            "sqlite" => (TestDb::sqlite().await.unwrap(), 1),
            "postgres" => (TestDb::postgres().await.unwrap(), 4),
            other => panic!("unknown backend {other:?}"),
        };
        let reference = raw(&db.store, n).await;
        let full = through_runners(&db, runners, concurrency, n).await;
        println!(
            "{backend}: {n} no-op jobs: storage primitives {reference:>8.0} jobs/s (reference); \
             full runner ({runners} runner(s) x {concurrency}) {full:>8.0} jobs/s, ratio {:.2}",
            full / reference
        );
        db.store.close().await;
    }
}
