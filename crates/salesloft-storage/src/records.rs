//! Reading and writing the local copy, keyed by record type: `store.upsert(&people)`,
//! `store.count_live::<Email>()`, `store.soft_delete::<Person>(id)`.

use crate::entity::{Entity, PreparedRows, Table};
use crate::error::{Context, Result};
use crate::store::{BeginWrite, Store, on_reader, on_writer};
use crate::upsert::{UpsertStats, UpsertTx};

/// `FROM <table> WHERE` the entity's rows of the team bound at the placeholder `team` that are
/// not soft-deleted.
fn live_rows(table: &Table, team: &str) -> String {
    format!(
        "FROM {} WHERE deleted_at_ms IS NULL AND {}",
        table.name,
        table.own_rows(team)
    )
}

impl Store {
    /// Write `records` in batches, newest version wins; returns what changed.
    pub async fn upsert<T: Entity>(&self, records: &[T]) -> Result<UpsertStats> {
        self.upsert_prepared(PreparedRows::new(records)?).await
    }

    /// Write rows prepared earlier, in one transaction; returns what changed.
    pub async fn upsert_prepared<T: Entity>(&self, rows: PreparedRows<T>) -> Result<UpsertStats> {
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            let stats = tx
                .upsert_rows_in(
                    self.tid(),
                    &T::TABLE,
                    rows.rows,
                    rows.listed_at_ms,
                    self.now_ms(),
                )
                .await?;
            tx.commit().await.context("committing rows")?;
            Ok(stats)
        })
    }

    /// Mark the record `id` of type `T` deleted (as a `*_deleted` webhook or a reconcile
    /// reports), keeping its last state. `deleted_version_us` is the `updated_at` (µs) of the
    /// version that was deleted, when known (a webhook's body); without it the moment of the
    /// call stands in, so no copy read before the delete brings the record back. The row keeps
    /// the later of its version and that one, and only a strictly newer version revives it. An
    /// id never stored gets a tombstone row, so a stale page cannot create it later. Returns
    /// whether a live row was marked.
    pub async fn soft_delete<T: Entity>(
        &self,
        id: i64,
        deleted_version_us: Option<i64>,
    ) -> Result<bool> {
        let table = T::TABLE;
        let now = self.now_ms();
        let version = deleted_version_us.unwrap_or_else(|| now.saturating_mul(1_000));
        let mark = format!(
            "UPDATE {t} SET deleted_at_ms = $1, change_seq = $4, \
             sl_updated_at_us = CASE WHEN $2 > sl_updated_at_us THEN $2 ELSE sl_updated_at_us END \
             WHERE id = $3 AND deleted_at_ms IS NULL AND {own}",
            t = table.name,
            own = table.own_rows("$5")
        );
        let (kind_col, kind_val) = match table.kind {
            Some(kind) => ("kind, ", format!("'{kind}', ")),
            None => ("", String::new()),
        };
        let filler_cols: String = table
            .fillers
            .iter()
            .map(|(c, _)| format!("{c}, "))
            .collect();
        let filler_vals: String = table
            .fillers
            .iter()
            .map(|(_, v)| format!("{v}, "))
            .collect();
        let tombstone = format!(
            "INSERT INTO {t} (team_id, {kind_col}id, {filler_cols}sl_updated_at_us, raw, synced_at_ms, deleted_at_ms, change_seq, first_seq) \
             VALUES ($5, {kind_val}$1, {filler_vals}$2, '', $3, $3, $4, $4) \
             ON CONFLICT ({key}) DO UPDATE SET sl_updated_at_us = excluded.sl_updated_at_us, \
             change_seq = excluded.change_seq \
             WHERE excluded.sl_updated_at_us > {t}.sl_updated_at_us AND {t}.deleted_at_ms IS NOT NULL",
            t = table.name,
            key = table.team_key(),
        );
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            let seq = tx.next_change_seq(self.tid(), &table).await?;
            let marked = sqlx::query(sqlx::AssertSqlSafe(mark))
                .bind(now)
                .bind(version)
                .bind(id)
                .bind(seq)
                .bind(self.tid())
                .execute(&mut *tx)
                .await
                .context("soft-deleting a row")?
                .rows_affected();
            if marked == 0 {
                // Never stored, or deleted already: leave (or move up) the tombstone.
                sqlx::query(sqlx::AssertSqlSafe(tombstone))
                    .bind(id)
                    .bind(version)
                    .bind(now)
                    .bind(seq)
                    .bind(self.tid())
                    .execute(&mut *tx)
                    .await
                    .context("leaving a tombstone")?;
            }
            tx.commit().await.context("committing a delete")?;
            Ok(marked > 0)
        })
    }

    /// Ids of the records of type `T` deleted here at `since_ms` or later, ascending.
    pub async fn deleted_ids_since<T: Entity>(&self, since_ms: i64) -> Result<Vec<i64>> {
        let table = T::TABLE;
        let sql = format!(
            "SELECT id FROM {} WHERE deleted_at_ms >= $1 AND {} ORDER BY id",
            table.name,
            table.own_rows("$2")
        );
        let rows: Vec<(i64,)> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(since_ms)
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("listing deleted ids")?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Which of `ids` are live records of type `T` here.
    pub async fn live_among<T: Entity>(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashSet<i64>> {
        let mut live = std::collections::HashSet::new();
        for chunk in ids.chunks(500) {
            let list = serde_json::to_string(chunk).map_err(|source| crate::Error::Encode {
                what: "ids",
                source,
            })?;
            // The ids as one JSON array, unpacked by each engine's JSON functions.
            let ids = match self.backend() {
                crate::Backend::Postgres => {
                    "SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS json))"
                }
                crate::Backend::Sqlite => "SELECT value FROM json_each($1)",
            };
            let sql = format!("SELECT id {} AND id IN ({ids})", live_rows(&T::TABLE, "$2"));
            let rows: Vec<(i64,)> = on_reader!(self, |pool| {
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(list.as_str())
                    .bind(self.tid())
                    .fetch_all(pool)
                    .await
                    .context("finding live ids")?
            });
            live.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(live)
    }

    /// Ids of every live record of type `T`, ascending.
    pub async fn live_ids<T: Entity>(&self) -> Result<Vec<i64>> {
        let sql = format!("SELECT id {} ORDER BY id", live_rows(&T::TABLE, "$1"));
        let rows: Vec<(i64,)> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("listing ids")?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// How many live records of type `T` were stored with fields that drifted (a type the
    /// models do not read), and those fields' names over all of them, most frequent first.
    pub async fn drift<T: Entity>(&self) -> Result<(i64, Vec<(String, i64)>)> {
        let sql = format!(
            "SELECT drifted, COUNT(*) {} AND drifted IS NOT NULL GROUP BY drifted",
            live_rows(&T::TABLE, "$1")
        );
        let rows: Vec<(String, i64)> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("counting drifted rows")?
        });
        let mut total = 0i64;
        let mut fields: std::collections::BTreeMap<String, i64> = Default::default();
        for (list, n) in rows {
            total += n;
            for f in list.split(',').filter(|f| !f.is_empty()) {
                *fields.entry(f.to_owned()).or_default() += n;
            }
        }
        let mut fields: Vec<(String, i64)> = fields.into_iter().collect();
        fields.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok((total, fields))
    }

    /// How many records of type `T` the local copy holds (soft-deleted ones left out).
    pub async fn count_live<T: Entity>(&self) -> Result<i64> {
        let sql = format!("SELECT COUNT(*) {}", live_rows(&T::TABLE, "$1"));
        on_reader!(self, |pool| {
            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_one(pool)
                .await
                .context("counting rows")?;
            Ok(n)
        })
    }

    /// Every live record of type `T` as (id, raw JSON), by id.
    pub async fn raw_records<T: Entity>(&self) -> Result<Vec<(i64, String)>> {
        let sql = format!("SELECT id, raw {} ORDER BY id", live_rows(&T::TABLE, "$1"));
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("reading records")
        })
    }

    /// The live memberships of cadence `cadence_id` in the local copy: (membership id,
    /// person id, whether the person is currently on the cadence), by person.
    pub async fn memberships_of_cadence(&self, cadence_id: i64) -> Result<Vec<(i64, i64, bool)>> {
        let sql = format!(
            "SELECT id, person_id, CAST(currently_on_cadence AS BIGINT) {} AND cadence_id = $1 \
             ORDER BY person_id, id",
            live_rows(
                &<salesloft_model::CadenceMembership as crate::entity::Mapping>::TABLE,
                "$2"
            )
        );
        let rows: Vec<(i64, i64, i64)> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(cadence_id)
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("reading a cadence's memberships")?
        });
        Ok(rows
            .into_iter()
            .filter(|(_, person, _)| *person != 0)
            .map(|(id, person, on)| (id, person, on != 0))
            .collect())
    }

    /// Which of the people `ids` the local copy holds live, each with whether they are marked
    /// do-not-contact; ids it does not hold are left out.
    pub async fn people_do_not_contact(&self, ids: &[i64]) -> Result<Vec<(i64, bool)>> {
        let mut out = Vec::with_capacity(ids.len());
        let table = &<salesloft_model::Person as crate::entity::Mapping>::TABLE;
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, CAST(do_not_contact AS BIGINT) {} AND id IN ({})",
                live_rows(table, "$1"),
                marks.join(", ")
            );
            let rows: Vec<(i64, i64)> = on_reader!(self, |pool| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(self.tid());
                for id in chunk {
                    q = q.bind(id);
                }
                q.fetch_all(pool)
                    .await
                    .context("reading people's do-not-contact flags")?
            });
            out.extend(rows.into_iter().map(|(id, dnc)| (id, dnc != 0)));
        }
        Ok(out)
    }

    /// The live person whose e-mail address is `email` (compared case-insensitively): id and
    /// raw JSON; the lowest id when the local copy holds more than one.
    pub async fn live_person_by_email(&self, email: &str) -> Result<Option<(i64, String)>> {
        let sql = format!(
            "SELECT id, raw {} AND lower(email) = lower($1) ORDER BY id LIMIT 1",
            live_rows(
                &<salesloft_model::Person as crate::entity::Mapping>::TABLE,
                "$2"
            )
        );
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(email)
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading a person by e-mail")
        })
    }

    /// The stored raw JSON and `updated_at` (µs) of the record `id` of type `T`, if present and
    /// not deleted.
    pub async fn raw_record<T: Entity>(&self, id: i64) -> Result<Option<(String, i64)>> {
        let sql = format!(
            "SELECT raw, sl_updated_at_us {} AND id = $1",
            live_rows(&T::TABLE, "$2")
        );
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading a record")
        })
    }
}
