//! Daily engagement per (day, user, cadence), exactly as the toolkit defines it: each
//! activity counts on its local day in its user's IANA time zone (DST-correct; the team's
//! zone when the user has none), e-mails by `sent_at` and only once sent, calls by
//! `created_at`, successes by `succeeded_at`, other and integration steps when their action
//! was completed, tasks by `completed_at`. A day is always recomputed whole from the local copy, never incremented, so
//! running again changes nothing: after a sync, only the days that activities written since
//! the last run fall on, plus the trailing 48 hours (opens, clicks, replies and bounces keep
//! arriving for hours).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Offset, TimeZone};
use salesloft_client::User;
use salesloft_storage::{DaySpan, EngagementRow, LocalDays, OffsetSpans, Tz};
use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};

/// µs in a day.
const DAY_US: i64 = 86_400_000_000;

/// What counts as a connected call and how far back every run looks: the defaults, with a
/// `with_*` setter per field (`EngagementConfig::default().with_overlap(Duration::ZERO)`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngagementConfig {
    /// Call dispositions that count as connected, compared exactly (default `["Connected"]`).
    pub connected_dispositions: Vec<String>,
    /// Days touched by this much time before now are recomputed on every run (default 48 h).
    pub trailing: Duration,
    /// How far before the last run's start activities written count as new (default 10 s): a
    /// write stamped before the run began but committed after it is still seen.
    pub overlap: Duration,
}

impl Default for EngagementConfig {
    fn default() -> Self {
        Self {
            connected_dispositions: vec!["Connected".into()],
            trailing: Duration::from_secs(48 * 3600),
            overlap: Duration::from_secs(10),
        }
    }
}

salesloft_client::with_setters!(EngagementConfig {
    with_connected_dispositions => connected_dispositions: Vec<String>,
    with_trailing => trailing: Duration,
    with_overlap => overlap: Duration,
});

/// Which days a recompute covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recompute {
    /// Every day, from every activity.
    Full,
    /// The days activities written since the last run fall on, and the trailing window;
    /// everything when the settings or a user's time zone changed, or on the first run.
    Changed,
    /// The days `first..=last`.
    Days(NaiveDate, NaiveDate),
}

/// What a recompute did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RecomputeReport {
    /// Whether every day was recomputed.
    pub full: bool,
    /// Days replaced (for a full recompute: the days that have any activity).
    pub days: usize,
    /// Rows written.
    pub rows: usize,
    /// Wall time.
    #[serde(with = "millis")]
    pub took: Duration,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

/// Daily engagement metrics over one [`Context`]'s local copy.
#[derive(Debug, Clone)]
pub struct EngagementMetrics {
    ctx: Context,
    config: EngagementConfig,
}

/// How a report groups the rows of the days it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Breakdown {
    /// One row per (day, user, cadence) with any activity.
    #[default]
    Key,
    /// One row per day: every user and cadence together.
    Day,
    /// One row per user over the whole range.
    User,
    /// One row per cadence over the whole range.
    Cadence,
}

/// Engagement summed over a [`Breakdown`]'s group; a dimension summed over is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngagementTotals {
    /// The local day, `YYYY-MM-DD`.
    pub day: Option<String>,
    /// The user (0: none).
    pub user_id: Option<i64>,
    /// The cadence (0: none).
    pub cadence_id: Option<i64>,
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
    /// Successes, by `succeeded_at`.
    pub successes: i64,
    /// Other steps completed.
    pub other_steps: i64,
    /// Integration steps completed.
    pub integration_steps: i64,
    /// E-mails sent, calls, other and integration steps together.
    pub activities: i64,
    /// Tasks completed.
    pub tasks_completed: i64,
}

impl EngagementTotals {
    /// The CSV header, in the column order of [`EngagementTotals::csv_line`].
    pub const CSV_HEADER: &'static str = "day,user_id,cadence_id,emails_sent,emails_delivered,\
emails_bounced,emails_opened,emails_clicked,emails_replied,calls,calls_connected,call_seconds,\
successes,other_steps,integration_steps,activities,tasks_completed";

