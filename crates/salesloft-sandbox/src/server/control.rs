//! The control API under `/__sandbox/`: state export, counters, the request log, reseeding,
//! mutations, faults, the simulator, the rate limit and OAuth helpers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};
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

/// The control API under `/__sandbox`.
pub(crate) fn control(
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
        (&Method::GET, "/minutes") => {
            ok(serde_json::to_value(lock(&shared.window).minutes()).unwrap_or_default())
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
        (&Method::POST, "/tie_group") => {
            let req = body_as!(TieGroupRequest);
            let (ids, at_us) = shared.tie_group(req.count);
            ok(json!({"ids": ids, "at_us": at_us}))
        }
        (&Method::POST, "/retime") => {
            let req = body_as!(RetimeRequest);
            let Some(kind) = Kind::from_name(&req.kind) else {
                return unknown_kind(&req.kind);
            };
            let behind = std::time::Duration::from_millis(req.behind_ms);
            ok(json!({"at_us": shared.retime(Some(kind), &req.ids, behind)}))
        }
        (&Method::POST, "/delete_silently") => {
            let req = body_as!(DeleteSilentlyRequest);
            let Some(kind) = Kind::from_name(&req.kind) else {
                return unknown_kind(&req.kind);
            };
            ok(json!({"deleted": shared.delete_silently(kind, &req.ids)}))
        }
        (&Method::PUT, path) if path.starts_with("/records/") => {
            let target = path.trim_start_matches("/records/").split_once('/');
            let Some((kind, id)) = target.and_then(|(k, id)| Some((k, id.parse::<i64>().ok()?)))
            else {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "expected /__sandbox/records/{kind}/{id}"}),
                );
            };
            let Some(kind) = Kind::from_name(kind) else {
                return unknown_kind(kind);
            };
            shared.put_raw(kind, id, bytes::Bytes::copy_from_slice(body));
            ok(json!({"kind": kind.name(), "id": id, "bytes": body.len()}))
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "no such control endpoint"}),
        ),
    }
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
