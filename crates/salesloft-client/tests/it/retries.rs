//! Retries: 5xx and timeouts on idempotent requests; creates are not repeated blindly.

use std::time::Duration;

use salesloft_client::{Auth, Client, Error, PersonInput, RetryPolicy, TransportKind, Unlimited};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{API_KEY, client, fast_retry, server};

fn me_body() -> serde_json::Value {
    json!({"data": {"id": 1, "created_at": "2023-01-10T09:00:00.000000-05:00",
                     "updated_at": "2024-05-02T11:21:07.123456-04:00"}})
}

fn short_timeout_client(server: &MockServer) -> Client {
    Client::builder(Auth::api_key(API_KEY))
        .base_url(server.uri())
        .limiter(std::sync::Arc::new(Unlimited))
        .retry(fast_retry())
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_503_on_a_get_is_retried() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me_body()))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).me().await.expect("third try succeeds");
}

#[tokio::test]
async fn retries_are_bounded_in_attempts() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .expect(4)
        .mount(&server)
        .await;
    let err = client(&server).me().await.expect_err("always 502");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert!(err.is_transient());
    assert!(err.to_string().contains("bad gateway"), "{err}");
}

#[tokio::test]
async fn retries_are_bounded_in_time() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1..=2)
        .mount(&server)
        .await;
    let client = Client::builder(Auth::api_key(API_KEY))
        .base_url(server.uri())
        .limiter(std::sync::Arc::new(Unlimited))
        .retry(RetryPolicy {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(400),
            max_backoff: Duration::from_secs(1),
            max_elapsed: Duration::from_millis(300),
            max_rate_limited: std::time::Duration::from_millis(300),
        })
        .build()
        .expect("client");
    let err = client.me().await.expect_err("gives up");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn a_create_is_not_repeated_after_a_server_error() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let input = PersonInput {
        email_address: Some("ada@example.com".into()),
        ..Default::default()
    };
    let err = client(&server)
        .people()
        .create(&input)
        .await
        .expect_err("500");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
}

#[tokio::test]
async fn a_create_is_repeated_after_a_429_because_nothing_happened() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": 5, "created_at": "2024-03-07T02:46:00.302715-05:00",
            "updated_at": "2024-03-07T02:46:00.302715-05:00", "email_address": "ada@example.com"
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let input = PersonInput {
        email_address: Some("ada@example.com".into()),
        ..Default::default()
    };
    let p = client(&server)
        .people()
        .create(&input)
        .await
        .expect("created");
    assert_eq!(p.id.0, 5);
}

#[tokio::test]
async fn a_timed_out_get_is_retried() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(me_body())
                .set_delay(Duration::from_secs(2)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me_body()))
        .expect(1)
        .mount(&server)
        .await;
    short_timeout_client(&server)
        .me()
        .await
        .expect("retry succeeds");
}

#[tokio::test]
async fn a_timed_out_create_is_reported_not_repeated() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/notes"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let input = salesloft_client::NoteInput::new("hello", salesloft_client::NoteTarget::Person, 1);
    let err = short_timeout_client(&server)
        .notes()
        .create(&input)
        .await
        .expect_err("timeout");
    match err {
        Error::Transport {
            kind,
            attempts,
            path,
            ..
        } => {
            assert_eq!(kind, TransportKind::Timeout);
            assert_eq!(attempts, 1);
            assert_eq!(path, "/v2/notes");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_create_is_retried_when_the_connection_was_refused() {
    // Nothing listens on this port: the server cannot have acted, so retrying is safe.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = Client::builder(Auth::api_key(API_KEY))
        .base_url(format!("http://{addr}"))
        .limiter(std::sync::Arc::new(Unlimited))
        .retry(fast_retry())
        .build()
        .expect("client");
    let err = client
        .people()
        .create(&PersonInput::default())
        .await
        .expect_err("refused");
    match err {
        Error::Transport { kind, attempts, .. } => {
            assert_eq!(kind, TransportKind::Connect);
            assert_eq!(attempts, fast_retry().max_attempts);
        }
        other => panic!("{other:?}"),
    }
}
