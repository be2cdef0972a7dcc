//! `salesloft-worker` with checks inside its jobs, for the process tests: the same body
//! (`salesloft_runtime::App` with the worker role) with every built-in job wrapped so that a run first claims its
//! job's identity (kind and payload) in the table `harness_running` and fails loudly, writing
//! `harness_violations`, if another run of the same job holds it: no job runs twice at once,
//! whichever process runs it. Each run is also written to `harness_runs` (key, process id), so
//! a test can see the checks ran. It adds the kind `always_fails` (checked too), which fails
//! every attempt.
//!
//! The test creates the three tables before starting workers (see `tests/worker.rs`).

use std::process::ExitCode;

use salesloft_jobs::{CancellationToken, Job, JobContext, JobError, Outcome};
use salesloft_runtime::{App, Roles};
use salesloft_storage::Store;
use salesloft_storage::testing::execute;

/// `J`, checked: no two runs of one job (same kind and payload) at once, anywhere.
struct Exclusive<J> {
    inner: J,
    store: Store,
}

/// `text` as an SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The claim on a job's identity. A run that returns releases it before it returns, so the
/// claim is gone before the runner records the run and the next run of the job can start; a
/// run dropped mid-way (the shutdown grace ended) releases it from `Drop`, in the background.
struct Held {
    store: Store,
    key: String,
    job_id: i64,
    released: bool,
}

impl Held {
    fn release_sql(&self) -> String {
        format!(
            "DELETE FROM harness_running WHERE key = {} AND job_id = {}",
            quoted(&self.key),
            self.job_id
        )
    }

    /// Release the claim now, waiting for the database to have it.
    async fn release(mut self) -> Result<(), JobError> {
        self.released = true;
        execute(&self.store, &self.release_sql())
            .await
            .map(|_| ())
            .map_err(|e| JobError::retry(format!("harness: releasing the claim: {e}")))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (store, release) = (self.store.clone(), self.release_sql());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = execute(&store, &release).await {
                    tracing::error!(error = %e, "releasing a harness claim");
                }
            });
        }
    }
}

#[async_trait::async_trait]
impl<J: Job> Job for Exclusive<J> {
    type Payload = J::Payload;
    const KIND: &'static str = J::KIND;
    const MAX_ATTEMPTS: i32 = J::MAX_ATTEMPTS;

    async fn run(&self, payload: Self::Payload, ctx: &JobContext) -> Result<Outcome, JobError> {
        let identity = serde_json::to_string(&payload)
            .map_err(|e| JobError::permanent(format!("payload: {e}")))?;
        let key = format!("{}:{identity}", J::KIND);
        let pid = std::process::id();
        let now = chrono::Utc::now().timestamp_millis();
        let claimed = execute(
            &self.store,
            &format!(
                "INSERT INTO harness_running (key, job_id, pid, started_at_ms) \
                 VALUES ({}, {}, {pid}, {now}) ON CONFLICT DO NOTHING",
                quoted(&key),
                ctx.id()
            ),
        )
        .await
        .map_err(|e| JobError::retry(format!("harness: {e}")))?;
        if claimed != 1 {
            let _ = execute(
                &self.store,
                &format!(
                    "INSERT INTO harness_violations (key, job_id, pid, at_ms, holder) \
                     SELECT {key}, {}, {pid}, {now}, (SELECT 'job ' || CAST(job_id AS TEXT) \
                     || ' in process ' || CAST(pid AS TEXT) || ' since ' \
                     || CAST(started_at_ms AS TEXT) FROM harness_running WHERE key = {key})",
                    ctx.id(),
                    key = quoted(&key)
                ),
            )
            .await;
            tracing::error!(key, "a job ran twice at once");
            return Err(JobError::permanent(format!("{key} ran twice at once")));
        }
        let held = Held {
            store: self.store.clone(),
            key: key.clone(),
            job_id: ctx.id(),
            released: false,
        };
        execute(
            &self.store,
            &format!(
                "INSERT INTO harness_runs (key, job_id, pid, started_at_ms) \
                 VALUES ({}, {}, {pid}, {now})",
                quoted(&key),
                ctx.id()
            ),
        )
        .await
        .map_err(|e| JobError::retry(format!("harness: {e}")))?;
        let ran = self.inner.run(payload, ctx).await;
        held.release().await?;
        ran
    }
}

/// Fails every attempt, naming it.
struct AlwaysFails;

#[async_trait::async_trait]
impl Job for AlwaysFails {
    type Payload = serde_json::Value;
    const KIND: &'static str = "always_fails";
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(&self, _: Self::Payload, ctx: &JobContext) -> Result<Outcome, JobError> {
        Err(JobError::retry(format!(
            "attempt {} failed on purpose in process {}",
            ctx.attempt(),
            std::process::id()
        )))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match salesloft_config::load_for_binary(None) {
        Ok(s) => s,
        Err(code) => return code,
    };
    salesloft_config::logging::init(&settings.log.filter);
    let (sync, reconcile) = (
        settings.sync_options(false),
        settings.reconcile_options(false),
    );
    let run = async {
        let shutdown = CancellationToken::new();
        salesloft_runtime::listen_for_signals(shutdown.clone())?;
        let metrics = salesloft_runtime::ops::install_metrics_recorder()?;
        let app = App::build(settings, Roles::WORKER).await?;
        app.with_metrics(metrics)
            .with_jobs(move |registry, ctx| {
                let store = ctx.store.clone();
                registry
                    .register(Exclusive {
                        inner: salesloft_services::jobs::SyncJob::new(ctx.clone(), sync),
                        store: store.clone(),
                    })
                    .register(Exclusive {
                        inner: salesloft_services::jobs::ReconcileJob::new(ctx.clone(), reconcile),
                        store,
                    })
                    .register(Exclusive {
                        inner: AlwaysFails,
                        store: ctx.store.clone(),
                    })
            })
            .run_until_stopped(shutdown)
            .await
    };
    salesloft_config::exit_code(run.await, "worker stopped")
}
