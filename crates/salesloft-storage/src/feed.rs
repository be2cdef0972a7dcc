//! The change feed of the local copy, what the toolkit itself wrote to SalesLoft, and the
//! writes SalesLoft refused.
//!
//! Every transaction that changes rows of a table takes that table's next change position
//! and holds its counter until it commits, so positions are handed out in commit order: a
//! reader that has seen position `n` has seen every change before it, and a change committed
//! late never lands behind a reader's cursor. The feed is compacted: a row appears once, at
//! the position of its last change, with its state then.

use serde::{Deserialize, Serialize};

use crate::entity::{Entity, PreparedRows};
use crate::error::{Context, Result};
use crate::store::{BeginWrite, Store, on_reader, on_writer};
use crate::upsert::{UpsertStats, UpsertTx, counter_key};

/// A place in a table's change feed: the change position and id of the last row read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeedPosition {
    /// The change position (rows stored before the feed existed are at 0).
    pub seq: i64,
    /// The record id, ordering the rows of one position.
    pub id: i64,
}

impl FeedPosition {
    /// Before every row.
    pub const START: FeedPosition = FeedPosition { seq: -1, id: 0 };
}

impl Default for FeedPosition {
    fn default() -> Self {
        Self::START
    }
}

/// What the toolkit last wrote to one record: the version and content hash of SalesLoft's
/// answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnWrite {
    /// The `updated_at` (µs) SalesLoft answered the write with.
    pub version_us: i64,
    /// A hash of the answer's content, `updated_at` left out.
    pub content_hash: String,
}

/// One row of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRow {
    /// Where it is in the feed.
    pub position: FeedPosition,
    /// The position at which the row was first stored.
    pub first_seq: i64,
    /// Whether it is deleted now.
    pub deleted: bool,
    /// Its JSON as SalesLoft sent it (empty for a tombstone of a record never stored).
    pub raw: String,
    /// Its `updated_at` in µs.
    pub version_us: i64,
    /// The toolkit's last write to it, if any.
    pub own_write: Option<OwnWrite>,
}

/// A record SalesLoft refused, kept with its errors until a later write of it succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParkedWrite {
    /// The caller's key of the record (`id:…`, `crm_id:…` or `email:…`).
    pub record_key: String,
    /// The record as the caller gave it (JSON).
    pub record: String,
    /// SalesLoft's field errors (JSON object of field to messages).
    pub errors: String,
    /// Times it was refused.
    pub attempts: i64,
    /// When it was last refused (ms since the epoch).
    pub parked_at_ms: i64,
}

