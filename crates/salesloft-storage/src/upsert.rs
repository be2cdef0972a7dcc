//! Writing rows with the monotonic guard, one engine each: only a strictly newer `updated_at`
//! replaces a stored row, so an older or equal version never overwrites it and a soft-deleted
//! row (or a tombstone) comes back only with a version newer than the one it was deleted at,
//! or from a list SalesLoft answered after the delete (rows [`listed_at`] a later moment: the
//! record exists, so the delete was wrong).
//!
//! [`listed_at`]: crate::PreparedRows::listed_at SQLite reads the stored versions and writes only what must change in one multi-row
//! `VALUES`; PostgreSQL does both in one `INSERT ... SELECT FROM UNNEST(...)` per batch.

use std::collections::HashMap;

use crate::entity::{Row, Table, Val};
use crate::error::{Context, Result};

/// Rows whose stored versions are read with one query (and, on SQLite, written with one
/// statement).
pub(crate) const BATCH_ROWS: usize = 500;

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

/// The bookkeeping columns every record table has after its typed ones.
const TRAILING: [&str; 7] = [
    "sl_created_at_us",
    "sl_updated_at_us",
    "raw",
    "drifted",
    "synced_at_ms",
    "deleted_at_ms",
    "change_seq",
];

/// Written when a row is first stored, never replaced.
const INSERT_ONLY: &str = "first_seq";

/// The change counter of `table`'s entity (a shared table counts each kind apart, so two
/// streams never wait on each other).
pub(crate) fn counter_key(table: &Table) -> String {
    match table.kind {
        Some(kind) => format!("{}:{kind}", table.name),
        None => table.name.to_owned(),
    }
}

/// Take the next change position of `table` inside the caller's transaction: the counter's
/// row stays locked until that transaction ends, so positions are handed out in commit
/// order (SQLite has one writer at a time anyway).
pub(crate) const NEXT_CHANGE_SEQ: &str = "INSERT INTO change_counters (team_id, stream, seq) \
     VALUES ($2, $1, 1) ON CONFLICT (team_id, stream) DO UPDATE SET seq = change_counters.seq + 1 RETURNING seq";

/// Team, key and typed columns, in bind order.
fn row_columns(table: &Table) -> Vec<&'static str> {
    let mut cols = vec!["team_id"];
    cols.extend_from_slice(table.key());
    cols.extend_from_slice(table.columns);
    cols
}

