//! Credentials: API keys, OAuth2 authorization-code tokens with refresh, and the
//! client-credentials grant.
//!
//! SalesLoft access tokens live two hours, and every refresh revokes the previous refresh token.
//! The client therefore refreshes ahead of expiry (and once more on a 401), and hands each new
//! token pair to the caller's [`TokenStore`] *before* using it, so a restart never finds only a
//! revoked refresh token on disk.
//!
//! Many processes may share one token pair (a server, workers, operator commands). A refresh
//! is therefore a protocol on the store: one refresh in flight per client; before refreshing,
//! the client reads the store and uses a newer token another process left there; otherwise it
//! takes the store's cross-process refresh lock ([`TokenStore::lock_refresh`]), reads again,
//! and only then asks the token endpoint. An `invalid_grant` (someone rotated the refresh token
//! under us) reloads the store and retries once before it is an error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use salesloft_model::{OAuthTokens, TokenStore};

use crate::error::{Error, Result};

/// Where SalesLoft's OAuth token endpoint lives unless configured otherwise.
pub const DEFAULT_TOKEN_URL: &str = "https://accounts.salesloft.com/oauth/token";
/// Where SalesLoft's OAuth authorize page lives.
pub const DEFAULT_AUTHORIZE_URL: &str = "https://accounts.salesloft.com/oauth/authorize";

/// How the client authenticates. Build one with [`Auth::api_key`], [`Auth::oauth`] or
/// [`Auth::client_credentials`].
#[derive(Clone)]
pub struct Auth(pub(crate) AuthKind);

#[derive(Clone)]
pub(crate) enum AuthKind {
    ApiKey(SecretString),
    OAuth {
        app: OAuthApp,
        tokens: OAuthTokens,
        store: Arc<dyn TokenStore>,
    },
    ClientCredentials {
        app: OAuthApp,
        scope: Option<String>,
    },
}

impl Auth {
    /// An API key (`ak_...`), sent as `Authorization: Bearer <key>`. Treated as opaque.
    pub fn api_key(key: impl Into<String>) -> Self {
        Auth(AuthKind::ApiKey(SecretString::from(key.into())))
    }

    /// OAuth2 tokens from the authorization-code flow. The client refreshes them ahead of
    /// expiry and on a 401, and passes every rotated pair to `store`.
    pub fn oauth(app: OAuthApp, tokens: OAuthTokens, store: Arc<dyn TokenStore>) -> Self {
        Auth(AuthKind::OAuth { app, tokens, store })
    }

    /// The client-credentials grant (private admin apps): the client requests a token at the
    /// first call and again before each expires. `scope` is space-delimited, such as
    /// `"people:read cadences:read"`; `None` asks for the app's default scopes.
    pub fn client_credentials(app: OAuthApp, scope: Option<String>) -> Self {
        Auth(AuthKind::ClientCredentials { app, scope })
    }

    /// A name for this credential that does not reveal it: `key:` and 16 hex digits of the
    /// key's SHA-256, or `oauth:` and those of the application's client id. Holds on rejected
    /// credentials are kept under it, so a new key is never held by the old one's rejection.
    pub fn credential_id(&self) -> String {
        match &self.0 {
            AuthKind::ApiKey(key) => digest_id("key", key.expose_secret()),
            AuthKind::OAuth { app, .. } => app.credential_id(),
            AuthKind::ClientCredentials { app, .. } => digest_id("oauth-app", &app.client_id),
        }
    }

    /// The name of the team's shared cost budget for requests to `base_url` with this
    /// credential: [`budget_key`]`(base_url, &self.credential_id())`.
    pub fn budget_key(&self, base_url: &str) -> String {
        budget_key(base_url, &self.credential_id())
    }
}

