//! Signed webhook deliveries with retries, and the OAuth token endpoint.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use salesloft_client::{
    Auth, Client, InMemoryTokenStore, OAuthApp, PersonInput, Unlimited, WebhookSubscriptionInput,
};
use salesloft_sandbox::{SandboxConfig, sign_webhook};

use crate::helpers::{client, sandbox_with};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, bytes::Bytes)>>>,
    fail_first: Arc<Mutex<usize>>,
}

async fn start_receiver(receiver: Receiver) -> String {
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(r): axum::extract::State<Receiver>,
                 headers: HeaderMap,
                 body: bytes::Bytes| async move {
                    r.got.lock().unwrap().push((headers, body));
                    let mut fail = r.fail_first.lock().unwrap();
                    if *fail > 0 {
                        *fail -= 1;
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ),
        )
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

#[tokio::test]
async fn changes_are_delivered_signed_and_failed_deliveries_retried() {
    let sb = sandbox_with(SandboxConfig {
        rate_limit_per_minute: None,
        webhook_retry_interval_ms: 50,
        ..SandboxConfig::default()
    })
    .await;
    let receiver = Receiver::default();
    *receiver.fail_first.lock().unwrap() = 2;
    let url = start_receiver(receiver.clone()).await;
    let client = client(&sb);
    client
        .webhook_subscriptions()
        .create(&WebhookSubscriptionInput {
            callback_url: url,
            callback_token: "hook-secret".to_owned().into(),
            event_type: "person_created".into(),
        })
        .await
        .unwrap();
    let person = client
        .people()
        .create(&PersonInput {
            email_address: Some("hooked@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // The sandbox logs an attempt once it has the answer, just after the receiver saw it.
    while (receiver.got.lock().unwrap().len() < 3 || sb.deliveries().len() < 3)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "two failures, then success");
    for (headers, body) in &got {
        assert_eq!(headers["x-salesloft-event"], "person_created");
        assert_eq!(
            headers["x-salesloft-signature"].to_str().unwrap(),
            sign_webhook("hook-secret", body)
        );
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            v["id"].as_i64(),
            Some(person.id.0),
            "bare resource, no envelope"
        );
        assert!(v.get("data").is_none());
    }
    let attempts = sb.deliveries();
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(attempts[2].status, Some(200));
}

#[tokio::test]
async fn oauth_codes_refresh_with_rotation_and_expiry() {
    let sb = sandbox_with(SandboxConfig {
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    })
    .await;
    let app = OAuthApp::new(
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
    )
    .with_token_url(sb.token_url());
    let code = sb
        .authorization_code(salesloft_sandbox::DEFAULT_CLIENT_ID)
        .unwrap();
    let tokens = app
        .exchange_code(&code, "https://example.com/cb")
        .await
        .unwrap();
    assert!(
        app.exchange_code(&code, "https://example.com/cb")
            .await
            .is_err(),
        "codes are single-use"
    );
    let store = Arc::new(InMemoryTokenStore::new());
    let client = Client::builder(Auth::oauth(app, tokens.clone(), store.clone()))
        .base_url(sb.url())
        .limiter(Arc::new(Unlimited))
        .build()
        .unwrap();
    client.me().await.unwrap();
    assert_eq!(store.saves(), 0, "a fresh token needs no refresh");
    sb.expire_access_tokens();
    client.me().await.unwrap();
    assert_eq!(sb.oauth_stats().refreshes, 1, "the 401 caused one refresh");
    use secrecy::ExposeSecret;
    let rotated = store.latest().unwrap();
    assert_ne!(
        rotated.refresh_token.as_ref().unwrap().expose_secret(),
        tokens.refresh_token.as_ref().unwrap().expose_secret()
    );
    // The old refresh token was revoked by the rotation.
    let stale = Client::builder(Auth::oauth(
        OAuthApp::new(
            salesloft_sandbox::DEFAULT_CLIENT_ID,
            salesloft_sandbox::DEFAULT_CLIENT_SECRET,
        )
        .with_token_url(sb.token_url()),
        salesloft_client::OAuthTokens::new(
            "expired",
            tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some(chrono::Utc::now()),
        ),
        Arc::new(InMemoryTokenStore::new()),
    ))
    .base_url(sb.url())
    .limiter(Arc::new(Unlimited))
    .build()
    .unwrap();
    let err = stale.me().await.unwrap_err();
    assert!(err.is_invalid_grant(), "{err}");
    assert_eq!(
        err.kind(),
        salesloft_client::FailureKind::CredentialsRejected
    );
    let chain = salesloft_client::error_chain(&err);
    assert!(chain.contains("invalid_grant"), "{chain}");
}

#[tokio::test]
async fn client_credentials_get_a_token_without_refresh() {
    let sb = sandbox_with(SandboxConfig::default()).await;
    let app = OAuthApp::new(
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
    )
    .with_token_url(sb.token_url());
    let client = Client::builder(Auth::client_credentials(app, Some("people:read".into())))
        .base_url(sb.url())
        .limiter(Arc::new(Unlimited))
        .build()
        .unwrap();
    client.me().await.unwrap();
    let bad = Client::builder(Auth::client_credentials(
        OAuthApp::new("nope", "nope").with_token_url(sb.token_url()),
        None,
    ))
    .base_url(sb.url())
    .build()
    .unwrap();
    let refused = bad.me().await.unwrap_err();
    assert_eq!(
        refused.kind(),
        salesloft_client::FailureKind::CredentialsRejected,
        "{refused:?}"
    );
    assert!(
        matches!(
            &refused,
            salesloft_client::Error::CredentialsRejected { source: Some(s), .. }
                if matches!(s.as_ref(), salesloft_client::Error::Auth { .. })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_authorize_page_returns_the_state_unless_told_not_to() {
    for returns_state in [true, false] {
        let sb = sandbox_with(SandboxConfig {
            oauth_returns_state: returns_state,
            ..SandboxConfig::default()
        })
        .await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let authorize = url::Url::parse_with_params(
            &format!("{}/oauth/authorize", sb.url()),
            &[
                ("client_id", salesloft_sandbox::DEFAULT_CLIENT_ID),
                ("redirect_uri", "http://127.0.0.1:9/connect/callback?x=1"),
                ("response_type", "code"),
                ("state", "v1.abc.1.sig"),
            ],
        )
        .unwrap();
        let answer = http.get(authorize).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FOUND);
        let location = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(location.path(), "/connect/callback");
        assert_eq!(pairs["x"], "1", "the redirect's own query is kept");
        assert!(pairs["code"].len() >= 32);
        assert_eq!(
            pairs.get("state").map(String::as_str),
            returns_state.then_some("v1.abc.1.sig")
        );
    }
}
