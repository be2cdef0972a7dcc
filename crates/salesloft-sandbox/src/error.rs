//! Errors of the sandbox itself, and API errors in SalesLoft's shapes.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// Something went wrong running the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A stored record could not be (de)serialised.
    #[error("stored record is not valid JSON for its model")]
    Json(#[from] serde_json::Error),
    /// The listener could not be bound or served.
    #[error("sandbox server I/O")]
    Io(#[from] std::io::Error),
    /// The configuration is unusable.
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
}

/// An error answer in one of SalesLoft's shapes: `{"error": "..."}` for 401/403/404/429,
/// `{"errors": {field: [...]}}` for 422.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: Value,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the sandbox answered {}: {}", self.status, self.body)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// 404 `{"error": "Not Found"}`.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            body: json!({"error": "Not Found"}),
        }
    }

    /// 401 with a message.
    pub fn unauthorized(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({ "error": message }),
        }
    }

    /// 422 with one field error.
    pub fn invalid(field: &str, message: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"errors": { field: [message] }}),
        }
    }

    /// 400 with a message (unparseable request).
    pub fn bad_request(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: json!({ "error": message }),
        }
    }

    /// 405 for a method the path does not take.
    pub fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            body: json!({"error": "Method Not Allowed"}),
        }
    }
}

impl From<SandboxError> for ApiError {
    fn from(e: SandboxError) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: json!({ "error": e.to_string() }),
        }
    }
}
