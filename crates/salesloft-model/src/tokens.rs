//! The token seam: OAuth tokens and where the client keeps rotated ones ([`TokenStore`]),
//! shared by every process through a cross-process refresh lock. Here, beside the models, so a
//! store (salesloft-storage's `DbTokenStore`) implements it without an HTTP stack.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::failure::BoxError;

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

    /// Whether the access token expires within `margin` of `now` (never, when unknown).
    pub fn expires_within(&self, margin: std::time::Duration, now: DateTime<Utc>) -> bool {
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::zero());
        match self.expires_at {
            Some(at) => at.checked_sub_signed(margin).is_none_or(|t| t <= now),
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

/// Where OAuth tokens live between refreshes, shared by every process that uses them.
/// SalesLoft revokes a refresh token as soon as it issues the next one, so `save` must persist
/// durably before returning `Ok`.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// The newest tokens saved by anyone, if any.
    async fn load(&self) -> std::result::Result<Option<OAuthTokens>, BoxError>;

    /// Persist `tokens` (access token, expiry and refresh token), replacing the previous ones.
    async fn save(&self, tokens: &OAuthTokens) -> std::result::Result<(), BoxError>;

    /// Take the lock that makes one refresh at a time across every process sharing this store,
    /// waiting (for a bounded time) while another holds it. The default takes no lock: right
    /// for a store only one process uses.
    async fn lock_refresh(&self) -> std::result::Result<RefreshLock, BoxError> {
        Ok(RefreshLock::none())
    }
}

/// A held refresh lock; [`RefreshLock::release`] gives it back. A lock that is dropped
/// instead (the holder crashed or was cancelled) must expire on its own.
#[must_use = "release the lock once the refreshed tokens are saved"]
pub struct RefreshLock(Option<Box<dyn ReleaseRefreshLock>>);

/// How a [`TokenStore`] gives back the lock it handed out.
#[async_trait::async_trait]
pub trait ReleaseRefreshLock: Send + Sync {
    /// Give the lock back.
    async fn release(self: Box<Self>) -> std::result::Result<(), BoxError>;
}

impl RefreshLock {
    /// No lock was needed.
    pub fn none() -> Self {
        Self(None)
    }

    /// A lock that `release` gives back.
    pub fn held(release: impl ReleaseRefreshLock + 'static) -> Self {
        Self(Some(Box::new(release)))
    }

    /// Give the lock back.
    pub async fn release(self) -> std::result::Result<(), BoxError> {
        match self.0 {
            Some(r) => r.release().await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for RefreshLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "RefreshLock(held)"
        } else {
            "RefreshLock(none)"
        })
    }
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
    async fn load(&self) -> std::result::Result<Option<OAuthTokens>, BoxError> {
        Ok(self.latest())
    }

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
