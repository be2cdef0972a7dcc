//! The HTTP core: building a [`Client`], sending a request through the limiter, auth and retry
//! policy, and decoding SalesLoft's envelopes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, field::Empty};

use crate::auth::{Auth, Credential};
use crate::error::{Error, FailureKind, Result, TransportKind};
use crate::headers::observe_headers;
use crate::retry::{Attempts, Idempotency, Next, Outcome, RetryPolicy, Why};
use crate::wire::{Page, Received, decode_page, decode_single};
use salesloft_model::{CostBudget, CostLimiter, CredentialHold, HoldCheck, Observation, page_cost};

/// What SalesLoft said when it rejected the credentials.
fn rejection_message(e: &Error) -> Option<String> {
    match e {
        Error::Api { message, .. } => message.clone(),
        Error::Auth { message, .. } => Some(message.clone()),
        _ => None,
    }
}

/// Where SalesLoft's API lives unless [`ClientBuilder::base_url`] says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://api.salesloft.com";

/// How often a rejected credential is tried again unless
/// [`ClientBuilder::credential_probe_every`] says otherwise.
pub const DEFAULT_CREDENTIAL_PROBE: Duration = Duration::from_secs(15 * 60);

/// A SalesLoft API v2 client. Cheap to clone: clones share one connection pool, one
/// credential (and its refreshes) and one [`CostLimiter`].
///
/// ```no_run
/// # async fn demo() -> salesloft_client::Result<()> {
/// use salesloft_client::{Auth, Client};
/// let client = Client::builder(Auth::api_key("ak_...")).build()?;
/// let me = client.me().await?;
/// println!("signed in as {:?}", me.email);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    credential: Credential,
    /// [`Auth::credential_id`]: the name holds are kept under.
    credential_id: String,
    /// How often a held credential is tried again.
    probe_every: Duration,
    limiter: Arc<dyn CostLimiter>,
    retry: RetryPolicy,
    /// Last `x-ratelimit-endpoint-cost` seen per endpoint, for requests within page 100.
    endpoint_costs: Mutex<HashMap<&'static str, u32>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("limiter", &self.inner.limiter)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; start with [`Client::builder`].