/// `col = excluded.col` for every column but the key.
fn updates(table: &Table) -> String {
    table
        .columns
        .iter()
        .chain(TRAILING.iter())
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQLite's `INSERT` of `n` rows of `table` with the monotonic guard (anonymous `?`
/// placeholders: SQLite looks a numbered parameter's name up in time linear in the parameter
/// count, which made binding 500-row statements quadratic). The last parameter is the moment
/// the rows were listed (NULL when they were not), which restores rows deleted before it.
pub(crate) fn upsert_sql(table: &Table, n: usize) -> String {
    let mut cols = row_columns(table);
    cols.extend_from_slice(&TRAILING);
    cols.push(INSERT_ONLY);
    // Every column is bound but `deleted_at_ms` (NULL); the two positions come last.
    let width = row_columns(table).len() + TRAILING.len() - 2;
    let placeholders = format!("({}, NULL, ?, ?)", vec!["?"; width].join(", "));
    format!(
        "INSERT INTO {t} ({cols}) VALUES {values} ON CONFLICT ({key}) DO UPDATE SET {updates} \
         WHERE excluded.sl_updated_at_us > {t}.sl_updated_at_us OR {t}.deleted_at_ms < ?",
        t = table.name,
        cols = cols.join(", "),
        values = vec![placeholders; n].join(", "),
        key = table.team_key(),
        updates = updates(table),
    )
}

/// PostgreSQL's `INSERT ... SELECT FROM UNNEST` of one array per column, with the guard in its
/// `WHERE` and `RETURNING (xmax = 0)` to tell inserts from updates. `text` says which key and
/// typed columns are text; the team is one value for every row, bound last.
fn upsert_unnest_sql(table: &Table, text: &[bool]) -> String {
    let cols = &row_columns(table)[1..];
    let width = cols.len();
    let casts: Vec<String> = text
        .iter()
        .enumerate()
        .map(|(c, is_text)| format!("${}::{}[]", c + 1, if *is_text { "text" } else { "int8" }))
        .chain([
            format!("${}::int8[]", width + 1),
            format!("${}::int8[]", width + 2),
            format!("${}::text[]", width + 3),
            format!("${}::text[]", width + 4),
        ])
        .collect();
    format!(
        "INSERT INTO {t} (team_id, {cols}, {trailing}, {INSERT_ONLY}) \
         SELECT ${team}::int8, u.*, ${synced}::int8, NULL::int8, ${seq}::int8, ${seq}::int8 \
         FROM UNNEST({casts}) AS u \
         ON CONFLICT ({key}) DO UPDATE SET {updates} \
         WHERE excluded.sl_updated_at_us > {t}.sl_updated_at_us \
         OR {t}.deleted_at_ms < ${listed}::int8 \
         RETURNING (xmax = 0)",
        t = table.name,
        cols = cols.join(", "),
        trailing = TRAILING.join(", "),
        synced = width + 5,
        seq = width + 6,
        listed = width + 7,
        team = width + 8,
        casts = casts.join(", "),
        key = table.team_key(),
        updates = updates(table),
    )
}

/// SQLite's `SELECT` of the stored versions of a chunk: the ids are bound as one JSON array,
/// then the team; the kind is the table's constant.
fn versions_sql(table: &Table) -> String {
    format!(
        "SELECT id, sl_updated_at_us, deleted_at_ms FROM {} \
         WHERE id IN (SELECT value FROM json_each($1)) AND {}",
        table.name,
        table.own_rows("$2")
    )
}

/// Classify `rows` (listed at `listed_at`, when a list returned them) against what is stored,
/// by id: the version and, for a deleted row, when it was deleted. Gives (inserted, updated,
/// unchanged) and the rows to write.
pub(crate) fn classify<'a>(
    rows: &'a [Row],
    stored: &HashMap<i64, (i64, Option<i64>)>,
    listed_at: Option<i64>,
) -> (UpsertStats, Vec<&'a Row>) {
    let mut stats = UpsertStats::default();
    let mut write = Vec::with_capacity(rows.len());
    for r in rows {
        match stored.get(&r.id) {
            None => {
                stats.inserted += 1;
                write.push(r);
            }
            // Only a newer version replaces a row; a deleted one keeps the version it was
            // deleted at, so an equal one (a page read before the delete) leaves it deleted,
            // unless the page was listed after the delete: then the record exists.
            Some((updated, deleted_at))
                if r.updated_us > *updated
                    || deleted_at.zip(listed_at).is_some_and(|(d, l)| d < l) =>
            {
                stats.updated += 1;
                write.push(r);
            }
            Some(_) => stats.unchanged += 1,
        }
    }
    (stats, write)
}

/// Keep only the newest version of each id in `rows` (a batch must not name a row twice), in
/// `updated_at` order.
pub(crate) fn newest_per_id(rows: Vec<Row>) -> Vec<Row> {
    let mut by_id: HashMap<i64, Row> = HashMap::with_capacity(rows.len());
    for r in rows {
        match by_id.get(&r.id) {
            Some(old) if old.updated_us > r.updated_us => {}
            _ => {
                by_id.insert(r.id, r);
            }
        }
    }
    let mut out: Vec<Row> = by_id.into_values().collect();
    out.sort_by_key(|r| (r.updated_us, r.id));
    out
}

/// Writing rows inside an open transaction, per backend; shared by plain upserts and
/// checkpoints.
pub(crate) trait UpsertTx {
    /// Write `rows` of `table` for the team `team` with the monotonic guard (rows a list
    /// returned at `listed_at` also restore rows deleted before it), stamped `synced_at` (the
    /// store's clock); what changed.
    async fn upsert_rows_in(
        &mut self,
        team: i64,
        table: &Table,
        rows: Vec<Row>,
        listed_at: Option<i64>,
        synced_at: i64,
    ) -> Result<UpsertStats>;

    /// Take the team's next change position of `table` ([`NEXT_CHANGE_SEQ`]) in this
    /// transaction.
    async fn next_change_seq(&mut self, team: i64, table: &Table) -> Result<i64>;

