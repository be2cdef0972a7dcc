//! Embedding the toolkit in a service of your own: an existing axum app with its own state
//! gets SalesLoft's webhook route nested under `/salesloft` and the operator routes under
//! `/ops`, and the job worker runs in the same tokio runtime, on one store.
//!
//! Offline, against the sandbox and a SQLite file in a temporary directory:
//! `cargo run -p salesloft-runtime --example embed` serves, waits for the worker's first sync
//! of people, checks its own routes, and stops; `-- --serve` keeps serving until Ctrl-C.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks to its user

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use salesloft_runtime::{App, Roles, Settings};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};
use tokio_util::sync::CancellationToken;

/// The embedding service's own state.
#[derive(Clone, Default)]
struct MyState {
    hellos: Arc<AtomicU64>,
}

async fn hello(State(state): State<MyState>) -> String {
    let n = state.hellos.fetch_add(1, Ordering::Relaxed) + 1;
    format!("hello #{n} from my service\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let serve_forever = std::env::args().any(|a| a == "--serve");
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(200),
        ..SandboxConfig::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("salesloft-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // Settings in code: the defaults, pointed at the sandbox and a file of our own.
    let mut settings = Settings::defaults()?;
    settings.api.key = Some(sandbox.api_key().to_owned().into());
    settings.api.base_url = sandbox.url();
    settings.database.url = format!("sqlite://{}", dir.join("copy.db").display()).into();
    settings.validate()?;

    // The worker role; the routes come from the same app, over the same store.
    let shutdown = CancellationToken::new();
    let app = App::build(settings, Roles::WORKER).await?;
    let store = app.store().clone();
    let routes = app.routes(&shutdown).await?;
    let mine = Router::new()
        .route("/hello", get(hello))
        .with_state(MyState::default());
    let service = mine
        .nest("/salesloft", routes.public)
        .nest("/ops", routes.operator);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("my service on http://{addr}/hello");
    println!("  SalesLoft webhooks to http://{addr}/salesloft/webhooks/salesloft");
    println!("  status page on http://{addr}/ops/ (loopback, no login needed)");
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    let worker = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    if serve_forever {
        salesloft_runtime::listen_for_signals(shutdown.clone())?;
    } else {
        // The worker syncs at start: wait for the first people sync, then check the routes.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let people = store.sync_state("people").await?;
            if people.last_success_at_ms.is_some() {
                println!("the worker synced {} people", people.records_total);
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err("no people sync within 120 s".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for path in ["/hello", "/salesloft/health", "/ops/ready"] {
            let status = get_status(addr, path).await?;
            println!("GET {path}: {status}");
            if status != 200 {
                return Err(format!("GET {path} answered {status}").into());
            }
        }
        shutdown.cancel();
    }
    worker.await??;
    server.await??;
    sandbox.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    println!("stopped");
    Ok(())
}

/// The status of a plain HTTP/1.1 GET (no client library needed for a probe).
async fn get_status(
    addr: std::net::SocketAddr,
    path: &str,
) -> Result<u16, Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    let status = std::str::from_utf8(&head[9..12])?.parse()?;
    Ok(status)
}
