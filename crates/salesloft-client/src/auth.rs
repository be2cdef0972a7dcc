//! Credentials: API keys, OAuth2 authorization-code tokens with refresh, and the
//! client-credentials grant.
//!
//! SalesLoft access tokens live two hours, and every refresh revokes the previous refresh token.
//! The client therefore refreshes ahead of expiry (and once more on a 401), and hands each new
//! token pair to the caller's [`TokenStore`] *before* using it, so a restart never finds only a
//! revoked refresh token on disk.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{BoxError, Error, Result};

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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
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
                message: format!("token endpoint unreachable: {e}"),
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| Error::Auth {
            status: Some(status),
            message: format!("reading token response: {e}"),
        })?;
        if !status.is_success() {
            return Err(Error::Auth {
                status: Some(status),
                message: token_error_message(&bytes),
            });
        }
        let raw: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Auth {
            status: Some(status),
            message: format!("token response is not the expected JSON: {e}"),
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

fn token_error_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct TokenError {
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<TokenError>(body) {
        Ok(TokenError {
            error: Some(e),
            error_description: Some(d),
        }) => format!("{e}: {d}"),
        Ok(TokenError { error: Some(e), .. }) => e,
        _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenResponse {
    fn into_tokens(self, sent_at: DateTime<Utc>) -> OAuthTokens {
        // Doorkeeper sends `created_at` (unix seconds); without it, count from when we asked,
        // which errs on the early side.
        let issued = self
            .created_at
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .unwrap_or(sent_at);
        let lifetime = self.expires_in.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
        OAuthTokens {
            access_token: SecretString::from(self.access_token),
            refresh_token: self.refresh_token.map(SecretString::from),
            expires_at: Some(issued + chrono::Duration::seconds(lifetime)),
            scope: self.scope,
        }
    }
}

/// SalesLoft's documented access-token lifetime, assumed when a response omits `expires_in`.
const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 7200;

/// An OAuth token pair and when the access token expires.
#[derive(Clone)]
pub struct OAuthTokens {
    /// The bearer token.
    pub access_token: SecretString,
    /// The refresh token; SalesLoft revokes it at the next refresh.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires; `None` means unknown (it is refreshed on the first 401).
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted scopes, space-delimited.
    pub scope: Option<String>,
}

impl OAuthTokens {
    /// Tokens as stored by the caller.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            access_token: SecretString::from(access_token.into()),
            refresh_token: refresh_token.map(SecretString::from),
            expires_at,
            scope: None,
        }
    }

    fn expires_within(&self, margin: Duration, now: DateTime<Utc>) -> bool {
        match self.expires_at {
            Some(at) => at - chrono::Duration::from_std(margin).unwrap_or_default() <= now,
            None => false,
        }
    }
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Where rotated OAuth tokens go. SalesLoft revokes a refresh token as soon as it issues the
/// next one, so an implementation must persist durably before returning `Ok`.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// Persist `tokens`, replacing the previous pair.
    async fn save(&self, tokens: &OAuthTokens) -> std::result::Result<(), BoxError>;
}

/// A [`TokenStore`] that keeps the latest tokens in memory: for tests and short-lived tools.
#[derive(Default)]
pub struct InMemoryTokenStore {
    latest: std::sync::Mutex<Option<OAuthTokens>>,
    saves: std::sync::atomic::AtomicUsize,
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last tokens saved.
    pub fn latest(&self) -> Option<OAuthTokens> {
        self.latest.lock().map(|g| g.clone()).unwrap_or(None)
    }

    /// How many times tokens were saved.
    pub fn saves(&self) -> usize {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn save(&self, tokens: &OAuthTokens) -> std::result::Result<(), BoxError> {
        let mut latest = self
            .latest
            .lock()
            .map_err(|_| BoxError::from("token store mutex poisoned"))?;
        *latest = Some(tokens.clone());
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

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
    pub(crate) fn new(auth: Auth, http: reqwest::Client, margin: Duration) -> Self {
        match auth.0 {
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
        }
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
        let mut slot = self.slot.lock().await;
        if slot.unsaved {
            self.persist(&mut slot).await?;
        }
        let now = Utc::now();
        let must_refresh = match &slot.tokens {
            None => true,
            Some(t) => match rejected {
                // Refresh only if nobody replaced the rejected token in the meantime.
                Some(r) => t.access_token.expose_secret() == r.expose_secret(),
                None => t.expires_within(self.margin, now),
            },
        };
        if must_refresh {
            let fresh = self.fetch(slot.tokens.as_ref()).await?;
            tracing::debug!(expires_at = ?fresh.expires_at, "salesloft oauth token refreshed");
            slot.tokens = Some(fresh);
            slot.unsaved = self.store.is_some();
            self.persist(&mut slot).await?;
        }
        slot.tokens
            .as_ref()
            .map(|t| t.access_token.clone())
            .ok_or_else(|| Error::Auth {
                status: None,
                message: "no access token".into(),
            })
    }

    async fn fetch(&self, current: Option<&OAuthTokens>) -> Result<OAuthTokens> {
        match &self.grant {
            Grant::RefreshToken => {
                let refresh = current
                    .and_then(|t| t.refresh_token.as_ref())
                    .ok_or_else(|| Error::Auth {
                        status: None,
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let t = raw.into_tokens(Utc::now());
        assert_eq!(t.expires_at.unwrap().timestamp(), 1_717_000_000 + 7200);
        assert_eq!(t.scope.as_deref(), Some("people:read"));
    }

    #[test]
    fn token_error_message_uses_description() {
        let m = token_error_message(br#"{"error":"invalid_grant","error_description":"revoked"}"#);
        assert_eq!(m, "invalid_grant: revoked");
        assert_eq!(token_error_message(b"<html>"), "<html>");
    }
}
