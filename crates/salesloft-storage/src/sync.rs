//! Sync cursors, and the checkpoint that writes pages of rows together with the stream's new
//! cursor in one transaction: after a crash there is either both or neither. The cursor is the
//! caller's: stored as the JSON it serialises to, never looked into.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entity::{Entity, PreparedRows};
use crate::error::{Context, Error, Result};
use crate::store::{BeginWrite, Pools, Store, on_reader, on_writer};
use crate::upsert::{UpsertStats, UpsertTx};

/// Where one stream's sync stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    /// The stream, such as `people`.
    pub stream: String,
    /// The stream's cursor after the last committed checkpoint, as the JSON its owner
    /// serialised it to; `None` before the first (or after [`Store::reset_sync`]). Read it
    /// with [`SyncState::cursor`].
    pub cursor_json: Option<String>,
    /// Whether a run has reached the end once (the backfill is over).
    pub backfill_done: bool,
    /// Records written by this stream, over all runs.
    pub records_total: i64,
    /// When the last run started (ms since the epoch).
    pub last_started_at_ms: Option<i64>,
    /// When a run last finished without error.
    pub last_success_at_ms: Option<i64>,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
    /// Optimistic-concurrency version: every checkpoint increments it.
    pub version: i64,
    /// When the state last changed.
    pub updated_at_ms: i64,
}

impl SyncState {
    /// The stream's cursor as its owner's type; `None` before the first checkpoint.
    pub fn cursor<C: DeserializeOwned>(&self) -> Result<Option<C>> {
        self.cursor_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|source| Error::Encode {
                what: "sync cursor",
                source,
            })
    }
}

type StateRow = (
    String,
    Option<String>,
    i16,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
    i64,
);

const SELECT_STATE: &str = "SELECT stream, cursor, backfill_done, records_total, \
     last_started_at_ms, last_success_at_ms, last_error, version, updated_at_ms FROM sync_state";

fn decode(r: StateRow) -> SyncState {
    SyncState {
        stream: r.0,
        cursor_json: r.1,
        backfill_done: r.2 != 0,
        records_total: r.3,
        last_started_at_ms: r.4,
        last_success_at_ms: r.5,
        last_error: r.6,
        version: r.7,
        updated_at_ms: r.8,
    }
}

/// What a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// What happened to the page's rows.
    pub stats: UpsertStats,
    /// The stream's state after the checkpoint.
    pub state: SyncState,
}

impl Store {
    /// The state of `stream` (created at the start if it has none).
    pub async fn sync_state(&self, stream: &str) -> Result<SyncState> {
        let now = self.now_ms();
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO sync_state (team_id, stream, updated_at_ms) VALUES ($3, $1, $2) \
                 ON CONFLICT (team_id, stream) DO NOTHING",
            )
            .bind(stream)
            .bind(now)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("creating sync state")?;
        });
        on_reader!(self, |pool| {
            let row: StateRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_STATE} WHERE team_id = $2 AND stream = $1"
            )))
            .bind(stream)
            .bind(self.tid())
            .fetch_one(pool)
            .await
            .context("reading sync state")?;
            Ok(decode(row))
        })
    }

    /// Every stream's state, by name.
    pub async fn sync_states(&self) -> Result<Vec<SyncState>> {
        on_reader!(self, |pool| {
            let rows: Vec<StateRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT_STATE} WHERE team_id = $1 ORDER BY stream"
            )))
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading sync states")?;
            Ok(rows.into_iter().map(decode).collect())
        })
    }

    /// Write one page: `rows` and the stream's new `cursor`, in one transaction, provided the
    /// state is still at `expected.version` (else [`Error::Conflict`] and nothing is written).
    /// `caught_up` marks the end of a run's walk.
    pub async fn checkpoint<T: Entity>(
        &self,
        expected: &SyncState,
        rows: PreparedRows<T>,
        cursor: &impl Serialize,
        caught_up: bool,
    ) -> Result<Checkpoint> {
        let mut open = self.begin_checkpoint(expected).await?;
        open.write(rows).await?;
        open.commit(cursor, caught_up).await
    }

    /// Start a checkpoint that takes several pages, each written as it comes
    /// ([`OpenCheckpoint::write`]), and commits them all with the cursor after the last
    /// ([`OpenCheckpoint::commit`]); dropped uncommitted, it writes nothing.
    ///
    /// Many pages to a transaction is what lets a sync that outruns its database keep up: each
    /// commit writes every index page it touched once, and the random ones (ids, emails) are
    /// touched by almost every row. On SQLite the open checkpoint holds the only writer
    /// connection: keep it short (the sync engine commits at least every second).
    pub async fn begin_checkpoint(&self, expected: &SyncState) -> Result<OpenCheckpoint> {
        let tx = match &self.pools {
            Pools::Postgres(pool) => {
                let mut tx = pool.begin_write().await.context("starting a checkpoint")?;
                // Atomic, so losing a whole checkpoint in a crash only means fetching it again.
                tx.commit_without_flush_wait().await?;
                CheckpointTx::Postgres(tx)
            }
            Pools::Sqlite { writer, .. } => {
                let mut tx = writer
                    .begin_write()
                    .await
                    .context("starting a checkpoint")?;
                tx.commit_without_flush_wait().await?;
                CheckpointTx::Sqlite(tx)
            }
        };
        Ok(OpenCheckpoint {
            tx,
            expected: expected.clone(),
            stats: UpsertStats::default(),
            clock: self.clock(),
            team: self.tid(),
        })
    }

    /// Record that a run of `stream` started.
    pub async fn sync_started(&self, stream: &str) -> Result<()> {
        self.sync_mark(stream, "last_started_at_ms = $1", None)
            .await
    }

    /// Record that a run of `stream` finished without error.
    pub async fn sync_succeeded(&self, stream: &str) -> Result<()> {
        self.sync_mark(stream, "last_success_at_ms = $1, last_error = NULL", None)
            .await
    }

    /// Record that a run of `stream` failed with `error`.
    pub async fn sync_failed(&self, stream: &str, error: &str) -> Result<()> {
        self.sync_mark(stream, "last_error = $4", Some(error)).await
    }

    async fn sync_mark(&self, stream: &str, set: &'static str, error: Option<&str>) -> Result<()> {
        let now = self.now_ms();
        let sql = format!(
            "UPDATE sync_state SET {set}, updated_at_ms = $1 WHERE team_id = $3 AND stream = $2"
        );
        on_writer!(self, |pool| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(stream)
                .bind(self.tid());
            if let Some(e) = error {
                q = q.bind(e.to_owned());
            }
            q.execute(pool).await.context("marking sync state")?;
        });
        Ok(())
    }

    /// Forget a stream's cursor (the next run backfills again); rows stay.
    pub async fn reset_sync(&self, stream: &str) -> Result<()> {
        let now = self.now_ms();
        on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE sync_state SET cursor = NULL, backfill_done = 0, version = version + 1, \
                 updated_at_ms = $1 WHERE team_id = $3 AND stream = $2",
            )
            .bind(now)
            .bind(stream)
            .bind(self.tid())
            .execute(pool)
            .await
            .context("resetting sync state")?;
        });
        Ok(())
    }
}

