//! The HTTP side: routing, authentication, the cost budget, faults, the control API.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use crate::SandboxConfig;
use crate::auth::AuthState;
use crate::error::{ApiError, SandboxError};
use crate::faults::{Fault, FaultConfig, Faults};
use crate::generate::TeamSize;
use crate::query::{self, Params, page_cost};
use crate::simulator::{self, Action, SimulatorConfig};
use crate::store::Kind;
use crate::webhooks::{DeliveryAttempt, Dispatcher};
use crate::world::{Change, Event, World};

/// Counters a test can read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// API requests answered (any status).
    pub requests: u64,
    /// Cost charged to the team's budget.
    pub cost_spent: u64,
    /// 429s sent because the budget was spent.
    pub rate_limited: u64,
    /// Faults injected (of any kind).
    pub faults_injected: u64,
    /// List pages served.
    pub list_pages: u64,
    /// Records served in list pages.
    pub list_records: u64,
}

#[derive(Debug, Default)]
struct AtomicCounters {
    requests: AtomicU64,
    cost_spent: AtomicU64,
    rate_limited: AtomicU64,
    faults_injected: AtomicU64,
    list_pages: AtomicU64,
    list_records: AtomicU64,
}

impl AtomicCounters {
    fn snapshot(&self) -> Counters {
        Counters {
            requests: self.requests.load(Ordering::Relaxed),
            cost_spent: self.cost_spent.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            list_pages: self.list_pages.load(Ordering::Relaxed),
            list_records: self.list_records.load(Ordering::Relaxed),
        }
    }

