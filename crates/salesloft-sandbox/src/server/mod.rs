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

use crate::error::SandboxError;
use respond::{BODY_LIMIT, json_response};

/// Serve `shared` on `listener` until `shutdown` fires.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: oneshot::Receiver<()>,
) -> Result<(), SandboxError> {
    let app = axum::Router::new()
        .nest("/__sandbox", control::router())
        .route("/oauth/token", post(token))
        .route("/oauth/authorize", get(authorize))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.await;
        })
        .await?;
    Ok(())
}

/// `POST /oauth/token`.
async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    oauth::token(&shared, &headers, query.as_deref(), &body)
}

/// `GET /oauth/authorize`.
async fn authorize(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response<Body> {
    oauth::authorize(&shared, query.as_deref())
}

/// The REST API under `/v2/` (its paths come from the resource registry), else 404.
async fn handle(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
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
