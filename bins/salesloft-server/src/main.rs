//! `salesloft-server`: the integration's web process. Serves `POST /webhooks/salesloft`,
//! `/health`, `/ready` and `/metrics` on `server.bind` (`SALESLOFT_SERVER__BIND`, default
//! `127.0.0.1:8080`), verifying deliveries with `webhooks.callback_tokens`
//! (`SALESLOFT_WEBHOOKS__CALLBACK_TOKENS=tok1,tok2`). With `--with-worker` it also runs the
//! job runner (scheduled syncs, webhook processing), as the embedded SQLite default does;
//! without it, it only serves and enqueues, and `salesloft-worker` processes.
//! SIGTERM or SIGINT: stop accepting, finish what is in flight, exit 0.

#![allow(clippy::print_stderr)] // errors before logging is up go to stderr

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use salesloft_config::Settings;
use salesloft_jobs::CancellationToken;
use salesloft_storage::Store;
use salesloft_webhooks::{Inbox, InboxConfig};

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

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
enum ServerError {
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error("installing the metrics recorder: {0}")]
    Metrics(String),
    #[error("the worker stopped")]
    Worker(#[source] salesloft_worker::WorkerError),
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

async fn serve(
    settings: &Settings,
    with_worker: bool,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    use secrecy::ExposeSecret;
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])
        .map_err(|e| ServerError::Metrics(e.to_string()))?
        .install_recorder()
        .map_err(|e| ServerError::Metrics(e.to_string()))?;
    let store = Store::connect(settings.database.url.expose_secret()).await?;
    store.migrate().await?;
    let configured = settings.webhooks.callback_tokens.clone();
    let verifier = salesloft_server::current_verifier(&store, &configured).await?;
    if verifier.token_count() == 0 {
        tracing::warn!(
            "no webhook callback token yet (webhooks.callback_tokens, or `salesloft webhooks subscribe`): deliveries get 401 until one exists"
        );
    }
    let inbox = Inbox::new(store.clone(), verifier, InboxConfig::default());
    let refreshing = salesloft_server::refresh_tokens(
        store.clone(),
        inbox.clone(),
        configured,
        std::time::Duration::from_secs(10),
        shutdown.clone(),
    );
    let budget = salesloft_storage::SharedBudget::new(
        store.clone(),
        settings.budget_key(),
        settings.budget(),
    )
    .await?;
    let app = salesloft_server::router(
        salesloft_server::AppState::new(store.clone(), inbox, Some(metrics)).with_budget(budget),
    );
    let addr = settings.server.bind;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(
        addr = %local,
        with_worker,
        database = %settings.database.display_url(),
        "salesloft-server listening"
    );
    let stop = shutdown.clone();
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(ServerError::Serve)
    };
    let result = if with_worker {
        let worker = salesloft_worker::run_on(
            &store,
            settings,
            "default".into(),
            shutdown.clone(),
            |r, _| r,
        );
        let (served, worked) = tokio::join!(server, async {
            let worked = worker.await;
            // A worker that fails stops the server too: the process is one unit.
            shutdown.cancel();
            worked
        });
        served.and(worked.map_err(ServerError::Worker))
    } else {
        server.await
    };
    refreshing.abort();
    store.close().await;
    result
}
