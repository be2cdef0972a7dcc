//! The webhook inbox: every delivery is stored once, keyed by a hash of its type and body, so
//! SalesLoft's redeliveries (and our own retries) are harmless.

use sha2::{Digest, Sha256};

use crate::error::{Context, Result};
use crate::store::{Store, now_ms, on_reader, on_writer};

/// A stored webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InboxEvent {
    /// Inbox id.
    pub id: i64,
    /// `x-salesloft-event`.
    pub event_type: String,
    /// The raw body as received.
    pub body: Vec<u8>,
    /// `pending`, `processed`, `skipped` or `failed`.
    pub status: String,
    /// Processing attempts.
    pub attempts: i32,
}

/// How processing a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboxOutcome {
    /// Applied to the local copy.
    Processed,
    /// Nothing to apply (an event type the toolkit does not handle).
    Skipped,
    /// Processing failed for good; the error is kept with it.
    Failed,
}

impl InboxOutcome {
    fn as_str(self) -> &'static str {
        match self {
            InboxOutcome::Processed => "processed",
            InboxOutcome::Skipped => "skipped",
            InboxOutcome::Failed => "failed",
        }
    }
}

/// The dedupe key of a delivery: hex(sha256(event_type ‖ "\n" ‖ body)).
pub fn dedupe_key(event_type: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(event_type.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

impl Store {
    /// Store a verified delivery. `Some(id)` for a new one; `None` if the same delivery was
    /// stored before.
    pub async fn record_webhook(
        &self,
        event_type: &str,
        body: &[u8],
        resource_id: Option<i64>,
        resource_updated_at_us: Option<i64>,
    ) -> Result<Option<i64>> {
        let key = dedupe_key(event_type, body);
        let now = now_ms();
        on_writer!(self, |pool| {
            let row: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO webhook_events (dedupe_key, event_type, resource_id, resource_updated_at_us, body, received_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id",
            )
            .bind(&key)
            .bind(event_type)
            .bind(resource_id)
            .bind(resource_updated_at_us)
            .bind(body)
            .bind(now)
            .fetch_optional(pool)
            .await
            .context("storing a webhook")?;
            Ok(row.map(|(id,)| id))
        })
    }

    /// The oldest pending deliveries.
    pub async fn pending_webhooks(&self, limit: i64) -> Result<Vec<InboxEvent>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, event_type, body, status, attempts FROM webhook_events \
                 WHERE status = 'pending' ORDER BY received_at_ms, id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await
            .context("reading pending webhooks")
        })
    }

    /// Record the outcome of processing a delivery.
    pub async fn finish_webhook(
        &self,
        id: i64,
        outcome: InboxOutcome,
        error: Option<&str>,
    ) -> Result<()> {
        let now = now_ms();
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_events SET status = $1, last_error = $2, attempts = attempts + 1, \
                 processed_at_ms = $3 WHERE id = $4",
            )
            .bind(outcome.as_str())
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(pool)
            .await
            .context("finishing a webhook")?;
        });
        Ok(())
    }
}
