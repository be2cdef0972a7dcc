//! The operations endpoints every process of the integration serves: `GET /health` (the
//! process is up), `GET /ready` (the database answers and is migrated) and `GET /metrics`
//! (Prometheus text, with gauges sampled from the database at each scrape: jobs, webhooks,
//! the inbox's size, records, sync lag, the team budget). The probes need no login;
//! `/metrics` is an operator route (behind [`crate::admin::AdminAuth`]). `salesloft-server`
//! serves them beside its own routes; `salesloft-worker` serves them on `jobs.metrics_bind`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_services::Stream;
use salesloft_storage::{SharedBudget, Store};
use salesloft_webhooks::EventType;

/// What the operations endpoints read.
#[derive(Debug, Clone)]
pub struct OpsState {
    store: Store,
    metrics: Option<PrometheusHandle>,
    budget: Option<SharedBudget>,
}

impl OpsState {
    /// Endpoints over `store`; `/metrics` renders `metrics` (the process's installed
    /// recorder), or answers 404 without one.
    pub fn new(store: Store, metrics: Option<PrometheusHandle>) -> Self {
        Self {
            store,
            metrics,
            budget: None,
        }
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

/// The label of a delivery's type: documented types by name, anything else as `other` (a
/// sender cannot grow a metric without bound).
pub fn event_type_label(event_type: Option<&[u8]>) -> &'static str {
    event_type
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(EventType::parse)
        .map_or("other", EventType::as_str)
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
    if let Err(e) = sample_database(&state.store).await {
        tracing::warn!(error = %e, "sampling metrics from the database failed");
    }
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

/// Gauges read from the database at each scrape: they are the truth every process shares.
async fn sample_database(store: &Store) -> Result<(), salesloft_storage::Error> {
    for (kind, state, n) in store.job_counts_by_kind().await? {
        metrics::gauge!("salesloft_jobs", "kind" => kind, "state" => state).set(n as f64);
    }
    let holds = store.credential_holds().await?;
    metrics::gauge!("salesloft_credentials_rejected").set(holds.len() as f64);
    metrics::gauge!("salesloft_credentials_rejected_since_seconds").set(
        holds
            .iter()
            .map(|h| h.since_ms as f64 / 1_000.0)
            .fold(0.0, |a: f64, b| if a == 0.0 { b } else { a.min(b) }),
    );
    let (rows, bytes) = store.webhook_inbox_size().await?;
    metrics::gauge!("salesloft_webhook_inbox_rows").set(rows as f64);
    metrics::gauge!("salesloft_webhook_inbox_bytes").set(bytes as f64);
    for (event_type, status, n) in store.webhook_counts().await? {
        let label = event_type_label(Some(event_type.as_bytes()));
        metrics::gauge!("salesloft_webhook_events", "event_type" => label, "status" => status)
            .set(n as f64);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    for state in store.sync_states().await? {
        if let Some(at) = state.last_success_at_ms {
            let lag = (now_ms.saturating_sub(at)).max(0) as f64 / 1_000.0;
            metrics::gauge!("salesloft_sync_lag_seconds", "stream" => state.stream.clone())
                .set(lag);
        }
    }
    for stream in Stream::all() {
        if let Ok(n) = stream.count_live(store).await {
            metrics::gauge!("salesloft_records", "stream" => stream.name()).set(n as f64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_share_one_label() {
        assert_eq!(event_type_label(Some(b"person_updated")), "person_updated");
        assert_eq!(event_type_label(Some(b"made_up_123")), "other");
        assert_eq!(event_type_label(Some(&[0xff])), "other");
        assert_eq!(event_type_label(None), "other");
    }
}
