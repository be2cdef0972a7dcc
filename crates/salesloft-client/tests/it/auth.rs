//! API keys, OAuth refresh with rotation, 401 handling, client credentials.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use salesloft_client::{
    Auth, BoxError, Client, Error, FailureKind, InMemoryTokenStore, OAuthApp, OAuthTokens,
    TokenStore, Unlimited, error_chain,
};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{API_KEY, fast_retry, server};

fn me_body() -> serde_json::Value {
    json!({"data": {"id": 1, "created_at": "2023-01-10T09:00:00.000000-05:00",
                     "updated_at": "2024-05-02T11:21:07.123456-04:00"}})
}

fn app(server: &MockServer) -> OAuthApp {
    OAuthApp::new("client-1", "client-secret-1")
        .with_token_url(format!("{}/oauth/token", server.uri()))
}

fn oauth_client(server: &MockServer, tokens: OAuthTokens, store: Arc<dyn TokenStore>) -> Client {
    Client::builder(Auth::oauth(app(server), tokens, store))
        .base_url(server.uri())
        .limiter(Arc::new(Unlimited))
        .retry(fast_retry())
        .build()
        .expect("client")
}

async fn mount_me_for(server: &MockServer, bearer: &str, times: u64) {
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .and(header("authorization", format!("Bearer {bearer}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(me_body()))
        .expect(times)
        .mount(server)
        .await;
}

async fn mount_refresh(
    server: &MockServer,
    old_refresh: &str,
    access: &str,
    refresh: &str,
    expires_in: i64,
) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains(
            format!("refresh_token={old_refresh}").as_str(),
        ))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("client_secret=client-secret-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": access, "token_type": "Bearer", "expires_in": expires_in,
            "refresh_token": refresh, "scope": "people:read", "created_at": Utc::now().timestamp()
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_api_key_is_sent_as_a_bearer_token() {
    let server = server().await;
    mount_me_for(&server, API_KEY, 1).await;
    crate::helpers::client(&server).me().await.expect("me");
}

#[tokio::test]
async fn expiring_tokens_are_refreshed_ahead_and_every_rotation_is_stored() {
    let server = server().await;
    // The stored access token expires in a minute: inside the refresh margin.
    let tokens = OAuthTokens::new(
        "a1",
        Some("r1".into()),
        Some(Utc::now() + chrono::Duration::seconds(60)),
    );
    mount_refresh(&server, "r1", "a2", "r2", 5).await; // a2 lives 5 s: refreshed again at once
    mount_refresh(&server, "r2", "a3", "r3", 7200).await;
    mount_me_for(&server, "a2", 1).await;
    mount_me_for(&server, "a3", 2).await;
    let store = Arc::new(InMemoryTokenStore::new());
    let client = oauth_client(&server, tokens, store.clone());
    client.me().await.expect("first call refreshes with r1");
    assert_eq!(store.saves(), 1);
    client
        .me()
        .await
        .expect("second call refreshes with the rotated r2");
    client.me().await.expect("third call reuses a3");
    assert_eq!(store.saves(), 2);
    let latest = store.latest().expect("saved");
    use secrecy::ExposeSecret;
    assert_eq!(latest.refresh_token.expect("refresh").expose_secret(), "r3");
    assert_eq!(latest.access_token.expose_secret(), "a3");
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let server = server().await;
    let tokens = OAuthTokens::new("revoked", Some("r1".into()), None);
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"})))
        .expect(1)
        .mount(&server)
        .await;
    mount_refresh(&server, "r1", "a2", "r2", 7200).await;
    mount_me_for(&server, "a2", 1).await;
    let store = Arc::new(InMemoryTokenStore::new());
    oauth_client(&server, tokens, store.clone())
        .me()
        .await
        .expect("retried with a2");
    assert_eq!(store.saves(), 1);
}

#[tokio::test]
async fn a_second_401_is_an_error_not_a_loop() {
    let server = server().await;
    let tokens = OAuthTokens::new("a1", Some("r1".into()), None);
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "No access"})))
        .expect(2)
        .mount(&server)
        .await;
    mount_refresh(&server, "r1", "a2", "r2", 7200).await;
    let err = oauth_client(&server, tokens, Arc::new(InMemoryTokenStore::new()))
        .me()
        .await
        .expect_err("401 twice");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.kind(), FailureKind::CredentialsRejected);
    let chain = error_chain(&err);
    assert!(chain.contains("No access"), "{chain}");
}

