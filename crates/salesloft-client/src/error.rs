//! The crate's one error type.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};

use salesloft_model::CredentialHold;

pub use salesloft_model::{BoxError, FailureKind};

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
    /// SalesLoft kept answering 429 for longer than the retry policy's `max_rate_limited`:
    /// the team's budget stayed spent, most likely by other integrations of the team.
    #[error(
        "{method} {path}: SalesLoft refused it with 429 (rate limited) {refusals} time(s) over {}s; \
         the team's cost budget stayed exhausted (other integrations may be spending it): \
         try again later, or allow a longer wait (api.max_rate_limited_secs)",
        waited.as_secs()
    )]
    RateLimited {
        /// The HTTP method of the request.
        method: Method,
        /// The request path, without query string.
        path: String,
        /// How many 429s in a row.
        refusals: u32,
        /// How long the 429s went on.
        waited: Duration,
        /// SalesLoft's `error` message on the last one.
        message: Option<String>,
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
    /// SalesLoft answered with a body this crate could not decode. The error names the field
    /// and the types involved, never a value or a piece of the body (they carry personal data).
    #[error("{path}: cannot decode response at `{field}`: {message}")]
    Decode {
        /// The request path, without query string.
        path: String,
        /// Where in the JSON document decoding failed, such as `data[3].owner.id`.
        field: String,
        /// What was wrong there, such as `invalid type: string, expected i64 at line 1
        /// column 40`.
        message: String,
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
    /// SalesLoft rejected the credentials (401 after any refresh, or the token endpoint
    /// refused them): requests with them are held, not sent, until they change or a probe
    /// finds them accepted again (see [`CredentialHold`]). `source` is the rejection itself
    /// when this request was the one rejected; requests refused because of an earlier
    /// rejection have none.
    #[error(
        "SalesLoft rejected the credentials{} ({} since {}); requests wait for new credentials \
         or the next probe",
        if source.is_some() { "" } else { ": not sent" },
        hold.request,
        hold.since_rfc3339()
    )]
    CredentialsRejected {
        /// The hold: since when, by which request, when the next probe goes.
        hold: Box<CredentialHold>,
        /// The rejection, when this request got it.
        #[source]
        source: Option<Box<Error>>,
    },
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
            Error::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Error::Auth { status, .. } => *status,
            Error::CredentialsRejected { hold, .. } => {
                hold.status.and_then(|s| StatusCode::from_u16(s).ok())
            }
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

    /// What this failure says about trying again.
    pub fn kind(&self) -> FailureKind {
        match self {
            Error::Api { status, .. } if *status == StatusCode::UNAUTHORIZED => {
                FailureKind::CredentialsRejected
            }
            Error::Api { status, .. }
                if *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_server_error() =>
            {
                FailureKind::Transient
            }
            Error::Transport { .. }
            | Error::RateLimited { .. }
            | Error::Limiter(_)
            | Error::TokenStore(_)
            | Error::Protocol { .. } => FailureKind::Transient,
            Error::Auth { status, .. } if status.is_none_or(|s| s.is_server_error()) => {
                FailureKind::Transient
            }
            Error::Auth {
                status: Some(s), ..
            } if *s == StatusCode::BAD_REQUEST || *s == StatusCode::UNAUTHORIZED => {
                FailureKind::CredentialsRejected
            }
            Error::CredentialsRejected { .. } => FailureKind::CredentialsRejected,
            _ => FailureKind::Permanent,
        }
    }

    /// True when trying the same request later may succeed: rate limits, server errors,
    /// timeouts and connection failures.
    pub fn is_transient(&self) -> bool {
        self.kind() == FailureKind::Transient
    }

    /// The hold on the credentials, when SalesLoft rejected them.
    pub fn credential_hold(&self) -> Option<&CredentialHold> {
        match self {
            Error::CredentialsRejected { hold, .. } => Some(hold),
            _ => None,
        }
    }

    /// True when the token endpoint refused the refresh token or code (`invalid_grant`): it was
    /// revoked, expired or already used.
    pub fn is_invalid_grant(&self) -> bool {
        match self {
            Error::Auth {
                error_code: Some(c),
                ..
            } => c == "invalid_grant",
            Error::CredentialsRejected {
                source: Some(rejection),
                ..
            } => rejection.is_invalid_grant(),
            _ => false,
        }
    }

    /// True for a 404: the record does not exist (or is not visible to this user).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// True for 429s that outlasted the retry policy ([`Error::RateLimited`]), or a 429 from a
    /// request sent without retries.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }
}

impl From<salesloft_model::DecodeError> for Error {
    fn from(e: salesloft_model::DecodeError) -> Self {
        Error::Decode {
            path: e.path,
            field: e.field,
            message: e.message,
        }
    }
}

impl salesloft_model::Failure for Error {
    fn failure_kind(&self) -> salesloft_model::FailureKind {
        self.kind()
    }

    fn held_credential(&self) -> Option<&salesloft_model::CredentialHold> {
        self.credential_hold()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
