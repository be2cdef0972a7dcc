//! The control API under `/__sandbox/`: state export, counters, the request log, reseeding,
//! mutations, faults, the simulator, the rate limit and OAuth helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{Response, StatusCode};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::respond::{bytes_response, json_response};
use super::state::{Shared, lock, read};
use crate::faults::{Fault, FaultConfig};
use crate::generate::TeamSize;
use crate::query::{Params, naive_cost};
use crate::simulator::{Action, SimulatorConfig};
use crate::store::Kind;

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
struct TieGroupRequest {
    count: usize,
}

#[derive(Deserialize)]
struct RetimeRequest {
    kind: String,
    ids: Vec<i64>,
    #[serde(default)]
    behind_ms: u64,
}

#[derive(Deserialize)]
struct DeleteSilentlyRequest {
    kind: String,
    ids: Vec<i64>,
}

#[derive(Deserialize)]
struct RateLimitRequest {
    per_minute: Option<u32>,
}

/// The control API, to be nested under `/__sandbox`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/state", get(state))
        .route("/counters", get(|s: Ctl| ok_as(s.counters())))
        .route("/counts", get(|s: Ctl| ok_as(read(&s.world).counts())))
        .route("/minutes", get(|s: Ctl| ok_as(lock(&s.window).minutes())))
        .route(
            "/requests",
            get(|s: Ctl| ok_as(s.requests())).delete(clear_requests),
        )
        .route("/deliveries", get(|s: Ctl| ok_as(s.deliveries())))
        .route("/reset", post(reset))
        .route("/seed", post(seed))
        .route("/mutate", post(mutate))
        .route("/faults", get(faults).put(set_faults))
        .route("/faults/schedule", post(schedule_faults))
        .route(
            "/simulator",
            get(|s: Ctl| ok_as(s.simulator_state())).put(simulator),
        )
        .route("/rate_limit", put(rate_limit))
        .route("/oauth/expire", post(expire_tokens))
        .route("/oauth/code", post(oauth_code))
        .route("/naive_cost", get(naive))
        .route("/tie_group", post(tie_group))
        .route("/retime", post(retime))
        .route("/delete_silently", post(delete_silently))
        .route("/records/{kind}/{id}", put(put_record))
        .fallback(|| async {
            json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": "no such control endpoint"}),
            )
        })
}

/// The sandbox's state, as every control handler takes it.
type Ctl = State<Arc<Shared>>;

fn ok(v: Value) -> Response<Body> {
    json_response(StatusCode::OK, &v)
}

fn ok_as(v: impl serde::Serialize) -> std::future::Ready<Response<Body>> {
    std::future::ready(ok(serde_json::to_value(v).unwrap_or_default()))
}

/// A control request's JSON body (an empty body reads as `{}`); anything else is a 400.
struct Input<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Input<T> {
    type Rejection = Response<Body>;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let bad = |e: String| json_response(StatusCode::BAD_REQUEST, &json!({ "error": e }));
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| bad(e.to_string()))?;
        body_json(&body).map(Input).map_err(bad)
    }
}

async fn state(State(shared): Ctl) -> Response<Body> {
    bytes_response(StatusCode::OK, shared.snapshot())
}

async fn clear_requests(State(shared): Ctl) -> Response<Body> {
    lock(&shared.log).clear();
    ok(json!({}))
}

/// Regenerate the team from `seed` and `team`, answering with the new counts.
fn reseeded(shared: &Shared, seed: u64, team: TeamSize) -> Response<Body> {
    match shared.reseed(seed, team) {
        Ok(()) => ok(json!({"seed": seed, "counts": read(&shared.world).counts()})),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": e.to_string()}),
        ),
    }
}

async fn reset(State(shared): Ctl) -> Response<Body> {
    let (seed, team) = {
        let c = lock(&shared.config);
        (c.seed, c.team)
    };
    reseeded(&shared, seed, team)
}

async fn seed(State(shared): Ctl, Input(req): Input<SeedRequest>) -> Response<Body> {
    let (seed, team) = {
        let c = lock(&shared.config);
        (req.seed.unwrap_or(c.seed), req.team.unwrap_or(c.team))
    };
    reseeded(&shared, seed, team)
}