#[tokio::test]
async fn a_revoked_refresh_token_is_a_clear_auth_error() {
    let server = server().await;
    let tokens = OAuthTokens::new("a1", Some("r-old".into()), Some(Utc::now()));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "The provided authorization grant is invalid, expired, revoked"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = oauth_client(&server, tokens, Arc::new(InMemoryTokenStore::new()))
        .me()
        .await
        .expect_err("invalid_grant");
    assert_eq!(err.kind(), FailureKind::CredentialsRejected);
    let Error::CredentialsRejected {
        source: Some(rejection),
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    match rejection.as_ref() {
        Error::Auth {
            status, message, ..
        } => {
            assert_eq!(status.map(|s| s.as_u16()), Some(400));
            assert!(message.starts_with("invalid_grant: "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{err:?} {err}").contains("r-old"),
        "no secret in the error"
    );
}

#[tokio::test]
async fn client_credentials_fetch_a_token_and_send_it() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("scope=people%3Aread+cadences%3Aread"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "cc1", "token_type": "bearer", "expires_in": 7200
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_me_for(&server, "cc1", 2).await;
    let client = Client::builder(Auth::client_credentials(
        app(&server),
        Some("people:read cadences:read".into()),
    ))
    .base_url(server.uri())
    .limiter(Arc::new(Unlimited))
    .build()
    .expect("client");
    client.me().await.expect("me");
    client.me().await.expect("token reused");
}

/// A store that fails its first save, as a database outage would.
#[derive(Default)]
struct FlakyStore {
    calls: AtomicUsize,
    inner: InMemoryTokenStore,
}

#[async_trait::async_trait]
impl TokenStore for FlakyStore {
    async fn load(&self) -> Result<Option<OAuthTokens>, BoxError> {
        self.inner.load().await
    }

    async fn save(&self, tokens: &OAuthTokens) -> Result<(), BoxError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err("database is down".into());
        }
        self.inner.save(tokens).await
    }
}

#[tokio::test]
async fn a_rotated_token_the_store_refused_is_saved_before_the_next_request() {
    let server = server().await;
    let tokens = OAuthTokens::new("a1", Some("r1".into()), Some(Utc::now()));
    mount_refresh(&server, "r1", "a2", "r2", 7200).await;
    mount_me_for(&server, "a2", 1).await;
    let store = Arc::new(FlakyStore::default());
    let client = oauth_client(&server, tokens, store.clone());
    let err = client.me().await.expect_err("store failed");
    assert!(matches!(err, Error::TokenStore(_)), "{err}");
    client.me().await.expect("saved now, then sent");
    use secrecy::ExposeSecret;
    let saved = store.inner.latest().expect("saved");
    assert_eq!(saved.refresh_token.expect("refresh").expose_secret(), "r2");
}

#[tokio::test]
async fn the_authorize_url_carries_the_app_and_redirect() {
    let app = OAuthApp::new("client-1", "secret");
    let url = app
        .authorize_url(
            salesloft_client::DEFAULT_AUTHORIZE_URL,
            "https://example.com/cb",
        )
        .expect("url");
    assert_eq!(
        url.as_str(),
        "https://accounts.salesloft.com/oauth/authorize?client_id=client-1&redirect_uri=https%3A%2F%2Fexample.com%2Fcb&response_type=code"
    );
}

#[tokio::test]
async fn an_authorization_code_is_exchanged_for_tokens() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=c0de"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fexample.com%2Fcb",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "a1", "token_type": "Bearer", "expires_in": 7200, "refresh_token": "r1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = app(&server)
        .exchange_code("c0de", "https://example.com/cb")
        .await
        .expect("tokens");
    use secrecy::ExposeSecret;
    assert_eq!(tokens.access_token.expose_secret(), "a1");
    let left = tokens.expires_at.expect("expiry") - Utc::now();
    assert!(left > chrono::Duration::seconds(7100) && left <= chrono::Duration::seconds(7200));
}

/// A store another process writes to: each `load` returns the next of `loads` (the last one
/// repeats), as if the row changed between reads.
struct ChangingStore {
    loads: std::sync::Mutex<Vec<Option<OAuthTokens>>>,
    saved: InMemoryTokenStore,
}

impl ChangingStore {
    fn new(mut loads: Vec<Option<OAuthTokens>>) -> Self {
        loads.reverse();
        Self {
            loads: std::sync::Mutex::new(loads),
            saved: InMemoryTokenStore::new(),
        }
    }
}

#[async_trait::async_trait]
impl TokenStore for ChangingStore {
    async fn load(&self) -> Result<Option<OAuthTokens>, BoxError> {
        if let Some(saved) = self.saved.latest() {
            return Ok(Some(saved));
        }
        let mut loads = self.loads.lock().map_err(|_| "poisoned")?;
        Ok(if loads.len() > 1 {
            loads.pop().flatten()
        } else {
            loads.last().cloned().flatten()
        })
    }

    async fn save(&self, tokens: &OAuthTokens) -> Result<(), BoxError> {
        self.saved.save(tokens).await
    }
}

fn expired(access: &str, refresh: &str) -> OAuthTokens {
    OAuthTokens::new(access, Some(refresh.into()), Some(Utc::now()))
}

async fn mount_invalid_grant(server: &MockServer, refresh: &str) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains(
            format!("refresh_token={refresh}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "revoked"
        })))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_fresh_token_another_process_stored_is_used_without_refreshing() {
    let server = server().await;
    let store = Arc::new(InMemoryTokenStore::new());
    let theirs = OAuthTokens::new(
        "a-theirs",
        Some("r-theirs".into()),
        Some(Utc::now() + chrono::Duration::hours(2)),
    );
    store.save(&theirs).await.expect("save");
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    mount_me_for(&server, "a-theirs", 2).await;
    // Started with the configured (older) refresh token and no access token, as a CLI run is.
    let client = oauth_client(&server, expired("", "r-configured"), store.clone());
    client.me().await.expect("me");
    client.me().await.expect("me again");
    assert_eq!(store.saves(), 1, "nothing rotated");
}

