//! Freshness: with the simulator changing a team of 1,000 people, how long from a change in
//! SalesLoft (the record's new `updated_at`) to the local row holding it (`synced_at_ms`),
//! through signed webhooks into the server's inbox and the worker's processing jobs, as
//! `salesloft-server --with-worker` runs them (one process, shared store).
//!
//! Run: `cargo bench -p salesloft-server --bench freshness`. BENCH_SECONDS (default 60) sets
//! how long the simulator runs, BENCH_EVENTS_PER_SECOND (default 40) its pace, BENCH_BACKENDS
//! (default `sqlite,postgres`) the engines.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use salesloft_storage::testing::{TestDb, fetch_texts};

fn env_or(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const TOKEN: &str = "freshness-bench-token";

async fn measure(backend: &str, seconds: f64, events_per_second: f64) {
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: Some(600),
        team: salesloft_sandbox::TeamSize {
            people: 1_000,
            accounts: 300,
            users: 5,
            emails: 1_000,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let db = match backend {
        "sqlite" => TestDb::sqlite().await.unwrap(),
        "postgres" => TestDb::postgres().await.unwrap(),
        other => panic!("unknown backend {other}"),
    };
    let settings = salesloft_config::load(
        None,
        [
            ("SALESLOFT_API_KEY", sandbox.api_key().to_owned()),
            ("SALESLOFT_BASE_URL", sandbox.url().to_string()),
            ("SALESLOFT_DATABASE_URL", db.url().to_owned()),
            ("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN.to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    )
    .unwrap();
    let verifier =
        salesloft_webhooks::stored_verifier(&db.store, &settings.webhooks.callback_tokens)
            .await
            .unwrap();
    let inbox = salesloft_webhooks::Inbox::new(
        db.store.clone(),
        verifier,
        salesloft_webhooks::InboxConfig::default(),
    );
    let app = salesloft_runtime::server::router(salesloft_runtime::server::AppState::new(
        db.store.clone(),
        inbox,
        None,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        salesloft_runtime::server::WEBHOOK_PATH
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let shutdown = salesloft_jobs::CancellationToken::new();
    let worker = {
        let (store, shutdown) = (db.store.clone(), shutdown.clone());
        let settings = settings;
        tokio::spawn(async move {
            salesloft_runtime::worker::run_on(
                &store,
                &settings,
                "default".into(),
                shutdown,
                std::sync::Arc::new(|r, _: &salesloft_services::Context| r),
            )
            .await
            .unwrap();
        })
    };
    // The first sync, then subscribe to every event type the toolkit applies.
    loop {
        let n = fetch_texts(&db.store, "SELECT CAST(COUNT(*) AS TEXT) FROM people")
            .await
            .unwrap();
        if n[0].as_deref() == Some("1000") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    for event in salesloft_webhooks::EventType::all() {
        if salesloft_webhooks::Action::of(event.as_str()) == salesloft_webhooks::Action::Skip {
            continue;
        }
        client
            .webhook_subscriptions()
            .create(&salesloft_client::WebhookSubscriptionInput {
                callback_url: url.clone(),
                callback_token: secrecy::SecretString::from(TOKEN.to_owned()),
                event_type: event.as_str().to_owned(),
            })
            .await
            .unwrap();
    }
    let started_ms = chrono::Utc::now().timestamp_millis();
    sandbox.start_simulator(salesloft_sandbox::SimulatorConfig {
        events_per_second,
        ..Default::default()
    });
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    sandbox.stop_simulator();
    // Let the last deliveries land.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rows = fetch_texts(
        &db.store,
        &format!(
            "SELECT CAST(synced_at_ms - sl_updated_at_us / 1000 AS TEXT) FROM people \
             WHERE sl_updated_at_us / 1000 >= {started_ms}"
        ),
    )
    .await
    .unwrap();
    let mut lags: Vec<i64> = rows
        .iter()
        .flatten()
        .filter_map(|t| t.parse().ok())
        .collect();
    lags.sort_unstable();
    let deliveries = sandbox.deliveries();
    let ok = deliveries.iter().filter(|d| d.status == Some(200)).count();
    shutdown.cancel();
    let _ = worker.await;
    if lags.is_empty() {
        println!("{backend:<9} no people changed");
        return;
    }
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    println!(
        "{backend:<9} {} people changed, change to local row: p50 {} ms, p90 {} ms, p99 {} ms, \
         max {} ms ({} deliveries, {ok} answered 200, {} 429s)",
        lags.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        lags[lags.len() - 1],
        deliveries.len(),
        sandbox.counters().rate_limited
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seconds = env_or("BENCH_SECONDS", 60.0);
    let pace = env_or("BENCH_EVENTS_PER_SECOND", 40.0);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "simulator: {pace} changes/s for {seconds} s over 1,000 people; reference: the 2 s target"
    );
    for backend in backends.split(',').map(str::trim) {
        rt.block_on(measure(backend, seconds, pace));
    }
}
