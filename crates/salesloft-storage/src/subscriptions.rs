//! The webhook subscriptions the toolkit keeps in SalesLoft, with their callback tokens.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{Context, Result};
use crate::store::{Store, on_reader, on_writer};

/// A webhook subscription the toolkit holds the token of (its `Debug` never shows the token).
#[derive(Clone)]
pub struct StoredSubscription {
    /// SalesLoft's id of the subscription.
    pub id: i64,
    /// Its event type.
    pub event_type: String,
    /// Where SalesLoft delivers.
    pub callback_url: String,
    /// The HMAC key SalesLoft signs deliveries with.
    pub callback_token: SecretString,
}

impl std::fmt::Debug for StoredSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSubscription")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("callback_url", &self.callback_url)
            .field("callback_token", &"[redacted]")
            .finish()
    }
}

impl Store {
    /// Keep `subscription` (replacing one with its id).
    pub async fn save_subscription(&self, subscription: &StoredSubscription) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhook_subscriptions (team_id, id, event_type, callback_url, \
                 callback_token, created_at_ms) VALUES ($6, $1, $2, $3, $4, $5) \
                 ON CONFLICT (team_id, id) DO UPDATE SET event_type = excluded.event_type, \
                 callback_url = excluded.callback_url, callback_token = excluded.callback_token",
            )
            .bind(subscription.id)
            .bind(&subscription.event_type)
            .bind(&subscription.callback_url)
            .bind(subscription.callback_token.expose_secret())
            .bind(self.now_ms())
            .bind(self.tid())
            .execute(pool)
            .await
            .context("saving a webhook subscription")?;
        });
        Ok(())
    }

    /// Every kept subscription, by id.
    pub async fn subscriptions(&self) -> Result<Vec<StoredSubscription>> {
        let rows: Vec<(i64, String, String, String)> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, event_type, callback_url, callback_token FROM webhook_subscriptions \
                 WHERE team_id = $1 ORDER BY id",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading webhook subscriptions")?
        });
        Ok(rows
            .into_iter()
            .map(|(id, event_type, callback_url, token)| StoredSubscription {
                id,
                event_type,
                callback_url,
                callback_token: SecretString::from(token),
            })
            .collect())
    }

    /// Forget subscription `id`; whether it was kept.
    pub async fn delete_subscription(&self, id: i64) -> Result<bool> {
        let n = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM webhook_subscriptions WHERE team_id = $2 AND id = $1")
                .bind(id)
                .bind(self.tid())
                .execute(pool)
                .await
                .context("deleting a webhook subscription")?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Every team's distinct callback tokens, in one read (a server routing each team's
    /// deliveries to that team's inbox). A deployment-wide read: a team's own handle reads
    /// its tokens with [`Store::callback_tokens`].
    pub async fn callback_tokens_by_team(
        &self,
    ) -> Result<std::collections::BTreeMap<crate::TeamId, Vec<SecretString>>> {
        let rows: Vec<(crate::TeamId, String)> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT DISTINCT team_id, callback_token FROM webhook_subscriptions \
                 ORDER BY team_id",
            )
            .fetch_all(pool)
            .await
            .context("reading every team's callback tokens")?
        });
        let mut tokens: std::collections::BTreeMap<_, Vec<SecretString>> = Default::default();
        for (team, token) in rows {
            tokens
                .entry(team)
                .or_default()
                .push(SecretString::from(token));
        }
        Ok(tokens)
    }

    /// The distinct callback tokens of the kept subscriptions (what deliveries may be signed
    /// with).
    pub async fn callback_tokens(&self) -> Result<Vec<SecretString>> {
        let rows: Vec<(String,)> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT DISTINCT callback_token FROM webhook_subscriptions WHERE team_id = $1",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading callback tokens")?
        });
        Ok(rows.into_iter().map(|(t,)| SecretString::from(t)).collect())
    }
}