/// A checkpoint being written: an open transaction holding pages of rows that commits them
/// together with the stream's cursor after the last. See [`Store::begin_checkpoint`].
#[derive(Debug)]
pub struct OpenCheckpoint {
    tx: CheckpointTx,
    expected: SyncState,
    stats: UpsertStats,
    /// The store's clock.
    clock: std::sync::Arc<dyn salesloft_model::Clock>,
    /// The team whose rows and cursor it writes.
    team: i64,
}

#[derive(Debug)]
pub(crate) enum CheckpointTx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl OpenCheckpoint {
    /// The stream this checkpoint advances.
    pub fn stream(&self) -> &str {
        &self.expected.stream
    }

    /// The team it writes for.
    pub(crate) fn team(&self) -> i64 {
        self.team
    }

    pub(crate) fn tx_mut(&mut self) -> &mut CheckpointTx {
        &mut self.tx
    }

    /// Write `rows` (the monotonic guard applies); what happened to them.
    pub async fn write<T: Entity>(&mut self, rows: PreparedRows<T>) -> Result<UpsertStats> {
        let synced_at = self.clock.now_ms();
        let stats = match &mut self.tx {
            CheckpointTx::Postgres(tx) => {
                tx.upsert_rows_in(
                    self.team,
                    &T::TABLE,
                    rows.rows,
                    rows.listed_at_ms,
                    synced_at,
                )
                .await?
            }
            CheckpointTx::Sqlite(tx) => {
                tx.upsert_rows_in(
                    self.team,
                    &T::TABLE,
                    rows.rows,
                    rows.listed_at_ms,
                    synced_at,
                )
                .await?
            }
        };
        self.stats.add(stats);
        Ok(stats)
    }

    /// What the rows written so far did.
    pub fn stats(&self) -> UpsertStats {
        self.stats
    }

    /// Commit the rows written with the stream's new `cursor`, provided the state is still at
    /// the version this checkpoint began from (else [`Error::Conflict`] and nothing is
    /// written). `caught_up` marks the end of a run's walk.
    pub async fn commit(self, cursor: &impl Serialize, caught_up: bool) -> Result<Checkpoint> {
        let Self {
            tx,
            expected,
            stats,
            clock,
            team,
        } = self;
        let now = clock.now_ms();
        let cursor_json = serde_json::to_string(cursor).map_err(|source| Error::Encode {
            what: "sync cursor",
            source,
        })?;
        let written = (stats.inserted + stats.updated) as i64;
        macro_rules! advance {
            ($tx:expr) => {{
                let mut tx = $tx;
                let updated = sqlx::query(
                    "UPDATE sync_state SET cursor = $1, records_total = records_total + $2, \
                     backfill_done = CASE WHEN $3 = 1 THEN 1 ELSE backfill_done END, \
                     version = version + 1, updated_at_ms = $4 \
                     WHERE team_id = $7 AND stream = $5 AND version = $6",
                )
                .bind(&cursor_json)
                .bind(written)
                .bind(i64::from(caught_up))
                .bind(now)
                .bind(&expected.stream)
                .bind(expected.version)
                .bind(team)
                .execute(&mut *tx)
                .await
                .context("advancing the sync cursor")?;
                if updated.rows_affected() != 1 {
                    // Dropping the transaction rolls the rows back too.
                    return Err(Error::Conflict {
                        stream: expected.stream.clone(),
                    });
                }
                tx.commit().await.context("committing a checkpoint")?;
            }};
        }
        match tx {
            CheckpointTx::Postgres(tx) => advance!(tx),
            CheckpointTx::Sqlite(tx) => advance!(tx),
        }
        let state = SyncState {
            cursor_json: Some(cursor_json),
            backfill_done: expected.backfill_done || caught_up,
            records_total: expected.records_total + written,
            version: expected.version + 1,
            updated_at_ms: now,
            ..expected
        };
        Ok(Checkpoint { stats, state })
    }
}
