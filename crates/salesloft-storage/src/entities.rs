//! The local copy of SalesLoft records: typed columns for queries plus the full raw JSON,
//! written in batches with a monotonic guard (an older `updated_at` never overwrites a newer
//! row) and soft deletes that a later write clears.

use std::collections::HashMap;

use chrono::FixedOffset;
use salesloft_client::models::Record;
use salesloft_client::{
    Account, Cadence, CadenceMembership, Call, Email, Person, Step, Timestamp, User,
};
use serde::Serialize;

use crate::error::{Context, Error, Result};
use crate::store::{Store, now_ms, on_reader};

/// Rows whose stored versions are read with one query (and, on SQLite, written with one
/// statement).
pub const BATCH_ROWS: usize = 500;

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// An integer (or null).
    Int(Option<i64>),
    /// Text (or null).
    Text(Option<String>),
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<bool>> for Val {
    fn from(v: Option<bool>) -> Self {
        Val::Int(Some(i64::from(v.unwrap_or(false))))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Self {
        Val::Text(v.clone())
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_owned()))
    }
}

/// A table of SalesLoft records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// The primary-key columns (`id`, or `kind, id` for activities).
    pub key: &'static [&'static str],
    /// The typed columns after the key, in [`Row::values`] order.
    pub columns: &'static [&'static str],
}

/// One record as a row: key values, typed columns, SalesLoft timestamps and the raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Values of [`Table::key`].
    pub key: Vec<Val>,
    /// The record's id (also in `key`), for reporting.
    pub id: i64,
    /// Values of [`Table::columns`].
    pub values: Vec<Val>,
    /// SalesLoft `created_at` in µs.
    pub created_us: Option<i64>,
    /// SalesLoft `updated_at` in µs: the monotonic guard compares it.
    pub updated_us: i64,
    /// The record's full JSON.
    pub raw: String,
}

/// A SalesLoft record the store keeps.
pub trait Entity: Record + Serialize {
    /// Its table.
    const TABLE: Table;
    /// The record as a row; `offset` is the team's UTC offset (for activity days).
    fn to_row(&self, offset: FixedOffset) -> Result<Row>;
}

fn raw<T: Serialize>(t: &T) -> Result<String> {
    serde_json::to_string(t).map_err(|source| Error::Encode {
        what: "record",
        source,
    })
}

fn us(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}

fn ref_id<I: Copy + Into<i64>>(r: &Option<salesloft_client::Ref<I>>) -> Option<i64> {
    r.as_ref().map(|r| r.id.into())
}

fn row<T: Record + Serialize>(
    record: &T,
    created: Option<&Timestamp>,
    values: Vec<Val>,
) -> Result<Row> {
    let id = record.record_id();
    Ok(Row {
        key: vec![Val::Int(Some(id))],
        id,
        values,
        created_us: created.map(us),
        updated_us: us(&record.updated_at()),
        raw: raw(record)?,
    })
}

impl Entity for Person {
    const TABLE: Table = Table {
        name: "people",
        key: &["id"],
        columns: &[
            "email",
            "first_name",
            "last_name",
            "title",
            "account_id",
            "owner_user_id",
            "do_not_contact",
        ],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                (&self.email_address).into(),
                (&self.first_name).into(),
                (&self.last_name).into(),
                (&self.title).into(),
                ref_id(&self.account).into(),
                ref_id(&self.owner).into(),
                self.do_not_contact.into(),
            ],
        )
    }
}

impl Entity for Account {
    const TABLE: Table = Table {
        name: "accounts",
        key: &["id"],
        columns: &["name", "domain", "owner_user_id", "archived_at_us"],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                (&self.name).into(),
                (&self.domain).into(),
                ref_id(&self.owner).into(),
                self.archived_at.as_ref().map(us).into(),
            ],
        )
    }
}