async fn mutate(State(shared): Ctl, Input(req): Input<MutateRequest>) -> Response<Body> {
    match shared.mutate(req.action, req.count) {
        Ok(events) => ok(json!({ "events": events })),
        Err(e) => json_response(e.status, &e.body),
    }
}

async fn faults(State(shared): Ctl) -> Response<Body> {
    let f = lock(&shared.faults);
    ok(json!({"config": f.config(), "scheduled": f.scheduled()}))
}

async fn set_faults(State(shared): Ctl, Input(config): Input<FaultConfig>) -> Response<Body> {
    lock(&shared.faults).set_config(config.clone());
    ok(serde_json::to_value(config).unwrap_or_default())
}

async fn schedule_faults(State(shared): Ctl, Input(faults): Input<Vec<Fault>>) -> Response<Body> {
    let mut f = lock(&shared.faults);
    f.schedule(faults);
    ok(json!({"scheduled": f.scheduled()}))
}

async fn simulator(State(shared): Ctl, Input(req): Input<SimulatorRequest>) -> Response<Body> {
    if req.running {
        shared.start_simulator(req.config.unwrap_or_default());
    } else {
        shared.stop_simulator();
    }
    ok(shared.simulator_state())
}

async fn rate_limit(State(shared): Ctl, Input(req): Input<RateLimitRequest>) -> Response<Body> {
    shared.set_rate_limit(req.per_minute);
    ok(json!({"per_minute": req.per_minute}))
}

async fn expire_tokens(State(shared): Ctl) -> Response<Body> {
    shared.expire_tokens();
    ok(json!({}))
}

async fn oauth_code(State(shared): Ctl, Input(v): Input<Value>) -> Response<Body> {
    let code = v
        .get("client_id")
        .and_then(Value::as_str)
        .and_then(|c| shared.issue_code(c));
    match code {
        Some(code) => ok(json!({ "code": code })),
        None => json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client"}),
        ),
    }
}

/// What listing a collection page by page would cost without the walk.
async fn naive(State(shared): Ctl, RawQuery(query): RawQuery) -> Response<Body> {
    let p = Params::parse(query.as_deref());
    let kind = p
        .get("kind")
        .and_then(Kind::from_name)
        .unwrap_or(Kind::PEOPLE);
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

async fn tie_group(State(shared): Ctl, Input(req): Input<TieGroupRequest>) -> Response<Body> {
    let (ids, at_us) = shared.tie_group(req.count);
    ok(json!({"ids": ids, "at_us": at_us}))
}

async fn retime(State(shared): Ctl, Input(req): Input<RetimeRequest>) -> Response<Body> {
    let Some(kind) = Kind::from_name(&req.kind) else {
        return unknown_kind(&req.kind);
    };
    let behind = std::time::Duration::from_millis(req.behind_ms);
    ok(json!({"at_us": shared.retime(Some(kind), &req.ids, behind)}))
}

async fn delete_silently(
    State(shared): Ctl,
    Input(req): Input<DeleteSilentlyRequest>,
) -> Response<Body> {
    let Some(kind) = Kind::from_name(&req.kind) else {
        return unknown_kind(&req.kind);
    };
    ok(json!({"deleted": shared.delete_silently(kind, &req.ids)}))
}

/// Store `body` as record `id` of `kind`, as given (drifted or malformed on purpose).
async fn put_record(
    State(shared): Ctl,
    Path((kind, id)): Path<(String, String)>,
    body: Bytes,
) -> Response<Body> {
    let Ok(id) = id.parse::<i64>() else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "expected /__sandbox/records/{kind}/{id}"}),
        );
    };
    let Some(kind) = Kind::from_name(&kind) else {
        return unknown_kind(&kind);
    };
    let bytes = body.len();
    shared.put_raw(kind, id, body);
    ok(json!({"kind": kind.name(), "id": id, "bytes": bytes}))
}

/// The answer to a control request naming a resource the sandbox does not have.
fn unknown_kind(kind: &str) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": format!("no resource named {kind:?}")}),
    )
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
