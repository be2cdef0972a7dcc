//! The job worker: spend through the shared budget, keep OAuth tokens in the database,
//! register the built-in jobs, schedule them, and run until shut down; the body of
//! `salesloft-worker`, of `salesloft-server --with-worker` and of its process-test harness.
//!
//! A process runs it through [`crate::App`] with the worker role; [`run_on`] runs it on a
//! store of the caller's.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::status::{STATUS_EVERY, StatusWatch};
use crate::teams::TeamJobs;
use crate::{admin, edge, ops};
use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_jobs::{CancellationToken, Runner, RunnerConfig};
use salesloft_storage::{Store, TeamId};
use salesloft_webhooks::jobs::builtin_schedules;

pub(crate) use crate::teams::CustomizeJobs;

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
        .with_header(settings.server.admin_header.clone())
}

/// Serve `/health`, `/ready` and `/metrics` (rendered from `metrics`) on `addr` until
/// `shutdown`.
async fn serve_ops(
    store: &Store,
    settings: &Settings,
    metrics: Option<PrometheusHandle>,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let auth = admin_auth(settings);
    admin::check_exposure(&auth, addr, "/metrics")?;
    let budget = crate::teams::store_team_budget(store, settings).await?;
    let status = StatusWatch::spawn(store.clone(), STATUS_EVERY, shutdown.clone());
    let state = ops::OpsState::new(store.clone(), metrics)
        .with_budget(budget)
        .with_status(status);
    let app = ops::health_routes()
        .merge(ops::ready_routes(state.clone()))
        .merge(auth.protect(ops::metrics_routes(state)));
    let listener = edge::bind(addr).map_err(|source| Error::Listen {
        addr: addr.to_string(),
        source,
    })?;
    tracing::info!(%addr, login = auth.required(), "salesloft-worker serving /health, /ready and /metrics");
    Ok(tokio::spawn(edge::serve(
        listener,
        app,
        edge_limits(settings),
        shutdown,
    )))
}

/// A worker process's body: [`run_on`], with `/health`, `/ready` and `/metrics` (rendered
/// from `metrics`) on `jobs.metrics_bind` when set, until `shutdown` and the grace.
pub(crate) async fn run_with_ops(
    store: &Store,
    settings: &Settings,
    queue: String,
    shutdown: CancellationToken,
    metrics: Option<PrometheusHandle>,
    customize: CustomizeJobs,
) -> Result<()> {
    let ops = match settings.jobs.metrics_bind {
        Some(addr) => Some(serve_ops(store, settings, metrics, addr, shutdown.clone()).await?),
        None => None,
    };
    let result = run_on(store, settings, queue, shutdown.clone(), customize).await;
    if let Some(ops) = ops {
        shutdown.cancel();
        let _ = ops.await;
    }
    result
}

/// Run every queued job of `queue` of every active team, and the built-in schedules of each,
/// on a store the caller opened and migrated (and closes), until `shutdown` is cancelled and
/// the running jobs have stopped (or the grace ran out); `customize` may add or wrap job
/// kinds on top of the built-in ones, in each team's registry. Claims take each team's next
/// job in turn, at most `jobs.max_running_per_team` of one team at once over every process.
/// A server running the worker in its process shares its store, so an enqueued job wakes the
/// runner at once.
pub async fn run_on(
    store: &Store,
    settings: &Settings,
    queue: String,
    shutdown: CancellationToken,
    customize: CustomizeJobs,
) -> Result<()> {
    let teams = TeamJobs::new(store.clone(), Arc::new(settings.clone()), customize);
    // The default team's credentials are checked now, so configured credentials that do
    // not work fail at start, not at its first job. Without any, only connected teams run;
    // without those either, there is nothing to do, unless an OAuth app can connect some
    // (the runner takes up a team the moment it exists).
    if settings.has_credentials() {
        teams.get(TeamId::DEFAULT).await?;
    } else if store.teams().await?.len() < 2 {
        if settings.oauth_app().is_none() {
            return Err(Error::Missing {
                key: "api.key",
                hint: "set SALESLOFT_API_KEY (or an OAuth app), or connect a team with `salesloft teams add`",
            });
        }
        tracing::info!(
            "no team is connected yet: connect one on the server's /connect page (or with `salesloft teams add`); its jobs run as soon as it exists"
        );
    }
    let config = RunnerConfig::default()
        .with_queue(queue)
        .with_concurrency(usize::try_from(settings.jobs.concurrency).unwrap_or(1))
        .with_max_running_per_team(settings.jobs.max_running_per_team)
        .with_shutdown_grace(Duration::from_secs(settings.jobs.shutdown_grace_secs));
    let runner = Runner::for_teams(store.clone(), Arc::new(teams), config)?
        .with_schedules(builtin_schedules(settings.sync_every())?);
    tracing::info!(
        database = %settings.database.display_url(),
        sync_every_secs = settings.jobs.sync_every_secs,
        "salesloft-worker starting"
    );
    Ok(runner.run(shutdown).await?)
}
