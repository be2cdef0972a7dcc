//! Daily engagement against the sandbox: the stored report equals an independent computation
//! from the sandbox's snapshot (each activity's day in its user's zone, DST-correct, the
//! team's zone for users without one), with activities at local midnights and on DST-change
//! days, successes and completed other and integration steps; a rerun changes nothing; after
//! the simulator sends, opens, bounces, logs calls, completes steps and records successes,
//! the incremental recompute equals the snapshot again.

use salesloft_storage::on_both;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone};
use salesloft_services::{
    EngagementConfig, EngagementMetrics, Recompute, Stream, SyncOptions, TeamSettings,
};
use salesloft_storage::testing::TestDb;
use salesloft_storage::{EngagementRow, Tz};

use crate::setup;

fn team() -> salesloft_sandbox::SandboxConfig {
    salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            users: 12,
            accounts: 40,
            people: 300,
            cadences: 6,
            memberships: 200,
            emails: 4_000,
            calls: 2_500,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    }
}

/// The team's zone, for users without one.
fn team_zone() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

fn id_of(v: &serde_json::Value) -> i64 {
    v.get("id").and_then(serde_json::Value::as_i64).unwrap_or(0)
}

/// The engagement of every (day, user, cadence), computed from the snapshot on its own.
fn expected(snapshot: &serde_json::Value) -> (Vec<EngagementRow>, Facts) {
    let zones: BTreeMap<i64, Tz> = snapshot["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| Some((id_of(u), u["time_zone"].as_str()?.parse().ok()?)))
        .collect();
    let mut facts = Facts::default();
    let mut rows: BTreeMap<(String, i64, i64), EngagementRow> = BTreeMap::new();
    let day_of = |user: i64, when: &str, facts: &mut Facts| {
        let zone = zones.get(&user).copied().unwrap_or(team_zone());
        let t = DateTime::parse_from_rfc3339(when)
            .unwrap()
            .with_timezone(&zone);
        let day = t.date_naive();
        if t.time() == chrono::NaiveTime::MIN {
            facts.at_local_midnight += 1;
            if day_hours(zone, day) != 24 {
                facts.midnight_of_a_dst_day += 1;
            }
        }
        if day_hours(zone, day) != 24 {
            facts.on_dst_days += 1;
        }
        day.format("%Y-%m-%d").to_string()
    };
    let blank = |(day, user_id, cadence_id): &(String, i64, i64)| EngagementRow {
        day: day.clone(),
        user_id: *user_id,
        cadence_id: *cadence_id,
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
    };
    for e in snapshot["emails"].as_array().unwrap() {
        let Some(sent) = e["sent_at"].as_str() else {
            facts.unsent += 1;
            continue;
        };
        let (user, cadence) = (id_of(&e["user"]), id_of(&e["cadence"]));
        let key = (day_of(user, sent, &mut facts), user, cadence);
        let row = rows.entry(key.clone()).or_insert_with(|| blank(&key));
        let positive = |k: &str| i64::from(e["counts"][k].as_i64().unwrap_or(0) > 0);
        let bounced = i64::from(e["bounced"].as_bool().unwrap_or(false));
        row.emails_sent += 1;
        row.emails_bounced += bounced;
        row.emails_delivered += 1 - bounced;
        row.emails_opened += positive("views");
        row.emails_clicked += positive("clicks");
        row.emails_replied += positive("replies");
    }
    for c in snapshot["calls"].as_array().unwrap() {
        let (user, cadence) = (id_of(&c["user"]), id_of(&c["cadence"]));
        let key = (
            day_of(user, c["created_at"].as_str().unwrap(), &mut facts),
            user,
            cadence,
        );
        let row = rows.entry(key.clone()).or_insert_with(|| blank(&key));
        row.calls += 1;
        row.calls_connected += i64::from(c["disposition"].as_str() == Some("Connected"));
        row.call_seconds += c["duration"].as_i64().unwrap_or(0);
    }
    for x in snapshot["successes"].as_array().unwrap() {
        let (user, cadence) = (id_of(&x["user"]), id_of(&x["latest_cadence"]));
        let at = x["succeeded_at"].as_str().or(x["created_at"].as_str());
        let key = (day_of(user, at.unwrap(), &mut facts), user, cadence);
        rows.entry(key.clone())
            .or_insert_with(|| blank(&key))
            .successes += 1;
        facts.successes += 1;
    }
    for a in snapshot["actions"].as_array().unwrap() {
        let kind = a["type"].as_str().unwrap_or("");
        if a["status"].as_str() != Some("completed") || !matches!(kind, "other" | "integration") {
            continue;
        }
        let (user, cadence) = (id_of(&a["user"]), id_of(&a["cadence"]));
        let key = (
            day_of(user, a["updated_at"].as_str().unwrap(), &mut facts),
            user,
            cadence,
        );
        let row = rows.entry(key.clone()).or_insert_with(|| blank(&key));
        if kind == "other" {
            row.other_steps += 1;
            facts.other_steps += 1;
        } else {
            row.integration_steps += 1;
            facts.integration_steps += 1;
        }
    }
    for t in snapshot["tasks"].as_array().unwrap() {
        let Some(done) = t["completed_at"].as_str() else {
            continue;
        };
        let user = id_of(&t["user"]);
        let key = (day_of(user, done, &mut facts), user, 0);
        rows.entry(key.clone())
            .or_insert_with(|| blank(&key))
            .tasks_completed += 1;
        facts.tasks_completed += 1;
    }
    for row in rows.values_mut() {
        row.activities = row.emails_sent + row.calls + row.other_steps + row.integration_steps;
    }
    (rows.into_values().collect(), facts)
}

/// What the snapshot held that makes the comparison worth something.
#[derive(Debug, Default)]
struct Facts {
    at_local_midnight: usize,
    midnight_of_a_dst_day: usize,
    on_dst_days: usize,
    unsent: usize,
    successes: usize,
    other_steps: usize,
    integration_steps: usize,
    tasks_completed: usize,
}

/// Hours in `day` in `zone` (23 or 25 on a DST change).
fn day_hours(zone: Tz, day: NaiveDate) -> i64 {
    let start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
    };
    (start(day.succ_opt().unwrap()) - start(day)).num_hours()
}