#[tokio::test]
async fn a_401_takes_the_token_another_process_refreshed() {
    let server = server().await;
    let store = Arc::new(InMemoryTokenStore::new());
    let later = Some(Utc::now() + chrono::Duration::hours(2));
    store
        .save(&OAuthTokens::new("a-mine", Some("r1".into()), later))
        .await
        .expect("save");
    let client = oauth_client(
        &server,
        OAuthTokens::new("a-mine", Some("r1".into()), later),
        store.clone(),
    );
    // Another process refreshes: the server revokes a-mine, the store holds the new pair.
    store
        .save(&OAuthTokens::new("a-theirs", Some("r2".into()), later))
        .await
        .expect("save");
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .and(header("authorization", "Bearer a-mine"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "expired"})))
        .expect(1)
        .mount(&server)
        .await;
    mount_me_for(&server, "a-theirs", 1).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    client.me().await.expect("retried with the stored token");
}

#[tokio::test]
async fn invalid_grant_reloads_the_store_and_retries_once_with_the_newer_token() {
    let server = server().await;
    // Two reads see r1; by the third (after the invalid_grant) another process saved r2.
    let store = Arc::new(ChangingStore::new(vec![
        Some(expired("a1", "r1")),
        Some(expired("a1", "r1")),
        Some(expired("a1", "r2")),
    ]));
    mount_invalid_grant(&server, "r1").await;
    mount_refresh(&server, "r2", "a3", "r3", 7200).await;
    mount_me_for(&server, "a3", 1).await;
    let client = oauth_client(&server, expired("a0", "r0"), store.clone());
    client.me().await.expect("recovered from invalid_grant");
    use secrecy::ExposeSecret;
    let saved = store.saved.latest().expect("saved");
    assert_eq!(saved.refresh_token.expect("refresh").expose_secret(), "r3");
}