    /// A group with nothing counted yet.
    fn empty(day: Option<String>, user_id: Option<i64>, cadence_id: Option<i64>) -> Self {
        Self {
            day,
            user_id,
            cadence_id,
            emails_sent: 0,
            emails_delivered: 0,
            emails_bounced: 0,
            emails_opened: 0,
            emails_clicked: 0,
            emails_replied: 0,
            calls: 0,
            calls_connected: 0,
            call_seconds: 0,
            successes: 0,
            other_steps: 0,
            integration_steps: 0,
            activities: 0,
            tasks_completed: 0,
        }
    }

    /// This row as a CSV line (a dimension summed over is empty).
    pub fn csv_line(&self) -> String {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            self.day.as_deref().unwrap_or(""),
            opt(self.user_id),
            opt(self.cadence_id),
            self.emails_sent,
            self.emails_delivered,
            self.emails_bounced,
            self.emails_opened,
            self.emails_clicked,
            self.emails_replied,
            self.calls,
            self.calls_connected,
            self.call_seconds,
            self.successes,
            self.other_steps,
            self.integration_steps,
            self.activities,
            self.tasks_completed
        )
    }

    fn add(&mut self, r: &EngagementRow) {
        self.emails_sent += r.emails_sent;
        self.emails_delivered += r.emails_delivered;
        self.emails_bounced += r.emails_bounced;
        self.emails_opened += r.emails_opened;
        self.emails_clicked += r.emails_clicked;
        self.emails_replied += r.emails_replied;
        self.calls += r.calls;
        self.calls_connected += r.calls_connected;
        self.call_seconds += r.call_seconds;
        self.successes += r.successes;
        self.other_steps += r.other_steps;
        self.integration_steps += r.integration_steps;
        self.activities += r.activities;
        self.tasks_completed += r.tasks_completed;
    }
}

/// `rows` (by day, user, cadence) grouped by `by`, ordered by the group's key.
pub fn break_down(rows: &[EngagementRow], by: Breakdown) -> Vec<EngagementTotals> {
    type Key = (Option<String>, Option<i64>, Option<i64>);
    let mut groups: BTreeMap<Key, EngagementTotals> = BTreeMap::new();
    for r in rows {
        let key: Key = match by {
            Breakdown::Key => (Some(r.day.clone()), Some(r.user_id), Some(r.cadence_id)),
            Breakdown::Day => (Some(r.day.clone()), None, None),
            Breakdown::User => (None, Some(r.user_id), None),
            Breakdown::Cadence => (None, None, Some(r.cadence_id)),
        };
        groups
            .entry(key.clone())
            .or_insert_with(|| EngagementTotals::empty(key.0, key.1, key.2))
            .add(r);
    }
    groups.into_values().collect()
}

/// The time zone of each user that has a valid one.
type UserZones = BTreeMap<i64, Tz>;

impl EngagementMetrics {
    /// Metrics over `ctx`'s store, in its team's time zone where a user has none.
    pub fn new(ctx: Context, config: EngagementConfig) -> Self {
        Self { ctx, config }
    }