/// The name every process of one SalesLoft team spends its shared cost budget under (the
/// storage crate's `SharedBudget`): `salesloft:<base URL>:<credential id>`. The toolkit's
/// binaries name theirs with it, so a service built on the libraries that names its budget
/// the same way spends from the same one beside them, never from a second.
///
/// ```
/// use salesloft_client::{Auth, DEFAULT_BASE_URL, budget_key};
/// let auth = Auth::api_key("ak_example");
/// let key = auth.budget_key(DEFAULT_BASE_URL);
/// assert_eq!(key, budget_key(DEFAULT_BASE_URL, &auth.credential_id()));
/// assert!(key.starts_with("salesloft:https://api.salesloft.com:key:") && !key.contains("ak_"));
/// ```
pub fn budget_key(base_url: &str, credential_id: &str) -> String {
    format!(
        "salesloft:{}:{credential_id}",
        base_url.trim_end_matches('/')
    )
}

/// `prefix:` and 16 hex digits of `secret`'s SHA-256.
fn digest_id(prefix: &str, secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}:{short}")
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            AuthKind::ApiKey(_) => f.write_str("Auth::ApiKey([redacted])"),
            AuthKind::OAuth { app, .. } => f
                .debug_struct("Auth::OAuth")
                .field("app", app)
                .finish_non_exhaustive(),
            AuthKind::ClientCredentials { app, scope } => f
                .debug_struct("Auth::ClientCredentials")
                .field("app", app)
                .field("scope", scope)
                .finish(),
        }
    }
}

/// An OAuth application registered with SalesLoft.
#[derive(Clone)]
pub struct OAuthApp {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: SecretString,
    /// The token endpoint; [`DEFAULT_TOKEN_URL`] unless set (tests and the sandbox set it).
    pub token_url: String,
}

impl OAuthApp {
    /// An app with the default token URL.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            token_url: DEFAULT_TOKEN_URL.to_owned(),
        }
    }

    /// The [`Auth::credential_id`] of this app's authorization-code tokens: `oauth:` and 16
    /// hex digits of the client id's SHA-256 (every token pair of the app shares it).
    pub fn credential_id(&self) -> String {
        digest_id("oauth", &self.client_id)
    }

    /// Use another token endpoint (a sandbox, a test server).
    pub fn with_token_url(mut self, token_url: impl Into<String>) -> Self {
        self.token_url = token_url.into();
        self
    }

    /// The URL to send a user to so they grant this app access; SalesLoft redirects back to
    /// `redirect_uri` with `code`, `context` and `scope` query parameters.
    pub fn authorize_url(&self, authorize_url: &str, redirect_uri: &str) -> Result<url::Url> {
        let mut url = url::Url::parse(authorize_url)
            .map_err(|e| Error::Config(format!("authorize URL {authorize_url:?}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code");
        Ok(url)
    }

    /// Exchange an authorization `code` for tokens (the last step of the authorize flow).
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<OAuthTokens> {
        let http = token_http(Duration::from_secs(30))?;
        self.token_request(
            &http,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }

    pub(crate) async fn token_request(
        &self,
        http: &reqwest::Client,
        params: &[(&str, &str)],
    ) -> Result<OAuthTokens> {
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.append_pair("client_id", &self.client_id);
            form.append_pair("client_secret", self.client_secret.expose_secret());
            form.finish()
        };
        let sent_at = Utc::now();
        let response = http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Auth {
                status: None,
                error_code: None,
                message: format!("token endpoint unreachable: {}", e.without_url()),
            })?;
        let status = response.status();
        if status.is_redirection() {
            // Following a redirect could hand the client secret and refresh token to another
            // host; the token endpoint is configured, never discovered.
            return Err(Error::Auth {
                status: Some(status),
                error_code: None,
                message: "the token endpoint answered with a redirect, which is not followed; \
                          check oauth.token_url"
                    .into(),
            });
        }
        let bytes = response.bytes().await.map_err(|e| Error::Auth {
            status: Some(status),
            error_code: None,
            message: format!("reading token response: {}", e.without_url()),
        })?;
        if !status.is_success() {
            let (error_code, message) = token_error(status, &bytes);
            return Err(Error::Auth {
                status: Some(status),
                error_code,
                message,
            });
        }
        let raw: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Auth {
            status: Some(status),
            error_code: None,
            // serde's message for a missing or mistyped field names the field, never a value.
            message: format!(
                "the token response is not the expected JSON ({:?} at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ),
        })?;
        Ok(raw.into_tokens(sent_at))
    }
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_url", &self.token_url)
            .finish()
    }
}

