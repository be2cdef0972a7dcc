//! A job kind of your own on the toolkit's durable runner: implement [`Job`] (with the
//! re-exported `async_trait`), use `?` on any of the toolkit's errors, schedule it, enqueue it
//! once more by hand, and stop the runner.
//!
//! `cargo run -p salesloft-jobs --example own_job` runs on a SQLite file in a temporary
//! directory. The toolkit's own jobs (syncs, reconciles, engagement, the webhook job) come
//! wired together from `salesloft_webhooks::jobs::builtin_registry`: register yours on it.

#![allow(clippy::print_stdout)] // an example talks to its user

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use salesloft_jobs::{
    CancellationToken, Job, JobContext, JobError, Outcome, Registry, Runner, RunnerConfig, Schedule,
};
use salesloft_storage::{NewJob, Store};
use serde::{Deserialize, Serialize};

/// Counts the jobs waiting in the queue, and how often it ran.
struct QueueReport {
    store: Store,
    runs: Arc<AtomicU32>,
}

/// What the job is told each time (stored as JSON with the job).
#[derive(Debug, Serialize, Deserialize)]
struct ReportPayload {
    label: String,
}

#[salesloft_jobs::async_trait]
impl Job for QueueReport {
    type Payload = ReportPayload;
    const KIND: &'static str = "queue_report";
    const MAX_ATTEMPTS: i32 = 5;

    async fn run(&self, payload: ReportPayload, ctx: &JobContext) -> Result<Outcome, JobError> {
        // A storage error becomes the job error its kind calls for: retried when it may pass.
        let counts = self.store.job_counts().await?;
        let runs = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        println!(
            "{} (run {runs}, attempt {}): {counts:?}",
            payload.label,
            ctx.attempt()
        );
        Ok(Outcome::Done)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("salesloft-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&format!("sqlite://{}", dir.join("jobs.db").display())).await?;
    store.migrate().await?;

    let runs = Arc::new(AtomicU32::new(0));
    let job = QueueReport {
        store: store.clone(),
        runs: runs.clone(),
    };
    let registry = Registry::new().register(job);
    let every_minute = Schedule::every::<QueueReport>(
        "queue_report",
        &ReportPayload {
            label: "scheduled".into(),
        },
        Duration::from_secs(60),
    )?
    .at_start();
    let config = RunnerConfig::default()
        .with_concurrency(2)
        .with_shutdown_grace(Duration::from_secs(5));
    let runner = Runner::new(store.clone(), registry, config)?.with_schedules(vec![every_minute]);

    let by_hand = serde_json::json!({ "label": "enqueued by hand" });
    store.enqueue(&NewJob::new("queue_report", by_hand)).await?;
    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { runner.run(stop).await }
    });
    // Both runs (the schedule's at start and ours), then stop as Ctrl-C would.
    while runs.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    running.await??;
    store.close().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
