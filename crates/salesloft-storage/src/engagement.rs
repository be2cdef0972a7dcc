//! Daily engagement per (day, user, cadence), computed in the database from the activities:
//! one pass of a range of instants, each activity's local day found by its user's UTC offsets
//! (given by the caller, who knows the time zones), grouped and summed. The caller replaces
//! whole days with the result, so a day is always recomputed, never incremented.

use crate::Backend;
use crate::error::{Context, Result};
use crate::store::{BeginWrite, Store, on_reader, on_writer};

/// µs in a day.
const DAY_US: i64 = 86_400_000_000;

/// A UTC offset that changes over time: `(from_us, offset_us)` pairs ordered by instant,
/// each offset in force from its instant to the next one's (the first from any time before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetSpans(pub Vec<(i64, i64)>);

impl OffsetSpans {
    /// A SQL expression for the offset (µs) in force at `instant` (a column of integers).
    /// Only integers this type holds reach the text.
    fn sql(&self, instant: &str) -> String {
        match self.0.as_slice() {
            [] => "0".into(),
            [(_, only)] => only.to_string(),
            [first, rest @ ..] => {
                let mut sql = String::from("CASE");
                let mut offset = first.1;
                for (from, next) in rest {
                    sql.push_str(&format!(" WHEN {instant} < {from} THEN {offset}"));
                    offset = *next;
                }
                sql.push_str(&format!(" ELSE {offset} END"));
                sql
            }
        }
    }
}

/// How each activity's local day is found: the users of each time zone with its offsets,
/// and the offsets of everyone else (the team's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDays {
    /// (user ids, their zone's offsets) per time zone.
    pub zones: Vec<(Vec<i64>, OffsetSpans)>,
    /// The offsets of users not listed (and of activities without a user).
    pub fallback: OffsetSpans,
}

impl LocalDays {
    fn offset_sql(&self, user: &str, instant: &str) -> String {
        let zones: Vec<_> = self.zones.iter().filter(|(u, _)| !u.is_empty()).collect();
        if zones.is_empty() {
            return self.fallback.sql(instant);
        }
        let mut sql = String::from("CASE");
        for (users, offsets) in zones {
            let ids: Vec<String> = users.iter().map(i64::to_string).collect();
            sql.push_str(&format!(
                " WHEN {user} IN ({}) THEN {}",
                ids.join(","),
                offsets.sql(instant)
            ));
        }
        sql.push_str(&format!(" ELSE {} END", self.fallback.sql(instant)));
        sql
    }
}

/// The engagement of one (day, user, cadence), as defined in the toolkit's docs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct EngagementRow {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    /// The user (0: none).
    pub user_id: i64,
    /// The cadence (0: none).
    pub cadence_id: i64,
    /// E-mails with a `sent_at`.
    pub emails_sent: i64,
    /// Sent minus bounced.
    pub emails_delivered: i64,
    /// Sent e-mails that bounced.
    pub emails_bounced: i64,
    /// Sent e-mails viewed at least once.
    pub emails_opened: i64,
    /// Sent e-mails clicked at least once.
    pub emails_clicked: i64,
    /// Sent e-mails replied to.
    pub emails_replied: i64,
    /// Calls logged.
    pub calls: i64,
    /// Calls whose disposition is one of the connected ones.
    pub calls_connected: i64,
    /// Seconds over all calls.
    pub call_seconds: i64,
    /// Successes, by `succeeded_at` (else `created_at`).
    pub successes: i64,
    /// Actions of `other` steps completed, by when they were (their `updated_at`).
    pub other_steps: i64,
    /// Actions of `integration` steps completed, by when they were.
    pub integration_steps: i64,
    /// E-mails sent, calls, other and integration steps: SalesLoft's "total activities".
    pub activities: i64,
    /// Tasks completed, by `completed_at`.
    pub tasks_completed: i64,
}

/// Columns of `daily_engagement` in [`EngagementRow`] order.
const ROW_COLUMNS: &str = "day, user_id, cadence_id, emails_sent, emails_delivered, emails_bounced, \
     emails_opened, emails_clicked, emails_replied, calls, calls_connected, call_seconds, \
     successes, other_steps, integration_steps, activities, tasks_completed";