    fn reset(&self) {
        for c in [
            &self.requests,
            &self.cost_spent,
            &self.rate_limited,
            &self.faults_injected,
            &self.list_pages,
            &self.list_records,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// One served request, as the request log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// Cost charged.
    pub cost: u32,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

/// The per-minute cost window (fixed calendar minutes, as SalesLoft reports them).
#[derive(Debug)]
struct Window {
    per_minute: Option<u32>,
    minute: i64,
    spent: u32,
}

impl Window {
    /// Charge `cost` at `now_ms`: `Ok(remaining)` or `Err(ms until the window reopens)`.
    fn charge(&mut self, cost: u32, now_ms: i64) -> Result<u32, i64> {
        let minute = now_ms.div_euclid(60_000);
        if minute != self.minute {
            self.minute = minute;
            self.spent = 0;
        }
        let Some(limit) = self.per_minute else {
            return Ok(600);
        };
        if self.spent + cost > limit {
            return Err((minute + 1) * 60_000 - now_ms);
        }
        self.spent += cost;
        Ok(limit - self.spent)
    }

    fn remaining(&self, now_ms: i64) -> u32 {
        match self.per_minute {
            None => 600,
            Some(l) if now_ms.div_euclid(60_000) == self.minute => l.saturating_sub(self.spent),
            Some(l) => l,
        }
    }
}

const LOG_CAPACITY: usize = 10_000;
const BODY_LIMIT: usize = 1 << 20;

/// Everything the handlers share. Lock order: `world` is never held while taking another
/// lock of this struct, and never held across an await; events are emitted after it is released.
pub(crate) struct Shared {
    pub(crate) world: RwLock<World>,
    pub(crate) config: Mutex<SandboxConfig>,
    auth: Mutex<AuthState>,
    window: Mutex<Window>,
    counters: AtomicCounters,
    log: Mutex<VecDeque<LoggedRequest>>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) dispatcher: Dispatcher,
    simulator: Mutex<Option<(SimulatorConfig, oneshot::Sender<()>)>>,
    sim_rng: Mutex<fastrand::Rng>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Result<Arc<Self>, SandboxError> {
        let world = World::generate(config.seed, config.team, config.offset()?)?;
        let auth = AuthState::new(
            &config.api_keys,
            &config.oauth_clients,
            config.token_ttl_secs as i64 * 1000,
            config.seed,
        );
        let dispatcher = Dispatcher::new(
            Duration::from_millis(config.webhook_retry_interval_ms),
            Duration::from_millis(config.webhook_timeout_ms),
        );
        Ok(Arc::new(Shared {
            world: RwLock::new(world),
            auth: Mutex::new(auth),
            window: Mutex::new(Window {
                per_minute: config.rate_limit_per_minute,
                minute: 0,
                spent: 0,
            }),
            counters: AtomicCounters::default(),
            log: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Faults::new(config.faults.clone())),
            dispatcher,
            simulator: Mutex::new(None),
            sim_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x51)),
            config: Mutex::new(config),
        }))
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().cloned().collect()
    }

    pub(crate) fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.dispatcher.attempts()
    }

    pub(crate) fn snapshot(&self) -> Vec<u8> {
        read(&self.world).snapshot()
    }

    /// Regenerate the world from `seed` and `team`; forget logs and counters.
    pub(crate) fn reseed(&self, seed: u64, team: TeamSize) -> Result<(), SandboxError> {
        let offset = lock(&self.config).offset()?;
        let world = World::generate(seed, team, offset)?;
        *write(&self.world) = world;
        {
            let mut c = lock(&self.config);
            c.seed = seed;
            c.team = team;
        }
        self.counters.reset();
        lock(&self.log).clear();
        self.dispatcher.clear();
        Ok(())
    }

    pub(crate) fn set_rate_limit(&self, per_minute: Option<u32>) {
        lock(&self.window).per_minute = per_minute;
        lock(&self.config).rate_limit_per_minute = per_minute;
    }

    pub(crate) fn expire_tokens(&self) {
        lock(&self.auth).expire_access_tokens();
    }

    pub(crate) fn issue_code(&self, client_id: &str) -> Option<String> {
        lock(&self.auth).issue_code(client_id).ok()
    }

    pub(crate) fn oauth_refreshes(&self) -> u64 {
        lock(&self.auth).refreshes()
    }

    /// Apply `count` simulator actions now (a random mix when `action` is `None`).
    pub(crate) fn mutate(&self, action: Option<Action>, count: usize) -> Result<usize, ApiError> {
        let mut events = Vec::new();
        {
            let mut rng = lock(&self.sim_rng);
            let mut world = write(&self.world);
            for _ in 0..count {
                let a = action.unwrap_or_else(|| simulator::pick(&mut rng));
                events.extend(simulator::apply(&mut world, a, &mut rng)?);
            }
        }
        let n = events.len();
        self.emit(events);
        Ok(n)
    }

    fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let subs: Vec<_> = read(&self.world).subscriptions.values().cloned().collect();
        if !subs.is_empty() {
            self.dispatcher.dispatch(&subs, events);
        }
    }

    /// Start (or restart) the live simulator.
    pub(crate) fn start_simulator(self: &Arc<Self>, config: SimulatorConfig) {
        self.stop_simulator();
        let (tx, mut rx) = oneshot::channel();
        *lock(&self.simulator) = Some((config, tx));
        *lock(&self.sim_rng) = fastrand::Rng::with_seed(config.seed);
        let this = Arc::clone(self);
        let period = Duration::from_secs_f64(1.0 / config.events_per_second.max(0.001));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    _ = tick.tick() => {
                        if let Err(e) = this.mutate(None, 1) {
                            tracing::warn!(error = ?e, "simulator step failed");
                        }
                    }
                }
            }
        });
    }

    pub(crate) fn stop_simulator(&self) {
        if let Some((_, tx)) = lock(&self.simulator).take() {
            let _ = tx.send(());
        }
    }

    fn simulator_state(&self) -> Value {
        match &*lock(&self.simulator) {
            Some((c, _)) => {
                json!({"running": true, "events_per_second": c.events_per_second, "seed": c.seed})
            }
            None => json!({"running": false}),
        }
    }

    fn log_request(&self, entry: LoggedRequest) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}

