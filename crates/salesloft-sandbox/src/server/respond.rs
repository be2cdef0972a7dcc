//! Building answers and reading requests: JSON responses, the `{"data": ...}` envelope,
//! SalesLoft's error body, path segments and request parameters.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::query::Params;

/// The largest request body read.
pub(crate) const BODY_LIMIT: usize = 1 << 20;

/// The request's parameters: query string, then form or JSON body over it.
pub(crate) fn request_params(
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

pub(crate) fn error_body(message: &str) -> Bytes {
    Bytes::from(json!({ "error": message }).to_string())
}

/// `/v2/<segments>` without a trailing `.json`.
pub(crate) fn segments(path: &str) -> Vec<&str> {
    let rest = path.strip_prefix("/v2/").unwrap_or("");
    let rest = rest.strip_suffix(".json").unwrap_or(rest);
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

/// Wrap a record in `{"data": ...}`.
pub(crate) fn data(record: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(record.len() + 9);
    out.extend_from_slice(b"{\"data\":");
    out.extend_from_slice(record);
    out.push(b'}');
    Bytes::from(out)
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub(crate) fn bytes_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}
