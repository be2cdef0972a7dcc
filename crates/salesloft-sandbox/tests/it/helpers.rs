use std::sync::Arc;

use salesloft_client::{Auth, Client, RetryPolicy, Unlimited};
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use serde_json::Value;

pub async fn sandbox_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// A small default team, rate limiting off.
pub async fn sandbox() -> SandboxHandle {
    sandbox_with(SandboxConfig {
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    })
    .await
}

pub fn client(sb: &SandboxHandle) -> Client {
    Client::builder(Auth::api_key(sb.api_key()))
        .base_url(sb.url())
        .limiter(Arc::new(Unlimited))
        .retry(RetryPolicy {
            max_attempts: 5,
            initial_backoff: std::time::Duration::from_millis(5),
            max_backoff: std::time::Duration::from_millis(50),
            max_elapsed: std::time::Duration::from_secs(30),
            max_rate_limited: std::time::Duration::from_secs(60),
        })
        .build()
        .expect("client")
}

/// A plain HTTP GET with the sandbox key; (status, headers, JSON body).
pub async fn get(
    sb: &SandboxHandle,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{}", sb.url(), path_and_query))
        .bearer_auth(sb.api_key())
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, headers, body)
}

/// A plain HTTP request with a JSON body.
pub async fn send(
    sb: &SandboxHandle,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{}", sb.url(), path))
        .bearer_auth(sb.api_key())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        },
    )
}

pub fn ids(v: &Value) -> Vec<i64> {
    v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

#[allow(dead_code)]
pub fn small_team() -> TeamSize {
    TeamSize::default()
}