    /// Recompute `what` and store it; idempotent.
    pub async fn recompute(&self, what: Recompute) -> Result<RecomputeReport> {
        let started = Instant::now();
        // The watermark is on the database's clock of writes (the system clock), not the
        // context's, which tests may stop.
        let started_ms = system_now_ms();
        let store = &self.ctx.store;
        let zones = self.user_zones().await?;
        let settings = self.settings(&zones);
        let mut report = RecomputeReport {
            full: false,
            days: 0,
            rows: 0,
            took: Duration::ZERO,
        };
        let runs = match what {
            Recompute::Full => None,
            Recompute::Days(first, last) => Some(vec![(first, last)]),
            Recompute::Changed => match store.engagement_state().await? {
                Some((watermark, kept)) if kept == settings => {
                    let overlap = i64::try_from(self.config.overlap.as_millis()).unwrap_or(0);
                    Some(
                        self.changed_days(&zones, watermark.saturating_sub(overlap))
                            .await?,
                    )
                }
                _ => None,
            },
        };
        let connected = &self.config.connected_dispositions;
        match runs {
            None => {
                report.full = true;
                let (lo, hi) = store.activity_span().await?.unwrap_or((0, 0));
                let days = self.local_days(&zones, lo, hi.saturating_add(1));
                let written = store.recompute_engagement(&days, None, connected).await?;
                report.days = usize::try_from(written.days).unwrap_or(usize::MAX);
                report.rows = usize::try_from(written.rows).unwrap_or(usize::MAX);
            }
            Some(runs) => {
                for (first, last) in runs {
                    let (range, days) = self.covering(&zones, first, last)?;
                    let (a, b) = (day_text(first), day_text(last));
                    let written = store
                        .recompute_engagement(
                            &days,
                            Some(DaySpan {
                                from_us: range.0,
                                to_us: range.1,
                                first: &a,
                                last: &b,
                            }),
                            connected,
                        )
                        .await?;
                    report.days += usize::try_from((last - first).num_days() + 1).unwrap_or(0);
                    report.rows += usize::try_from(written.rows).unwrap_or(usize::MAX);
                }
            }
        }
        // Chosen days leave the watermark alone: other days may still wait.
        if !matches!(what, Recompute::Days(..)) {
            store.set_engagement_state(started_ms, &settings).await?;
        }
        report.took = started.elapsed();
        Ok(report)
    }

    /// The stored engagement of the days `first..=last`, by day, user and cadence.
    pub async fn rows(&self, first: NaiveDate, last: NaiveDate) -> Result<Vec<EngagementRow>> {
        Ok(self
            .ctx
            .store
            .engagement_rows(&day_text(first), &day_text(last))
            .await?)
    }