/// The `objects` rows that count: live successes, live completed actions of `other` and
/// `integration` steps, and live tasks (a task's instant is its `completed_at`, so only
/// completed ones have one). Only constants of this crate reach the text.
const COUNTED_OBJECTS: &str = "deleted_at_ms IS NULL AND (kind IN ('successes', 'tasks') \
     OR (kind = 'actions' AND state = 'completed' AND name IN ('other', 'integration')))";

/// The days a partial recompute replaces, and the instants holding their activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySpan<'a> {
    /// The first instant (µs) read, inclusive.
    pub from_us: i64,
    /// The last instant (µs) read, exclusive.
    pub to_us: i64,
    /// The first day replaced, `YYYY-MM-DD`.
    pub first: &'a str,
    /// The last day replaced, `YYYY-MM-DD`.
    pub last: &'a str,
}

/// What a recompute wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngagementWritten {
    /// Rows written.
    pub rows: u64,
    /// Distinct days among them.
    pub days: u64,
}

impl Store {
    /// Recompute the stored engagement from the live activities, each on its local day found
    /// by `days` (a call is connected when its disposition is one of `connected`), in one
    /// transaction. With a [`DaySpan`], its days are replaced by what the activities at its
    /// instants give them (the instants must cover those days whole); with `None`, every day
    /// is replaced from every activity.
    pub async fn recompute_engagement(
        &self,
        days: &LocalDays,
        only: Option<DaySpan<'_>>,
        connected: &[String],
    ) -> Result<EngagementWritten> {
        let insert = recompute_sql(
            self.backend(),
            &days.offset_sql("user_id", "t"),
            connected.len(),
            only.is_some(),
            self.now_ms(),
        );
        let (first, last) = only.map_or(("", ""), |d| (d.first, d.last));
        let count = if only.is_some() {
            "SELECT COUNT(*), COUNT(DISTINCT day) FROM daily_engagement \
             WHERE team_id = $3 AND day >= $1 AND day <= $2"
        } else {
            "SELECT COUNT(*), COUNT(DISTINCT day) FROM daily_engagement \
             WHERE team_id = $3 AND $1 = $2"
        };
        let team = self.tid();
        let postgres = self.backend() == Backend::Postgres;
        let (rows, distinct): (i64, i64) = on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            if postgres && only.is_some() {
                // The per-zone CASE makes the planner's estimate of a few days' recompute
                // high enough to JIT-compile it, which costs more than the query itself.
                sqlx::query("SET LOCAL jit = off")
                    .execute(&mut *tx)
                    .await
                    .context("turning JIT off for a recompute")?;
            }
            match only {
                Some(DaySpan { first, last, .. }) => sqlx::query(
                    "DELETE FROM daily_engagement WHERE team_id = $3 AND day >= $1 AND day <= $2",
                )
                .bind(first)
                .bind(last)
                .bind(team)
                .execute(&mut *tx)
                .await,
                None => {
                    sqlx::query("DELETE FROM daily_engagement WHERE team_id = $1")
                        .bind(team)
                        .execute(&mut *tx)
                        .await
                }
            }
            .context("clearing engagement days")?;
            let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for c in connected {
                q = q.bind(c);
            }
            if let Some(d) = only {
                q = q.bind(d.from_us).bind(d.to_us).bind(d.first).bind(d.last);
            }
            q.bind(team)
                .execute(&mut *tx)
                .await
                .context("computing daily engagement")?;
            let counted = sqlx::query_as(count)
                .bind(first)
                .bind(last)
                .bind(team)
                .fetch_one(&mut *tx)
                .await
                .context("counting engagement rows")?;
            tx.commit().await.context("committing engagement days")?;
            counted
        });
        Ok(EngagementWritten {
            rows: u64::try_from(rows).unwrap_or(0),
            days: u64::try_from(distinct).unwrap_or(0),
        })
    }

    /// The stored engagement of the days `first..=last` (`YYYY-MM-DD`), by day, user, cadence.
    pub async fn engagement_rows(&self, first: &str, last: &str) -> Result<Vec<EngagementRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM daily_engagement WHERE team_id = $3 AND day >= $1 \
             AND day <= $2 ORDER BY day, user_id, cadence_id"
        );
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(first)
                .bind(last)
                .bind(self.tid())
                .fetch_all(pool)
                .await
                .context("reading daily engagement")
        })
    }

    /// The earliest and latest instant (µs) of a live activity that counts (a call, a sent
    /// e-mail, a success, a completed other or integration step); `None` when there is none.
    pub async fn activity_span(&self) -> Result<Option<(i64, i64)>> {
        let sql = format!(
            "SELECT MIN(t), MAX(t) FROM (SELECT occurred_at_us AS t FROM activities \
             WHERE team_id = $1 AND deleted_at_ms IS NULL AND (kind = 'call' OR sent = 1) \
             UNION ALL SELECT occurred_at_us FROM objects WHERE team_id = $1 AND {COUNTED_OBJECTS}) a"
        );
        let row: (Option<i64>, Option<i64>) = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(self.tid())
                .fetch_one(pool)
                .await
                .context("reading the activities' span")?
        });
        Ok(row.0.zip(row.1))
    }

    /// (user id, instant µs) of every activity (and success or action) written or deleted at
    /// or after `since_ms`, deleted ones included: the days they fall on need recomputing.
    /// An action's day moves when it is completed: its earlier instant (its due date) was
    /// never counted, so only the day it now has matters.
    pub async fn activities_written_since(&self, since_ms: i64) -> Result<Vec<(i64, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT user_id, occurred_at_us FROM activities \
                 WHERE team_id = $2 AND synced_at_ms >= $1 \
                 UNION SELECT user_id, occurred_at_us FROM activities \
                 WHERE team_id = $2 AND deleted_at_ms >= $1 \
                 UNION SELECT COALESCE(user_id, 0), occurred_at_us FROM objects \
                 WHERE team_id = $2 AND synced_at_ms >= $1 AND occurred_at_us IS NOT NULL \
                 AND kind IN ('successes', 'actions', 'tasks') \
                 UNION SELECT COALESCE(user_id, 0), occurred_at_us FROM objects \
                 WHERE team_id = $2 AND deleted_at_ms >= $1 AND occurred_at_us IS NOT NULL \
                 AND kind IN ('successes', 'actions', 'tasks')",
            )
            .bind(since_ms)
            .bind(self.tid())
            .fetch_all(pool)
            .await
            .context("reading recently written activities")
        })
    }

    /// The last recompute's watermark (ms) and the settings its rows were computed with.
    pub async fn engagement_state(&self) -> Result<Option<(i64, String)>> {
        on_reader!(self, |pool| {
            sqlx::query_as("SELECT watermark_ms, settings FROM engagement_state WHERE team_id = $1")
                .bind(self.tid())
                .fetch_optional(pool)
                .await
                .context("reading the engagement state")
        })
    }

    /// Record that every activity written before `watermark_ms` is counted, with `settings`.
    pub async fn set_engagement_state(&self, watermark_ms: i64, settings: &str) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO engagement_state (team_id, watermark_ms, settings, computed_at_ms) \
                 VALUES ($4, $1, $2, $3) ON CONFLICT (team_id) DO UPDATE SET \
                 watermark_ms = excluded.watermark_ms, settings = excluded.settings, \
                 computed_at_ms = excluded.computed_at_ms",
            )
            .bind(watermark_ms)
            .bind(settings)
            .bind(self.now_ms())
            .bind(self.tid())
            .execute(pool)
            .await
            .context("saving the engagement state")?;
        });
        Ok(())
    }
}

