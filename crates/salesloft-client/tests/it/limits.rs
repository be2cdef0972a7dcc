//! Cost estimates, the remaining-budget header and 429s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use salesloft_client::{BudgetConfig, CostBudget, Error};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{RecordingLimiter, client_with, envelope, person, server};

#[tokio::test]
async fn deep_pages_and_reported_endpoint_costs_set_the_cost_acquired() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .and(query_param("page", "101"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "3")
                .set_body_json(envelope(vec![], 101, 100, None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .and(query_param("page", "501"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(vec![], 501, 100, None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/activities/calls"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "5")
                .insert_header("x-ratelimit-remaining-minute", "590")
                .set_body_json(envelope(vec![], 1, 25, None)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let limiter = Arc::new(RecordingLimiter::default());
    let client = client_with(&server, limiter.clone());
    client
        .people()
        .list()
        .page(101)
        .send()
        .await
        .expect("page 101");
    client
        .people()
        .list()
        .page(501)
        .send()
        .await
        .expect("page 501");
    for _ in 0..3 {
        client.calls().list().send().await.expect("calls");
    }
    // The page-101 cost (3) is not remembered as the endpoint's base cost.
    assert_eq!(*limiter.acquired.lock().unwrap(), [3, 30, 1, 5, 5]);
    let observed = limiter.observed.lock().unwrap();
    assert_eq!(observed[2].actual_cost, Some(5));
    assert_eq!(observed[2].remaining, Some(590));
    assert_eq!(observed[2].estimated_cost, 1);
}

#[tokio::test]
async fn the_remaining_budget_header_slows_the_limiter() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "1")
                .insert_header("x-ratelimit-remaining-minute", "57")
                .set_body_json(envelope(
                    vec![person(1, 1_700_000_000_000_000)],
                    1,
                    25,
                    None,
                )),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "1")
                .insert_header("x-ratelimit-remaining-minute", "12")
                .set_body_json(envelope(vec![], 2, 25, None)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let budget = Arc::new(CostBudget::new(BudgetConfig::default()));
    let client = client_with(&server, budget.clone());
    assert!(budget.available() > 50.0);
    client.people().list().page(1).send().await.expect("page 1");
    // 57 left on the server, 54 (10% of 540) kept in reserve: 3 may still go.
    assert!(budget.available() < 3.5, "{}", budget.available());
    client.people().list().page(2).send().await.expect("page 2");
    // 12 left is below the reserve: hold until the next minute.
    let wait = budget.try_acquire(1).expect_err("must wait");
    assert!(
        wait > Duration::from_millis(900) && wait <= Duration::from_secs(61),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_429_then_success() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .insert_header("x-ratelimit-remaining-minute", "0")
                .set_body_json(serde_json::json!({"error": "Rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": {
                "id": 51550, "created_at": "2023-01-10T09:00:00.000000-05:00",
                "updated_at": "2024-05-02T11:21:07.123456-04:00", "email": "ada@example.com"
            }})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let limiter = Arc::new(RecordingLimiter::default());
    let client = client_with(&server, limiter.clone());
    let started = Instant::now();
    let me = client.me().await.expect("second try succeeds");
    assert_eq!(me.email.as_deref(), Some("ada@example.com"));
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    let limited = limiter.rate_limited.lock().unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].retry_after, Some(Duration::from_secs(1)));
    assert_eq!(limited[0].remaining, Some(0));
}

#[tokio::test]
async fn a_429_spends_no_attempt_and_gives_up_only_after_the_rate_limited_time() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(serde_json::json!({"error": "Rate limit exceeded"})),
        )
        .mount(&server)
        .await;
    let limiter = Arc::new(RecordingLimiter::default());
    let started = std::time::Instant::now();
    let err = client_with(&server, limiter.clone())
        .me()
        .await
        .expect_err("429 forever");
    assert!(err.is_rate_limited() && err.is_transient(), "{err}");
    // fast_retry: 4 attempts, but 3 s of 429s: far more sends than attempts.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let refused = limiter.rate_limited.lock().unwrap().len();
    assert!(refused > 4, "429s spend no attempt: {refused}");
    let shown = err.to_string();
    assert!(
        shown.contains("GET /v2/me") && shown.contains("max_rate_limited_secs"),
        "a clear error that says what to do: {shown}"
    );
    match err {
        Error::RateLimited {
            refusals,
            message,
            waited,
            ..
        } => {
            assert_eq!(refusals as usize, refused, "every refusal counted");
            assert_eq!(message.as_deref(), Some("Rate limit exceeded"));
            assert!(waited >= Duration::from_secs(2), "{waited:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn hostile_rate_limit_headers_neither_block_nor_panic() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "99999999999999999999999")
                .insert_header("x-ratelimit-endpoint-cost", "-7"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-endpoint-cost", "4294967296000")
                .insert_header("x-ratelimit-remaining-minute", "a lot")
                .set_body_json(serde_json::json!({"data": {"id": 1, "guid": "g", "name": "n", "email": "e@example.com"}})),
        )
        .mount(&server)
        .await;
    let limiter = Arc::new(RecordingLimiter::default());
    let client = client_with(&server, limiter.clone());
    // The absurd Retry-After is clamped to the window (61 s), which is past the policy's 3 s of
    // patience for 429s: the request fails at once instead of sleeping.
    let first = tokio::time::timeout(std::time::Duration::from_millis(500), client.me())
        .await
        .expect("no wait beyond the policy");
    assert!(first.expect_err("gave up").is_rate_limited());
    let limited = limiter.rate_limited.lock().unwrap().clone();
    assert_eq!(
        limited[0].retry_after,
        Some(salesloft_client::MAX_RETRY_AFTER)
    );
    assert_eq!(limited[0].actual_cost, None, "a negative cost is no cost");
    // The next answer's cost is clamped to the page table's maximum, a non-numeric remaining
    // is ignored.
    // (The body is not a full user: only the headers matter here.)
    let _ = client.me().await;
    let seen = limiter.observed.lock().unwrap().clone();
    let last = seen.last().unwrap();
    assert_eq!(last.actual_cost, Some(salesloft_client::MAX_REQUEST_COST));
    assert_eq!(last.remaining, None);
}