    /// The UTC range (µs) holding every activity of the local days `first..=last` in any zone
    /// in use, and how to find local days in it.
    fn covering(
        &self,
        zones: &UserZones,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<((i64, i64), LocalDays)> {
        let start = midnight_us(first)?;
        let end = midnight_us(last.succ_opt().ok_or_else(|| out_of_range(last))?)?;
        // A day wider each side than any offset, to learn the offsets in use.
        let guess = self.local_days(
            zones,
            start.saturating_sub(DAY_US),
            end.saturating_add(DAY_US),
        );
        let (min_offset, max_offset) = offset_bounds(&guess);
        let (lo, hi) = (
            start.saturating_sub(max_offset),
            end.saturating_sub(min_offset),
        );
        Ok(((lo, hi), self.local_days(zones, lo, hi)))
    }

    /// Contiguous runs of the local days that activities written since `since_ms` fall on,
    /// with the days of the trailing window in every zone in use.
    async fn changed_days(
        &self,
        zones: &UserZones,
        since_ms: i64,
    ) -> Result<Vec<(NaiveDate, NaiveDate)>> {
        let team = self.ctx.team.time_zone;
        let mut days = BTreeSet::new();
        for (user, at) in self.ctx.store.activities_written_since(since_ms).await? {
            let zone = zones.get(&user).copied().unwrap_or(team);
            if let Some(day) = local_day(zone, at) {
                days.insert(day);
            }
        }
        let now = self.ctx.clock.now().timestamp_micros();
        let trailing = i64::try_from(self.config.trailing.as_micros()).unwrap_or(i64::MAX);
        let from = now.saturating_sub(trailing);
        for zone in zones.values().copied().chain([team]) {
            if let (Some(a), Some(b)) = (local_day(zone, from), local_day(zone, now)) {
                days.extend(a.iter_days().take_while(|d| *d <= b));
            }
        }
        Ok(runs(days))
    }

    /// Users' valid time zones from the local copy; an unknown or missing zone falls back to
    /// the team's.
    async fn user_zones(&self) -> Result<UserZones> {
        #[derive(serde::Deserialize)]
        struct Zone {
            #[serde(default)]
            time_zone: Option<serde_json::Value>,
        }
        let mut zones = UserZones::new();
        for (id, raw) in self.ctx.store.raw_records::<User>().await? {
            let zone = serde_json::from_str::<Zone>(&raw)
                .ok()
                .and_then(|z| z.time_zone)
                .and_then(|z| z.as_str().and_then(|s| s.trim().parse::<Tz>().ok()));
            if let Some(zone) = zone {
                zones.insert(id, zone);
            }
        }
        Ok(zones)
    }

    /// What the stored rows depend on besides the activities: a change recomputes all.
    fn settings(&self, zones: &UserZones) -> String {
        let zones: Vec<(i64, &str)> = zones.iter().map(|(id, z)| (*id, z.name())).collect();
        serde_json::json!({
            // The definitions' version: rows computed under earlier ones are recomputed.
            "definitions": 3,
            "team_time_zone": self.ctx.team.time_zone.name(),
            "connected": self.config.connected_dispositions,
            "user_time_zones": zones,
        })
        .to_string()
    }

    /// How the store finds local days of instants in `[lo, hi)`.
    fn local_days(&self, zones: &UserZones, lo: i64, hi: i64) -> LocalDays {
        let mut by_zone: BTreeMap<&str, (Tz, Vec<i64>)> = BTreeMap::new();
        for (id, zone) in zones {
            by_zone
                .entry(zone.name())
                .or_insert((*zone, Vec::new()))
                .1
                .push(*id);
        }
        LocalDays {
            zones: by_zone
                .into_values()
                .map(|(zone, users)| (users, offset_spans(zone, lo, hi)))
                .collect(),
            fallback: offset_spans(self.ctx.team.time_zone, lo, hi),
        }
    }
}

/// The lowest and highest offset (µs) any span of `days` uses.
fn offset_bounds(days: &LocalDays) -> (i64, i64) {
    let all = days
        .zones
        .iter()
        .map(|(_, s)| s)
        .chain([&days.fallback])
        .flat_map(|s| s.0.iter().map(|(_, o)| *o));
    all.fold((0, 0), |(lo, hi), o| (lo.min(o), hi.max(o)))
}

/// Contiguous runs of `days`.
fn runs(days: BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for day in days {
        match out.last_mut() {
            Some((_, last)) if last.succ_opt() == Some(day) => *last = day,
            _ => out.push((day, day)),
        }
    }
    out
}

/// `zone`'s UTC offset at the second `s`, in seconds (0 out of chrono's range).
fn offset_at(zone: Tz, s: i64) -> i64 {
    DateTime::from_timestamp(s, 0).map_or(0, |t| {
        i64::from(
            zone.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    })
}

/// `zone`'s offsets over `[lo_us, hi_us)`: the one at `lo_us`, then each change, found to the
/// second (zones change offset on whole seconds, at most once an hour).
pub(crate) fn offset_spans(zone: Tz, lo_us: i64, hi_us: i64) -> OffsetSpans {
    const MICROS: i64 = 1_000_000;
    let (lo, hi) = (
        lo_us.div_euclid(MICROS),
        hi_us.div_euclid(MICROS).saturating_add(1),
    );
    let mut current = offset_at(zone, lo);
    let mut spans = vec![(i64::MIN, current.saturating_mul(MICROS))];
    let mut t = lo;
    while t < hi {
        let next = t.saturating_add(3_600).min(hi);
        if offset_at(zone, next) == current {
            t = next;
            continue;
        }
        // The first second in (t, next] on another offset.
        let (mut same, mut other) = (t, next);
        while other - same > 1 {
            let mid = same + (other - same) / 2;
            if offset_at(zone, mid) == current {
                same = mid;
            } else {
                other = mid;
            }
        }
        current = offset_at(zone, other);
        spans.push((other.saturating_mul(MICROS), current.saturating_mul(MICROS)));
        t = other;
    }
    OffsetSpans(spans)
}

/// The local date of the instant `at_us` in `zone`.
pub(crate) fn local_day(zone: Tz, at_us: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_micros(at_us).map(|t| t.with_timezone(&zone).date_naive())
}

/// `YYYY-MM-DD`.
fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// UTC midnight starting `day`, in µs since the epoch.
fn midnight_us(day: NaiveDate) -> Result<i64> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
        .ok_or_else(|| out_of_range(day))
}

fn out_of_range(day: NaiveDate) -> Error {
    Error::Unreliable(format!("the day {day} is out of range"))
}

fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn offsets_change_at_the_exact_second_of_a_dst_transition() {
        let zone: Tz = "America/New_York".parse().unwrap();
        let spans = offset_spans(zone, us("2026-03-01T00:00:00Z"), us("2026-12-01T00:00:00Z"));
        let hour = 3_600_000_000;
        assert_eq!(
            spans.0,
            vec![
                (i64::MIN, -5 * hour),
                (us("2026-03-08T07:00:00Z"), -4 * hour),
                (us("2026-11-01T06:00:00Z"), -5 * hour),
            ]
        );
        let utc = offset_spans(Tz::UTC, 0, us("2026-12-01T00:00:00Z"));
        assert_eq!(utc.0, vec![(i64::MIN, 0)]);
        let kathmandu: Tz = "Asia/Kathmandu".parse().unwrap();
        assert_eq!(
            offset_spans(
                kathmandu,
                us("2026-01-01T00:00:00Z"),
                us("2026-02-01T00:00:00Z")
            )
            .0,
            vec![(i64::MIN, 5 * hour + 45 * 60_000_000)]
        );
    }

