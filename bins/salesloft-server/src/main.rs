//! `salesloft-server`: the integration's web process. Serves `POST /webhooks/salesloft` and
//! `/health` on `server.bind` (`SALESLOFT_SERVER__BIND`, default `127.0.0.1:8080`), verifying
//! deliveries with `webhooks.callback_tokens` (`SALESLOFT_WEBHOOKS__CALLBACK_TOKENS`), and the
//! status page, `/metrics` and `/ready` on `server.ops_bind` (default `127.0.0.1:8081`; off
//! loopback only with `server.admin_token`). With `--with-worker` it also runs the job runner
//! (scheduled syncs, webhook processing), as the embedded SQLite default does; without it, it
//! only serves and enqueues, and `salesloft-worker` processes.
//! SIGTERM or SIGINT: stop accepting, finish what is in flight within
//! `server.shutdown_grace_secs` (then close what is left), exit 0.

#![allow(clippy::print_stderr)] // errors before logging is up go to stderr

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use salesloft_config::Settings;
use salesloft_jobs::CancellationToken;
use salesloft_storage::Store;

/// Serve SalesLoft webhooks, health, readiness and metrics.
#[derive(Debug, Parser)]
#[command(name = "salesloft-server", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run the job runner in this process too (syncs on schedule, webhook processing).
    #[arg(long)]
    with_worker: bool,
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
    if let Err(e) = salesloft_worker::listen_for_signals(shutdown.clone()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match serve(&settings, cli.with_worker, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %salesloft_config::error_chain(&e), "server stopped");
            ExitCode::FAILURE
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    #[error("installing the metrics recorder: {0}")]
    Metrics(String),
    #[error(transparent)]
    Serve(#[from] salesloft_server::ServeError),
}

async fn serve(
    settings: &Settings,
    with_worker: bool,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    use secrecy::ExposeSecret;
    let metrics = salesloft_server::install_metrics_recorder().map_err(StartError::Metrics)?;
    let store = Store::connect_with(
        settings.database.url.expose_secret(),
        settings.store_options(),
    )
    .await?;
    store.migrate().await?;
    let served = match salesloft_server::Listeners::bind(settings).await {
        Ok(listeners) => {
            salesloft_server::serve(
                settings,
                store.clone(),
                Some(metrics),
                listeners,
                with_worker,
                shutdown,
            )
            .await
        }
        Err(e) => Err(e),
    };
    store.close().await;
    Ok(served?)
}