pub struct ClientBuilder {
    auth: Auth,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    limiter: Option<Arc<dyn CostLimiter>>,
    retry: RetryPolicy,
    user_agent: String,
    refresh_margin: Duration,
    probe_every: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("auth", &self.auth)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Send requests to another server than `https://api.salesloft.com`: the sandbox, or a
    /// wiremock server in tests. Paths (`/v2/...`) are appended to it.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Give up on one send after this long (default 30 s); the retry policy decides what next.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Give up connecting after this long (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Spend the team's budget through `limiter` (default: a fresh [`CostBudget`]). Share one
    /// limiter between every client of the same team.
    pub fn limiter(mut self, limiter: Arc<dyn CostLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Retry failed requests by `policy` (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Send this `User-Agent` (default `salesloft-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Refresh OAuth access tokens when they have less than this left (default 10 minutes of
    /// SalesLoft's two hours).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// While SalesLoft rejects the credentials, send one request this often to see whether
    /// they work again (default 15 minutes); every other request fails at once, unsent.
    pub fn credential_probe_every(mut self, every: Duration) -> Self {
        self.probe_every = every;
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client> {
        let base = url::Url::parse(&self.base_url)
            .map_err(|e| Error::Config(format!("base URL {:?}: {e}", self.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "base URL {:?} must be http or https",
                self.base_url
            )));
        }
        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config(format!("user agent {:?}", self.user_agent)))?;
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::USER_AGENT, user_agent);
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        let credential_id = self.auth.credential_id();
        let credential = Credential::new(self.auth, self.timeout, self.refresh_margin)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                credential,
                credential_id,
                probe_every: self.probe_every,
                limiter: self
                    .limiter
                    .unwrap_or_else(|| Arc::new(CostBudget::default())),
                retry: self.retry,
                endpoint_costs: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// One request as the resource modules describe it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// Path under the base URL, such as `/v2/people/42`.
    pub(crate) path: String,
    /// A stable label for the endpoint, such as `people.list`, for costs and logs.
    pub(crate) endpoint: &'static str,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) idempotency: Idempotency,
    /// The list page requested, which sets the cost.
    pub(crate) page: Option<u32>,
}

impl Request {
    pub(crate) fn new(method: Method, path: impl Into<String>, endpoint: &'static str) -> Self {
        let idempotency = if method == Method::POST {
            Idempotency::NotIdempotent
        } else {
            Idempotency::Idempotent
        };
        Self {
            method,
            path: path.into(),
            endpoint,
            query: Vec::new(),
            body: None,
            idempotency,
            page: None,
        }
    }

    pub(crate) fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidArgument(format!("request body: {e}")))?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Idempotent;
        self
    }

    pub(crate) fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query = pairs;
        self
    }
}

impl Client {
    /// Start configuring a client that authenticates with `auth`.
    pub fn builder(auth: Auth) -> ClientBuilder {
        ClientBuilder {
            auth,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            limiter: None,
            retry: RetryPolicy::default(),
            user_agent: concat!("salesloft-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            refresh_margin: Duration::from_secs(600),
            probe_every: DEFAULT_CREDENTIAL_PROBE,
        }
    }

    /// [`Auth::credential_id`] of this client's credential.
    pub fn credential_id(&self) -> &str {
        &self.inner.credential_id
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The limiter this client spends through.
    pub fn limiter(&self) -> &Arc<dyn CostLimiter> {
        &self.inner.limiter
    }

    fn estimate_cost(&self, req: &Request) -> u32 {
        match req.page {
            Some(p) if p > 100 => page_cost(p),
            _ => self
                .inner
                .endpoint_costs
                .lock()
                .ok()
                .and_then(|m| m.get(req.endpoint).copied())
                .unwrap_or(1),
        }
    }

    fn remember_cost(&self, req: &Request, actual: Option<u32>) {
        if let (Some(cost), true) = (actual, req.page.is_none_or(|p| p <= 100))
            && let Ok(mut m) = self.inner.endpoint_costs.lock()
        {
            m.insert(req.endpoint, cost);
        }
    }

    /// Send `req` through the limiter, credential and retry policy; the body of a 2xx answer.
    pub(crate) async fn execute(&self, req: &Request) -> Result<Vec<u8>> {
        let span = tracing::info_span!(
            "salesloft.request",
            method = %req.method,
            path = %req.path,
            endpoint = req.endpoint,
            status = Empty,
            cost = Empty,
            remaining = Empty,
            attempts = Empty,
        );
        self.execute_held(req).instrument(span).await
    }

    /// [`Client::execute_inner`] unless the credential is held (see [`crate::hold`]); a
    /// rejection holds it, and any other answer to a probe lifts the hold.
    async fn execute_held(&self, req: &Request) -> Result<Vec<u8>> {
        let limiter = &self.inner.limiter;
        let id = &self.inner.credential_id;
        let probing = match limiter
            .check_credential(id, self.inner.probe_every)
            .await
            .map_err(Error::Limiter)?
        {
            HoldCheck::Clear => false,
            HoldCheck::Probe(hold) => {
                tracing::info!(credential = %id, since = %hold.since_rfc3339(), "probing credentials SalesLoft rejected");
                true
            }
            HoldCheck::Held(hold) => {
                return Err(Error::CredentialsRejected {
                    hold: Box::new(hold),
                    source: None,
                });
            }
        };
        match self.execute_inner(req).await {
            Err(e) if e.kind() == FailureKind::CredentialsRejected => {
                let now = chrono::Utc::now().timestamp_millis();
                let hold = CredentialHold {
                    credential: id.clone(),
                    since_ms: now,
                    request: format!("{} {}", req.method, req.path),
                    status: e.status().map(|s| s.as_u16()),
                    message: rejection_message(&e),
                    probe_at_ms: now.saturating_add(
                        i64::try_from(self.inner.probe_every.as_millis()).unwrap_or(i64::MAX),
                    ),
                };
                tracing::error!(credential = %id, request = %hold.request, "SalesLoft rejected the credentials; requests are held");
                limiter
                    .hold_credential(&hold)
                    .await
                    .map_err(Error::Limiter)?;
                Err(Error::CredentialsRejected {
                    hold: Box::new(hold),
                    source: Some(Box::new(e)),
                })
            }
            other => {
                let answered = match &other {
                    Ok(_) => true,
                    Err(e) => e.status().is_some(),
                };
                if probing && answered {
                    tracing::info!(credential = %id, "SalesLoft accepts the credentials again");
                    limiter
                        .release_credential(id)
                        .await
                        .map_err(Error::Limiter)?;
                }
                other
            }
        }
    }

    async fn execute_inner(&self, req: &Request) -> Result<Vec<u8>> {
        let url = self.url_for(req)?;
        let policy = self.inner.retry;
        let started = Instant::now();
        let span = tracing::Span::current();
        let mut attempts = Attempts::default();
        loop {
            span.record("attempts", attempts.start());
            let estimated = self.estimate_cost(req);
            self.acquire(
                req,
                estimated,
                attempts.patience(&policy, started.elapsed()),
            )
            .await?;
            let token = self.inner.credential.bearer().await?;
            let sent = self
                .send_and_read(req, url.clone(), &token, estimated)
                .await?;
            let next = attempts.decide(
                &policy,
                req.idempotency,
                sent.outcome(),
                started.elapsed(),
                |n| policy.backoff(n),
            );
            match next {
                Next::Done => {
                    tracing::debug!(status = sent.outcome().status(), "SalesLoft request done");
                    return Ok(sent.into_body());
                }
                Next::Refresh => match self.inner.credential.refresh_after_401(&token).await {
                    Some(refreshed) => {
                        refreshed?;
                        attempts.refreshed();
                        tracing::info!("SalesLoft answered 401; refreshed the OAuth token");
                    }
                    None => return Err(sent.into_error(req, attempts.spent())),
                },
                Next::Wait { wait, why } => {
                    log_wait(why, attempts.spent(), wait, &sent);
                    tokio::time::sleep(wait).await;
                }
                Next::Fail => return Err(sent.into_error(req, attempts.spent())),
                Next::RateLimited { refusals, waited } => {
                    let message = match sent.into_error(req, attempts.spent()) {
                        Error::Api { message, .. } => message,
                        _ => None,
                    };
                    return Err(Error::RateLimited {
                        method: req.method.clone(),
                        path: req.path.clone(),
                        refusals,
                        waited,
                        message,
                    });
                }
            }
        }
    }

    /// Wait for the limiter to grant `estimated` cost, at most `patience`.
    async fn acquire(&self, req: &Request, estimated: u32, patience: Duration) -> Result<()> {
        match tokio::time::timeout(patience, self.inner.limiter.acquire(estimated)).await {
            Ok(acquired) => acquired.map_err(Error::Limiter),
            Err(_) => Err(Error::Limiter(
                format!(
                    "no budget to send {} {} within {:?} (the team's budget stayed exhausted; \
                     other integrations may be spending it)",
                    req.method, req.path, self.inner.retry.max_rate_limited
                )
                .into(),
            )),
        }
    }

    /// Send `req` once and read the answer whole, telling the limiter and the metrics what
    /// it cost.
    async fn send_and_read(
        &self,
        req: &Request,
        url: url::Url,
        token: &SecretString,
        estimated: u32,
    ) -> Result<Sent> {
        let sent_at = Instant::now();
        let response = match self.send_once(req, url, token).await {
            Ok(r) => r,
            // The URL's query can carry e-mail addresses: never show it.
            Err(e) => return Ok(Sent::NoAnswer(e.without_url())),
        };
        let status = response.status();
        let observation = observe_headers(estimated, response.headers());
        self.record_answer(req, status, &observation, estimated, sent_at);
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.inner.limiter.on_rate_limited(&observation).await
        } else {
            self.inner.limiter.observe(&observation).await
        }
        .map_err(Error::Limiter)?;
        self.remember_cost(req, observation.actual_cost);
        Ok(match response.bytes().await {
            Ok(body) => Sent::Answered {
                status,
                retry_after: observation.retry_after,
                body: body.to_vec(),
            },
            Err(e) => Sent::BodyLost(e.without_url()),
        })
    }

    /// The answer's metrics (through the `metrics` facade: nothing is recorded unless the
    /// binary installed a recorder) and span fields.
    fn record_answer(
        &self,
        req: &Request,
        status: StatusCode,
        observation: &Observation,
        estimated: u32,
        sent_at: Instant,
    ) {
        metrics::counter!("salesloft_requests_total", "endpoint" => req.endpoint, "status" => status.as_str().to_owned())
            .increment(1);
        metrics::counter!("salesloft_cost_total", "endpoint" => req.endpoint)
            .increment(u64::from(observation.actual_cost.unwrap_or(estimated)));
        metrics::histogram!("salesloft_request_seconds", "endpoint" => req.endpoint)
            .record(sent_at.elapsed().as_secs_f64());
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        if let Some(c) = observation.actual_cost {
            span.record("cost", c);
        }
        if let Some(r) = observation.remaining {
            metrics::gauge!("salesloft_remaining_minute").set(f64::from(r));
            span.record("remaining", r);
        }
    }

    fn url_for(&self, req: &Request) -> Result<url::Url> {
        let mut url = url::Url::parse(&format!("{}{}", self.inner.base_url, req.path))
            .map_err(|e| Error::InvalidArgument(format!("path {:?}: {e}", req.path)))?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        Ok(url)
    }

    async fn send_once(
        &self,
        req: &Request,
        url: url::Url,
        token: &SecretString,
    ) -> std::result::Result<reqwest::Response, reqwest::Error> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid-token"));
        auth.set_sensitive(true);
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), url)
            .header(reqwest::header::AUTHORIZATION, auth);
        if let Some(body) = &req.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        builder.send().await
    }

    /// `GET` one record wrapped in `{"data": ...}`.
    pub(crate) async fn get_one<T: DeserializeOwned>(
        &self,
        path: String,
        endpoint: &'static str,
    ) -> Result<T> {
        let req = Request::new(Method::GET, path, endpoint);
        let body = self.execute(&req).await?;
        Ok(decode_single(&req.path, &body)?)
    }

    /// Send `req` and decode one record from the answer.
    pub(crate) async fn send_one<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        let body = self.execute(&req).await?;
        Ok(decode_single(&req.path, &body)?)
    }

    /// Send a `DELETE` (idempotent; 204 expected).
    pub(crate) async fn delete(&self, path: String, endpoint: &'static str) -> Result<()> {
        let req = Request::new(Method::DELETE, path, endpoint);
        self.execute(&req).await.map(|_| ())
    }

    /// Send a list request and decode its page, record by record.
    pub(crate) async fn get_page<T: DeserializeOwned>(
        &self,
        req: &Request,
    ) -> Result<Page<Received<T>>> {
        let body = self.execute(req).await?;
        Ok(decode_page(&req.path, &body)?)
    }
}

/// One send's result, read whole.
enum Sent {
    /// No answer (the URL already taken out of the error).
    NoAnswer(reqwest::Error),
    /// An answer whose body was lost.
    BodyLost(reqwest::Error),
    /// An answer.
    Answered {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
}

impl Sent {
    /// What the retry decision needs of it.
    fn outcome(&self) -> Outcome {
        match self {
            Sent::NoAnswer(e) => Outcome::NoAnswer {
                connect: transport_kind(e) == TransportKind::Connect,
            },
            Sent::BodyLost(_) => Outcome::BodyLost,
            Sent::Answered {
                status,
                retry_after,
                ..
            } => Outcome::Answered {
                status: status.as_u16(),
                retry_after: *retry_after,
            },
        }
    }

    /// The body of an answer (empty for a failure, which [`Next::Done`] never follows).
    fn into_body(self) -> Vec<u8> {
        match self {
            Sent::Answered { body, .. } => body,
            Sent::NoAnswer(_) | Sent::BodyLost(_) => Vec::new(),
        }
    }

    /// The failure it is, after `attempts` sends.
    fn into_error(self, req: &Request, attempts: u32) -> Error {
        match self {
            Sent::NoAnswer(source) | Sent::BodyLost(source) => Error::Transport {
                method: req.method.clone(),
                path: req.path.clone(),
                kind: transport_kind(&source),
                attempts,
                source,
            },
            Sent::Answered {
                status,
                retry_after,
                body,
            } => api_error(req, status, &body, retry_after, attempts),
        }
    }
}

/// The log line of a wait before sending again.
fn log_wait(why: Why, attempt: u32, wait: Duration, sent: &Sent) {
    let wait_ms = wait.as_millis() as u64;
    match (why, sent) {
        (Why::RateLimited { refusals }, _) => tracing::warn!(
            refusals,
            wait_ms,
            "SalesLoft answered 429; waiting for the budget window"
        ),
        (_, Sent::Answered { status, .. }) => tracing::warn!(
            attempt,
            status = status.as_u16(),
            wait_ms,
            "SalesLoft request refused; retrying"
        ),
        (Why::BodyLost, Sent::BodyLost(e)) => {
            tracing::warn!(attempt, error = %e, wait_ms, "reading SalesLoft response failed; retrying")
        }
        (_, Sent::NoAnswer(e) | Sent::BodyLost(e)) => {
            tracing::warn!(attempt, error = %e, wait_ms, "SalesLoft request failed; retrying")
        }
    }
}

fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    }
}

/// Build [`Error::Api`] from a non-success answer, reading `{"error": ...}` and the 422
/// `{"errors": {field: [...]}}` shapes (and tolerating a string or a list where a list or an
/// object is expected).
fn api_error(
    req: &Request,
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    attempts: u32,
) -> Error {
    let mut message = None;
    let mut field_errors = BTreeMap::new();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(obj)) => {
            if let Some(e) = obj.get("error") {
                message = Some(match e {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            if let Some(d) = obj.get("error_description").and_then(|d| d.as_str()) {
                message = Some(match message {
                    Some(m) => format!("{m}: {d}"),
                    None => d.to_owned(),
                });
            }
            match obj.get("errors") {
                Some(serde_json::Value::Object(fields)) => {
                    for (field, msgs) in fields {
                        field_errors.insert(field.clone(), messages(msgs));
                    }
                }
                Some(other @ (serde_json::Value::Array(_) | serde_json::Value::String(_))) => {
                    field_errors.insert("base".to_owned(), messages(other));
                }
                _ => {}
            }
        }
        _ => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned();
            if !text.is_empty() {
                message = Some(text);
            }
        }
    }
    Error::Api {
        method: req.method.clone(),
        path: req.path.clone(),
        status,
        message,
        field_errors,
        retry_after,
        attempts,
    }
}

fn messages(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}
