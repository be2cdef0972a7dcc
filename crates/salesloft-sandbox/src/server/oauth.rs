//! The OAuth endpoints: `POST /oauth/token` (authorization code, refresh with rotation, client
//! credentials) and `GET /oauth/authorize`, which approves at once.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::json;

use super::respond::{json_response, request_params};
use super::state::{Shared, lock, now_ms};
use crate::query::Params;

/// `POST /oauth/token`, answered by the team that issued the code or refresh token (the
/// first for a client-credentials grant or a grant no team issued).
pub(crate) fn token(
    teams: &[Arc<Shared>],
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Response<Body> {
    let params = match request_params(headers, query, body) {
        Ok(p) => p,
        Err(e) => return json_response(e.status, &e.body),
    };
    let Some(first) = teams.first() else {
        return json_response(StatusCode::NOT_FOUND, &json!({"error": "no team"}));
    };
    let shared = teams
        .iter()
        .find(|t| lock(&t.auth).issued(&params))
        .unwrap_or(first);
    match lock(&shared.auth).token(&params, now_ms()) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err((status, v)) => json_response(status, &v),
    }
}

/// `GET /oauth/authorize`: the sandbox approves at once and redirects back with a code (and
/// the `state` it was sent, unless configured not to).
/// With several teams, `team_id` (a sandbox parameter: who signs in) picks the team that
/// grants; else the first does.
pub(crate) fn authorize(teams: &[Arc<Shared>], query: Option<&str>) -> Response<Body> {
    let p = Params::parse(query);
    let wanted = p.get("team_id").and_then(|id| id.parse::<i64>().ok());
    let Some(shared) = teams
        .iter()
        .find(|t| wanted.is_none_or(|id| super::read(&t.world).team_id == id))
    else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_request", "error_description": "no such team"}),
        );
    };
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
    let echo_state = lock(&shared.config).oauth_returns_state;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("code", &code)
            .append_pair("context", "sandbox")
            .append_pair("scope", "people:read people:write cadences:read");
        // SalesLoft's documentation names no `state`; an app must work whether it comes back.
        if let (true, Some(state)) = (echo_state, p.get("state")) {
            query.append_pair("state", state);
        }
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        r.headers_mut().insert("location", v);
    }
    r
}