    /// Let this transaction commit without waiting for its WAL flush. Only for writes that
    /// are safe to lose *whole* in a crash — a checkpoint is: its rows and its cursor vanish
    /// together, and the next run fetches them again.
    async fn commit_without_flush_wait(&mut self) -> Result<()>;
}

impl UpsertTx for sqlx::Transaction<'_, sqlx::Sqlite> {
    async fn next_change_seq(&mut self, team: i64, table: &Table) -> Result<i64> {
        let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE_SEQ)
            .bind(counter_key(table))
            .bind(team)
            .fetch_one(&mut **self)
            .await
            .context("taking a change position")?;
        Ok(seq)
    }

    async fn commit_without_flush_wait(&mut self) -> Result<()> {
        // SQLite runs with synchronous=NORMAL in WAL mode: commits already skip the fsync.
        Ok(())
    }

    async fn upsert_rows_in(
        &mut self,
        team: i64,
        table: &Table,
        rows: Vec<Row>,
        listed_at: Option<i64>,
        synced: i64,
    ) -> Result<UpsertStats> {
        let rows = newest_per_id(rows);
        let mut stats = UpsertStats::default();
        let select = versions_sql(table);
        let mut seq = None;
        for chunk in rows.chunks(BATCH_ROWS) {
            let ids: Vec<i64> = chunk.iter().map(|r| r.id).collect();
            let ids = serde_json::to_string(&ids).map_err(|source| crate::Error::Encode {
                what: "ids",
                source,
            })?;
            let stored: Vec<(i64, i64, Option<i64>)> =
                sqlx::query_as(sqlx::AssertSqlSafe(select.as_str()))
                    .bind(ids)
                    .bind(team)
                    .fetch_all(&mut **self)
                    .await
                    .context("reading stored versions")?;
            let stored = stored.into_iter().map(|(id, u, d)| (id, (u, d))).collect();
            let (counted, write) = classify(chunk, &stored, listed_at);
            stats.add(counted);
            if write.is_empty() {
                continue;
            }
            let seq = match seq {
                Some(seq) => seq,
                None => *seq.insert(self.next_change_seq(team, table).await?),
            };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert_sql(table, write.len())));
            for r in &write {
                q = q.bind(team);
                if let Some(kind) = table.kind {
                    q = q.bind(kind);
                }
                q = q.bind(r.id);
                for v in &r.values {
                    q = match v {
                        Val::Int(i) => q.bind(*i),
                        Val::Text(t) => q.bind(t.clone()),
                    };
                }
                q = q
                    .bind(r.created_us)
                    .bind(r.updated_us)
                    .bind(r.raw.clone())
                    .bind(r.drifted.clone())
                    .bind(synced)
                    .bind(seq)
                    .bind(seq);
            }
            q = q.bind(listed_at);
            q.execute(&mut **self).await.context("upserting rows")?;
        }
        Ok(stats)
    }
}

impl UpsertTx for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn next_change_seq(&mut self, team: i64, table: &Table) -> Result<i64> {
        let (seq,): (i64,) = sqlx::query_as(NEXT_CHANGE_SEQ)
            .bind(counter_key(table))
            .bind(team)
            .fetch_one(&mut **self)
            .await
            .context("taking a change position")?;
        Ok(seq)
    }

    async fn commit_without_flush_wait(&mut self) -> Result<()> {
        sqlx::query("SET LOCAL synchronous_commit TO off")
            .execute(&mut **self)
            .await
            .context("relaxing commit durability")?;
        Ok(())
    }

    async fn upsert_rows_in(
        &mut self,
        team: i64,
        table: &Table,
        rows: Vec<Row>,
        listed_at: Option<i64>,
        synced: i64,
    ) -> Result<UpsertStats> {
        let rows = newest_per_id(rows);
        let mut stats = UpsertStats::default();
        let key_width = table.key().len();
        if rows.is_empty() {
            return Ok(stats);
        }
        let seq = self.next_change_seq(team, table).await?;
        for chunk in rows.chunks(BATCH_ROWS) {
            // One array per column, expanded by UNNEST: a handful of parameters whatever the
            // number of rows, which PostgreSQL plans and binds far faster than thousands.
            let width = table.columns.len();
            let mut ints: Vec<Vec<Option<i64>>> = vec![Vec::new(); width];
            let mut texts: Vec<Option<Vec<Option<String>>>> = vec![None; width];
            for r in chunk {
                for (c, v) in r.values.iter().enumerate() {
                    match v {
                        Val::Int(i) => ints[c].push(*i),
                        Val::Text(t) => texts[c].get_or_insert_with(Vec::new).push(t.clone()),
                    }
                }
            }
            let mut text: Vec<bool> = table.kind.iter().map(|_| true).collect();
            text.push(false);
            text.extend(texts.iter().map(Option::is_some));
            let sql = upsert_unnest_sql(table, &text);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(kind) = table.kind {
                q = q.bind(vec![kind; chunk.len()]);
            }
            q = q.bind(chunk.iter().map(|r| r.id).collect::<Vec<_>>());
            for (ints, texts) in ints.into_iter().zip(texts) {
                q = match texts {
                    Some(t) => q.bind(t),
                    None => q.bind(ints),
                };
            }
            q = q
                .bind(chunk.iter().map(|r| r.created_us).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.updated_us).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.raw.clone()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|r| r.drifted.clone()).collect::<Vec<_>>())
                .bind(synced)
                .bind(seq)
                .bind(listed_at)
                .bind(team);
            debug_assert_eq!(text.len(), key_width + width);
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