/// The statement that sums activities into `daily_engagement` rows: `connected` call statuses
/// bound first (`$1..`), then, when `only_days`, the instant range and the day range, then the
/// team.
fn recompute_sql(
    backend: Backend,
    offset: &str,
    connected: usize,
    only_days: bool,
    now: i64,
) -> String {
    let connected_sql = if connected == 0 {
        "1 = 0".to_owned()
    } else {
        let marks: Vec<String> = (1..=connected).map(|i| format!("${i}")).collect();
        format!("status IN ({})", marks.join(", "))
    };
    let n = connected;
    let (from_mark, to_mark, first_mark, last_mark) = (n + 1, n + 2, n + 3, n + 4);
    let team_mark = if only_days { n + 5 } else { n + 1 };
    let day_text = match backend {
        Backend::Postgres => "to_char(DATE '1970-01-01' + CAST(d AS INTEGER), 'YYYY-MM-DD')",
        Backend::Sqlite => "strftime('%Y-%m-%d', d * 86400, 'unixepoch')",
    };
    // A whole-table recompute scans the table, not the instant index.
    let (range, keep) = if only_days {
        (
            format!("occurred_at_us >= ${from_mark} AND occurred_at_us < ${to_mark} AND"),
            format!("WHERE day >= ${first_mark} AND day <= ${last_mark}"),
        )
    } else {
        (String::new(), String::new())
    };
    // Floor division, so instants before 1970 still get the day they fall on. The rows are
    // summed and written by the database in one statement: nothing travels but the SQL.
    format!(
        "INSERT INTO daily_engagement (team_id, {ROW_COLUMNS}, computed_at_ms) \
         SELECT ${team_mark}, day, user_id, cadence_id, sent, sent - bounced, bounced, opened, clicked, \
           replied, calls, connected, seconds, successes, other, integration, \
           sent + calls + other + integration, tasks, {now} \
         FROM (SELECT {day_text} AS day, user_id, cadence_id, \
             CAST(SUM(e) AS BIGINT) AS sent, CAST(SUM(e * bounced) AS BIGINT) AS bounced, \
             CAST(SUM(e * opened) AS BIGINT) AS opened, \
             CAST(SUM(e * clicked) AS BIGINT) AS clicked, \
             CAST(SUM(e * replied) AS BIGINT) AS replied, \
             CAST(SUM(k) AS BIGINT) AS calls, CAST(SUM(c) AS BIGINT) AS connected, \
             CAST(SUM(s) AS BIGINT) AS seconds, CAST(SUM(su) AS BIGINT) AS successes, \
             CAST(SUM(o) AS BIGINT) AS other, CAST(SUM(i) AS BIGINT) AS integration, \
             CAST(SUM(ta) AS BIGINT) AS tasks \
           FROM (SELECT \
               CASE WHEN l >= 0 THEN l / {DAY_US} ELSE (l - {last}) / {DAY_US} END AS d, \
               user_id, cadence_id, e, k, bounced, opened, clicked, replied, c, s, su, o, i, ta \
             FROM (SELECT t + ({offset}) AS l, user_id, cadence_id, e, k, bounced, opened, \
                 clicked, replied, c, s, su, o, i, ta \
               FROM (SELECT occurred_at_us AS t, user_id, cadence_id, \
                   CASE WHEN kind = 'email' THEN 1 ELSE 0 END AS e, \
                   CASE WHEN kind = 'call' THEN 1 ELSE 0 END AS k, bounced, opened, clicked, \
                   replied, CASE WHEN kind = 'call' AND {connected_sql} THEN 1 ELSE 0 END AS c, \
                   CASE WHEN kind = 'call' THEN COALESCE(duration_s, 0) ELSE 0 END AS s, \
                   0 AS su, 0 AS o, 0 AS i, 0 AS ta \
                 FROM activities \
                 WHERE team_id = ${team_mark} AND {range} deleted_at_ms IS NULL \
                   AND (kind = 'call' OR sent = 1) \
                 UNION ALL SELECT occurred_at_us, COALESCE(user_id, 0), COALESCE(cadence_id, 0), \
                   0, 0, 0, 0, 0, 0, 0, 0, \
                   CASE WHEN kind = 'successes' THEN 1 ELSE 0 END, \
                   CASE WHEN kind = 'actions' AND name = 'other' THEN 1 ELSE 0 END, \
                   CASE WHEN kind = 'actions' AND name = 'integration' THEN 1 ELSE 0 END, \
                   CASE WHEN kind = 'tasks' THEN 1 ELSE 0 END \
                 FROM objects \
                 WHERE team_id = ${team_mark} AND {range} occurred_at_us IS NOT NULL \
                   AND {COUNTED_OBJECTS}) u) a) b \
           GROUP BY d, user_id, cadence_id) g {keep}",
        last = DAY_US - 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_a_case_over_the_instant() {
        assert_eq!(OffsetSpans(vec![]).sql("t"), "0");
        assert_eq!(OffsetSpans(vec![(i64::MIN, -5)]).sql("t"), "-5");
        assert_eq!(
            OffsetSpans(vec![(i64::MIN, -5), (100, -4), (200, -5)]).sql("t"),
            "CASE WHEN t < 100 THEN -5 WHEN t < 200 THEN -4 ELSE -5 END"
        );
        let days = LocalDays {
            zones: vec![
                (vec![1, 2], OffsetSpans(vec![(0, 7)])),
                (vec![], OffsetSpans(vec![(0, 9)])),
            ],
            fallback: OffsetSpans(vec![(0, 0)]),
        };
        assert_eq!(
            days.offset_sql("u", "t"),
            "CASE WHEN u IN (1,2) THEN 7 ELSE 0 END"
        );
    }
}
