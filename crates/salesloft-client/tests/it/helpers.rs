//! Shared test fixtures: a mock server that fails loudly on unexpected requests, clients
//! pointed at it, and a fake people list that honours paging and `updated_at` filters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use salesloft_client::{Auth, Client, CostLimiter, Observation, RetryPolicy, Unlimited};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const API_KEY: &str = "ak_de656ec86bcab24878c24ff4d86758f8963d8ea6bcd4e90f8fae846ba8f9ac62";

/// A mock server with a lowest-priority catch-all that answers 599 and must never be hit:
/// any request no test mock expected fails the test when the server is dropped.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599).set_body_string("unexpected request"))
        .with_priority(u8::MAX)
        .named("catch-all: a request no mock expected")
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// Retries quick enough for tests.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(20),
        max_rate_limited: std::time::Duration::from_secs(3),
    }
}

/// An API-key client for `server`, no budget waits, fast retries.
pub fn client(server: &MockServer) -> Client {
    client_with(server, Arc::new(Unlimited))
}

/// An API-key client for `server` spending through `limiter`.
pub fn client_with(server: &MockServer, limiter: Arc<dyn CostLimiter>) -> Client {
    Client::builder(Auth::api_key(API_KEY))
        .base_url(server.uri())
        .limiter(limiter)
        .retry(fast_retry())
        .build()
        .expect("client builds")
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Microseconds since the epoch to SalesLoft's format in a -05:00 team.
pub fn ts(us: i64) -> String {
    let t = chrono::DateTime::from_timestamp_micros(us).expect("valid instant");
    let offset = chrono::FixedOffset::west_opt(5 * 3600).expect("valid offset");
    t.with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%.6f%:z")
        .to_string()
}

/// A minimal person as the API sends it.
pub fn person(id: i64, updated_us: i64) -> Value {
    json!({
        "id": id,
        "created_at": ts(updated_us - 1_000_000),
        "updated_at": ts(updated_us),
        "email_address": format!("p{id}@example.com"),
        "first_name": null,
        "counts": {"emails_sent": 0},
        "owner": {"_href": "https://api.salesloft.com/v2/users/1", "id": 1},
        "cadences": [],
    })
}

/// A list envelope.
pub fn envelope(data: Vec<Value>, page: u32, per_page: u32, next: Option<u32>) -> Value {
    json!({
        "metadata": {
            "filtering": {},
            "paging": {"per_page": per_page, "current_page": page, "next_page": next,
                       "prev_page": if page > 1 { Some(page - 1) } else { None }},
            "sorting": {"sort_by": "updated_at", "sort_direction": "ASC NULLS FIRST"}
        },
        "data": data,
    })
}

/// A fake `/v2/people` that behaves like SalesLoft's: `updated_at[gte|gt|lte|lt]` compared as
/// instants, `sort_by=updated_at` ascending with ties in id order, `page`/`per_page` paging.
pub struct FakePeople {
    /// (id, updated_at µs)
    pub records: Mutex<Vec<(i64, i64)>>,
    pub requests: AtomicUsize,
    pub pages_requested: Mutex<Vec<u32>>,
    /// Whether `include_paging_counts` is honoured (SalesLoft does).
    pub counts: bool,
}

impl FakePeople {
    pub fn new(records: Vec<(i64, i64)>) -> Arc<Self> {
        Arc::new(Self {
            records: Mutex::new(records),
            requests: AtomicUsize::new(0),
            pages_requested: Mutex::new(Vec::new()),
            counts: true,
        })
    }

    /// A fake that ignores `include_paging_counts`.
    pub fn without_counts(records: Vec<(i64, i64)>) -> Arc<Self> {
        Arc::new(Self {
            records: Mutex::new(records),
            requests: AtomicUsize::new(0),
            pages_requested: Mutex::new(Vec::new()),
            counts: false,
        })
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn parse_us(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("filter is RFC 3339")
        .timestamp_micros()
}

pub struct FakePeopleResponder(pub Arc<FakePeople>);

impl Respond for FakePeopleResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        fake.requests.fetch_add(1, Ordering::SeqCst);
        let mut page = 1u32;
        let mut per_page = 25u32;
        let mut rows: Vec<(i64, i64)> = fake.records.lock().expect("lock").clone();
        let mut asc = false;
        let mut counts = false;
        for (k, v) in request.url.query_pairs() {
            match k.as_ref() {
                "include_paging_counts" => counts = v == "true" && fake.counts,
                "page" => page = v.parse().expect("page"),
                "per_page" => per_page = v.parse().expect("per_page"),
                "sort_direction" => asc = v.eq_ignore_ascii_case("asc"),
                "sort_by" => assert_eq!(v, "updated_at"),
                "updated_at[gte]" => rows.retain(|r| r.1 >= parse_us(&v)),
                "updated_at[gt]" => rows.retain(|r| r.1 > parse_us(&v)),
                "updated_at[lte]" => rows.retain(|r| r.1 <= parse_us(&v)),
                "updated_at[lt]" => rows.retain(|r| r.1 < parse_us(&v)),
                _ => {}
            }
        }
        fake.pages_requested.lock().expect("lock").push(page);
        rows.sort_by_key(|r| (r.1, r.0));
        if !asc {
            rows.reverse();
        }
        let start = ((page - 1) * per_page) as usize;
        let data: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(per_page as usize)
            .map(|r| person(r.0, r.1))
            .collect();
        let next = (start + per_page as usize) < rows.len();
        let mut body = envelope(data, page, per_page, next.then_some(page + 1));
        if counts {
            body["metadata"]["paging"]["total_count"] = json!(rows.len());
            body["metadata"]["paging"]["total_pages"] =
                json!(rows.len().div_ceil(per_page as usize));
        }
        ResponseTemplate::new(200)
            .insert_header("x-ratelimit-endpoint-cost", "1")
            .insert_header("x-ratelimit-remaining-minute", "599")
            .set_body_json(body)
    }
}

/// A limiter that waits for nothing and records what it was told.
#[derive(Debug, Default)]
pub struct RecordingLimiter {
    pub acquired: Mutex<Vec<u32>>,
    pub observed: Mutex<Vec<Observation>>,
    pub rate_limited: Mutex<Vec<Observation>>,
}

#[async_trait::async_trait]
impl CostLimiter for RecordingLimiter {
    async fn acquire(&self, cost: u32) -> Result<(), salesloft_client::BoxError> {
        self.acquired.lock().expect("lock").push(cost);
        Ok(())
    }
    async fn observe(&self, o: &Observation) -> Result<(), salesloft_client::BoxError> {
        self.observed.lock().expect("lock").push(o.clone());
        Ok(())
    }
    async fn on_rate_limited(&self, o: &Observation) -> Result<(), salesloft_client::BoxError> {
        self.rate_limited.lock().expect("lock").push(o.clone());
        Ok(())
    }
}
