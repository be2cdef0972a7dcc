//! The operations endpoints every process of the integration serves: `GET /health` (the
//! process is up), `GET /ready` (the database answers and is migrated) and `GET /metrics`
//! (Prometheus text, with gauges from the process's latest [`crate::status::StatusSnapshot`]:
//! jobs, webhooks, the inbox's size, records, sync lag, credential holds; and the team
//! budget). The probes need no login;
//! `/metrics` is an operator route (behind [`crate::admin::AdminAuth`]). `salesloft-server`
//! serves them beside its own routes; `salesloft-worker` serves them on `jobs.metrics_bind`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

use crate::status::{StatusSnapshot, StatusWatch};
use salesloft_storage::{SharedBudget, Store};

/// What the operations endpoints read.
#[derive(Debug, Clone)]
pub struct OpsState {
    store: Store,
    metrics: Option<PrometheusHandle>,
    budget: Option<SharedBudget>,
    status: Option<StatusWatch>,
}

impl OpsState {
    /// Endpoints over `store`; `/metrics` renders `metrics` (the process's installed
    /// recorder), or answers 404 without one.
    pub fn new(store: Store, metrics: Option<PrometheusHandle>) -> Self {
        Self {
            store,
            metrics,
            budget: None,
            status: None,
        }
    }

    /// Export the gauges from `status`'s latest snapshot (without one, each scrape gathers
    /// its own from the database).
    pub fn with_status(mut self, status: StatusWatch) -> Self {
        self.status = Some(status);
        self
    }

    /// Also report the team budget's remaining cost on `/metrics`.
    pub fn with_budget(mut self, budget: SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }
}

/// `/health`: the process is up. Safe on a public port.
pub fn health_routes() -> Router {
    Router::new().route("/health", get(health))
}

/// `/ready`: the database answers and is migrated. Says nothing else, so it needs no login.
pub fn ready_routes(state: OpsState) -> Router {
    Router::new().route("/ready", get(ready)).with_state(state)
}

/// `/metrics`: an operator route, to put behind the login.
pub fn metrics_routes(state: OpsState) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Install the process's Prometheus recorder (latency buckets from 0.5 ms to 5 s) and give
/// back its handle for `/metrics`.
pub fn install_metrics_recorder() -> crate::Result<PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])
        .map_err(crate::Error::Metrics)?
        .install_recorder()
        .map_err(crate::Error::Metrics)
}

/// Every other team's gauges (labelled with its slug), from snapshots gathered now: the
/// process's watch follows its own team only.
async fn export_other_teams(store: &Store) {
    let teams = match store.teams().await {
        Ok(teams) => teams,
        Err(e) => {
            tracing::warn!(error = %e, "reading the teams for /metrics failed");
            return;
        }
    };
    for team in teams.iter().filter(|t| t.id != store.team_id()) {
        match StatusSnapshot::gather(&store.team(team.id)).await {
            Ok(snapshot) => snapshot.export_gauges(store.now_ms()),
            Err(e) => {
                tracing::warn!(team = %team.slug, error = %e, "reading a team's status failed")
            }
        }
    }
}

async fn health() -> &'static str {
    "ok\n"
}

async fn ready(State(state): State<OpsState>) -> Response {
    match state.store.pending_migrations().await {
        Ok(0) => (StatusCode::OK, "ready\n").into_response(),
        Ok(n) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{n} migrations not applied: run `salesloft migrate`\n"),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

async fn render_metrics(State(state): State<OpsState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are off\n").into_response();
    };
    let snapshot = match &state.status {
        Some(watch) => watch.snapshot().await,
        None => StatusSnapshot::gather(&state.store).await.map(Arc::new),
    };
    match snapshot {
        Ok(snapshot) => snapshot.export_gauges(state.store.now_ms()),
        Err(e) => tracing::warn!(error = %e, "reading the status snapshot failed"),
    }
    export_other_teams(&state.store).await;
    if let Some(budget) = &state.budget {
        match budget.available().await {
            Ok(available) => metrics::gauge!("salesloft_budget_available").set(available),
            Err(e) => tracing::warn!(error = %e, "reading the team budget failed"),
        }
    }
    handle.run_upkeep();
    (
        [("content-type", "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
