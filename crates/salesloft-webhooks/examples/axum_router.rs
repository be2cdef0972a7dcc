//! SalesLoft's webhooks in your own axum service: subscribe every event type, take
//! deliveries on a route of your router (verified, stored with their job, then answered), and
//! apply them with the built-in jobs on the same store.
//!
//! `cargo run -p salesloft-webhooks --example axum_router` runs against an offline sandbox
//! (which delivers to what is subscribed through its API, as SalesLoft does) and a SQLite
//! file in a temporary directory.

#![allow(clippy::print_stdout)] // an example talks to its user

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use salesloft_client::{Auth, Client};
use salesloft_jobs::{CancellationToken, Runner, RunnerConfig};
use salesloft_sandbox::{Action, Sandbox, SandboxConfig, TeamSize};
use salesloft_services::Context;
use salesloft_services::jobs::BuiltinSettings;
use salesloft_storage::Store;
use salesloft_webhooks::jobs::{InboxRetention, builtin_registry};
use salesloft_webhooks::{Inbox, InboxConfig};

/// Store a delivery with its processing job, then answer 200; a refusal gets its status
/// (401 for a bad signature, 413 too large, 503 when the database is slow).
async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.answer(&headers, body).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(200),
        ..SandboxConfig::default()
    })
    .await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .build()?;
    let dir = std::env::temp_dir().join(format!("salesloft-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&format!("sqlite://{}", dir.join("copy.db").display())).await?;
    store.migrate().await?;

    // Your service's router, with SalesLoft's deliveries on a route of yours.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks/salesloft", listener.local_addr()?);
    let done = salesloft_webhooks::subscribe_all(&client, &store, &url, &[]).await?;
    println!("{url}: {} subscriptions made", done.created);
    let stop = CancellationToken::new();
    let verifier = salesloft_webhooks::stored_verifier(&store, &[]).await?;
    let inbox = Inbox::new(store.clone(), verifier, InboxConfig::default());
    let every = Duration::from_secs(10);
    salesloft_webhooks::reload_tokens(
        inbox.clone(),
        store.clone(),
        Vec::new(),
        every,
        stop.clone(),
    );
    let app = Router::new()
        .route("/hooks/salesloft", post(receive))
        .with_state(inbox)
        .route("/", get(|| async { "my service\n" }));
    let serving = tokio::spawn({
        let stop = stop.clone();
        async move {
            let shutdown = async move { stop.cancelled().await };
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    });

    // The built-in jobs apply what is stored (and pull each touched stream's sync forward).
    let ctx = Context::new(client, store.clone());
    let registry = builtin_registry(&ctx, BuiltinSettings::default(), InboxRetention::default());
    let runner = Runner::new(store.clone(), registry, RunnerConfig::default())?;
    let working = tokio::spawn({
        let stop = stop.clone();
        async move { runner.run(stop).await }
    });

    sandbox.mutate(Some(Action::EditPerson), 3)?;
    loop {
        let counts = store.webhook_counts().await?;
        let processed: i64 = counts
            .iter()
            .filter(|(_, status, _)| status == "processed")
            .map(|(_, _, n)| n)
            .sum();
        if processed >= 3 {
            println!("deliveries by type and status: {counts:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    working.await??;
    serving.await??;
    store.close().await;
    sandbox.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