    #[test]
    fn local_days_follow_the_zone() {
        let zone: Tz = "America/Los_Angeles".parse().unwrap();
        // 07:59 UTC on 8 March 2026 is 23:59 the day before in Los Angeles (PST, -8).
        assert_eq!(
            local_day(zone, us("2026-03-08T07:59:59Z")),
            NaiveDate::from_ymd_opt(2026, 3, 7)
        );
        // After the change (PDT, -7), 07:00 UTC on 9 March is already the 9th.
        assert_eq!(
            local_day(zone, us("2026-03-09T07:00:00Z")),
            NaiveDate::from_ymd_opt(2026, 3, 9)
        );
    }

    #[test]
    fn the_csv_header_is_exactly_the_documented_one() {
        assert_eq!(
            EngagementTotals::CSV_HEADER,
            "day,user_id,cadence_id,emails_sent,emails_delivered,emails_bounced,emails_opened,\
             emails_clicked,emails_replied,calls,calls_connected,call_seconds,successes,\
             other_steps,integration_steps,activities,tasks_completed"
                .replace(' ', "")
        );
    }

    #[test]
    fn rows_break_down_by_day_user_and_cadence() {
        let row = |day: &str, user, cadence, sent| EngagementRow {
            day: day.into(),
            user_id: user,
            cadence_id: cadence,
            emails_sent: sent,
            emails_delivered: sent,
            emails_bounced: 0,
            emails_opened: 0,
            emails_clicked: 0,
            emails_replied: 0,
            calls: 1,
            calls_connected: 0,
            call_seconds: 10,
            successes: 1,
            other_steps: 0,
            integration_steps: 1,
            activities: sent + 2,
            tasks_completed: 1,
        };
        let rows = [
            row("2026-01-01", 1, 0, 2),
            row("2026-01-01", 2, 5, 3),
            row("2026-01-02", 1, 5, 4),
        ];
        let by_day = break_down(&rows, Breakdown::Day);
        assert_eq!(by_day.len(), 2);
        assert_eq!((by_day[0].emails_sent, by_day[0].calls), (5, 2));
        assert_eq!(
            by_day[0].csv_line(),
            "2026-01-01,,,5,5,0,0,0,0,2,0,20,2,0,2,9,2"
        );
        let by_user = break_down(&rows, Breakdown::User);
        assert_eq!(by_user[0].user_id, Some(1));
        assert_eq!(by_user[0].emails_sent, 6);
        let by_cadence = break_down(&rows, Breakdown::Cadence);
        assert_eq!(
            by_cadence[1].csv_line(),
            ",,5,7,7,0,0,0,0,2,0,20,2,0,2,11,2"
        );
        assert_eq!(break_down(&rows, Breakdown::Key).len(), 3);
    }

    #[test]
    fn touched_days_merge_into_runs() {
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 1, n).unwrap();
        let days: BTreeSet<_> = [d(1), d(2), d(3), d(7), d(9), d(10)].into();
        assert_eq!(runs(days), vec![(d(1), d(3)), (d(7), d(7)), (d(9), d(10))]);
    }
}
