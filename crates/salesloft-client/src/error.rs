//! The crate's one error type.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};

/// A boxed error from a pluggable part (a [`CostLimiter`](crate::CostLimiter) or a
/// [`TokenStore`](crate::TokenStore)) that this crate does not know the type of.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to SalesLoft.
///
/// Each variant carries what a caller needs to act: the request's method and path (never its
/// query string, which may hold e-mail addresses, and never a credential), the HTTP status,
/// SalesLoft's own message or its per-field validation errors, and a retry hint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SalesLoft answered with a non-success status (after any retries the policy allowed).
    #[error("{method} {path}: HTTP {status}{}", api_detail(message.as_deref(), field_errors))]
    Api {
        /// The HTTP method of the request.
        method: Method,
        /// The request path, without query string.
        path: String,
        /// The HTTP status SalesLoft sent.
        status: StatusCode,
        /// SalesLoft's `error` message (401, 403, 404, 429, ...), when it sent one.
        message: Option<String>,
        /// SalesLoft's 422 `errors` object: field name to messages.
        field_errors: BTreeMap<String, Vec<String>>,
        /// How long the server asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// The request never got an answer: connection refused or reset, or it timed out.
    #[error("{method} {path}: {kind} after {attempts} attempt(s)")]
    Transport {
        /// The HTTP method of the request.
        method: Method,
        /// The request path, without query string.
        path: String,
        /// What kind of failure it was.
        kind: TransportKind,
        /// How many times the request was sent.
        attempts: u32,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// SalesLoft answered with a body this crate could not decode.
    #[error(
        "{path}: cannot decode response at `{field}`: {message}; body near the error: {excerpt}"
    )]
    Decode {
        /// The request path, without query string.
        path: String,
        /// Where in the JSON document decoding failed, such as `data[3].owner.id`.
        field: String,
        /// What was wrong there.
        message: String,
        /// A short excerpt of the body around the error.
        excerpt: String,
    },
    /// SalesLoft answered in a way that breaks the API's contract (for example a walk page
    /// that is not sorted as asked); going on could lose records, so the caller is told.
    #[error("{path}: unexpected response: {message}")]
    Protocol {
        /// The request path, without query string.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Getting or refreshing an OAuth token failed.
    #[error("OAuth token request failed: {message}")]
    Auth {
        /// HTTP status of the token endpoint, when it answered.
        status: Option<StatusCode>,
        /// The OAuth `error` code the token endpoint sent, such as `invalid_grant`.
        error_code: Option<String>,
        /// The `error` and `error_description` the token endpoint sent, or what went wrong.
        message: String,
    },
    /// The caller's [`TokenStore`](crate::TokenStore) could not save a rotated refresh token.
    /// The new token is kept in memory and saving is tried again before the next request.
    #[error("could not persist the rotated OAuth tokens")]
    TokenStore(#[source] BoxError),
    /// The [`CostLimiter`](crate::CostLimiter) failed (for example its database is down).
    #[error("cost limiter failed")]
    Limiter(#[source] BoxError),
    /// The client was configured with something unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The caller passed an argument the API cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

fn api_detail(message: Option<&str>, field_errors: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    if let Some(m) = message {
        out.push_str(": ");
        out.push_str(m);
    }
    for (field, msgs) in field_errors {
        out.push_str(&format!("; {field}: {}", msgs.join(", ")));
    }
    out
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made; the server cannot have seen the request.
    Connect,
    /// The request timed out; the server may or may not have acted on it.
    Timeout,
    /// The connection broke while sending or receiving.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Other => "connection error",
        })
    }
}

impl Error {
    /// The HTTP status SalesLoft answered with, if it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::Auth { status, .. } => *status,
            _ => None,
        }
    }

    /// SalesLoft's 422 validation errors (field name to messages); empty for other errors.
    pub fn field_errors(&self) -> Option<&BTreeMap<String, Vec<String>>> {
        match self {
            Error::Api { field_errors, .. } if !field_errors.is_empty() => Some(field_errors),
            _ => None,
        }
    }

    /// How long the server asked the caller to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True when trying the same request later may succeed: rate limits, server errors,
    /// timeouts and connection failures.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
            }
            Error::Transport { .. } | Error::Limiter(_) | Error::TokenStore(_) => true,
            Error::Auth { status, .. } => status.is_none_or(|s| s.is_server_error()),
            _ => false,
        }
    }

    /// True when the token endpoint refused the refresh token or code (`invalid_grant`): it was
    /// revoked, expired or already used.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Error::Auth { error_code: Some(c), .. } if c == "invalid_grant")
    }

    /// True for a 404: the record does not exist (or is not visible to this user).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for a 429 that outlasted the retry policy.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }
}

/// Builds an [`Error::Decode`] from a `serde_path_to_error` failure, with an excerpt of the
/// body around the failing position.
pub(crate) fn decode_error(
    path: &str,
    body: &[u8],
    err: serde_path_to_error::Error<serde_json::Error>,
) -> Error {
    let field = err.path().to_string();
    let inner = err.into_inner();
    let excerpt = excerpt_at(body, inner.line(), inner.column());
    Error::Decode {
        path: path.to_owned(),
        field,
        message: inner.to_string(),
        excerpt,
    }
}

/// Up to ~120 characters of `body` around (line, column), both 1-based as serde_json counts.
fn excerpt_at(body: &[u8], line: usize, column: usize) -> String {
    const RADIUS: usize = 60;
    let text = String::from_utf8_lossy(body);
    let mut offset = 0usize;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            offset += column.saturating_sub(1).min(l.len());
            break;
        }
        offset += l.len() + 1;
    }
    let offset = offset.min(text.len());
    let mut start = offset.saturating_sub(RADIUS);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (offset + RADIUS).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&text[start..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_centred_on_the_error() {
        let body = format!("{{\"a\":\"{}\",\"b\":x}}", "y".repeat(200));
        let e = excerpt_at(body.as_bytes(), 1, body.find('x').unwrap_or(0) + 1);
        assert!(e.contains("\"b\":x"), "{e}");
        assert!(e.len() < 140, "{e}");
        assert!(e.starts_with('…'));
    }

    #[test]
    fn api_error_display_names_path_status_and_fields() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "email_address".to_owned(),
            vec!["is already taken".to_owned()],
        );
        let e = Error::Api {
            method: Method::POST,
            path: "/v2/people.json".into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: None,
            field_errors: fields,
            retry_after: None,
            attempts: 1,
        };
        let s = e.to_string();
        assert!(s.contains("POST /v2/people.json"), "{s}");
        assert!(s.contains("422"), "{s}");
        assert!(s.contains("email_address: is already taken"), "{s}");
        assert!(!e.is_transient());
    }
}