/// Serve `shared` on `listener` until `shutdown` fires.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    shutdown: oneshot::Receiver<()>,
) -> Result<(), SandboxError> {
    let app = axum::Router::new().fallback(handle).with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.await;
        })
        .await?;
    Ok(())
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"error": "Request body too large"}),
            );
        }
    };
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    if let Some(rest) = path.strip_prefix("/__sandbox") {
        return control(&shared, &parts.method, rest, query.as_deref(), &body);
    }
    if path == "/oauth/token" && parts.method == Method::POST {
        return token(&shared, &parts.headers, query.as_deref(), &body);
    }
    if path == "/oauth/authorize" && parts.method == Method::GET {
        return authorize(&shared, query.as_deref());
    }
    if path.starts_with("/v2/") {
        return api(
            &shared,
            parts.method,
            &path,
            query.as_deref(),
            &parts.headers,
            &body,
        )
        .await;
    }
    json_response(StatusCode::NOT_FOUND, &json!({"error": "Not Found"}))
}

/// The request's parameters: query string, then form or JSON body over it.
fn request_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, ApiError> {
    let mut params = Params::parse(query).to_object();
    let trimmed = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..]);
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
        || trimmed.is_some_and(|b| b.starts_with(b"{"));
    if let Some(b) = trimmed {
        if is_json {
            let v: Value = serde_json::from_slice(b)
                .map_err(|e| ApiError::bad_request(&format!("invalid JSON body: {e}")))?;
            let Value::Object(obj) = v else {
                return Err(ApiError::bad_request("the JSON body must be an object"));
            };
            params.extend(obj);
        } else {
            let form = Params::parse(std::str::from_utf8(b).ok());
            params.extend(form.to_object());
        }
    }
    Ok(params)
}

async fn api(
    shared: &Arc<Shared>,
    method: Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let now = now_ms();
    let fault = lock(&shared.faults).next();
    if fault.is_some() {
        shared
            .counters
            .faults_injected
            .fetch_add(1, Ordering::Relaxed);
    }
    if let Some(Fault::Slow { ms }) = fault {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let params = Params::parse(query);
    let is_list = method == Method::GET && list_kind(path).is_some();
    let cost = if is_list {
        page_cost(params.get("page").and_then(|p| p.parse().ok()).unwrap_or(1))
    } else {
        1
    };
    let (status, body_bytes, charged, remaining) = answer(
        shared, &method, path, &params, query, headers, body, fault, cost, now,
    );
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    shared
        .counters
        .cost_spent
        .fetch_add(u64::from(charged), Ordering::Relaxed);
    shared.log_request(LoggedRequest {
        at_ms: now,
        method: method.to_string(),
        path: path.to_owned(),
        query: query.unwrap_or("").to_owned(),
        status: status.as_u16(),
        cost: charged,
        fault,
    });
    let mut response = match fault {
        Some(Fault::Drop) => broken_body(body_bytes.slice(0..0)),
        Some(Fault::Truncate) => broken_body(body_bytes.slice(0..body_bytes.len() / 2)),
        _ => Response::new(Body::from(body_bytes.clone())),
    };
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if matches!(fault, Some(Fault::Drop | Fault::Truncate)) {
        // Announce the full length, then break off: what a dropped connection looks like.
        h.insert("content-length", HeaderValue::from(body_bytes.len()));
    }
    h.insert("x-ratelimit-endpoint-cost", HeaderValue::from(cost));
    h.insert("x-ratelimit-remaining-minute", HeaderValue::from(remaining));
    if status == StatusCode::TOO_MANY_REQUESTS && lock(&shared.config).send_retry_after {
        let secs = 60 - (now.rem_euclid(60_000) / 1000);
        h.insert("retry-after", HeaderValue::from(secs));
    }
    response
}

/// A response whose body fails after `prefix`.
fn broken_body(prefix: Bytes) -> Response<Body> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(prefix),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped",
        )),
    ];
    Response::new(Body::from_stream(futures_util::stream::iter(chunks)))
}