#[tokio::test]
async fn a_revoked_stored_token_falls_back_to_the_configured_one_once() {
    let server = server().await;
    // The store holds a refresh token revoked long ago; the operator configured a new one.
    let store = Arc::new(ChangingStore::new(vec![Some(expired("a1", "r-stale"))]));
    mount_invalid_grant(&server, "r-stale").await;
    mount_refresh(&server, "r-new", "a2", "r2", 7200).await;
    mount_me_for(&server, "a2", 1).await;
    let client = oauth_client(&server, expired("", "r-new"), store);
    client
        .me()
        .await
        .expect("configured token used after the stored one failed");
}

#[tokio::test]
async fn invalid_grant_with_nothing_newer_is_an_error_after_one_try() {
    let server = server().await;
    let store = Arc::new(ChangingStore::new(vec![Some(expired("a1", "r1"))]));
    mount_invalid_grant(&server, "r1").await;
    let err = oauth_client(&server, expired("a1", "r1"), store)
        .me()
        .await
        .expect_err("revoked");
    assert!(err.is_invalid_grant(), "{err}");
}

#[tokio::test]
async fn the_token_endpoint_is_never_followed_through_a_redirect() {
    let server = server().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = oauth_client(
        &server,
        expired("a1", "r-secret"),
        Arc::new(InMemoryTokenStore::new()),
    )
    .me()
    .await
    .expect_err("redirect refused");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307), "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert!(!format!("{err} {err:?}").contains("r-secret"));
}

#[tokio::test]
async fn absurd_expires_in_from_the_token_endpoint_neither_panics_nor_stops_requests() {
    for expires_in in [json!(-5), json!(i64::MAX), json!("forever"), json!(1e308)] {
        let server = server().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "a2", "refresh_token": "r2", "expires_in": expires_in,
                "created_at": i64::MIN,
            })))
            .expect(1)
            .mount(&server)
            .await;
        mount_me_for(&server, "a2", 1).await;
        let store = Arc::new(InMemoryTokenStore::new());
        oauth_client(&server, expired("a1", "r1"), store.clone())
            .me()
            .await
            .expect("the token is used for the request at hand");
        let saved = store.latest().expect("saved");
        assert!(
            saved.expires_at.expect("expiry") <= Utc::now(),
            "absurd lifetime is 'expires soon': {expires_in}"
        );
    }
}

/// A key SalesLoft rejects is held: the rejected request is the only one sent until the probe
/// time, the probe goes alone, and an accepted probe lifts the hold.
#[tokio::test]
async fn a_rejected_key_is_held_and_probed_not_resent() {
    let server = server().await;
    let budget = Arc::new(salesloft_client::CostBudget::default());
    let client = Client::builder(Auth::api_key(API_KEY))
        .base_url(server.uri())
        .limiter(budget.clone())
        .retry(fast_retry())
        .credential_probe_every(std::time::Duration::from_millis(300))
        .build()
        .expect("client");
    // The first request is rejected; the key works again for the two after it.
    Mock::given(method("GET"))
        .and(path("/v2/me"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "Key revoked"})))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_me_for(&server, API_KEY, 2).await;
    let first = client.me().await.expect_err("401");
    assert_eq!(first.kind(), FailureKind::CredentialsRejected);
    let hold = first.credential_hold().expect("held").clone();
    assert_eq!(hold.request, "GET /v2/me");
    assert_eq!(hold.status, Some(401));
    assert_eq!(hold.message.as_deref(), Some("Key revoked"));
    assert_eq!(hold.credential, client.credential_id());
    assert!(!client.credential_id().contains(API_KEY));
    assert!(error_chain(&first).contains("Key revoked"));
    // Held: these are refused without a request (the mock expects exactly one).
    for _ in 0..5 {
        let held = client.me().await.expect_err("held");
        assert!(
            matches!(&held, Error::CredentialsRejected { source: None, .. }),
            "{held:?}"
        );
        assert!(held.to_string().contains("not sent"), "{held}");
    }
    // The probe (after 300 ms) is accepted and lifts the hold.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    client.me().await.expect("the probe is sent and accepted");
    assert!(budget.credential_holds().is_empty());
    client.me().await.expect("not held any more");
}
