//! `salesloft-worker`: runs the integration's background jobs until SIGTERM or SIGINT.
//!
//! It reads the same configuration as `salesloft` (`SALESLOFT_API_KEY`, `SALESLOFT_BASE_URL`,
//! `SALESLOFT_DATABASE_URL`, `SALESLOFT_JOBS__SYNC_EVERY_SECS`, ...) and runs the runtime's
//! worker role (`salesloft_runtime::App` with `Roles::WORKER`): scheduled syncs and
//! reconciles and every queued job, through the team's shared budget. Any number of workers
//! share one PostgreSQL; SQLite takes one. On a signal it stops claiming, gives running jobs
//! `jobs.shutdown_grace_secs`, snoozes what did not finish (no attempt spent) and exits 0.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use salesloft_runtime::{App, Roles};

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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match salesloft_config::load_for_binary(cli.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    salesloft_config::logging::init(&settings.log.filter);
    let run = async {
        let shutdown = salesloft_jobs::CancellationToken::new();
        salesloft_runtime::listen_for_signals(shutdown.clone())?;
        let metrics = salesloft_runtime::ops::install_metrics_recorder()?;
        let app = App::build(settings, Roles::WORKER).await?;
        app.with_metrics(metrics)
            .on_queue(cli.queue)
            .run_until_stopped(shutdown)
            .await
    };
    salesloft_config::exit_code(run.await, "worker stopped")
}
