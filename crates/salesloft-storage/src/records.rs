//! Reading and writing the local copy, keyed by record type: `store.upsert(&people, zone)`,
//! `store.count_live::<Email>()`, `store.soft_delete::<Person>(id)`.

use chrono_tz::Tz;

use crate::entity::{Entity, PreparedRows, Table};
use crate::error::{Context, Result};
use crate::store::{Store, now_ms, on_reader, on_writer};
use crate::upsert::{UpsertStats, UpsertTx};

/// `FROM <table> WHERE` the entity's rows that are not soft-deleted.
fn live_rows(table: &Table) -> String {
    format!(
        "FROM {} WHERE deleted_at_ms IS NULL AND {}",
        table.name,
        table.own_rows()
    )
}

impl Store {
    /// Write `records` in batches, newest version wins; returns what changed. `zone` is the
    /// team's time zone (it sets the day an activity counts for).
    pub async fn upsert<T: Entity>(&self, records: &[T], zone: Tz) -> Result<UpsertStats> {
        self.upsert_prepared(PreparedRows::new(records, zone)?)
            .await
    }

    /// Write rows prepared earlier, in one transaction; returns what changed.
    pub async fn upsert_prepared<T: Entity>(&self, rows: PreparedRows<T>) -> Result<UpsertStats> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            let stats = tx.upsert_rows_in(&T::TABLE, rows.rows).await?;
            tx.commit().await.context("committing rows")?;
            Ok(stats)
        })
    }

    /// Mark the record `id` of type `T` deleted (as a `*_deleted` webhook reports), keeping its
    /// last state. A later write of a version at least as new clears the mark. Returns whether
    /// a row was marked.
    pub async fn soft_delete<T: Entity>(&self, id: i64) -> Result<bool> {
        let table = T::TABLE;
        let sql = format!(
            "UPDATE {} SET deleted_at_ms = $1 WHERE id = $2 AND deleted_at_ms IS NULL AND {}",
            table.name,
            table.own_rows()
        );
        let now = now_ms();
        let marked = on_writer!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(id)
                .execute(pool)
                .await
                .context("soft-deleting a row")?
                .rows_affected()
        });
        Ok(marked > 0)
    }

    /// How many records of type `T` the local copy holds (soft-deleted ones left out).
    pub async fn count_live<T: Entity>(&self) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) {}", live_rows(&T::TABLE));
        on_reader!(self, |pool| {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .context("counting rows")?;
            Ok(n)
        })
    }

    /// Every live record of type `T` as (id, raw JSON), by id.
    pub async fn raw_records<T: Entity>(&self) -> Result<Vec<(i64, String)>> {
        let sql = format!("SELECT id, raw {} ORDER BY id", live_rows(&T::TABLE));
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .context("reading records")
        })
    }

    /// The stored raw JSON and `updated_at` (µs) of the record `id` of type `T`, if present and
    /// not deleted.
    pub async fn raw_record<T: Entity>(&self, id: i64) -> Result<Option<(String, i64)>> {
        let sql = format!(
            "SELECT raw, sl_updated_at_us {} AND id = $1",
            live_rows(&T::TABLE)
        );
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(pool)
                .await
                .context("reading a record")
        })
    }
}
