//! OAuth tokens kept in the database: a `TokenStore` for salesloft-client, so a rotated
//! refresh token survives restarts and is shared by every process, with a refresh lock in
//! the database so that only one of them refreshes at a time.

use std::time::Duration;

use salesloft_model::{BoxError, OAuthTokens, RefreshLock, ReleaseRefreshLock, TokenStore};
use secrecy::ExposeSecret;

use crate::error::{Context, Result};
use crate::lease::Lease;
use crate::store::{Store, on_reader, on_writer};

/// access token, refresh token, expiry (ms), scope.
type TokenRow = (String, Option<String>, Option<i64>, Option<String>);

/// The `oauth_tokens` row named `key`, refreshed under the lease `oauth-refresh:<key>`.
#[derive(Debug, Clone)]
pub struct DbTokenStore {
    store: Store,
    key: String,
    lease: Duration,
    wait: Duration,
}

impl DbTokenStore {
    /// Tokens stored under `key` (one per SalesLoft team or integration). A refresh lock is
    /// held for at most 60 s (a crashed holder's lock lapses then) and waited for at most 90 s.
    pub fn new(store: Store, key: impl Into<String>) -> Self {
        Self {
            store,
            key: key.into(),
            lease: Duration::from_secs(60),
            wait: Duration::from_secs(90),
        }
    }

    /// How long a refresh lock lasts unless released, and how long to wait for one.
    pub fn with_lock_times(mut self, lease: Duration, wait: Duration) -> Self {
        self.lease = lease;
        self.wait = wait;
        self
    }

    /// The stored tokens, if any.
    pub async fn load(&self) -> Result<Option<OAuthTokens>> {
        let row: Option<TokenRow> = on_reader!(&self.store, |pool| {
            sqlx::query_as(
                "SELECT access_token, refresh_token, expires_at_ms, scope FROM oauth_tokens \
                 WHERE team_id = $2 AND token_key = $1",
            )
            .bind(&self.key)
            .bind(self.store.tid())
            .fetch_optional(pool)
            .await
            .context("reading OAuth tokens")?
        });
        Ok(row.map(|(access, refresh, expires, scope)| {
            let mut t = OAuthTokens::new(
                access,
                refresh,
                expires.and_then(chrono::DateTime::from_timestamp_millis),
            );
            t.scope = scope;
            t
        }))
    }

    /// Keep `tokens` (replacing what was kept under its key).
    pub async fn save(&self, tokens: &OAuthTokens) -> Result<()> {
        let now = self.store.now_ms();
        on_writer!(&self.store, |pool| {
            sqlx::query(
                "INSERT INTO oauth_tokens (team_id, token_key, access_token, refresh_token, \
                 expires_at_ms, scope, updated_at_ms) VALUES ($7, $1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (team_id, token_key) DO UPDATE SET \
                 access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
                 expires_at_ms = excluded.expires_at_ms, scope = excluded.scope, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(&self.key)
            .bind(tokens.access_token.expose_secret())
            .bind(tokens.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()))
            .bind(tokens.expires_at.map(|t| t.timestamp_millis()))
            .bind(&tokens.scope)
            .bind(now)
            .bind(self.store.tid())
            .execute(pool)
            .await
            .context("saving OAuth tokens")?;
        });
        Ok(())
    }
}

/// A held refresh lease.
struct DbRefreshLock(Lease);

#[async_trait::async_trait]
impl ReleaseRefreshLock for DbRefreshLock {
    async fn release(self: Box<Self>) -> Result<(), BoxError> {
        Ok(self.0.release().await?)
    }
}

#[async_trait::async_trait]
impl TokenStore for DbTokenStore {
    async fn load(&self) -> Result<Option<OAuthTokens>, BoxError> {
        Ok(DbTokenStore::load(self).await?)
    }

    async fn save(&self, tokens: &OAuthTokens) -> Result<(), BoxError> {
        Ok(DbTokenStore::save(self, tokens).await?)
    }

    async fn lock_refresh(&self) -> Result<RefreshLock, BoxError> {
        let name = format!("oauth-refresh:{}", self.key);
        let lease = self
            .store
            .lease(&name, self.lease, self.wait, || {
                tracing::debug!("waiting for another process refreshing the OAuth tokens");
            })
            .await?;
        Ok(RefreshLock::held(DbRefreshLock(lease)))
    }
}
