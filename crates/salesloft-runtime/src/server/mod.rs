//! The web process: two sets of routes, each served through the bounded HTTP edge
//! ([`crate::edge`]: header, body and request timeouts, a connection cap that a flood of slow
//! sockets cannot fill, a shutdown deadline):
//!
//! - [`router`], the public routes: `POST /webhooks/salesloft` (verified, stored durably with
//!   its processing job, then answered) and `GET /health`;
//! - [`operator_router`], the operator routes: `GET /` (the status page: streams, the team
//!   budget, jobs, webhooks and engagement, with reps' names; with several teams, every team
//!   at a glance) and `GET /teams/{slug}` (one team's page), `/connect` (connect a team with
//!   OAuth, its callback acting only on the signed state the browser holds), `GET /metrics`
//!   (Prometheus text) behind the admin login, and `GET /ready` (the database answers and is
//!   migrated).
//!
//! [`crate::App`] with the api role runs them on `server.bind` and `server.ops_bind` (or
//! together on `server.bind`), and refuses operator routes off loopback without
//! `server.admin_token`.
//!
//! ```no_run
//! # async fn demo(store: salesloft_storage::Store, inbox: salesloft_webhooks::Inbox) {
//! use salesloft_runtime::{edge, server};
//! let app = server::router(server::AppState::new(store, inbox, None));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.expect("a port");
//! let stop = salesloft_jobs::CancellationToken::new();
//! edge::serve(listener, app, edge::EdgeLimits::default(), stop).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod connect;
mod status_page;
mod team_inboxes;

pub use team_inboxes::TeamInboxes;

use crate::admin::{AdminAuth, check_exposure};
use crate::edge::{self, Throttle};
use crate::error::{Error, Result};
use crate::ops::{self, OpsState};
use crate::status::{STATUS_EVERY, StatusSnapshot, StatusWatch};
use axum::Router;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_storage::Store;
use salesloft_webhooks::{Inbox, Receipt, Refusal};

/// The path SalesLoft delivers webhooks to (a deployment's default team; another team's
/// are below it: `/webhooks/salesloft/{slug}`).
pub const WEBHOOK_PATH: &str = "/webhooks/salesloft";

pub use crate::teams::team_webhook_url;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
    inbox: Inbox,
    teams: Option<TeamInboxes>,
    metrics: Option<PrometheusHandle>,
    budget: Option<salesloft_storage::SharedBudget>,
    status: Option<StatusWatch>,
    refusals: Arc<RefusalSummary>,
    settings: Option<Arc<crate::Settings>>,
}

impl AppState {
    /// Handlers over `store`, storing deliveries through `inbox`; `/metrics` renders
    /// `metrics` (the process's installed Prometheus recorder), or answers 404 without one.
    pub fn new(store: Store, inbox: Inbox, metrics: Option<PrometheusHandle>) -> Self {
        Self {
            store,
            inbox,
            teams: None,
            metrics,
            budget: None,
            status: None,
            refusals: Arc::default(),
            settings: None,
        }
    }

    /// Also take each team's deliveries on `POST /webhooks/salesloft/{slug}`, into that
    /// team's inbox.
    pub fn with_teams(mut self, teams: TeamInboxes) -> Self {
        self.teams = Some(teams);
        self
    }

