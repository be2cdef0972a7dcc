//! The HTTP side of the sandbox: one axum router for the control API (nested under
//! `/__sandbox`), the OAuth endpoints and the REST API under `/v2/`.

mod api;
mod control;
mod oauth;
mod respond;
mod state;
mod window;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::oneshot;

pub use state::{Counters, LoggedRequest};
pub(crate) use state::{Shared, lock, read};
pub use window::MinuteSpend;

use crate::auth;
use crate::error::SandboxError;
use respond::{BODY_LIMIT, json_response};

/// The teams one sandbox serves; the first answers what names no team.
pub(crate) struct Teams(Vec<Arc<Shared>>);

impl Teams {
    /// Serve `teams` (at least one).
    pub(crate) fn new(teams: Vec<Arc<Shared>>) -> Self {
        Self(teams)
    }

    fn first(&self) -> &Arc<Shared> {
        &self.0[0]
    }

    /// The team whose API key or access token `headers` carry (expired or not); else the
    /// first, which refuses it.
    fn by_credentials(&self, headers: &HeaderMap) -> &Arc<Shared> {
        let Some(token) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(auth::bearer)
        else {
            return self.first();
        };
        self.0
            .iter()
            .find(|t| lock(&t.auth).knows(token))
            .unwrap_or_else(|| self.first())
    }
}

/// Serve `teams` on `listener` until `shutdown` fires.
pub(crate) async fn serve(
    teams: Arc<Teams>,
    listener: tokio::net::TcpListener,
    shutdown: oneshot::Receiver<()>,
) -> Result<(), SandboxError> {
    let control = control::router().with_state(Arc::clone(teams.first()));
    let app = axum::Router::new()
        .nest("/__sandbox", control)
        .route("/oauth/token", post(token))
        .route("/oauth/authorize", get(authorize))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(teams);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.await;
        })
        .await?;
    Ok(())
}

/// `POST /oauth/token`.
async fn token(
    State(teams): State<Arc<Teams>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    oauth::token(&teams.0, &headers, query.as_deref(), &body)
}

/// `GET /oauth/authorize`.
async fn authorize(State(teams): State<Arc<Teams>>, RawQuery(query): RawQuery) -> Response<Body> {
    oauth::authorize(&teams.0, query.as_deref())
}

/// The REST API under `/v2/` (its paths come from the resource registry), else 404: the
/// team the credentials belong to answers.
async fn handle(State(teams): State<Arc<Teams>>, req: Request<Body>) -> Response<Body> {
    let shared = Arc::clone(teams.by_credentials(req.headers()));
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "Request body too large"}),
            );
        }
    };
    let path = parts.uri.path();
    if !path.starts_with("/v2/") {
        return json_response(StatusCode::NOT_FOUND, &json!({"error": "Not Found"}));
    }
    api::api(
        &shared,
        parts.method.clone(),
        path,
        parts.uri.query(),
        &parts.headers,
        &body,
    )
    .await
}

/// Where the server listens.
pub(crate) fn local_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
