//! The body of `salesloft-worker`, so its binary and its process-test harness run the same
//! code: connect, migrate, spend through the shared budget, keep OAuth tokens in the
//! database, register the built-in jobs, schedule them, and run until shut down.
//!
//! ```no_run
//! # async fn demo(settings: salesloft_config::Settings) -> Result<(), salesloft_worker::WorkerError> {
//! let shutdown = salesloft_jobs::CancellationToken::new();
//! salesloft_worker::listen_for_signals(shutdown.clone())?;
//! salesloft_worker::run(&settings, "default".into(), shutdown, |registry, _ctx| registry).await
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

pub mod admin;
pub mod edge;
pub mod ops;

use salesloft_config::Settings;
use salesloft_jobs::{CancellationToken, Registry, Runner, RunnerConfig};
use salesloft_services::jobs::{BuiltinSettings, sync_registry, sync_schedules};
use salesloft_services::{Context, LookupConfig, Lookups};
use salesloft_storage::{SharedBudget, Store};

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The settings are invalid.
    #[error(transparent)]
    Config(#[from] salesloft_config::ConfigError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    /// The API client could not be built.
    #[error(transparent)]
    Client(#[from] salesloft_client::Error),
    /// The runner failed (on SQLite: another runner holds the file).
    #[error(transparent)]
    Jobs(#[from] salesloft_jobs::Error),
    /// The operations endpoints could not listen.
    #[error("listening on {addr}")]
    Listen {
        /// The address (`jobs.metrics_bind`).
        addr: std::net::SocketAddr,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
    /// The signal handlers could not be installed.
    #[error("installing the signal handlers: {0}")]
    Signals(std::io::Error),
    /// Operator routes would be served off loopback without a login.
    #[error(transparent)]
    Exposed(#[from] admin::Exposed),
}

/// What every listener of this process lets one client hold (`[server]`).
pub fn edge_limits(settings: &Settings) -> edge::EdgeLimits {
    let s = &settings.server;
    edge::EdgeLimits {
        header_timeout: Duration::from_secs(s.header_timeout_secs),
        body_timeout: Duration::from_secs(s.body_timeout_secs),
        request_timeout: Duration::from_secs(s.request_timeout_secs),
        max_connections: usize::try_from(s.max_connections).unwrap_or(usize::MAX),
        shutdown_grace: Duration::from_secs(s.shutdown_grace_secs),
    }
}

/// The login operator routes ask for (`server.admin_token`).
pub fn admin_auth(settings: &Settings) -> admin::AdminAuth {
    admin::AdminAuth::new(settings.server.admin_token.clone())
}

/// Serve `/health`, `/ready` and `/metrics` on `addr` until `shutdown`.
async fn serve_ops(
    store: &Store,
    settings: &Settings,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, WorkerError> {
    let metrics = match ops::install_metrics_recorder() {
        Ok(handle) => Some(handle),
        Err(e) => {
            tracing::warn!(error = %e, "no metrics recorder: /metrics answers 404");
            None
        }
    };
    let auth = admin_auth(settings);
    admin::check_exposure(&auth, addr, "/metrics")?;
    let budget = SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?;
    let state = ops::OpsState::new(store.clone(), metrics).with_budget(budget);
    let app = ops::health_routes()
        .merge(ops::ready_routes(state.clone()))
        .merge(auth.protect(ops::metrics_routes(state)));
    let listener = edge::bind(addr).map_err(|source| WorkerError::Listen { addr, source })?;
    tracing::info!(%addr, login = auth.required(), "salesloft-worker serving /health, /ready and /metrics");
    Ok(tokio::spawn(edge::serve(
        listener,
        app,
        edge_limits(settings),
        shutdown,
    )))
}

/// Run every queued job of `queue` and the built-in schedules until `shutdown` is cancelled
/// and the running jobs have stopped (or the grace ran out). `customize` may add or wrap job
/// kinds on top of the built-in ones.
pub async fn run(
    settings: &Settings,
    queue: String,
    shutdown: CancellationToken,
    customize: impl FnOnce(Registry, &Context) -> Registry,
) -> Result<(), WorkerError> {
    use secrecy::ExposeSecret;
    let store = Store::connect_with(
        settings.database.url.expose_secret(),
        settings.store_options(),
    )
    .await?;
    store.migrate().await?;
    let ops = match settings.jobs.metrics_bind {
        Some(addr) => Some(serve_ops(&store, settings, addr, shutdown.clone()).await?),
        None => None,
    };
    let result = run_on(&store, settings, queue, shutdown.clone(), customize).await;
    if let Some(ops) = ops {
        shutdown.cancel();
        let _ = ops.await;
    }
    store.close().await;
    result
}

/// [`run`] on a store the caller opened and migrated (and closes): a server running the
/// worker in its process shares its store, so an enqueued job wakes the runner at once.
pub async fn run_on(
    store: &Store,
    settings: &Settings,
    queue: String,
    shutdown: CancellationToken,
    customize: impl FnOnce(Registry, &Context) -> Registry,
) -> Result<(), WorkerError> {
    let budget = SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?;
    let client = settings
        .client_builder(Some(store))?
        .limiter(Arc::new(budget))
        .build()?;
    // Jobs held for credentials SalesLoft rejected are this process's to run if its
    // credentials are others (a new key in the configuration).
    let released = store.take_over_holds(client.credential_id()).await?;
    if released > 0 {
        tracing::info!(
            jobs = released,
            "the credentials changed: jobs held for the old ones run now"
        );
    }
    let ctx = Context::new(client, store.clone()).with_team(settings.team());
    // One cache of users, cadences and people for every job of this process; webhooks
    // applied here invalidate it.
    let lookups = Lookups::new(ctx.clone(), LookupConfig::default());
    let registry = customize(
        sync_registry(
            ctx.clone(),
            BuiltinSettings::new(
                settings.sync_options(false),
                settings.reconcile_options(false),
                settings.engagement(),
                settings.people_policies(),
            )
            .with_lookups(lookups.clone()),
        ),
        &ctx,
    );
    let registry = salesloft_webhooks::jobs::register(
        registry,
        &ctx,
        Some(lookups.clone()),
        settings.inbox_retention(),
    );
    let mut config = RunnerConfig::default();
    config.queue = queue;
    config.concurrency = usize::try_from(settings.jobs.concurrency).unwrap_or(1);
    config.shutdown_grace = Duration::from_secs(settings.jobs.shutdown_grace_secs);
    let runner = Runner::new(store.clone(), registry, config)?.with_schedules(
        sync_schedules(settings.sync_every())?
            .into_iter()
            .chain(salesloft_webhooks::jobs::schedules()?)
            .collect(),
    );
    tracing::info!(
        database = %settings.database.display_url(),
        sync_every_secs = settings.jobs.sync_every_secs,
        "salesloft-worker starting"
    );
    Ok(runner.run(shutdown).await?)
}

/// Cancel `shutdown` on the first SIGTERM or SIGINT. It cancels first and logs after, so a
/// log that cannot be written never keeps the process from stopping.
pub fn listen_for_signals(shutdown: CancellationToken) -> Result<(), WorkerError> {
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
            shutdown.cancel();
            tracing::info!(
                signal = name,
                "stopping: no new work; what runs gets its grace"
            );
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
