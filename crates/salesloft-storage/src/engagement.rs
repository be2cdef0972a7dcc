//! Daily engagement per (day, user, cadence), computed in the database from the activities:
//! one pass of a range of instants, each activity's local day found by its user's UTC offsets
//! (given by the caller, who knows the time zones), grouped and summed. The caller replaces
//! whole days with the result, so a day is always recomputed, never incremented.

use crate::error::{Context, Result};
use crate::store::{BeginWrite, Store, now_ms, on_reader, on_writer};

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
}

/// Columns of `daily_engagement` in [`EngagementRow`] order.
const ROW_COLUMNS: &str = "day, user_id, cadence_id, emails_sent, emails_delivered, emails_bounced, \
     emails_opened, emails_clicked, emails_replied, calls, calls_connected, call_seconds";

/// One group as the aggregate query returns it: the day as a count of days since the epoch.
type Counted = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// The `YYYY-MM-DD` of `n` days after 1970-01-01.
fn day_text(n: i64) -> Option<String> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let day = epoch.checked_add_signed(chrono::TimeDelta::try_days(n)?)?;
    Some(day.format("%Y-%m-%d").to_string())
}

impl Store {
    /// The engagement of every (day, user, cadence) with an activity at an instant in
    /// `[from_us, to_us)`, days found by `days`; a call is connected when its disposition is
    /// one of `connected`. Ordered by day, user, cadence. Days at the ends of the range may be
    /// partial: callers keep only the days the range covers whole.
    pub async fn engagement_counts(
        &self,
        days: &LocalDays,
        from_us: i64,
        to_us: i64,
        connected: &[String],
    ) -> Result<Vec<EngagementRow>> {
        let offset = days.offset_sql("user_id", "occurred_at_us");
        let connected_sql = if connected.is_empty() {
            "1 = 0".to_owned()
        } else {
            let marks: Vec<String> = (0..connected.len())
                .map(|i| format!("${}", i + 3))
                .collect();
            format!("status IN ({})", marks.join(", "))
        };
        // Floor division: instants before 1970 still get the day they fall on.
        let sql = format!(
            "SELECT d, user_id, cadence_id, \
               CAST(SUM(e) AS BIGINT), CAST(SUM(e * bounced) AS BIGINT), \
               CAST(SUM(e * opened) AS BIGINT), CAST(SUM(e * clicked) AS BIGINT), \
               CAST(SUM(e * replied) AS BIGINT), CAST(SUM(1 - e) AS BIGINT), \
               CAST(SUM(c) AS BIGINT), CAST(SUM(s) AS BIGINT) \
             FROM (SELECT \
                 CASE WHEN l >= 0 THEN l / {DAY_US} ELSE (l - {last}) / {DAY_US} END AS d, \
                 user_id, cadence_id, e, bounced, opened, clicked, replied, c, s \
               FROM (SELECT occurred_at_us + ({offset}) AS l, user_id, cadence_id, \
                   CASE WHEN kind = 'email' THEN 1 ELSE 0 END AS e, bounced, opened, clicked, replied, \
                   CASE WHEN kind = 'call' AND {connected_sql} THEN 1 ELSE 0 END AS c, \
                   CASE WHEN kind = 'call' THEN COALESCE(duration_s, 0) ELSE 0 END AS s \
                 FROM activities \
                 WHERE occurred_at_us >= $1 AND occurred_at_us < $2 AND deleted_at_ms IS NULL \
                   AND (kind = 'call' OR sent = 1)) a) b \
             GROUP BY d, user_id, cadence_id ORDER BY d, user_id, cadence_id",
            last = DAY_US - 1,
        );
        let rows: Vec<Counted> = on_reader!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(from_us)
                .bind(to_us);
            for c in connected {
                q = q.bind(c);
            }
            q.fetch_all(pool)
                .await
                .context("computing daily engagement")?
        });
        rows.into_iter()
            .map(
                |(
                    d,
                    user_id,
                    cadence_id,
                    sent,
                    bounced,
                    opened,
                    clicked,
                    replied,
                    calls,
                    connected,
                    seconds,
                )| {
                    Ok(EngagementRow {
                        day: day_text(d).ok_or_else(|| {
                            crate::Error::Invalid(format!(
                                "an activity day out of range ({d} days)"
                            ))
                        })?,
                        user_id,
                        cadence_id,
                        emails_sent: sent,
                        emails_delivered: sent.saturating_sub(bounced),
                        emails_bounced: bounced,
                        emails_opened: opened,
                        emails_clicked: clicked,
                        emails_replied: replied,
                        calls,
                        calls_connected: connected,
                        call_seconds: seconds,
                    })
                },
            )
            .collect()
    }

    /// Replace the stored engagement of the days `first..=last` (`YYYY-MM-DD`, or every day
    /// when `None`) with `rows`, in one transaction; rows outside the days are refused.
    pub async fn replace_engagement(
        &self,
        days: Option<(&str, &str)>,
        rows: &[EngagementRow],
    ) -> Result<()> {
        if let Some((first, last)) = days
            && let Some(r) = rows
                .iter()
                .find(|r| r.day.as_str() < first || r.day.as_str() > last)
        {
            return Err(crate::Error::Invalid(format!(
                "an engagement row of {} outside {first}..={last}",
                r.day
            )));
        }
        let now = now_ms();
        on_writer!(self, |pool| {
            let mut tx = pool.begin_write().await.context("starting a transaction")?;
            match days {
                Some((first, last)) => {
                    sqlx::query("DELETE FROM daily_engagement WHERE day >= $1 AND day <= $2")
                        .bind(first)
                        .bind(last)
                        .execute(&mut *tx)
                        .await
                }
                None => {
                    sqlx::query("DELETE FROM daily_engagement")
                        .execute(&mut *tx)
                        .await
                }
            }
            .context("clearing engagement days")?;
            for chunk in rows.chunks(500) {
                let mut sql =
                    format!("INSERT INTO daily_engagement ({ROW_COLUMNS}, computed_at_ms) VALUES ");
                for i in 0..chunk.len() {
                    let b = i * 12;
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    let marks: Vec<String> = (1..=12).map(|k| format!("${}", b + k)).collect();
                    sql.push_str(&format!("({}, {now})", marks.join(", ")));
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for r in chunk {
                    q = q
                        .bind(&r.day)
                        .bind(r.user_id)
                        .bind(r.cadence_id)
                        .bind(r.emails_sent)
                        .bind(r.emails_delivered)
                        .bind(r.emails_bounced)
                        .bind(r.emails_opened)
                        .bind(r.emails_clicked)
                        .bind(r.emails_replied)
                        .bind(r.calls)
                        .bind(r.calls_connected)
                        .bind(r.call_seconds);
                }
                q.execute(&mut *tx)
                    .await
                    .context("storing engagement rows")?;
            }
            tx.commit().await.context("committing engagement days")?;
        });
        Ok(())
    }

    /// The stored engagement of the days `first..=last` (`YYYY-MM-DD`), by day, user, cadence.
    pub async fn engagement_rows(&self, first: &str, last: &str) -> Result<Vec<EngagementRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM daily_engagement WHERE day >= $1 AND day <= $2 \
             ORDER BY day, user_id, cadence_id"
        );
        on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(first)
                .bind(last)
                .fetch_all(pool)
                .await
                .context("reading daily engagement")
        })
    }

    /// The earliest and latest instant (µs) of a live activity that counts (a call, a sent
    /// e-mail); `None` when there is none.
    pub async fn activity_span(&self) -> Result<Option<(i64, i64)>> {
        let row: (Option<i64>, Option<i64>) = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT MIN(occurred_at_us), MAX(occurred_at_us) FROM activities \
                 WHERE deleted_at_ms IS NULL AND (kind = 'call' OR sent = 1)",
            )
            .fetch_one(pool)
            .await
            .context("reading the activities' span")?
        });
        Ok(row.0.zip(row.1))
    }

    /// (user id, instant µs) of every activity written or deleted at or after `since_ms`,
    /// deleted ones included: the days they fall on need recomputing.
    pub async fn activities_written_since(&self, since_ms: i64) -> Result<Vec<(i64, i64)>> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT user_id, occurred_at_us FROM activities WHERE synced_at_ms >= $1 \
                 UNION SELECT user_id, occurred_at_us FROM activities WHERE deleted_at_ms >= $1",
            )
            .bind(since_ms)
            .fetch_all(pool)
            .await
            .context("reading recently written activities")
        })
    }

    /// The last recompute's watermark (ms) and the settings its rows were computed with.
    pub async fn engagement_state(&self) -> Result<Option<(i64, String)>> {
        on_reader!(self, |pool| {
            sqlx::query_as("SELECT watermark_ms, settings FROM engagement_state WHERE id = 1")
                .fetch_optional(pool)
                .await
                .context("reading the engagement state")
        })
    }

    /// Record that every activity written before `watermark_ms` is counted, with `settings`.
    pub async fn set_engagement_state(&self, watermark_ms: i64, settings: &str) -> Result<()> {
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO engagement_state (id, watermark_ms, settings, computed_at_ms) \
                 VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET \
                 watermark_ms = excluded.watermark_ms, settings = excluded.settings, \
                 computed_at_ms = excluded.computed_at_ms",
            )
            .bind(watermark_ms)
            .bind(settings)
            .bind(now_ms())
            .execute(pool)
            .await
            .context("saving the engagement state")?;
        });
        Ok(())
    }
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

    #[test]
    fn days_count_from_the_epoch() {
        assert_eq!(day_text(0).as_deref(), Some("1970-01-01"));
        assert_eq!(day_text(-1).as_deref(), Some("1969-12-31"));
        assert_eq!(day_text(20_454).as_deref(), Some("2026-01-01"));
        assert_eq!(day_text(i64::MAX), None);
    }
}