    /// Name each team's budget on its status page with `settings` (without them, a team's
    /// page shows no budget).
    pub fn with_settings(mut self, settings: Arc<crate::Settings>) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Also report the team budget's remaining cost on `/metrics`.
    pub fn with_budget(mut self, budget: salesloft_storage::SharedBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Read the status page and `/metrics` from `status`'s latest snapshot (without one,
    /// each view gathers its own).
    pub fn with_status(mut self, status: StatusWatch) -> Self {
        self.status = Some(status);
        self
    }

    /// The state of the operations endpoints.
    fn ops(&self) -> OpsState {
        let mut ops = OpsState::new(self.store.clone(), self.metrics.clone());
        if let Some(b) = &self.budget {
            ops = ops.with_budget(b.clone());
        }
        if let Some(s) = &self.status {
            ops = ops.with_status(s.clone());
        }
        ops
    }

    /// The latest status snapshot.
    async fn snapshot(&self) -> Result<Arc<StatusSnapshot>, salesloft_services::Error> {
        match &self.status {
            Some(watch) => watch.snapshot().await,
            None => StatusSnapshot::gather(&self.store).await.map(Arc::new),
        }
    }
}

/// The public routes: `POST /webhooks/salesloft` (the default team), `POST
/// /webhooks/salesloft/{slug}` (each team, with [`AppState::with_teams`]) and `GET /health`.
/// Nothing here shows data.
pub fn router(state: AppState) -> Router {
    // One byte over the inbox's limit reaches the inbox, which answers 413 itself; anything
    // larger is refused by axum before it is read whole.
    let limit = DefaultBodyLimit::max(state.inbox.max_body_bytes().saturating_add(1));
    Router::new()
        .route(WEBHOOK_PATH, post(receive_webhook).layer(limit))
        .route(
            &format!("{WEBHOOK_PATH}/{{slug}}"),
            post(receive_team_webhook).layer(limit),
        )
        .with_state(state)
        .merge(ops::health_routes())
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The operator routes: the status page (`/`) and `/metrics` behind `auth`'s login (with its
/// `/login` and `/logout`), and `/ready`.
pub fn operator_router(state: AppState, auth: &AdminAuth) -> Router {
    let protected = Router::new()
        .route("/", get(status_page::status_page))
        .route("/teams/{slug}", get(status_page::team_page))
        .route("/connect", get(connect::connect_page))
        .route("/connect/start", post(connect::start))
        .with_state(state.clone())
        .merge(ops::metrics_routes(state.ops()));
    // The callback comes back from SalesLoft's site, without the login's Strict cookie: it
    // acts only on a state this deployment signed and this browser holds.
    let callback = Router::new()
        .route("/connect/callback", get(connect::callback))
        .with_state(state.clone());
    auth.protect(protected)
        .merge(callback)
        .merge(ops::ready_routes(state.ops()))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Refused deliveries, summed between two log lines: anyone can send them, so they are
/// counted in `/metrics` and logged at most once a minute.
#[derive(Debug, Default)]
struct RefusalSummary {
    counts: Mutex<BTreeMap<&'static str, u64>>,
    throttle: Throttle,
}

impl RefusalSummary {
    fn note(&self, outcome: &'static str) {
        let summary = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            *counts.entry(outcome).or_default() += 1;
            if !self.throttle.ready() {
                return;
            }
            std::mem::take(&mut *counts)
        };
        let text: Vec<String> = summary.iter().map(|(k, n)| format!("{k}={n}")).collect();
        tracing::info!(
            refused = %text.join(" "),
            "webhook deliveries refused since the last such line (one a minute at most)"
        );
    }
}

async fn receive_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let inbox = state.inbox.clone();
    deliver(&state, &inbox, headers, body).await
}

/// A team's delivery: into its inbox, verified with its tokens only; 404 for a slug no team
/// has (nothing read, nothing stored).
async fn receive_team_webhook(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match state.teams.as_ref().and_then(|teams| teams.get(&slug)) {
        Some(inbox) => deliver(&state, &inbox, headers, body).await,
        None => {
            state.refusals.note("unknown_team");
            metrics::counter!("salesloft_webhook_received_total", "event_type" => "unknown", "outcome" => "unknown_team")
                .increment(1);
            (StatusCode::NOT_FOUND, "no such team\n").into_response()
        }
    }
}

async fn deliver(
    state: &AppState,
    inbox: &Inbox,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let event_type = headers.get("x-salesloft-event").map(|v| v.as_bytes());
    let signature = headers.get("x-salesloft-signature").map(|v| v.as_bytes());
    let label = crate::status::event_type_label(event_type);
    let (status, outcome, text) = match body {
        Err(rejection) => {
            let status = edge::body_error_status(&rejection, rejection.status());
            let outcome = match status {
                StatusCode::REQUEST_TIMEOUT => "timeout",
                StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                _ => "bad_body",
            };
            (
                status,
                outcome,
                format!("the body could not be read: {outcome}\n"),
            )
        }
        Ok(body) => match inbox.receive(event_type, signature, body).await {
            Ok(Receipt::Stored(_)) => (StatusCode::OK, "stored", "stored\n".to_owned()),
            Ok(Receipt::Duplicate) => (StatusCode::OK, "duplicate", "duplicate\n".to_owned()),
            Err(refusal) => answer_refusal(&refusal),
        },
    };
    if status != StatusCode::OK && outcome != "unavailable" {
        state.refusals.note(outcome);
    }
    metrics::counter!("salesloft_webhook_received_total", "event_type" => label, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("salesloft_webhook_store_seconds").record(started.elapsed().as_secs_f64());
    (status, text).into_response()
}

/// The status, metric outcome and text of a refused delivery. The text says what is wrong
/// with the request, never a token, the body, the server's configuration or its database.
fn answer_refusal(refusal: &Refusal) -> (StatusCode, &'static str, String) {
    let status =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (outcome, text) = match refusal {
        Refusal::TooLarge { .. } => ("too_large", refusal.to_string()),
        Refusal::Signature(_) => ("bad_signature", "the signature is missing or wrong".into()),
        Refusal::NoEventType => ("no_event_type", refusal.to_string()),
        Refusal::Unavailable(_) => {
            tracing::warn!(error = %refusal, "webhook not stored; SalesLoft will retry");
            (
                "unavailable",
                "the delivery cannot be stored now; retry".into(),
            )
        }
        _ => ("refused", "refused".into()),
    };
    (status, outcome, format!("{text}\n"))
}

/// Where [`serve`] listens: the public routes on `public`, the operator routes on `operator`
/// or, without one, on `public` too.
#[derive(Debug)]
pub(crate) struct Listeners {
    /// `server.bind`.
    pub(crate) public: tokio::net::TcpListener,
    /// `server.ops_bind`.
    pub(crate) operator: Option<tokio::net::TcpListener>,
}

impl Listeners {
    /// Listen on `server.bind` and `server.ops_bind`.
    pub(crate) async fn bind(settings: &crate::Settings) -> Result<Self> {
        let listen = |addr: std::net::SocketAddr| {
            edge::bind(addr).map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })
        };
        let public = listen(settings.server.bind)?;
        let operator = settings.server.ops_bind.map(listen).transpose()?;
        Ok(Self { public, operator })
    }