/// Decide the answer: (status, body, cost charged, remaining budget).
#[allow(clippy::too_many_arguments)]
fn answer(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    params: &Params,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    fault: Option<Fault>,
    cost: u32,
    now: i64,
) -> (StatusCode, Bytes, u32, u32) {
    let remaining_now = || lock(&shared.window).remaining(now);
    match fault {
        Some(Fault::RateLimited) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                error_body("Rate limit exceeded"),
                0,
                0,
            );
        }
        Some(Fault::Status { status }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = code.canonical_reason().unwrap_or("Error");
            return (code, error_body(text), 0, remaining_now());
        }
        _ => {}
    }
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if let Err(e) = lock(&shared.auth).check(authorization, now) {
        return (
            e.status,
            Bytes::from(e.body.to_string()),
            0,
            remaining_now(),
        );
    }
    let remaining = match lock(&shared.window).charge(cost, now) {
        Ok(r) => r,
        Err(_) => {
            shared.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                error_body("Rate limit exceeded"),
                0,
                0,
            );
        }
    };
    match route(shared, method, path, params, query, headers, body) {
        Ok((status, bytes)) => (status, bytes, cost, remaining),
        Err(e) => (e.status, Bytes::from(e.body.to_string()), cost, remaining),
    }
}

fn error_body(message: &str) -> Bytes {
    Bytes::from(json!({ "error": message }).to_string())
}