/// The HTTP client for the token endpoint: it follows no redirects.
fn token_http(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))
}

/// The OAuth `error` code and a message for a failed token request. A body that is not an
/// OAuth error is described, never echoed: it could repeat what was sent.
fn token_error(status: reqwest::StatusCode, body: &[u8]) -> (Option<String>, String) {
    #[derive(Deserialize)]
    struct TokenError {
        error: Option<String>,
        error_description: Option<String>,
    }
    let short = |s: String| s.chars().take(300).collect::<String>();
    match serde_json::from_slice::<TokenError>(body) {
        Ok(TokenError {
            error: Some(e),
            error_description: Some(d),
        }) => (Some(e.clone()), short(format!("{e}: {d}"))),
        Ok(TokenError { error: Some(e), .. }) => (Some(e.clone()), short(e)),
        _ => (
            None,
            format!(
                "HTTP {status} with a body that is not an OAuth error ({} bytes)",
                body.len()
            ),
        ),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    /// A number today; a string or a float tomorrow. Read leniently.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    created_at: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<serde_json::Value>,
}

/// An integer, a float or a numeric string as whole seconds; anything else is `None`.
fn lenient_seconds(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

impl TokenResponse {
    fn into_tokens(self, sent_at: DateTime<Utc>) -> OAuthTokens {
        // Doorkeeper sends `created_at` (unix seconds); without it, or when it is more than a
        // day away from our clock, count from when we asked, which errs on the early side.
        let issued = self
            .created_at
            .as_ref()
            .and_then(lenient_seconds)
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .filter(|t| (*t - sent_at).num_seconds().abs() <= 86_400)
            .unwrap_or(sent_at);
        OAuthTokens {
            access_token: SecretString::from(self.access_token),
            refresh_token: self.refresh_token.map(SecretString::from),
            expires_at: Some(expiry(issued, self.expires_in.as_ref())),
            scope: self.scope.and_then(|s| s.as_str().map(str::to_owned)),
        }
    }
}

/// When a token issued at `issued` with `expires_in` expires. Absent: SalesLoft's documented
/// two hours. Absurd (not a number, zero, negative, or beyond a year): "expires soon", that is
/// at `issued`, so it is used for the request at hand and refreshed before the next.
fn expiry(issued: DateTime<Utc>, expires_in: Option<&serde_json::Value>) -> DateTime<Utc> {
    let lifetime = match expires_in {
        None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_LIFETIME_SECS,
        Some(v) => lenient_seconds(v)
            .filter(|s| (1..=MAX_TOKEN_LIFETIME_SECS).contains(s))
            .unwrap_or(0),
    };
    issued
        .checked_add_signed(chrono::Duration::seconds(lifetime))
        .unwrap_or(issued)
}

/// SalesLoft's documented access-token lifetime, assumed when a response omits `expires_in`.
const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 7200;
/// The longest `expires_in` taken at its word: a year.
const MAX_TOKEN_LIFETIME_SECS: i64 = 366 * 86_400;

/// The credential a built client uses: hands out bearer tokens, refreshing OAuth ones.
pub(crate) enum Credential {
    ApiKey(SecretString),
    OAuth(Box<OAuthSource>),
}

pub(crate) struct OAuthSource {
    app: OAuthApp,
    grant: Grant,
    store: Option<Arc<dyn TokenStore>>,
    margin: Duration,
    http: reqwest::Client,
    slot: Mutex<Slot>,
}

enum Grant {
    RefreshToken,
    ClientCredentials { scope: Option<String> },
}

struct Slot {
    tokens: Option<OAuthTokens>,
    /// Tokens were rotated but the store has not accepted them yet.
    unsaved: bool,
}

impl Credential {
    /// The credential for `auth`; token requests time out after `timeout`.
    pub(crate) fn new(auth: Auth, timeout: Duration, margin: Duration) -> Result<Self> {
        let http = token_http(timeout)?;
        Ok(match auth.0 {
            AuthKind::ApiKey(key) => Credential::ApiKey(key),
            AuthKind::OAuth { app, tokens, store } => Credential::OAuth(Box::new(OAuthSource {
                app,
                grant: Grant::RefreshToken,
                store: Some(store),
                margin,
                http,
                slot: Mutex::new(Slot {
                    tokens: Some(tokens),
                    unsaved: false,
                }),
            })),
            AuthKind::ClientCredentials { app, scope } => {
                Credential::OAuth(Box::new(OAuthSource {
                    app,
                    grant: Grant::ClientCredentials { scope },
                    store: None,
                    margin,
                    http,
                    slot: Mutex::new(Slot {
                        tokens: None,
                        unsaved: false,
                    }),
                }))
            }
        })
    }

    /// The bearer token to send now, refreshed first if it is about to expire.
    pub(crate) async fn bearer(&self) -> Result<SecretString> {
        match self {
            Credential::ApiKey(key) => Ok(key.clone()),
            Credential::OAuth(source) => source.bearer(None).await,
        }
    }

    /// The server rejected `rejected` with a 401: refresh (unless another task already did)
    /// and return the token to retry with. `None` when this credential cannot refresh.
    pub(crate) async fn refresh_after_401(
        &self,
        rejected: &SecretString,
    ) -> Option<Result<SecretString>> {
        match self {
            Credential::ApiKey(_) => None,
            Credential::OAuth(source) => Some(source.bearer(Some(rejected)).await),
        }
    }
}

impl OAuthSource {
    async fn bearer(&self, rejected: Option<&SecretString>) -> Result<SecretString> {
        // One refresh in flight per client: every caller waits here for the one refreshing.
        let mut slot = self.slot.lock().await;
        if slot.unsaved {
            self.persist(&mut slot).await?;
        }
        if self.stale(slot.tokens.as_ref(), rejected) {
            match (&self.grant, &self.store) {
                (Grant::RefreshToken, Some(store)) => {
                    self.refresh_shared(store.as_ref(), &mut slot, rejected)
                        .await?;
                }
                _ => {
                    let fresh = self.fetch(slot.tokens.as_ref()).await?;
                    tracing::debug!(expires_at = ?fresh.expires_at, "salesloft oauth token fetched");
                    slot.tokens = Some(fresh);
                    slot.unsaved = self.store.is_some();
                    self.persist(&mut slot).await?;
                }
            }
        }
        slot.tokens
            .as_ref()
            .map(|t| t.access_token.clone())
            .ok_or_else(|| Error::Auth {
                status: None,
                error_code: None,
                message: "no access token".into(),
            })
    }

    /// True when `tokens` cannot be sent: none, empty, the one the server just rejected, or
    /// expiring within the margin.
    fn stale(&self, tokens: Option<&OAuthTokens>, rejected: Option<&SecretString>) -> bool {
        match tokens {
            None => true,
            Some(t) => {
                let access = t.access_token.expose_secret();
                access.is_empty()
                    || rejected.is_some_and(|r| r.expose_secret() == access)
                    || t.expires_within(self.margin, Utc::now())
            }
        }
    }

    /// The store's tokens when another process left usable ones there.
    async fn stored_usable(
        &self,
        store: &dyn TokenStore,
        rejected: Option<&SecretString>,
    ) -> Result<(Option<OAuthTokens>, bool)> {
        let stored = store.load().await.map_err(Error::TokenStore)?;
        let usable = !self.stale(stored.as_ref(), rejected);
        Ok((stored, usable))
    }

    /// Refresh through the shared store: use a newer stored token if there is one, else take
    /// the cross-process lock, read again, and refresh with the newest refresh token.
    async fn refresh_shared(
        &self,
        store: &dyn TokenStore,
        slot: &mut Slot,
        rejected: Option<&SecretString>,
    ) -> Result<()> {
        if let (Some(stored), true) = self.stored_usable(store, rejected).await? {
            tracing::debug!("salesloft oauth token taken from the store");
            slot.tokens = Some(stored);
            return Ok(());
        }
        let lock = store.lock_refresh().await.map_err(Error::TokenStore)?;
        let result = self.refresh_locked(store, slot, rejected).await;
        if let Err(e) = lock.release().await {
            tracing::warn!(error = %e, "releasing the oauth refresh lock failed; it expires by itself");
        }
        result
    }

    async fn refresh_locked(
        &self,
        store: &dyn TokenStore,
        slot: &mut Slot,
        rejected: Option<&SecretString>,
    ) -> Result<()> {
        // Another process may have refreshed while we waited for the lock.
        let (stored, usable) = self.stored_usable(store, rejected).await?;
        if let (Some(stored), true) = (stored.clone(), usable) {
            tracing::debug!("salesloft oauth token refreshed by another process");
            slot.tokens = Some(stored);
            return Ok(());
        }
        // The newest refresh token is the store's; the one we were given is the fallback.
        let given = slot.tokens.clone();
        let newest = stored.or_else(|| given.clone());
        let fresh = match self.fetch(newest.as_ref()).await {
            Ok(fresh) => fresh,
            Err(e) if e.is_invalid_grant() => {
                // Rotated under us by a process that does not share the lock, or the store
                // holds a revoked token while we were handed a newer one: read again and try
                // the one refresh token not yet tried, once.
                let (again, usable) = self.stored_usable(store, rejected).await?;
                if let (Some(t), true) = (again.clone(), usable) {
                    slot.tokens = Some(t);
                    return Ok(());
                }
                let tried = refresh_of(newest.as_ref());
                let Some(retry) = [again, given]
                    .into_iter()
                    .flatten()
                    .find(|t| refresh_of(Some(t)).is_some_and(|r| Some(r) != tried))
                else {
                    return Err(e);
                };
                tracing::debug!(
                    "salesloft oauth refresh token was revoked; retrying with a newer one"
                );
                self.fetch(Some(&retry)).await?
            }
            Err(e) => return Err(e),
        };
        tracing::debug!(expires_at = ?fresh.expires_at, "salesloft oauth token refreshed");
        slot.tokens = Some(fresh);
        slot.unsaved = true;
        // Saved while the lock is held, so the next process to take it reads this pair.
        self.persist(slot).await
    }

    async fn fetch(&self, current: Option<&OAuthTokens>) -> Result<OAuthTokens> {
        match &self.grant {
            Grant::RefreshToken => {
                let refresh = current
                    .and_then(|t| t.refresh_token.as_ref())
                    .ok_or_else(|| Error::Auth {
                        status: None,
                        error_code: None,
                        message: "the access token expired and there is no refresh token".into(),
                    })?;
                let mut fresh = self
                    .app
                    .token_request(
                        &self.http,
                        &[
                            ("grant_type", "refresh_token"),
                            ("refresh_token", refresh.expose_secret()),
                        ],
                    )
                    .await?;
                // A response without a new refresh token leaves the old one valid.
                if fresh.refresh_token.is_none() {
                    fresh.refresh_token = Some(refresh.clone());
                }
                Ok(fresh)
            }
            Grant::ClientCredentials { scope } => {
                let mut params = vec![("grant_type", "client_credentials")];
                if let Some(s) = scope {
                    params.push(("scope", s.as_str()));
                }
                self.app.token_request(&self.http, &params).await
            }
        }
    }

    async fn persist(&self, slot: &mut Slot) -> Result<()> {
        if let (Some(store), Some(tokens)) = (&self.store, &slot.tokens) {
            store.save(tokens).await.map_err(Error::TokenStore)?;
        }
        slot.unsaved = false;
        Ok(())
    }
}

/// The refresh token of `tokens`, for comparing without exposing it elsewhere.
fn refresh_of(tokens: Option<&OAuthTokens>) -> Option<&str> {
    tokens
        .and_then(|t| t.refresh_token.as_ref())
        .map(|r| r.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesloft_model::InMemoryTokenStore;

    #[test]
    fn debug_output_never_shows_secrets() {
        let app = OAuthApp::new("client-1", "shh-client-secret");
        let tokens = OAuthTokens::new("shh-access", Some("shh-refresh".into()), None);
        let auth = Auth::oauth(
            app.clone(),
            tokens.clone(),
            Arc::new(InMemoryTokenStore::new()),
        );
        let all = format!(
            "{:?} {:?} {:?} {:?}",
            app,
            tokens,
            auth,
            Auth::api_key("ak_shh")
        );
        assert!(!all.contains("shh"), "{all}");
        assert!(all.contains("client-1"));
    }

    #[test]
    fn token_expiry_counts_from_created_at() {
        let raw: TokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","expires_in":7200,"refresh_token":"r","scope":"people:read","created_at":1717000000}"#,
        )
        .unwrap();
        // Asked five seconds after the server's clock says it issued the token.
        let sent_at = DateTime::from_timestamp(1_717_000_005, 0).unwrap();
        let t = raw.into_tokens(sent_at);
        assert_eq!(t.expires_at.unwrap().timestamp(), 1_717_000_000 + 7200);
        assert_eq!(t.scope.as_deref(), Some("people:read"));
    }

    #[test]
    fn token_error_message_uses_description_and_never_echoes_a_body() {
        let (code, m) = token_error(
            reqwest::StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant","error_description":"revoked"}"#,
        );
        assert_eq!(code.as_deref(), Some("invalid_grant"));
        assert_eq!(m, "invalid_grant: revoked");
        let (code, m) = token_error(
            reqwest::StatusCode::BAD_GATEWAY,
            b"<html>refresh_token=shh-refresh</html>",
        );
        assert_eq!(code, None);
        assert!(!m.contains("shh"), "{m}");
        assert!(m.contains("502"), "{m}");
    }

    #[test]
    fn absurd_expires_in_means_expires_soon_and_never_panics() {
        let now = Utc::now();
        let at = |v: serde_json::Value| expiry(now, Some(&v)) - now;
        assert_eq!(at(serde_json::json!(7200)).num_seconds(), 7200);
        assert_eq!(at(serde_json::json!("7200")).num_seconds(), 7200);
        assert_eq!(at(serde_json::json!(7200.9)).num_seconds(), 7200);
        for absurd in [
            serde_json::json!(-1),
            serde_json::json!(0),
            serde_json::json!(i64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(u64::MAX),
            serde_json::json!(1e300),
            serde_json::json!("soon"),
            serde_json::json!([]),
        ] {
            assert_eq!(at(absurd.clone()).num_seconds(), 0, "{absurd}");
        }
        assert_eq!((expiry(now, None) - now).num_seconds(), 7200);
    }

    proptest::proptest! {
        #[test]
        fn any_token_response_numbers_decode_without_panic(expires_in: i64, created_at: i64, f: f64) {
            let body = serde_json::json!({
                "access_token": "a", "expires_in": expires_in, "created_at": created_at,
            });
            let raw: TokenResponse = serde_json::from_value(body).unwrap();
            let t = raw.into_tokens(Utc::now());
            let _ = t.expires_within(Duration::MAX, Utc::now());
            let body = serde_json::json!({"access_token": "a", "expires_in": f, "created_at": f});
            if let Ok(raw) = serde_json::from_value::<TokenResponse>(body) {
                let _ = raw.into_tokens(Utc::now());
            }
        }
    }
}