    /// Every route on one listener.
    pub(crate) fn shared(listener: tokio::net::TcpListener) -> Self {
        Self {
            public: listener,
            operator: None,
        }
    }
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<std::net::SocketAddr> {
    listener.local_addr().map_err(|source| Error::Listen {
        addr: "a bound socket".into(),
        source,
    })
}

/// Serve on `listeners` over a migrated `store` until `shutdown`: the routes of [`router`]
/// and [`operator_router`] through the bounded edge, webhook tokens reloaded every 10 s, and
/// with a `worker` (its queue and job kinds) the job runner in this process too (a runner that fails stops the
/// server: the process is one unit). Refuses operator routes on an address that is not
/// loopback unless `server.admin_token` is set. Once `shutdown` is cancelled, connections
/// get `server.shutdown_grace_secs` and are then closed.
pub(crate) async fn serve(
    settings: &crate::Settings,
    store: Store,
    metrics: Option<PrometheusHandle>,
    listeners: Listeners,
    worker: Option<(String, crate::worker::CustomizeJobs)>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<()> {
    let auth = crate::worker::admin_auth(settings);
    let public_addr = local_addr(&listeners.public)?;
    let operator_addr = match &listeners.operator {
        Some(l) => local_addr(l)?,
        None => public_addr,
    };
    check_exposure(
        &auth,
        operator_addr,
        "the status page, /connect and /metrics",
    )?;
    let routes = Routes::build(settings, &store, metrics, &shutdown).await?;
    tracing::info!(
        webhooks = %public_addr,
        operator = %operator_addr,
        login = auth.required(),
        with_worker = worker.is_some(),
        database = %settings.database.display_url(),
        "salesloft-server listening"
    );
    let server = serve_routes(
        listeners,
        routes.public,
        routes.operator,
        crate::worker::edge_limits(settings),
        shutdown.clone(),
    );
    if let Some((queue, customize)) = worker {
        let worker = crate::worker::run_on(&store, settings, queue, shutdown.clone(), customize);
        let ((), worked) = tokio::join!(server, async {
            let worked = worker.await;
            shutdown.cancel();
            worked
        });
        worked.map_err(|e| Error::Worker(Box::new(e)))
    } else {
        server.await;
        Ok(())
    }
}

/// The api role's routes over a migrated store, for [`crate::App`]'s api role or an
/// embedder's own server ([`crate::App::routes`]).
#[derive(Debug)]
pub struct Routes {
    /// `POST /webhooks/salesloft` and `/health` ([`router`]): the routes SalesLoft reaches.
    pub public: Router,
    /// The status page and `/metrics` behind the admin login, and `/ready`
    /// ([`operator_router`]): for the private network only.
    pub operator: Router,
}

impl Routes {
    /// The routes, with the webhook tokens reloaded from the database every 10 s until
    /// `shutdown`.
    pub(crate) async fn build(
        settings: &crate::Settings,
        store: &Store,
        metrics: Option<PrometheusHandle>,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Result<Self> {
        let auth = crate::worker::admin_auth(settings);
        let inbox = start_inbox(settings, store, shutdown).await?;
        let teams = TeamInboxes::start(
            store.clone(),
            settings.webhooks.callback_tokens.clone(),
            std::time::Duration::from_secs(10),
            shutdown.clone(),
        )
        .await?;
        let budget = crate::teams::store_team_budget(store, settings).await?;
        let status = StatusWatch::spawn(store.clone(), STATUS_EVERY, shutdown.clone());
        let state = AppState::new(store.clone(), inbox, metrics)
            .with_teams(teams)
            .with_settings(Arc::new(settings.clone()))
            .with_budget(budget)
            .with_status(status);
        Ok(Self {
            public: router(state.clone()),
            operator: operator_router(state, &auth),
        })
    }
}

/// The inbox verifying with the configured tokens and the database's, reloaded every 10 s
/// until `shutdown`.
async fn start_inbox(
    settings: &crate::Settings,
    store: &Store,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Result<Inbox> {
    let configured = settings.webhooks.callback_tokens.clone();
    let verifier = salesloft_webhooks::stored_verifier(store, &configured).await?;
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
    salesloft_webhooks::reload_tokens(
        inbox.clone(),
        store.clone(),
        configured,
        std::time::Duration::from_secs(10),
        shutdown.clone(),
    );
    Ok(inbox)
}

/// The public routes on their listener and the operator routes on theirs (with `/health`), or
/// both on the public one, through the edge until `stop` and the grace.
async fn serve_routes(
    listeners: Listeners,
    public: Router,
    operator: Router,
    limits: edge::EdgeLimits,
    stop: tokio_util::sync::CancellationToken,
) {
    match listeners.operator {
        Some(ops_listener) => {
            let operator = operator.merge(ops::health_routes());
            tokio::join!(
                edge::serve(listeners.public, public, limits.clone(), stop.clone()),
                edge::serve(ops_listener, operator, limits, stop),
            );
        }
        None => edge::serve(listeners.public, public.merge(operator), limits, stop).await,
    }
}
