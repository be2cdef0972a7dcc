//! The webhook inbox: every delivery is stored once, keyed by a hash of its type and body, so
//! SalesLoft's redeliveries (and our own retries) are harmless.

use sha2::{Digest, Sha256};

use crate::error::{Context, Result};
use crate::jobs::NewJob;
use crate::store::{Pools, Store, on_reader, on_writer};

/// A stored webhook delivery (its `Debug` shows the body's size, never its content: it holds
/// personal data).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
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

impl std::fmt::Debug for InboxEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxEvent")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("body_bytes", &self.body.len())
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish()
    }
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

/// A verified delivery to store.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `x-salesloft-event`.
    pub event_type: &'a str,
    /// The raw body as received.
    pub body: &'a [u8],
    /// The record's id, when the body names one.
    pub resource_id: Option<i64>,
    /// The record's `updated_at` in µs, when the body has one.
    pub resource_updated_at_us: Option<i64>,
}

/// What storing one delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Stored under this inbox id (and its processing job enqueued, if one was asked for).
    New(i64),
    /// The same delivery (type and body) was stored before: nothing was added.
    Duplicate,
}

/// Deliveries per SQLite statement (six parameters each), and per processing job.
const RECORD_CHUNK: usize = 500;

/// The dedupe key of a delivery: hex(sha256(event_type ‖ "\n" ‖ body)).
pub fn dedupe_key(event_type: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(event_type.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// The payload of the job that processes a batch of stored deliveries, as
/// [`Store::record_webhooks`] writes it (built by SQL on PostgreSQL, serialised on SQLite) and
/// salesloft-webhooks' processor reads it: `{"inbox_ids": [...]}`. The one owner of that format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessPayload {
    /// The deliveries' inbox ids, ascending.
    pub inbox_ids: Vec<i64>,
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
        let delivery = Delivery {
            event_type,
            body,
            resource_id,
            resource_updated_at_us,
        };
        let recorded = self.record_webhooks(&[delivery], None).await?;
        Ok(match recorded.first() {
            Some(Recorded::New(id)) => Some(*id),
            _ => None,
        })
    }

    /// Store many verified deliveries in one transaction and enqueue, in the same
    /// transaction, a copy of `process` for the new ones (its payload replaced by
    /// `{"inbox_ids": [...]}`, up to 500 per job): a delivery is never stored without its
    /// job, nor a job without its deliveries. One answer per delivery, in order; a delivery repeated within the batch is
    /// stored once.
    pub async fn record_webhooks(
        &self,
        deliveries: &[Delivery<'_>],
        process: Option<&NewJob>,
    ) -> Result<Vec<Recorded>> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = deliveries
            .iter()
            .map(|d| dedupe_key(d.event_type, d.body))
            .collect();
        // In key order: two transactions inserting the same keys take their locks in the
        // same order, so they wait for each other instead of deadlocking.
        let mut sorted: Vec<(&str, &Delivery<'_>)> =
            keys.iter().map(String::as_str).zip(deliveries).collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sorted.dedup_by(|a, b| a.0 == b.0);
        let now = self.now_ms();
        let mut new_ids = match &self.pools {
            Pools::Postgres(pool) => {
                record_on_postgres(pool, self.tid(), &sorted, process, now).await?
            }
            Pools::Sqlite { writer, .. } => {
                record_on_sqlite(writer, self.tid(), &sorted, process, now).await?
            }
        };
        if process.is_some() && !new_ids.is_empty() {
            // Runners of this process (PostgreSQL's were told at commit).
            self.jobs_wake.send_modify(|n| *n = n.wrapping_add(1));
        }
        // The first of equal deliveries in the batch is the new one.
        Ok(keys
            .iter()
            .map(|key| match new_ids.remove(key) {
                Some(id) => Recorded::New(id),
                None => Recorded::Duplicate,
            })
            .collect())
    }

    /// One stored delivery.
    pub async fn webhook_event(&self, id: i64) -> Result<Option<InboxEvent>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, event_type, body, status, attempts FROM webhook_events \
                 WHERE team_id = $2 AND id = $1",
            )
            .bind(id)
            .bind(self.tid())
            .fetch_optional(pool)
            .await
            .context("reading a webhook")
        })
    }

    /// Record a failed processing attempt that will be tried again: the delivery stays
    /// pending with the error kept.
    pub async fn webhook_attempt_failed(&self, id: i64, error: &str) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_events SET last_error = $1, attempts = attempts + 1 \
                 WHERE team_id = $3 AND id = $2 AND status = 'pending'",
            )
            .bind(error)
            .bind(id)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("recording a webhook failure")?;
        });
        Ok(())
    }

    /// Deliveries by event type and status, for metrics and status pages.
    pub async fn webhook_counts(&self) -> Result<Vec<(String, String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT event_type, status, COUNT(*) FROM webhook_events WHERE team_id = $1 \
                 GROUP BY event_type, status ORDER BY event_type, status",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("counting webhooks")
        })
    }

    /// The inbox's size: deliveries kept, and the bytes of their bodies.
    pub async fn webhook_inbox_size(&self) -> Result<(i64, i64)> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(LENGTH(body)), 0) AS BIGINT) \
                 FROM webhook_events WHERE team_id = $1",
            )
            .bind(self.tid())
            .fetch_one(pool)
            .await
            .context("measuring the webhook inbox")
        })
    }

    /// Delete at most `batch` settled deliveries, oldest first: processed and skipped ones
    /// received before `settled_before_ms`, failed ones received before `failed_before_ms`.
    /// Pending ones are never deleted. One short statement, so intake waits at most for one
    /// batch; call again until it deletes fewer than `batch`. How many it deleted.
    pub async fn prune_webhooks(
        &self,
        settled_before_ms: i64,
        failed_before_ms: i64,
        batch: i64,
    ) -> Result<u64> {
        let oldest_cutoff = settled_before_ms.max(failed_before_ms);
        let deleted = on_writer!(self, |pool| {
            sqlx::query(
                "DELETE FROM webhook_events WHERE id IN (SELECT id FROM webhook_events \
                 WHERE team_id = $5 AND received_at_ms < $1 \
                 AND ((status IN ('processed', 'skipped') AND received_at_ms < $2) \
                      OR (status = 'failed' AND received_at_ms < $3)) \
                 ORDER BY received_at_ms LIMIT $4)",
            )
            .bind(oldest_cutoff)
            .bind(settled_before_ms)
            .bind(failed_before_ms)
            .bind(batch)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("pruning the webhook inbox")?
            .rows_affected()
        });
        Ok(deleted)
    }

    /// Deliveries received since `since_ms`, per minute of arrival and status: (minute start
    /// ms, status, count), oldest first.
    pub async fn webhook_minutes(&self, since_ms: i64) -> Result<Vec<(i64, String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT received_at_ms - (received_at_ms % 60000) AS minute, status, COUNT(*) \
                 FROM webhook_events WHERE team_id = $2 AND received_at_ms >= $1 \
                 GROUP BY minute, status ORDER BY minute, status",
            )
            .bind(since_ms)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("counting webhooks per minute")
        })
    }

    /// When a delivery of each event type was last applied: (event type, ms).
    pub async fn webhooks_last_processed(&self) -> Result<Vec<(String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT event_type, MAX(processed_at_ms) FROM webhook_events \
                 WHERE team_id = $1 AND status = 'processed' AND processed_at_ms IS NOT NULL \
                 GROUP BY event_type",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading the last applied webhooks")
        })
    }

    /// The oldest pending deliveries.
    pub async fn pending_webhooks(&self, limit: i64) -> Result<Vec<InboxEvent>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT id, event_type, body, status, attempts FROM webhook_events \
                 WHERE team_id = $2 AND status = 'pending' ORDER BY received_at_ms, id LIMIT $1",
            )
            .bind(limit)
            .bind(self.tid())
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
        let now = self.now_ms();
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_events SET status = $1, last_error = $2, attempts = attempts + 1, \
                 processed_at_ms = $3 WHERE team_id = $5 AND id = $4",
            )
            .bind(outcome.as_str())
            .bind(error)
            .bind(now)
            .bind(id)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("finishing a webhook")?;
        });
        Ok(())
    }
}

