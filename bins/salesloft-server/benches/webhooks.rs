//! Webhook deliveries verified and durably stored (with their processing jobs) per second,
//! with 64 concurrent senders on loopback, through the bounded edge `salesloft-server` serves
//! them with, and their p50/p99 latency, beside a bare `200 OK` axum handler measured in the
//! same run with the same client.
//!
//! Run: `cargo bench -p salesloft-server --bench webhooks`. BENCH_DELIVERIES (default 20000)
//! sets the size, BENCH_SENDERS (default 64) the concurrency, BENCH_BACKENDS (default
//! `sqlite,postgres`) the engines; PostgreSQL runs on the server SALESLOFT_TEST_DATABASE_URL
//! names, else the local one.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use salesloft_storage::testing::TestDb;
use salesloft_webhooks::{Inbox, InboxConfig, Verifier, sign};
use secrecy::SecretString;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Person-shaped bodies, each distinct, with their signatures.
fn deliveries(n: usize, token: &SecretString) -> Vec<(bytes::Bytes, String)> {
    (0..n)
        .map(|i| {
            let body = serde_json::json!({
                "id": i + 1,
                "created_at": "2026-01-29T18:00:41.190175-05:00",
                "updated_at": format!("2026-01-29T18:20:{:02}.{:06}-05:00", i % 60, i % 1_000_000),
                "first_name": "Bench", "last_name": format!("Person {i}"),
                "email_address": format!("bench{i}@example.com"),
                "title": "VP Benchmarks", "city": "Atlanta", "state": "GA", "country": "US",
                "do_not_contact": false, "tags": ["bench"], "custom_fields": {},
                "owner": {"_href": "https://api.salesloft.com/v2/users/1", "id": 1},
                "account": {"_href": "https://api.salesloft.com/v2/accounts/1", "id": 1},
                "counts": {"emails_sent": 3, "emails_viewed": 1, "calls": 0},
            });
            let body = bytes::Bytes::from(serde_json::to_vec(&body).unwrap());
            let signature = sign(token, &body);
            (body, signature)
        })
        .collect()
}

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Send every delivery to `url` from `senders` tasks; throughput and latency.
async fn send_all(
    url: &str,
    deliveries: Arc<Vec<(bytes::Bytes, String)>>,
    senders: usize,
) -> Measured {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let (http, url, deliveries) = (http.clone(), url.to_owned(), deliveries.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = s;
            while i < deliveries.len() {
                let (body, signature) = &deliveries[i];
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header("x-salesloft-event", "person_updated")
                    .header("x-salesloft-signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
                latencies.push(sent.elapsed());
                i += senders;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Measured {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The reference: `app` on axum's own server.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `app` through the bounded edge, as `salesloft-server` serves it.
async fn serve_at_the_edge(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(salesloft_runtime::edge::serve(
        listener,
        app,
        salesloft_runtime::edge::EdgeLimits::default(),
        tokio_util::sync::CancellationToken::new(),
    ));
    format!("http://{addr}")
}

fn print(label: &str, m: &Measured, reference: &Measured) {
    println!(
        "{label:<28} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({:.2} of the bare handler)",
        m.per_second,
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3,
        m.per_second / reference.per_second
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n = env_or("BENCH_DELIVERIES", 20_000);
        let senders = env_or("BENCH_SENDERS", 64);
        let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
        let token = SecretString::from("bench-callback-token".to_owned());
        let deliveries = Arc::new(deliveries(n, &token));
        println!("{n} deliveries, {senders} concurrent senders, loopback, 2 cores");

        let bare = serve(axum::Router::new().route(
            "/webhooks/salesloft",
            post(|_: bytes::Bytes| async { "ok" }),
        ))
        .await;
        // Warm the connections, then measure.
        send_all(
            &format!("{bare}/webhooks/salesloft"),
            Arc::new(deliveries[..senders.min(n)].to_vec()),
            senders,
        )
        .await;
        let reference = send_all(
            &format!("{bare}/webhooks/salesloft"),
            deliveries.clone(),
            senders,
        )
        .await;
        print("bare 200 OK handler", &reference, &reference);

        for backend in backends.split(',').map(str::trim) {
            let db = match backend {
                "sqlite" => TestDb::sqlite().await.unwrap(),
                "postgres" => TestDb::postgres().await.unwrap(),
                other => panic!("unknown backend {other}"),
            };
            let inbox = Inbox::new(
                db.store.clone(),
                Verifier::new([&token]),
                InboxConfig::default(),
            );
            let url = serve_at_the_edge(salesloft_runtime::server::router(
                salesloft_runtime::server::AppState::new(db.store.clone(), inbox, None),
            ))
            .await;
            let m = send_all(
                &format!("{url}{}", salesloft_runtime::server::WEBHOOK_PATH),
                deliveries.clone(),
                senders,
            )
            .await;
            let stored = salesloft_storage::testing::fetch_texts(
                &db.store,
                "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events",
            )
            .await
            .unwrap();
            assert_eq!(
                stored[0].as_deref(),
                Some(n.to_string().as_str()),
                "every delivery stored"
            );
            print(&format!("verified + stored, {backend}"), &m, &reference);
        }
    });
}