#[cfg(test)]
mod tests {
    use super::*;

    const PEOPLE: Table = Table {
        name: "people",
        kind: None,
        columns: &["email"],
        fillers: &[],
    };

    #[test]
    fn the_sqlite_upsert_has_the_monotonic_guard() {
        let sql = upsert_sql(&PEOPLE, 2);
        assert!(sql.starts_with("INSERT INTO people (team_id, id, email, sl_created_at_us, sl_updated_at_us, raw, drifted, synced_at_ms, deleted_at_ms, change_seq, first_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)"), "{sql}");
        assert!(
            sql.ends_with(
                "WHERE excluded.sl_updated_at_us > people.sl_updated_at_us OR people.deleted_at_ms < ?"
            ),
            "{sql}"
        );
        assert!(sql.contains("deleted_at_ms = excluded.deleted_at_ms"));
        let shared = Table {
            name: "activities",
            kind: Some("email"),
            columns: &["status"],
            fillers: &[],
        };
        assert!(upsert_sql(&shared, 1).contains("ON CONFLICT (team_id, kind, id)"));
        assert!(versions_sql(&shared).ends_with("AND team_id = $2 AND kind = 'email'"));
    }

    fn row(id: i64, updated_us: i64) -> Row {
        Row {
            id,
            values: vec![],
            created_us: None,
            updated_us,
            raw: String::new(),
            drifted: None,
        }
    }

    #[test]
    fn a_deleted_row_comes_back_with_a_newer_version_or_a_later_listing() {
        // Row 1 deleted at 100 ms at version 50; row 2 live at version 50.
        let stored: HashMap<i64, (i64, Option<i64>)> =
            [(1, (50, Some(100))), (2, (50, None))].into();
        let rows = [row(1, 50), row(2, 50)];
        let written = |listed_at| {
            let (stats, write) = classify(&rows, &stored, listed_at);
            (
                stats.updated,
                write.iter().map(|r| r.id).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            written(None),
            (0, vec![]),
            "an equal version changes nothing"
        );
        assert_eq!(
            written(Some(99)),
            (0, vec![]),
            "listed before the delete: stays deleted"
        );
        assert_eq!(
            written(Some(100)),
            (0, vec![]),
            "listed at the delete: stays deleted"
        );
        assert_eq!(
            written(Some(101)),
            (1, vec![1]),
            "listed after the delete: restored"
        );
        let newer = [row(1, 51)];
        assert_eq!(
            classify(&newer, &stored, None).0.updated,
            1,
            "a newer version"
        );
    }

    #[test]
    fn a_batch_keeps_the_newest_version_of_each_record() {
        let mk = |id, updated_us| Row {
            id,
            values: vec![],
            created_us: None,
            updated_us,
            raw: String::new(),
            drifted: None,
        };
        let out = newest_per_id(vec![mk(1, 5), mk(1, 9), mk(2, 1), mk(1, 7)]);
        assert_eq!(
            out.iter().map(|r| (r.id, r.updated_us)).collect::<Vec<_>>(),
            [(2, 1), (1, 9)]
        );
    }
}
