//! The body of `salesloft-server`: [`router`] serves `POST /webhooks/salesloft` (verified,
//! stored durably with its processing job, then answered), `GET /` (the status page: streams,
//! the team budget, jobs, webhooks and engagement, from the database), `GET /health` (the
//! process is up), `GET /ready` (the database answers and is migrated) and `GET /metrics`
//! (Prometheus text). Tests run it in process; the binary adds configuration, logging, signals and, with
//! `--with-worker`, the job runner.
//!
//! ```no_run
//! # async fn demo(store: salesloft_storage::Store, inbox: salesloft_webhooks::Inbox) -> std::io::Result<()> {
//! let app = salesloft_server::router(salesloft_server::AppState::new(store, inbox, None));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

use std::time::Instant;

mod status_page;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_storage::Store;
use salesloft_webhooks::{Inbox, Receipt, Refusal};
use salesloft_worker::ops::{OpsState, ops_router};

/// The path SalesLoft delivers webhooks to.
pub const WEBHOOK_PATH: &str = "/webhooks/salesloft";

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
    inbox: Inbox,
    metrics: Option<PrometheusHandle>,
    budget: Option<salesloft_storage::SharedBudget>,
}

impl AppState {
    /// Handlers over `store`, storing deliveries through `inbox`; `/metrics` renders
    /// `metrics` (the process's installed Prometheus recorder), or answers 404 without one.
    pub fn new(store: Store, inbox: Inbox, metrics: Option<PrometheusHandle>) -> Self {
        Self {
            store,
            inbox,
            metrics,
            budget: None,
        }
    }

    /// Also report the team budget's remaining cost on `/metrics`.
    pub fn with_budget(mut self, budget: salesloft_storage::SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The state of the operations endpoints.
    fn ops(&self) -> OpsState {
        let ops = OpsState::new(self.store.clone(), self.metrics.clone());
        match &self.budget {
            Some(b) => ops.with_budget(b.clone()),
            None => ops,
        }
    }
}

pub use salesloft_worker::ops::install_metrics_recorder;

/// The server's routes, with a span per request.
pub fn router(state: AppState) -> Router {
    // One byte over the inbox's limit reaches the inbox, which answers 413 itself; anything
    // larger is refused by axum before it is read whole.
    let limit = state.inbox.max_body_bytes();
    Router::new()
        .route(
            WEBHOOK_PATH,
            post(receive_webhook).layer(DefaultBodyLimit::max(limit.saturating_add(1))),
        )
        .route("/", get(status_page::status_page))
        .with_state(state.clone())
        .merge(ops_router(state.ops()))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

async fn receive_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let event_type = headers.get("x-salesloft-event").map(|v| v.as_bytes());
    let signature = headers.get("x-salesloft-signature").map(|v| v.as_bytes());
    let label = salesloft_worker::ops::event_type_label(event_type);
    let result = state.inbox.receive(event_type, signature, body).await;
    let (status, outcome, text) = match &result {
        Ok(Receipt::Stored(_)) => (StatusCode::OK, "stored", "stored\n".to_owned()),
        Ok(Receipt::Duplicate) => (StatusCode::OK, "duplicate", "duplicate\n".to_owned()),
        Err(refusal) => {
            let outcome = match refusal {
                Refusal::TooLarge { .. } => "too_large",
                Refusal::Signature(_) => "bad_signature",
                Refusal::NoEventType => "no_event_type",
                Refusal::Unavailable(_) => "unavailable",
                _ => "refused",
            };
            let status =
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if matches!(refusal, Refusal::Unavailable(_)) {
                tracing::warn!(error = %refusal, "webhook not stored; SalesLoft will retry");
            } else {
                tracing::info!(reason = %refusal, "webhook refused");
            }
            // The refusal names what is wrong, never a token or the body.
            (status, outcome, format!("{refusal}\n"))
        }
    };
    metrics::counter!("salesloft_webhook_received_total", "event_type" => label, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("salesloft_webhook_store_seconds").record(started.elapsed().as_secs_f64());
    (status, text).into_response()
}

/// The tokens deliveries may be signed with: `configured` (`webhooks.callback_tokens`) and
/// those of the subscriptions the database keeps (`salesloft webhooks subscribe`).
pub async fn current_verifier(
    store: &Store,
    configured: &[secrecy::SecretString],
) -> Result<salesloft_webhooks::Verifier, salesloft_storage::Error> {
    let kept = store.callback_tokens().await?;
    Ok(salesloft_webhooks::Verifier::new(
        configured.iter().chain(kept.iter()),
    ))
}

/// Reload the inbox's tokens from the database every `every` until `stop`, so a subscription
/// created by another process is verified within that time.
pub fn refresh_tokens(
    store: Store,
    inbox: Inbox,
    configured: Vec<secrecy::SecretString>,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            match current_verifier(&store, &configured).await {
                Ok(verifier) => inbox.set_verifier(verifier),
                Err(e) => {
                    tracing::warn!(error = %e, "reloading webhook tokens failed; keeping the current ones")
                }
            }
        }
    })
}

/// Why [`serve`] stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    /// Accepting connections failed.
    #[error("serving: {0}")]
    Serve(std::io::Error),
    /// The job runner of `--with-worker` stopped with an error.
    #[error("the worker stopped")]
    Worker(#[source] salesloft_worker::WorkerError),
}

/// Serve on `listener` over a migrated `store` until `shutdown`: the routes of [`router`],
/// webhook tokens reloaded every 10 s, and with `with_worker` the job runner in this process
/// too (a runner that fails stops the server: the process is one unit).
pub async fn serve(
    settings: &salesloft_config::Settings,
    store: Store,
    metrics: Option<PrometheusHandle>,
    listener: tokio::net::TcpListener,
    with_worker: bool,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<(), ServeError> {
    let configured = settings.webhooks.callback_tokens.clone();
    let verifier = current_verifier(&store, &configured).await?;
    if verifier.token_count() == 0 {
        tracing::warn!(
            "no webhook callback token yet (webhooks.callback_tokens, or `salesloft webhooks subscribe`): deliveries get 401 until one exists"
        );
    }
    let inbox = Inbox::new(
        store.clone(),
        verifier,
        salesloft_webhooks::InboxConfig::default(),
    );
    let refreshing = refresh_tokens(
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
    let app = router(AppState::new(store.clone(), inbox, metrics).with_budget(budget));
    if let Ok(local) = listener.local_addr() {
        tracing::info!(
            addr = %local,
            with_worker,
            database = %settings.database.display_url(),
            "salesloft-server listening"
        );
    }
    let stop = shutdown.clone();
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
            .map_err(ServeError::Serve)
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
            shutdown.cancel();
            worked
        });
        served.and(worked.map_err(ServeError::Worker))
    } else {
        server.await
    };
    refreshing.abort();
    result
}
