//! The REST API under `/v2/`: faults, authentication and the cost window first, then the
//! reads and writes of each collection, webhook subscriptions, `me` and `team`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::respond::{data, error_body, request_params, segments};
use super::state::{LoggedRequest, Shared, lock, now_ms, read, write};
use crate::error::ApiError;
use crate::faults::Fault;
use crate::query::{self, Params, page_cost};
use crate::store::Kind;
use crate::world::{Change, Event};

pub(crate) async fn api(
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
    // A server that failed after acting: the write stands, the caller hears an error.
    let (status, body_bytes) = match fault {
        Some(Fault::ActThenStatus { status: failed }) => {
            let code = StatusCode::from_u16(failed).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, error_body(code.canonical_reason().unwrap_or("Error")))
        }
        _ => (status, body_bytes),
    };
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

/// The collection whose path `segs` starts with, and how many segments that path has.
fn kind_of(segs: &[&str]) -> Option<(Kind, usize)> {
    Kind::all().find_map(|kind| {
        let path: Vec<&str> = segments(kind.resource().path);
        segs.starts_with(&path).then_some((kind, path.len()))
    })
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
    if let Some(answer) = read_route(shared, method, &segs, params, input) {
        return answer;
    }
    let id = || -> Result<i64, ApiError> {
        segs.get(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(ApiError::not_found)
    };
    write_route(shared, method, &segs, input, id)
}

/// `me`, `team`, webhook subscriptions and the reads of each collection (a page, or one record
/// by id); `None` for anything else.
fn read_route(
    shared: &Arc<Shared>,
    method: &Method,
    segs: &[&str],
    params: &Params,
    input: impl FnOnce() -> Result<Map<String, Value>, ApiError>,
) -> Option<Answer> {
    let world = || read(&shared.world);
    match (method, segs) {
        (&Method::GET, ["me"]) => {
            let world = world();
            let doc = world.collection(Kind::USERS).get(world.me);
            return Some(
                doc.map(|doc| (StatusCode::OK, data(&doc.json)))
                    .ok_or_else(ApiError::not_found),
            );
        }
        (&Method::GET, ["team"]) => {
            let team = world().team_json();
            return Some(Ok((StatusCode::OK, data(team.to_string().as_bytes()))));
        }
        (_, ["webhook_subscriptions", rest @ ..]) => {
            return Some(subscriptions(shared, method, rest, input));
        }
        _ => {}
    }
    let (kind, n) = kind_of(segs)?;
    match (method, &segs[n..]) {
        (&Method::GET, []) => Some(list(shared, kind, params)),
        (&Method::GET, [id]) => {
            let world = world();
            let doc = id
                .parse()
                .ok()
                .and_then(|id| world.collection(kind).get(id));
            Some(
                doc.map(|doc| (StatusCode::OK, data(&doc.json)))
                    .ok_or_else(ApiError::not_found),
            )
        }
        _ => None,
    }
}

/// A page of collection `kind`, counted. Tasks' `idempotency_key` filter (a key the task's
/// JSON does not carry) becomes an `ids` filter of the task created with it.
fn list(shared: &Arc<Shared>, kind: Kind, params: &Params) -> Answer {
    let world = read(&shared.world);
    let keyed;
    let params = match params.get("idempotency_key") {
        Some(key) if kind.resource().name == "tasks" => {
            let id = world.task_with_key(key).unwrap_or(0);
            keyed = params.with("ids", &id.to_string());
            &keyed
        }
        _ => params,
    };
    let answer = query::list(kind, world.collection(kind), params)?;
    shared.counters.list_pages.fetch_add(1, Ordering::Relaxed);
    shared
        .counters
        .list_records
        .fetch_add(answer.records as u64, Ordering::Relaxed);
    Ok((StatusCode::OK, answer.body))
}

/// The writes SalesLoft offers: creates, updates, upserts, deletes, imports and enrollments;
/// their webhooks are emitted.
fn write_route(
    shared: &Arc<Shared>,
    method: &Method,
    segs: &[&str],
    input: impl FnOnce() -> Result<Map<String, Value>, ApiError>,
    id: impl Fn() -> Result<i64, ApiError>,
) -> Answer {
    let world = || write(&shared.world);
    let change: Change = match (method, segs) {
        (&Method::POST, ["people"]) => world().create_person(&input()?),
        (&Method::PUT, ["people", _]) => world().update_person(id()?, &input()?),
        (&Method::DELETE, ["people", _]) => {
            let events = world().delete_person(id()?);
            return deleted(shared, events);
        }
        (&Method::POST, ["person_upserts"]) => world().upsert_person(&input()?),
        (&Method::POST, ["accounts"]) => world().create_account(&input()?),
        (&Method::PUT, ["accounts", _]) => world().update_account(id()?, &input()?),
        (&Method::DELETE, ["accounts", _]) => {
            let events = world().delete_account(id()?);
            return deleted(shared, events);
        }
        (&Method::POST, ["account_upserts"]) => world().upsert_account(&input()?),
        (&Method::PUT, ["users", _]) => world().update_user(id()?, &input()?),
        (&Method::POST, ["cadence_imports"]) => world().import_cadence(&input()?),
        (&Method::POST, ["cadence_memberships"]) => world().enroll(&input()?),
        (&Method::DELETE, ["cadence_memberships", _]) => {
            let events = world().remove_membership(id()?);
            return deleted(shared, events);
        }
        (&Method::POST, ["activities", "calls"]) => world().create_call(&input()?),
        (&Method::POST, ["notes"]) => world().create_note(&input()?),
        (&Method::PUT, ["notes", _]) => world().update_note(id()?, &input()?),
        (&Method::DELETE, ["notes", _]) => {
            let events = world().delete_note(id()?);
            return deleted(shared, Ok(events));
        }
        (&Method::POST, ["tasks"]) => world().create_task(&input()?),
        (&Method::PUT, ["tasks", _]) => world().update_task(id()?, &input()?),
        (&Method::DELETE, ["tasks", _]) => {
            let events = world().delete_task(id()?);
            return deleted(shared, Ok(events));
        }
        _ if kind_of(segs).is_some()
            || matches!(
                segs,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_work_with_and_without_json() {
        assert_eq!(segments("/v2/people.json"), vec!["people"]);
        assert_eq!(segments("/v2/people/12.json"), vec!["people", "12"]);
        assert_eq!(list_kind("/v2/activities/emails"), Some(Kind::EMAILS));
        assert_eq!(list_kind("/v2/activities/calls/5"), None);
        assert_eq!(list_kind("/v2/notes.json"), Some(Kind::NOTES));
    }
}
