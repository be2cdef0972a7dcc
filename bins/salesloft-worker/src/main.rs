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

use clap::Parser;
use salesloft_jobs::CancellationToken;

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
    let shutdown = CancellationToken::new();
    let ran = match salesloft_worker::listen_for_signals(shutdown.clone()) {
        Ok(()) => salesloft_worker::run(&settings, cli.queue, shutdown, |r, _| r).await,
        Err(e) => Err(e),
    };
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %salesloft_config::error_chain(&e), "worker stopped");
            ExitCode::FAILURE
        }
    }
}
