//! Items a stream could not store at all ([`Rejected`] by salesloft-client's decoder: not an
//! object, no usable id or timestamps), kept with the reason so nothing SalesLoft sent is lost
//! and a person can look at it. Each distinct body is kept once, with how often it came.

use salesloft_model::Rejected;
use sha2::{Digest, Sha256};

use crate::error::{Context, Result};
use crate::store::{BeginWrite, Store, now_ms, on_reader, on_writer};
use crate::sync::OpenCheckpoint;

/// One quarantined item.
#[derive(Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The stream it came on.
    pub stream: String,
    /// Its `id`, when it had an integer one.
    pub record_id: Option<i64>,
    /// Why it could not be stored (field names, never values).
    pub error: String,
    /// Its JSON text as received.
    pub raw: String,
    /// When it was first seen (ms since the epoch).
    pub first_seen_at_ms: i64,
    /// When it was last seen.
    pub last_seen_at_ms: i64,
    /// How many times it came.
    pub times: i64,
}

impl std::fmt::Debug for Quarantined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The raw text may hold personal data.
        f.debug_struct("Quarantined")
            .field("stream", &self.stream)
            .field("record_id", &self.record_id)
            .field("error", &self.error)
            .field("raw_bytes", &self.raw.len())
            .field("times", &self.times)
            .finish()
    }
}

const INSERT: &str = "INSERT INTO quarantine \
     (team_id, stream, digest, record_id, error, raw, first_seen_at_ms, last_seen_at_ms, times) \
     VALUES ($7, $1, $2, $3, $4, $5, $6, $6, 1) \
     ON CONFLICT (team_id, stream, digest) DO UPDATE SET last_seen_at_ms = excluded.last_seen_at_ms, \
     error = excluded.error, times = quarantine.times + 1";

fn digest(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Write `items` of the team `$team` on `conn` (any engine).
macro_rules! write_items {
    ($conn:expr, $team:expr, $stream:expr, $items:expr) => {{
        let now = now_ms();
        for item in $items {
            sqlx::query(INSERT)
                .bind($stream)
                .bind(digest(&item.raw))
                .bind(item.id)
                .bind(&item.error)
                .bind(&item.raw)
                .bind(now)
                .bind($team)
                .execute(&mut *$conn)
                .await
                .context("quarantining an item")?;
        }
    }};
}

impl Store {
    /// Keep `items` of `stream` in the quarantine (a body seen before is counted again).
    pub async fn quarantine(&self, stream: &str, items: &[Rejected]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            write_items!(tx, self.tid(), stream, items);
            tx.commit().await.context("committing quarantined items")?;
            Ok(())
        })
    }

    /// The quarantined items of `stream`, newest first.
    pub async fn quarantined(&self, stream: &str) -> Result<Vec<Quarantined>> {
        type Row = (String, Option<i64>, String, String, i64, i64, i64);
        let rows: Vec<Row> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT stream, record_id, error, raw, first_seen_at_ms, last_seen_at_ms, times \
                 FROM quarantine WHERE team_id = $2 AND stream = $1 \
                 ORDER BY last_seen_at_ms DESC, digest",
            )
            .bind(stream)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading the quarantine")?
        });
        Ok(rows
            .into_iter()
            .map(
                |(stream, record_id, error, raw, first_seen_at_ms, last_seen_at_ms, times)| {
                    Quarantined {
                        stream,
                        record_id,
                        error,
                        raw,
                        first_seen_at_ms,
                        last_seen_at_ms,
                        times,
                    }
                },
            )
            .collect())
    }

    /// How many distinct items each stream has in the quarantine.
    pub async fn quarantine_counts(&self) -> Result<Vec<(String, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT stream, COUNT(*) FROM quarantine WHERE team_id = $1 \
                 GROUP BY stream ORDER BY stream",
            )
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("counting the quarantine")
        })
    }
}

impl OpenCheckpoint {
    /// Keep `items` in the quarantine as part of this checkpoint: they commit with its rows and
    /// cursor, so a cursor never passes an item that was not kept.
    pub async fn quarantine(&mut self, items: &[Rejected]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let stream = self.stream().to_owned();
        let team = self.team();
        match self.tx_mut() {
            crate::sync::CheckpointTx::Postgres(tx) => write_items!(*tx, team, &stream, items),
            crate::sync::CheckpointTx::Sqlite(tx) => write_items!(*tx, team, &stream, items),
        }
        Ok(())
    }
}
