//! The HTTP side of the sandbox: one handler that sends each request to the REST API, the OAuth
//! endpoints or the control API.

mod api;
mod control;
mod oauth;
mod respond;
mod state;
mod window;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, Response, StatusCode};
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
    let app = axum::Router::new().fallback(handle).with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.await;
        })
        .await?;
    Ok(())
}

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
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    if let Some(rest) = path.strip_prefix("/__sandbox") {
        return control::control(&shared, &parts.method, rest, query.as_deref(), &body);
    }
    if path == "/oauth/token" && parts.method == Method::POST {
        return oauth::token(&shared, &parts.headers, query.as_deref(), &body);
    }
    if path == "/oauth/authorize" && parts.method == Method::GET {
        return oauth::authorize(&shared, query.as_deref());
    }
    if path.starts_with("/v2/") {
        return api::api(
            &shared,
            parts.method,
            &path,
            query.as_deref(),
            &parts.headers,
            &body,
        )
        .await;
    }
    json_response(StatusCode::NOT_FOUND, &json!({"error": "Not Found"}))
}

/// Where the server listens.
pub(crate) fn local_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}