type ChangeTuple = (
    i64,
    i64,
    i64,
    bool,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

impl Store {
    /// Up to `limit` rows of type `T` changed after `after`, in feed order, each with the
    /// toolkit's last write to it.
    pub async fn changes_since<T: Entity>(
        &self,
        after: FeedPosition,
        limit: i64,
    ) -> Result<Vec<ChangedRow>> {
        let table = &T::TABLE;
        let sql = format!(
            "SELECT t.change_seq, t.id, t.first_seq, t.deleted_at_ms IS NOT NULL, t.raw, \
             t.sl_updated_at_us, w.version_us, w.content_hash \
             FROM {t} t LEFT JOIN own_writes w \
             ON w.team_id = t.team_id AND w.stream = $1 AND w.id = t.id \
             WHERE (t.change_seq > $2 OR (t.change_seq = $2 AND t.id > $3)) AND {own} \
             ORDER BY t.change_seq, t.id LIMIT $4",
            t = table.name,
            own = table.own_rows_of("t.", "$5"),
        );
        let stream = counter_key(table);
        let rows: Vec<ChangeTuple> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(stream)
                .bind(after.seq)
                .bind(after.id)
                .bind(limit)
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("reading the change feed")?
        });
        Ok(rows
            .into_iter()
            .map(
                |(seq, id, first_seq, deleted, raw, version_us, w_version, w_hash)| ChangedRow {
                    position: FeedPosition { seq, id },
                    first_seq,
                    deleted,
                    raw,
                    version_us,
                    own_write: w_version
                        .zip(w_hash)
                        .map(|(version_us, content_hash)| OwnWrite {
                            version_us,
                            content_hash,
                        }),
                },
            )
            .collect())
    }

    /// The position of the last change of `T` (`START` when nothing was stored).
    pub async fn feed_head<T: Entity>(&self) -> Result<FeedPosition> {
        let table = &T::TABLE;
        let sql = format!(
            "SELECT change_seq, id FROM {t} WHERE {own} ORDER BY change_seq DESC, id DESC LIMIT 1",
            t = table.name,
            own = table.own_rows("$1"),
        );
        let row: Option<(i64, i64)> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading the change feed's head")?
        });
        Ok(row.map_or(FeedPosition::START, |(seq, id)| FeedPosition { seq, id }))
    }

    /// Keep rows SalesLoft answered one of the toolkit's writes with, and remember each write
    /// (`(id, write)`), in one transaction: a reader of the feed never sees the row without
    /// knowing it for the toolkit's own.
    pub async fn upsert_written<T: Entity>(
        &self,
        rows: PreparedRows<T>,
        writes: &[(i64, OwnWrite)],
    ) -> Result<UpsertStats> {
        let stream = counter_key(&T::TABLE);
        let now = self.now_ms();
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            for (id, w) in writes {
                sqlx::query(
                    "INSERT INTO own_writes (team_id, stream, id, version_us, content_hash, written_at_ms) \
                     VALUES ($6, $1, $2, $3, $4, $5) ON CONFLICT (team_id, stream, id) DO UPDATE SET \
                     version_us = excluded.version_us, content_hash = excluded.content_hash, \
                     written_at_ms = excluded.written_at_ms \
                     WHERE excluded.version_us >= own_writes.version_us",
                )
                .bind(&stream)
                .bind(id)
                .bind(w.version_us)
                .bind(&w.content_hash)
                .bind(now)
                .bind(self.tid())
                .execute(&mut *tx)
                .await
                .context("remembering a write")?;
            }
            let stats = tx
                .upsert_rows_in(
                    self.tid(),
                    &T::TABLE,
                    rows.rows,
                    rows.listed_at_ms,
                    self.now_ms(),
                )
                .await?;
            tx.commit().await.context("committing a write's answer")?;
            Ok(stats)
        })
    }

    /// The live person whose CRM id is `crm_id`: id and raw JSON (the lowest id if several).
    pub async fn live_person_by_crm_id(&self, crm_id: &str) -> Result<Option<(i64, String)>> {
        let sql = "SELECT id, raw FROM people WHERE team_id = $2 AND deleted_at_ms IS NULL \
                   AND crm_id = $1 ORDER BY id LIMIT 1";
        on_reader!(self, |pool| {
            sqlx::query_as(sql)
                .bind(crm_id)
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading a person by CRM id")
        })
    }

    /// Park `record` (keyed `record_key`) of `stream` with SalesLoft's `errors` (JSON), or
    /// count one more refusal of it.
    pub async fn park_write(
        &self,
        stream: &str,
        record_key: &str,
        record: &str,
        errors: &str,
    ) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO parked_writes (team_id, stream, record_key, record, errors, attempts, \
                 parked_at_ms) VALUES ($6, $1, $2, $3, $4, 1, $5) \
                 ON CONFLICT (team_id, stream, record_key) DO UPDATE SET \
                 record = excluded.record, errors = excluded.errors, \
                 attempts = parked_writes.attempts + 1, parked_at_ms = excluded.parked_at_ms",
            )
            .bind(stream)
            .bind(record_key)
            .bind(record)
            .bind(errors)
            .bind(self.now_ms())
            .bind(self.tid())
            .execute(pool)
            .await
            .context("parking a refused write")?;
        });
        Ok(())
    }

    /// Forget the parked write `record_key` of `stream` (it went through); whether one was
    /// parked.
    pub async fn unpark_write(&self, stream: &str, record_key: &str) -> Result<bool> {
        let done = on_writer!(self, |pool| {
            sqlx::query(
                "DELETE FROM parked_writes WHERE team_id = $3 AND stream = $1 AND record_key = $2",
            )
            .bind(stream)
            .bind(record_key)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("unparking a write")?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// The parked writes of `stream`, oldest first.
    pub async fn parked_writes(&self, stream: &str) -> Result<Vec<ParkedWrite>> {
        let rows: Vec<(String, String, String, i64, i64)> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT record_key, record, errors, attempts, parked_at_ms FROM parked_writes \
                 WHERE team_id = $2 AND stream = $1 ORDER BY parked_at_ms, record_key",
            )
            .bind(stream)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading parked writes")?
        });
        Ok(rows
            .into_iter()
            .map(
                |(record_key, record, errors, attempts, parked_at_ms)| ParkedWrite {
                    record_key,
                    record,
                    errors,
                    attempts,
                    parked_at_ms,
                },
            )
            .collect())
    }
}