/// `/v2/<segments>` without a trailing `.json`.
fn segments(path: &str) -> Vec<&str> {
    let rest = path.strip_prefix("/v2/").unwrap_or("");
    let rest = rest.strip_suffix(".json").unwrap_or(rest);
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

fn kind_of(segs: &[&str]) -> Option<(Kind, usize)> {
    match segs {
        ["users", ..] => Some((Kind::Users, 1)),
        ["people", ..] => Some((Kind::People, 1)),
        ["accounts", ..] => Some((Kind::Accounts, 1)),
        ["cadences", ..] => Some((Kind::Cadences, 1)),
        ["steps", ..] => Some((Kind::Steps, 1)),
        ["cadence_memberships", ..] => Some((Kind::CadenceMemberships, 1)),
        ["activities", "emails", ..] => Some((Kind::Emails, 2)),
        ["activities", "calls", ..] => Some((Kind::Calls, 2)),
        ["notes", ..] => Some((Kind::Notes, 1)),
        _ => None,
    }
}

fn list_kind(path: &str) -> Option<Kind> {
    let segs = segments(path);
    kind_of(&segs)
        .filter(|(_, n)| segs.len() == *n)
        .map(|(k, _)| k)
}

type Answer = Result<(StatusCode, Bytes), ApiError>;

fn route(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    params: &Params,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Answer {
    let segs = segments(path);
    let input = || request_params(headers, query, body);
    let id_at = |i: usize| -> Result<i64, ApiError> {
        segs.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(ApiError::not_found)
    };
    // Read-only endpoints first.
    match (method, segs.as_slice()) {
        (&Method::GET, ["me"]) => {
            let world = read(&shared.world);
            let doc = world
                .collection(Kind::Users)
                .get(world.me)
                .ok_or_else(ApiError::not_found)?;
            return Ok((StatusCode::OK, data(&doc.json)));
        }
        (&Method::GET, ["team"]) => {
            let team = read(&shared.world).team_json();
            return Ok((StatusCode::OK, data(team.to_string().as_bytes())));
        }
        (_, ["webhook_subscriptions", rest @ ..]) => {
            return subscriptions(shared, method, rest, input);
        }
        _ => {}
    }
    if let Some((kind, n)) = kind_of(&segs) {
        match (method, segs.len() - n) {
            (&Method::GET, 0) => {
                let world = read(&shared.world);
                let answer = query::list(kind, world.collection(kind), params)?;
                shared.counters.list_pages.fetch_add(1, Ordering::Relaxed);
                shared
                    .counters
                    .list_records
                    .fetch_add(answer.records as u64, Ordering::Relaxed);
                return Ok((StatusCode::OK, answer.body));
            }
            (&Method::GET, 1) => {
                let id = id_at(n)?;
                let world = read(&shared.world);
                let doc = world
                    .collection(kind)
                    .get(id)
                    .ok_or_else(ApiError::not_found)?;
                return Ok((StatusCode::OK, data(&doc.json)));
            }
            _ => {}
        }
    }
    // Writes.
    let change: Change = match (method, segs.as_slice()) {
        (&Method::POST, ["people"]) => write(&shared.world).create_person(&input()?),
        (&Method::PUT, ["people", _]) => write(&shared.world).update_person(id_at(1)?, &input()?),
        (&Method::DELETE, ["people", _]) => {
            let events = write(&shared.world).delete_person(id_at(1)?);
            return deleted(shared, events);
        }
        (&Method::POST, ["person_upserts"]) => write(&shared.world).upsert_person(&input()?),
        (&Method::POST, ["accounts"]) => write(&shared.world).create_account(&input()?),
        (&Method::PUT, ["accounts", _]) => {
            write(&shared.world).update_account(id_at(1)?, &input()?)
        }
        (&Method::DELETE, ["accounts", _]) => {
            let events = write(&shared.world).delete_account(id_at(1)?);
            return deleted(shared, events);
        }
        (&Method::POST, ["account_upserts"]) => write(&shared.world).upsert_account(&input()?),
        (&Method::PUT, ["users", _]) => write(&shared.world).update_user(id_at(1)?, &input()?),
        (&Method::POST, ["cadence_imports"]) => write(&shared.world).import_cadence(&input()?),
        (&Method::POST, ["cadence_memberships"]) => write(&shared.world).enroll(&input()?),
        (&Method::DELETE, ["cadence_memberships", _]) => {
            let events = write(&shared.world).remove_membership(id_at(1)?);
            return deleted(shared, events);
        }
        (&Method::POST, ["activities", "calls"]) => write(&shared.world).create_call(&input()?),
        (&Method::POST, ["notes"]) => write(&shared.world).create_note(&input()?),
        (&Method::PUT, ["notes", _]) => write(&shared.world).update_note(id_at(1)?, &input()?),
        (&Method::DELETE, ["notes", _]) => {
            let events = write(&shared.world).delete_note(id_at(1)?);
            return deleted(shared, Ok(events));
        }
        _ if kind_of(&segs).is_some()
            || matches!(
                segs.as_slice(),
                ["person_upserts" | "account_upserts" | "cadence_imports"]
            ) =>
        {
            return Err(ApiError::method_not_allowed());
        }
        _ => return Err(ApiError::not_found()),
    };
    let (bytes, events) = change?;
    shared.emit(events);
    Ok((StatusCode::OK, data(&bytes)))
}

fn deleted(shared: &Arc<Shared>, result: Result<Vec<Event>, ApiError>) -> Answer {
    shared.emit(result?);
    Ok((StatusCode::NO_CONTENT, Bytes::new()))
}

fn subscriptions(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &[&str],
    input: impl FnOnce() -> Result<Map<String, Value>, ApiError>,
) -> Answer {
    let to_bytes = |v: &Value| Bytes::from(v.to_string());
    match (method, rest) {
        (&Method::GET, []) => {
            let world = read(&shared.world);
            let subs: Vec<Value> = world
                .subscriptions
                .values()
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                .collect();
            Ok((StatusCode::OK, to_bytes(&json!({ "data": subs }))))
        }
        (&Method::POST, []) => {
            let sub = write(&shared.world).create_subscription(&input()?)?;
            Ok((StatusCode::OK, to_bytes(&json!({ "data": sub }))))
        }
        (_, [id]) => {
            let id: i64 = id.parse().map_err(|_| ApiError::not_found())?;
            let mut world = write(&shared.world);
            match *method {
                Method::GET => {
                    let s = world
                        .subscriptions
                        .get(&id)
                        .ok_or_else(ApiError::not_found)?;
                    Ok((StatusCode::OK, to_bytes(&json!({ "data": s }))))
                }
                Method::PUT => {
                    let enabled = input()?
                        .get("enabled")
                        .and_then(crate::world::as_bool)
                        .ok_or_else(|| ApiError::invalid("enabled", "must be true or false"))?;
                    let s = world
                        .subscriptions
                        .get_mut(&id)
                        .ok_or_else(ApiError::not_found)?;
                    s.enabled = enabled;
                    Ok((StatusCode::OK, to_bytes(&json!({ "data": s }))))
                }
                Method::DELETE => {
                    world.subscriptions.remove(&id);
                    Ok((StatusCode::NO_CONTENT, Bytes::new()))
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::not_found()),
    }
}

/// Wrap a record in `{"data": ...}`.
fn data(record: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(record.len() + 9);
    out.extend_from_slice(b"{\"data\":");
    out.extend_from_slice(record);
    out.push(b'}');
    Bytes::from(out)
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn token(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let params = match request_params(headers, query, body) {
        Ok(p) => p,
        Err(e) => return json_response(e.status, &e.body),
    };
    match lock(&shared.auth).token(&params, now_ms()) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err((status, v)) => json_response(status, &v),
    }
}

/// `GET /oauth/authorize`: the sandbox approves at once and redirects back with a code.
fn authorize(shared: &Arc<Shared>, query: Option<&str>) -> Response<Body> {
    let p = Params::parse(query);
    let (Some(client_id), Some(redirect)) = (p.get("client_id"), p.get("redirect_uri")) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request"}),
        );
    };
    let Ok(mut url) = url::Url::parse(redirect) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_redirect_uri"}),
        );
    };
    let Some(code) = shared.issue_code(client_id) else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client"}),
        );
    };
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("context", "sandbox")
        .append_pair("scope", "people:read people:write cadences:read");
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        r.headers_mut().insert("location", v);
    }
    r
}

