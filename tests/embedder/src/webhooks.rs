//! Step 3: SalesLoft's webhooks, subscribed, verified and stored by the service's own axum
//! router; the worker (step 4) applies them.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use salesloft_jobs::CancellationToken;
use salesloft_webhooks::{Inbox, InboxConfig};

use crate::{Error, Service};

/// Where this service takes SalesLoft's deliveries.
pub const PATH: &str = "/hooks/salesloft";

/// Subscribe `public_url` (this service's address as SalesLoft reaches it) to every event
/// type, and the inbox verifying deliveries with the tokens kept, reloaded every 10 s until
/// `stop`.
pub async fn subscribe(
    service: &Service,
    public_url: &str,
    stop: CancellationToken,
) -> Result<Inbox, Error> {
    let (client, store) = (&service.client, &service.store);
    let url = format!("{}{PATH}", public_url.trim_end_matches('/'));
    salesloft_webhooks::subscribe_all(client, store, &url, &[]).await?;
    let verifier = salesloft_webhooks::stored_verifier(store, &[]).await?;
    let inbox = Inbox::new(store.clone(), verifier, InboxConfig::default());
    let every = Duration::from_secs(10);
    salesloft_webhooks::reload_tokens(inbox.clone(), store.clone(), Vec::new(), every, stop);
    Ok(inbox)
}

/// The service's router with the webhook route (merge it into the rest of the service).
pub fn router(inbox: Inbox) -> Router {
    Router::new().route(PATH, post(receive)).with_state(inbox)
}

/// Store a delivery with its processing job, then answer 200; a refusal gets its status.
async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.answer(&headers, body).await
}