impl Entity for User {
    const TABLE: Table = Table {
        name: "users",
        key: &["id"],
        columns: &["guid", "email", "name", "active", "role_id"],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                (&self.guid).into(),
                (&self.email).into(),
                (&self.name).into(),
                self.active.into(),
                self.role.as_ref().map(|r| r.id.0.clone()).into(),
            ],
        )
    }
}

impl Entity for Cadence {
    const TABLE: Table = Table {
        name: "cadences",
        key: &["id"],
        columns: &[
            "name",
            "owner_user_id",
            "team_cadence",
            "shared",
            "archived_at_us",
        ],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                (&self.name).into(),
                ref_id(&self.owner).into(),
                self.team_cadence.into(),
                self.shared.into(),
                self.archived_at.as_ref().map(us).into(),
            ],
        )
    }
}

impl Entity for Step {
    const TABLE: Table = Table {
        name: "steps",
        key: &["id"],
        columns: &["cadence_id", "step_type", "day", "step_number"],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                ref_id(&self.cadence).unwrap_or(0).into(),
                (&self.step_type).into(),
                self.day.map(i64::from).into(),
                self.step_number.map(i64::from).into(),
            ],
        )
    }
}

impl Entity for CadenceMembership {
    const TABLE: Table = Table {
        name: "cadence_memberships",
        key: &["id"],
        columns: &[
            "person_id",
            "cadence_id",
            "user_id",
            "current_state",
            "currently_on_cadence",
            "added_at_us",
        ],
    };
    fn to_row(&self, _: FixedOffset) -> Result<Row> {
        row(
            self,
            Some(&self.created_at),
            vec![
                ref_id(&self.person).unwrap_or(0).into(),
                ref_id(&self.cadence).unwrap_or(0).into(),
                ref_id(&self.user).unwrap_or(0).into(),
                (&self.current_state).into(),
                self.currently_on_cadence.into(),
                self.added_at.as_ref().map(us).into(),
            ],
        )
    }
}

const ACTIVITY_COLUMNS: &[&str] = &[
    "user_id",
    "person_id",
    "cadence_id",
    "step_id",
    "occurred_at_us",
    "day",
    "status",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "duration_s",
];

/// The team-local day of an instant, as `YYYY-MM-DD`.
pub fn team_day(t: &Timestamp, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format("%Y-%m-%d").to_string()
}

impl Entity for Email {
    const TABLE: Table = Table {
        name: "activities",
        key: &["kind", "id"],
        columns: ACTIVITY_COLUMNS,
    };
    fn to_row(&self, offset: FixedOffset) -> Result<Row> {
        let occurred = self.sent_at.unwrap_or(self.created_at);
        let counts = self.counts.clone().unwrap_or_default();
        let positive = |v: Option<i64>| Val::Int(Some(i64::from(v.unwrap_or(0) > 0)));
        let mut r = row(
            self,
            Some(&self.created_at),
            vec![
                ref_id(&self.user).unwrap_or(0).into(),
                ref_id(&self.recipient).unwrap_or(0).into(),
                ref_id(&self.cadence).unwrap_or(0).into(),
                ref_id(&self.step).unwrap_or(0).into(),
                us(&occurred).into(),
                team_day(&occurred, offset).as_str().into(),
                (&self.status).into(),
                positive(counts.views),
                positive(counts.clicks),
                positive(counts.replies),
                self.bounced.into(),
                Val::Int(None),
            ],
        )?;
        r.key = vec!["email".into(), Val::Int(Some(self.id.0))];
        Ok(r)
    }
}

impl Entity for Call {
    const TABLE: Table = Table {
        name: "activities",
        key: &["kind", "id"],
        columns: ACTIVITY_COLUMNS,
    };
    fn to_row(&self, offset: FixedOffset) -> Result<Row> {
        let mut r = row(
            self,
            Some(&self.created_at),
            vec![
                ref_id(&self.user).unwrap_or(0).into(),
                ref_id(&self.called_person).unwrap_or(0).into(),
                ref_id(&self.cadence).unwrap_or(0).into(),
                ref_id(&self.step).unwrap_or(0).into(),
                us(&self.created_at).into(),
                team_day(&self.created_at, offset).as_str().into(),
                (&self.disposition).into(),
                Val::Int(Some(0)),
                Val::Int(Some(0)),
                Val::Int(Some(0)),
                Val::Int(Some(0)),
                self.duration.into(),
            ],
        )?;
        r.key = vec!["call".into(), Val::Int(Some(self.id.0))];
        Ok(r)
    }
}