#[derive(Deserialize)]
struct SeedRequest {
    seed: Option<u64>,
    #[serde(default)]
    team: Option<TeamSize>,
}

#[derive(Deserialize)]
struct MutateRequest {
    #[serde(default)]
    action: Option<Action>,
    #[serde(default = "one")]
    count: usize,
}

fn one() -> usize {
    1
}

#[derive(Deserialize)]
struct SimulatorRequest {
    running: bool,
    #[serde(flatten)]
    config: Option<SimulatorConfig>,
}

#[derive(Deserialize)]
struct RateLimitRequest {
    per_minute: Option<u32>,
}

/// The control API under `/__sandbox`.
fn control(
    shared: &Arc<Shared>,
    method: &Method,
    rest: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    macro_rules! body_as {
        ($t:ty) => {
            match body_json::<$t>(body) {
                Ok(v) => v,
                Err(e) => return json_response(StatusCode::BAD_REQUEST, &json!({ "error": e })),
            }
        };
    }
    let ok = |v: Value| json_response(StatusCode::OK, &v);
    match (method, rest) {
        (&Method::GET, "/state") => bytes_response(StatusCode::OK, shared.snapshot()),
        (&Method::GET, "/counters") => {
            ok(serde_json::to_value(shared.counters()).unwrap_or_default())
        }
        (&Method::GET, "/counts") => {
            ok(serde_json::to_value(read(&shared.world).counts()).unwrap_or_default())
        }
        (&Method::GET, "/requests") => {
            ok(serde_json::to_value(shared.requests()).unwrap_or_default())
        }
        (&Method::DELETE, "/requests") => {
            lock(&shared.log).clear();
            ok(json!({}))
        }
        (&Method::GET, "/deliveries") => {
            ok(serde_json::to_value(shared.deliveries()).unwrap_or_default())
        }
        (&Method::POST, "/reset") => {
            let (seed, team) = {
                let c = lock(&shared.config);
                (c.seed, c.team)
            };
            match shared.reseed(seed, team) {
                Ok(()) => ok(json!({"seed": seed, "counts": read(&shared.world).counts()})),
                Err(e) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": e.to_string()}),
                ),
            }
        }
        (&Method::POST, "/seed") => {
            let req = body_as!(SeedRequest);
            let (seed, team) = {
                let c = lock(&shared.config);
                (req.seed.unwrap_or(c.seed), req.team.unwrap_or(c.team))
            };
            match shared.reseed(seed, team) {
                Ok(()) => ok(json!({"seed": seed, "counts": read(&shared.world).counts()})),
                Err(e) => json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"error": e.to_string()}),
                ),
            }
        }
        (&Method::POST, "/mutate") => {
            let req = body_as!(MutateRequest);
            match shared.mutate(req.action, req.count) {
                Ok(events) => ok(json!({"events": events})),
                Err(e) => json_response(e.status, &e.body),
            }
        }
        (&Method::GET, "/faults") => {
            let f = lock(&shared.faults);
            ok(json!({"config": f.config(), "scheduled": f.scheduled()}))
        }
        (&Method::PUT, "/faults") => {
            let config = body_as!(FaultConfig);
            lock(&shared.faults).set_config(config.clone());
            ok(serde_json::to_value(config).unwrap_or_default())
        }
        (&Method::POST, "/faults/schedule") => {
            let faults = body_as!(Vec<Fault>);
            let mut f = lock(&shared.faults);
            f.schedule(faults);
            ok(json!({"scheduled": f.scheduled()}))
        }
        (&Method::GET, "/simulator") => ok(shared.simulator_state()),
        (&Method::PUT, "/simulator") => {
            let req = body_as!(SimulatorRequest);
            if req.running {
                shared.start_simulator(req.config.unwrap_or_default());
            } else {
                shared.stop_simulator();
            }
            ok(shared.simulator_state())
        }
        (&Method::PUT, "/rate_limit") => {
            let req = body_as!(RateLimitRequest);
            shared.set_rate_limit(req.per_minute);
            ok(json!({"per_minute": req.per_minute}))
        }
        (&Method::POST, "/oauth/expire") => {
            shared.expire_tokens();
            ok(json!({}))
        }
        (&Method::POST, "/oauth/code") => {
            let v = body_as!(Value);
            match v
                .get("client_id")
                .and_then(Value::as_str)
                .and_then(|c| shared.issue_code(c))
            {
                Some(code) => ok(json!({"code": code})),
                None => json_response(
                    StatusCode::UNAUTHORIZED,
                    &json!({"error": "invalid_client"}),
                ),
            }
        }
        (&Method::GET, "/naive_cost") => {
            let p = Params::parse(query);
            let kind = p
                .get("kind")
                .and_then(Kind::from_name)
                .unwrap_or(Kind::People);
            let per_page = p
                .get("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100u64)
                .clamp(1, 100);
            let records = read(&shared.world).collection(kind).len() as u64;
            ok(
                json!({"kind": kind.name(), "records": records, "per_page": per_page,
                      "pages": records.div_ceil(per_page), "cost": naive_cost(records, per_page)}),
            )
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "no such control endpoint"}),
        ),
    }
}

