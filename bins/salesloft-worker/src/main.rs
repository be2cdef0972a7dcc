//! `salesloft-worker`: runs the integration's background jobs until SIGTERM or SIGINT.
//!
//! It reads the same configuration as `salesloft` (`SALESLOFT_API_KEY`, `SALESLOFT_BASE_URL`,
//! `SALESLOFT_DATABASE_URL`, `SALESLOFT_JOBS__SYNC_EVERY_SECS`, ...), spends through the
//! team's shared budget in the database, keeps OAuth tokens there, schedules `sync:<stream>`
//! every `jobs.sync_every_secs` and `reconcile:<stream>` daily, and runs every queued job with
//! salesloft-jobs' runner. Any number of workers share one PostgreSQL; SQLite takes one.
//! On a signal it stops claiming, gives running jobs `jobs.shutdown_grace_secs`, snoozes what
//! did not finish (no attempt spent) and exits 0.

#![allow(clippy::print_stderr)] // errors before logging is up go to stderr

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use salesloft_config::Settings;
use salesloft_jobs::{CancellationToken, Runner, RunnerConfig, sync_registry, sync_schedules};
use salesloft_services::Context;
use salesloft_storage::{SharedBudget, Store};

/// Run the SalesLoft integration's background jobs.
#[derive(Debug, Parser)]
#[command(name = "salesloft-worker", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The queue to claim from.
    #[arg(long, default_value = "default")]
    queue: String,
}

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error(transparent)]
    Config(#[from] salesloft_config::ConfigError),
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    #[error(transparent)]
    Client(#[from] salesloft_client::Error),
    #[error(transparent)]
    Jobs(#[from] salesloft_jobs::Error),
    #[error("installing the signal handlers: {0}")]
    Signals(std::io::Error),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    salesloft_config::logging::init(&settings.log.filter);
    match run(&settings, cli.queue).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "worker stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: &Settings, queue: String) -> Result<(), WorkerError> {
    use secrecy::ExposeSecret;
    let shutdown = CancellationToken::new();
    listen_for_signals(shutdown.clone())?;
    let store = Store::connect(settings.database.url.expose_secret()).await?;
    store.migrate().await?;
    let budget = SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?;
    let client = settings
        .client_builder(Some(&store))?
        .limiter(Arc::new(budget))
        .build()?;
    let ctx = Context::new(client, store.clone()).with_team(settings.team());
    let registry = sync_registry(
        ctx,
        settings.sync_options(false),
        settings.reconcile_options(false),
    );
    let mut config = RunnerConfig::default();
    config.queue = queue;
    config.concurrency = usize::try_from(settings.jobs.concurrency).unwrap_or(1);
    config.shutdown_grace = Duration::from_secs(settings.jobs.shutdown_grace_secs);
    let runner = Runner::new(store.clone(), registry, config)?
        .with_schedules(sync_schedules(settings.sync_every())?);
    tracing::info!(
        database = %settings.database.display_url(),
        sync_every_secs = settings.jobs.sync_every_secs,
        "salesloft-worker starting"
    );
    let result = runner.run(shutdown).await;
    store.close().await;
    Ok(result?)
}

/// Cancel `shutdown` on the first SIGTERM or SIGINT.
fn listen_for_signals(shutdown: CancellationToken) -> Result<(), WorkerError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(WorkerError::Signals)?;
        let mut int = signal(SignalKind::interrupt()).map_err(WorkerError::Signals)?;
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "stopping: no new jobs; running ones get the grace"
            );
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shutdown.cancel();
        }
    });
    Ok(())
}
