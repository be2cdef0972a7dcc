//! Error bodies in SalesLoft's shapes, and what reaches logs.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use salesloft_client::{Error, PersonId, PersonInput};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{API_KEY, client, server};

#[tokio::test]
async fn a_422_carries_every_field_error() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errors": {"email_address": ["is already taken"], "first_name": ["is required", "is too short"]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .people()
        .create(&PersonInput::default())
        .await
        .expect_err("422");
    let fields = err.field_errors().expect("field errors");
    assert_eq!(fields["email_address"], ["is already taken"]);
    assert_eq!(fields["first_name"], ["is required", "is too short"]);
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("POST /v2/people: HTTP 422"), "{text}");
    assert!(text.contains("email_address: is already taken"), "{text}");
}

#[tokio::test]
async fn a_404_names_the_path_and_the_message_but_never_the_key() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people/42"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .people()
        .get(PersonId(42))
        .await
        .expect_err("404");
    assert!(err.is_not_found());
    match &err {
        Error::Api { path, message, .. } => {
            assert_eq!(path, "/v2/people/42");
            assert_eq!(message.as_deref(), Some("Not Found"));
        }
        other => panic!("{other:?}"),
    }
    let all = format!("{err} {err:?}");
    assert!(!all.contains(API_KEY), "{all}");
}

#[tokio::test]
async fn other_error_shapes_are_tolerated() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/accounts"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errors": [{"attribute": "domain", "message": "is taken"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .accounts()
        .create(&Default::default())
        .await
        .expect_err("422");
    assert_eq!(err.field_errors().expect("errors")["base"].len(), 1);
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One process-wide subscriber writing to memory. (A scoped subscriber would race with the
/// other tests of this binary over tracing's global callsite cache.)
fn captured_logs() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("only subscriber");
        captured
    })
}

#[tokio::test]
async fn each_request_gets_a_span_with_status_cost_and_budget_but_no_token() {
    let captured = captured_logs();
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/team"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "1")
                .insert_header("x-ratelimit-remaining-minute", "512")
                .set_body_json(json!({"data": {"id": 16, "name": "Acme", "plan": "enterprise"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    client(&server).team().await.expect("team");
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    let line = logs
        .lines()
        .find(|l| l.contains("path=/v2/team") && l.contains("request done"))
        .unwrap_or_else(|| panic!("no request line in {logs}"));
    assert!(line.contains("salesloft.request"), "{line}");
    for needle in ["method=GET", "status=200", "cost=1", "remaining=512"] {
        assert!(line.contains(needle), "missing {needle} in {line}");
    }
    assert!(!logs.contains(API_KEY), "the key leaked into logs");
}

#[tokio::test]
async fn a_transport_error_never_shows_the_query_and_its_email_addresses() {
    // Nothing listens on port 1: the connection is refused.
    let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key(API_KEY))
        .base_url("http://127.0.0.1:1")
        .limiter(Arc::new(salesloft_client::Unlimited))
        .retry(crate::helpers::fast_retry())
        .build()
        .expect("client");
    let err = client
        .people()
        .list()
        .email_addresses(["ann.private@example.com"])
        .send()
        .await
        .expect_err("refused");
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    assert!(matches!(err, Error::Transport { .. }), "{shown}");
    assert!(shown.contains("/v2/people"), "names the path: {shown}");
    assert!(!shown.contains("ann.private"), "never the query: {shown}");
    assert!(!shown.contains("127.0.0.1:1/v2"), "never the URL: {shown}");
}