/// What a batch write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertStats {
    /// Rows that did not exist.
    pub inserted: u64,
    /// Rows replaced by a newer version.
    pub updated: u64,
    /// Rows already at this version or newer (left as they were).
    pub unchanged: u64,
}

impl UpsertStats {
    /// Add another batch's counts.
    pub fn add(&mut self, other: UpsertStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// SQL that upserts `n` rows of `table` with the monotonic guard.
pub(crate) fn upsert_sql(table: &Table, n: usize, numbered: bool) -> String {
    let mut cols: Vec<&str> = table.key.to_vec();
    cols.extend_from_slice(table.columns);
    cols.extend_from_slice(&[
        "sl_created_at_us",
        "sl_updated_at_us",
        "raw",
        "synced_at_ms",
        "deleted_at_ms",
    ]);
    let width = cols.len();
    let mut sql = format!("INSERT INTO {} ({}) VALUES ", table.name, cols.join(", "));
    for r in 0..n {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            if c == width - 1 {
                sql.push_str("NULL");
            } else if numbered {
                sql.push_str(&format!("${}", r * (width - 1) + c + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    let updates: Vec<String> = cols
        .iter()
        .filter(|c| !table.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    sql.push_str(&format!(
        " ON CONFLICT ({}) DO UPDATE SET {} WHERE excluded.sl_updated_at_us >= {}.sl_updated_at_us",
        table.key.join(", "),
        updates.join(", "),
        table.name
    ));
    sql
}

/// Classify `rows` against what is stored: (inserted, updated, unchanged) and the rows to write.
pub(crate) fn classify<'a>(
    rows: &'a [Row],
    stored: &HashMap<i64, (i64, bool)>,
) -> (UpsertStats, Vec<&'a Row>) {
    let mut stats = UpsertStats::default();
    let mut write = Vec::with_capacity(rows.len());
    for r in rows {
        match stored.get(&r.id) {
            None => {
                stats.inserted += 1;
                write.push(r);
            }
            // A soft-deleted row comes back when a version at least as new arrives.
            Some((updated, deleted))
                if r.updated_us > *updated || (*deleted && r.updated_us >= *updated) =>
            {
                stats.updated += 1;
                write.push(r);
            }
            Some(_) => stats.unchanged += 1,
        }
    }
    (stats, write)
}

/// Keep only the newest version of each key in `rows` (a batch must not name a row twice).
pub(crate) fn newest_per_key(rows: Vec<Row>) -> Vec<Row> {
    let mut by_key: HashMap<(String, i64), Row> = HashMap::with_capacity(rows.len());
    for r in rows {
        let k = (format!("{:?}", r.key.first()), r.id);
        match by_key.get(&k) {
            Some(old) if old.updated_us > r.updated_us => {}
            _ => {
                by_key.insert(k, r);
            }
        }
    }
    let mut out: Vec<Row> = by_key.into_values().collect();
    out.sort_by_key(|r| (r.updated_us, r.id));
    out
}

/// The `SELECT` of stored versions for a chunk: ids are integers formatted here, the kind is one
/// of two literals.
fn versions_sql(table: &Table, chunk: &[Row]) -> String {
    let ids: Vec<String> = chunk.iter().map(|r| r.id.to_string()).collect();
    let kind_filter = match chunk.first().and_then(|r| r.key.first()) {
        Some(Val::Text(Some(kind))) if table.key.len() == 2 => format!(" AND kind = '{kind}'"),
        _ => String::new(),
    };
    format!(
        "SELECT id, sl_updated_at_us, deleted_at_ms IS NOT NULL FROM {} WHERE id IN ({}){kind_filter}",
        table.name,
        ids.join(",")
    )
}

/// Add the counts of `chunk` against its `stored` versions to `$stats` and evaluate to the rows
/// that must be written.
macro_rules! split_new {
    ($stored:expr, $chunk:expr, $stats:expr) => {{
        let stored: Vec<(i64, i64, bool)> = $stored;
        let stored = stored.into_iter().map(|(id, u, d)| (id, (u, d))).collect();
        let (s, write) = classify($chunk, &stored);
        $stats.add(s);
        write
    }};
}

/// Writing rows inside an open transaction, per backend; shared by plain upserts and page
/// checkpoints.
pub(crate) trait UpsertTx {
    /// Write `rows` of `table` with the monotonic guard; what changed.
    async fn upsert_rows_in(&mut self, table: &Table, rows: Vec<Row>) -> Result<UpsertStats>;

    /// Let this transaction commit without waiting for its WAL flush. Only for writes that
    /// are safe to lose *whole* in a crash — a page checkpoint is: its rows and its cursor
    /// vanish together, and the next run fetches the page again.
    async fn commit_without_flush_wait(&mut self) -> Result<()>;
}

impl UpsertTx for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn commit_without_flush_wait(&mut self) -> Result<()> {
        // SQLite runs with synchronous=NORMAL in WAL mode: commits already skip the fsync.
        Ok(())
    }

    async fn upsert_rows_in(&mut self, table: &Table, rows: Vec<Row>) -> Result<UpsertStats> {
        let rows = newest_per_key(rows);
        let mut stats = UpsertStats::default();
        let synced = now_ms();
        for chunk in rows.chunks(BATCH_ROWS) {
            let stored = sqlx::query_as(sqlx::AssertSqlSafe(versions_sql(table, chunk)))
                .fetch_all(&mut **self)
                .await
                .context("reading stored versions")?;
            let write = split_new!(stored, chunk, stats);
            if write.is_empty() {
                continue;
            }
            // Anonymous `?` placeholders: SQLite looks a numbered parameter's name up in time
            // linear in the parameter count, which made binding 500-row statements quadratic.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert_sql(table, write.len(), false)));
            for r in &write {
                for v in r.key.iter().chain(r.values.iter()) {
                    q = match v {
                        Val::Int(i) => q.bind(*i),
                        Val::Text(t) => q.bind(t.clone()),
                    };
                }
                q = q
                    .bind(r.created_us)
                    .bind(r.updated_us)
                    .bind(r.raw.clone())
                    .bind(synced);
            }
            q.execute(&mut **self).await.context("upserting rows")?;
        }
        Ok(stats)
    }
}

impl UpsertTx for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn commit_without_flush_wait(&mut self) -> Result<()> {
        sqlx::query("SET LOCAL synchronous_commit TO off")
            .execute(&mut **self)
            .await
            .context("relaxing commit durability")?;
        Ok(())
    }

    async fn upsert_rows_in(&mut self, table: &Table, rows: Vec<Row>) -> Result<UpsertStats> {
        let rows = newest_per_key(rows);
        let mut stats = UpsertStats::default();
        let synced = now_ms();
        for chunk in rows.chunks(BATCH_ROWS) {
            // One array per column, expanded by UNNEST: a handful of parameters whatever the
            // number of rows, which PostgreSQL plans and binds far faster than thousands.
            let width = table.key.len() + table.columns.len();
            let mut ints: Vec<Option<Vec<Option<i64>>>> = vec![None; width];
            let mut texts: Vec<Option<Vec<Option<String>>>> = vec![None; width];
            for r in chunk {
                for (c, v) in r.key.iter().chain(r.values.iter()).enumerate() {
                    match v {
                        Val::Int(i) => ints[c].get_or_insert_with(Vec::new).push(*i),
                        Val::Text(t) => texts[c].get_or_insert_with(Vec::new).push(t.clone()),
                    }
                }
            }
            let mut cols: Vec<&str> = table.key.to_vec();
            cols.extend_from_slice(table.columns);
            let casts: Vec<String> = (0..width)
                .map(|c| {
                    if texts[c].is_some() {
                        format!("${}::text[]", c + 1)
                    } else {
                        format!("${}::int8[]", c + 1)
                    }
                })
                .chain([
                    format!("${}::int8[]", width + 1),
                    format!("${}::int8[]", width + 2),
                    format!("${}::text[]", width + 3),
                ])
                .collect();
            let updates: Vec<String> = cols
                .iter()
                .filter(|c| !table.key.contains(c))
                .map(|c| c.to_string())
                .chain(
                    [
                        "sl_created_at_us",
                        "sl_updated_at_us",
                        "raw",
                        "synced_at_ms",
                        "deleted_at_ms",
                    ]
                    .map(str::to_owned),
                )
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            let sql = format!(
                "INSERT INTO {t} ({cols}, sl_created_at_us, sl_updated_at_us, raw, synced_at_ms, deleted_at_ms) \
                 SELECT u.*, ${synced_param}::int8, NULL::int8 FROM UNNEST({casts}) AS u \
                 ON CONFLICT ({key}) DO UPDATE SET {updates} \
                 WHERE excluded.sl_updated_at_us > {t}.sl_updated_at_us \
                    OR ({t}.deleted_at_ms IS NOT NULL AND excluded.sl_updated_at_us >= {t}.sl_updated_at_us) \
                 RETURNING (xmax = 0)",
                t = table.name,
                cols = cols.join(", "),
                synced_param = width + 4,
                casts = casts.join(", "),
                key = table.key.join(", "),
                updates = updates.join(", "),
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for c in 0..width {
                q = match (texts[c].take(), ints[c].take()) {
                    (Some(t), _) => q.bind(t),
                    (None, Some(i)) => q.bind(i),
                    (None, None) => q.bind(Vec::<Option<i64>>::new()),
                };
            }
            q = q
                .bind(chunk.iter().map(|r| r.created_us).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.updated_us).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.raw.clone()).collect::<Vec<_>>())
                .bind(synced);
            // The guard above is `classify` in SQL, so no read of stored versions comes first:
            // a returned row was written, `xmax = 0` marks a fresh insert, and every row not
            // returned was already current.
            let written: Vec<bool> = q
                .fetch_all(&mut **self)
                .await
                .context("upserting rows")?
                .iter()
                .map(|row| sqlx::Row::try_get(row, 0))
                .collect::<std::result::Result<_, _>>()
                .context("reading upsert results")?;
            let inserted = written.iter().filter(|fresh| **fresh).count() as u64;
            stats.add(UpsertStats {
                inserted,
                updated: written.len() as u64 - inserted,
                unchanged: (chunk.len() - written.len()) as u64,
            });
        }
        Ok(stats)
    }
}

/// `FROM <table> WHERE` not soft-deleted (and `kind = $1` when a kind is given).
fn live_rows(table: &Table, kind: Option<&str>) -> String {
    let kind_filter = if kind.is_some() { " AND kind = $1" } else { "" };
    format!(
        "FROM {} WHERE deleted_at_ms IS NULL{kind_filter}",
        table.name
    )
}

impl Store {
    /// Write `records` in batches, newest version wins; returns what changed.
    pub async fn upsert<T: Entity>(
        &self,
        records: &[T],
        offset: FixedOffset,
    ) -> Result<UpsertStats> {
        let rows = records
            .iter()
            .map(|r| r.to_row(offset))
            .collect::<Result<Vec<_>>>()?;
        self.upsert_rows(&T::TABLE, rows).await
    }

    /// Write prepared rows of `table` in one transaction.
    pub async fn upsert_rows(&self, table: &Table, rows: Vec<Row>) -> Result<UpsertStats> {
        crate::store::on_writer!(self, |pool| {
            let mut tx = pool.begin().await.context("starting a transaction")?;
            let stats = tx.upsert_rows_in(table, rows).await?;
            tx.commit().await.context("committing rows")?;
            Ok(stats)
        })
    }

    /// Mark a record deleted (as a `*_deleted` webhook reports), keeping its last state. A later
    /// write of a version at least as new clears the mark. Returns whether a row was marked.
    pub async fn soft_delete(&self, table: &Table, id: i64, kind: Option<&str>) -> Result<bool> {
        let sql = match kind {
            Some(_) => format!(
                "UPDATE {} SET deleted_at_ms = $1 WHERE id = $2 AND kind = $3 AND deleted_at_ms IS NULL",
                table.name
            ),
            None => format!(
                "UPDATE {} SET deleted_at_ms = $1 WHERE id = $2 AND deleted_at_ms IS NULL",
                table.name
            ),
        };
        let now = now_ms();
        let done = crate::store::on_writer!(self, |pool| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(id);
            if let Some(k) = kind {
                q = q.bind(k.to_owned());
            }
            q.execute(pool)
                .await
                .context("soft-deleting a row")?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Rows in `table` that are not soft-deleted.
    pub async fn count_live(&self, table: &Table) -> Result<i64> {
        self.count_live_of(table, None).await
    }

    /// Rows in `table` (of `kind`, for activities) that are not soft-deleted.
    pub async fn count_live_of(&self, table: &Table, kind: Option<&str>) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) {}", live_rows(table, kind));
        on_reader!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            if let Some(k) = kind {
                q = q.bind(k.to_owned());
            }
            let (n,): (i64,) = q.fetch_one(pool).await.context("counting rows")?;
            Ok(n)
        })
    }

    /// Every live record of `table` (of `kind`, for activities) as (id, raw JSON), by id.
    pub async fn raw_records(
        &self,
        table: &Table,
        kind: Option<&str>,
    ) -> Result<Vec<(i64, String)>> {
        let sql = format!("SELECT id, raw {} ORDER BY id", live_rows(table, kind));
        on_reader!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            if let Some(k) = kind {
                q = q.bind(k.to_owned());
            }
            q.fetch_all(pool).await.context("reading records")
        })
    }

    /// The stored raw JSON and `updated_at` (µs) of one record, if present and not deleted.
    pub async fn raw_record(&self, table: &Table, id: i64) -> Result<Option<(String, i64)>> {
        let sql = format!(
            "SELECT raw, sl_updated_at_us FROM {} WHERE id = $1 AND deleted_at_ms IS NULL",
            table.name
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_sql_has_the_monotonic_guard_and_numbered_placeholders() {
        let t = Table {
            name: "people",
            key: &["id"],
            columns: &["email"],
        };
        let sql = upsert_sql(&t, 2, true);
        assert!(upsert_sql(&t, 1, false).contains("VALUES (?, ?, ?, ?, ?, ?, NULL)"));
        assert!(sql.starts_with("INSERT INTO people (id, email, sl_created_at_us, sl_updated_at_us, raw, synced_at_ms, deleted_at_ms) VALUES ($1, $2, $3, $4, $5, $6, NULL), ($7, $8, $9, $10, $11, $12, NULL)"), "{sql}");
        assert!(
            sql.ends_with("WHERE excluded.sl_updated_at_us >= people.sl_updated_at_us"),
            "{sql}"
        );
        assert!(sql.contains("deleted_at_ms = excluded.deleted_at_ms"));
    }

    #[test]
    fn a_batch_keeps_the_newest_version_of_each_record() {
        let mk = |id, updated_us| Row {
            key: vec![Val::Int(Some(id))],
            id,
            values: vec![],
            created_us: None,
            updated_us,
            raw: String::new(),
        };
        let out = newest_per_key(vec![mk(1, 5), mk(1, 9), mk(2, 1), mk(1, 7)]);
        assert_eq!(
            out.iter().map(|r| (r.id, r.updated_us)).collect::<Vec<_>>(),
            [(2, 1), (1, 9)]
        );
    }
}