async fn stored(metrics: &EngagementMetrics) -> Vec<EngagementRow> {
    metrics
        .rows(
            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
        )
        .await
        .unwrap()
}

fn assert_same(got: &[EngagementRow], want: &[EngagementRow]) {
    assert_eq!(got.len(), want.len(), "rows");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w);
    }
}

async fn the_report_equals_an_independent_computation_from_the_snapshot(db: TestDb) {
    let s = setup(team(), db).await;
    let ctx = s
        .engine
        .context()
        .clone()
        .with_team(TeamSettings::new(team_zone()));
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let metrics = EngagementMetrics::new(ctx.clone(), EngagementConfig::default());
    let first = metrics.recompute(Recompute::Changed).await.unwrap();
    assert!(first.full, "the first run computes every day");
    let (want, facts) = expected(&s.sandbox.snapshot());
    eprintln!("{first:?}, {facts:?}");
    assert!(facts.at_local_midnight >= 100, "{facts:?}");
    assert!(facts.midnight_of_a_dst_day >= 1, "{facts:?}");
    assert!(facts.on_dst_days >= 10, "{facts:?}");
    assert!(facts.unsent >= 100, "{facts:?}");
    assert!(facts.successes >= 5, "{facts:?}");
    assert!(
        facts.other_steps >= 5 && facts.integration_steps >= 5,
        "{facts:?}"
    );
    assert_same(&stored(&metrics).await, &want);

    // Again: nothing to do but the trailing window, and the same rows.
    let again = metrics.recompute(Recompute::Changed).await.unwrap();
    assert!(!again.full, "{again:?}");
    assert_same(&stored(&metrics).await, &want);

    // SalesLoft changes: new e-mails and calls, opens, clicks, replies and bounces on old
    // ones, steps completed, successes; the incremental recompute after a sync sees them all.
    use salesloft_sandbox::Action::*;
    for action in [
        SendEmail,
        OpenEmail,
        ClickEmail,
        ReplyEmail,
        BounceEmail,
        LogCall,
        CompleteStep,
        CompleteTask,
        Succeed,
    ] {
        s.sandbox.mutate(Some(action), 40).unwrap();
    }
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let incremental = metrics.recompute(Recompute::Changed).await.unwrap();
    assert!(!incremental.full, "{incremental:?}");
    let (want, _) = expected(&s.sandbox.snapshot());
    assert_same(&stored(&metrics).await, &want);
    // A full recompute agrees.
    let full = metrics.recompute(Recompute::Full).await.unwrap();
    assert!(full.full && full.rows == want.len(), "{full:?}");
    assert_same(&stored(&metrics).await, &want);

    // Another set of connected dispositions is a change of settings: everything again.
    let wider = EngagementMetrics::new(
        ctx,
        EngagementConfig::default()
            .with_connected_dispositions(vec!["Connected".into(), "Left Voicemail".into()]),
    );
    assert!(wider.recompute(Recompute::Changed).await.unwrap().full);
    let connected: i64 = stored(&wider).await.iter().map(|r| r.calls_connected).sum();
    let before: i64 = want.iter().map(|r| r.calls_connected).sum();
    assert!(connected > before, "{connected} vs {before}");
}

on_both!(
    engagement_report,
    the_report_equals_an_independent_computation_from_the_snapshot
);