/// A control request's JSON body as `T` (an empty body reads as `{}`).
fn body_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|e| e.to_string())
}

/// What reading `records` records by page number (`page=1, 2, ...`) costs, by the page table.
pub fn naive_cost(records: u64, per_page: u64) -> u64 {
    let pages = records.div_ceil(per_page.max(1));
    (1..=pages).map(|p| u64::from(page_cost(p))).sum()
}

/// Where the server listens.
pub(crate) fn local_url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_a_fixed_calendar_minute() {
        let mut w = Window {
            per_minute: Some(10),
            minute: 0,
            spent: 0,
        };
        let t = 1_700_000_080_000; // 40 s into a minute
        for i in 0..10 {
            assert_eq!(w.charge(1, t), Ok(9 - i));
        }
        assert_eq!(w.charge(1, t), Err(20_000));
        assert_eq!(w.charge(1, t + 20_000), Ok(9), "a new minute starts afresh");
        assert_eq!(w.charge(3, t + 20_000), Ok(6));
    }

    #[test]
    fn naive_paging_of_100k_people_costs_the_page_table() {
        // 1000 pages: 100 at 1, 50 at 3, 100 at 8, 250 at 10, 500 at 30.
        assert_eq!(naive_cost(100_000, 100), 100 + 150 + 800 + 2_500 + 15_000);
    }

    #[test]
    fn paths_work_with_and_without_json() {
        assert_eq!(segments("/v2/people.json"), vec!["people"]);
        assert_eq!(segments("/v2/people/12.json"), vec!["people", "12"]);
        assert_eq!(list_kind("/v2/activities/emails"), Some(Kind::Emails));
        assert_eq!(list_kind("/v2/activities/calls/5"), None);
    }
}