impl Store {
    /// Free the dedupe key of delivery `id`: the same type and body delivered again is stored
    /// and processed anew. For a delivery whose processing found nothing to do *yet* (a delete
    /// SalesLoft did not confirm: a replay, or one sent before the record was gone), so that
    /// the real one, which may carry the very same body, is not taken for its duplicate.
    pub async fn release_webhook_key(&self, id: i64) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE webhook_events SET dedupe_key = dedupe_key || ':released:' || CAST(id AS TEXT) \
                 WHERE team_id = $2 AND id = $1",
            )
            .bind(id)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("releasing a webhook's dedupe key")?;
        });
        Ok(())
    }
}

/// New inbox ids by dedupe key.
type NewIds = std::collections::HashMap<String, i64>;

/// PostgreSQL: one statement (its own transaction, one round trip, one plan whatever the
/// batch size): the deliveries as arrays, their processing jobs from the ids that were new,
/// and `NOTIFY` for those jobs, all committed together.
async fn record_on_postgres(
    pool: &sqlx::PgPool,
    team: i64,
    sorted: &[(&str, &Delivery<'_>)],
    process: Option<&NewJob>,
    now: i64,
) -> Result<NewIds> {
    const SQL: &str = "WITH stored AS ( \
           INSERT INTO webhook_events (team_id, dedupe_key, event_type, resource_id, \
             resource_updated_at_us, body, received_at_ms) \
           SELECT $15, k, t, r, u, b, $6 \
           FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::bytea[]) \
             WITH ORDINALITY AS d(k, t, r, u, b, n) \
           ORDER BY n \
           ON CONFLICT (team_id, source, dedupe_key) DO NOTHING \
           RETURNING id, dedupe_key), \
         enqueued AS ( \
           INSERT INTO jobs (team_id, queue, kind, payload, priority, max_attempts, run_at_ms, \
             unique_key, unique_running, created_at_ms, updated_at_ms) \
           SELECT $15, $7, $8, '{\"inbox_ids\":[' || string_agg(id::text, ',' ORDER BY id) || ']}', \
             $9, $10, $11, NULL, 1, $6, $6 \
           FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / $12 AS part FROM stored) p \
           WHERE $13 GROUP BY part \
           RETURNING pg_notify($14, queue)) \
         SELECT id, dedupe_key, (SELECT count(*) FROM enqueued) FROM stored";
    let (queue, kind, priority, max_attempts, run_at) = match process {
        Some(job) => (
            job.queue.as_str(),
            job.kind.as_str(),
            job.priority,
            job.max_attempts,
            job.run_at_ms.unwrap_or(now),
        ),
        None => ("", "", 0, 0, now),
    };
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(SQL)
        .bind(sorted.iter().map(|(k, _)| *k).collect::<Vec<&str>>())
        .bind(
            sorted
                .iter()
                .map(|(_, d)| d.event_type)
                .collect::<Vec<&str>>(),
        )
        .bind(
            sorted
                .iter()
                .map(|(_, d)| d.resource_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            sorted
                .iter()
                .map(|(_, d)| d.resource_updated_at_us)
                .collect::<Vec<_>>(),
        )
        .bind(sorted.iter().map(|(_, d)| d.body).collect::<Vec<&[u8]>>())
        .bind(now)
        .bind(queue)
        .bind(kind)
        .bind(priority)
        .bind(max_attempts)
        .bind(run_at)
        .bind(RECORD_CHUNK as i64)
        .bind(process.is_some())
        .bind(crate::jobs::JOBS_CHANNEL)
        .bind(team)
        .fetch_all(pool)
        .await
        .context("storing webhooks with their jobs")?;
    Ok(rows.into_iter().map(|(id, key, _)| (key, id)).collect())
}

/// SQLite: one `BEGIN IMMEDIATE` transaction of multi-row inserts.
/// SQLite: the deliveries and their jobs in one transaction on the writer, committed with
/// `synchronous=FULL`: the write-ahead log is synced to disk before the commit returns, so a
/// delivery answered 200 survives a power loss, not only a crash of the process. (The other
/// writes keep `NORMAL`: a sync checkpoint lost to a power cut is fetched again.)
async fn record_on_sqlite(
    pool: &sqlx::SqlitePool,
    team: i64,
    sorted: &[(&str, &Delivery<'_>)],
    process: Option<&NewJob>,
    now: i64,
) -> Result<NewIds> {
    let mut conn = pool.acquire().await.context("taking the writer")?;
    sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await
        .context("asking for a durable commit")?;
    let recorded = record_in_transaction(&mut conn, team, sorted, process, now).await;
    // Back to the pool's setting whatever happened; should that fail, the connection is
    // closed rather than left slower (or returned mid-transaction).
    let restored = sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut *conn)
        .await;
    if restored.is_err() {
        conn.close_on_drop();
    }
    recorded
}

async fn record_in_transaction(
    conn: &mut sqlx::pool::PoolConnection<sqlx::Sqlite>,
    team: i64,
    sorted: &[(&str, &Delivery<'_>)],
    process: Option<&NewJob>,
    now: i64,
) -> Result<NewIds> {
    let mut new_ids = NewIds::new();
    let mut tx = sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE")
        .await
        .context("starting a transaction")?;
    for chunk in sorted.chunks(RECORD_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO webhook_events (team_id, dedupe_key, event_type, resource_id, \
             resource_updated_at_us, body, received_at_ms) VALUES ",
        );
        let team_mark = chunk.len() * 6 + 1;
        for i in 0..chunk.len() {
            let b = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${team_mark}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            ));
        }
        sql.push_str(
            " ON CONFLICT (team_id, source, dedupe_key) DO NOTHING RETURNING id, dedupe_key",
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
        for (key, d) in chunk {
            q = q
                .bind(*key)
                .bind(d.event_type)
                .bind(d.resource_id)
                .bind(d.resource_updated_at_us)
                .bind(d.body)
                .bind(now);
        }
        q = q.bind(team);
        for (id, key) in q.fetch_all(&mut *tx).await.context("storing webhooks")? {
            new_ids.insert(key, id);
        }
    }
    if let Some(job) = process {
        let mut ids: Vec<i64> = new_ids.values().copied().collect();
        ids.sort_unstable();
        enqueue_processing(&mut tx, team, job, &ids, now).await?;
    }
    tx.commit().await.context("committing webhooks")?;
    Ok(new_ids)
}

/// SQLite: the processing jobs of the new deliveries `ids` (up to 500 a job), in the
/// deliveries' transaction.
async fn enqueue_processing(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    team: i64,
    job: &NewJob,
    ids: &[i64],
    now: i64,
) -> Result<()> {
    for chunk in ids.chunks(RECORD_CHUNK) {
        sqlx::query(
            "INSERT INTO jobs (team_id, queue, kind, payload, priority, max_attempts, \
             run_at_ms, unique_key, unique_running, created_at_ms, updated_at_ms) \
             VALUES ($8, $1, $2, $3, $4, $5, $6, NULL, 1, $7, $7)",
        )
        .bind(&job.queue)
        .bind(&job.kind)
        .bind(
            serde_json::to_string(&ProcessPayload {
                inbox_ids: chunk.to_vec(),
            })
            .map_err(|source| crate::Error::Encode {
                what: "the processing payload",
                source,
            })?,
        )
        .bind(job.priority)
        .bind(job.max_attempts)
        .bind(job.run_at_ms.unwrap_or(now))
        .bind(now)
        .bind(team)
        .execute(&mut **tx)
        .await
        .context("enqueueing webhook processing")?;
    }
    Ok(())
}
