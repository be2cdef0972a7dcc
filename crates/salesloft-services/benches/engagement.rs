//! Daily engagement: a full recompute over BENCH_ACTIVITIES (default 1,000,000) activities
//! (70% e-mails, 30% calls, a year of them, 50 users in 6 time zones, 20 cadences), then an
//! incremental recompute after 1% more arrive in the last day; each beside a naive full
//! `GROUP BY` of the same table (UTC days by integer division, no time zones) measured in the
//! same run, on SQLite and PostgreSQL (the server SALESLOFT_TEST_DATABASE_URL names, else the
//! local one).
//!
//! Run: `cargo bench -p salesloft-services --bench engagement`; BENCH_BACKENDS (default
//! `sqlite,postgres`) picks the engines.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use salesloft_client::wire::parse_received;
use salesloft_client::{Call, Email, User};
use salesloft_services::{Context, EngagementConfig, EngagementMetrics, Recompute};
use salesloft_storage::testing::{TestDb, fetch_texts};
use salesloft_storage::{PreparedRows, Store};

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Sydney",
    "",
];
const DAY_US: i64 = 86_400_000_000;
const NAIVE: &str = "SELECT (occurred_at_us / 86400000000) || ',' || user_id || ',' || cadence_id || ',' || \
    SUM(CASE WHEN kind = 'email' AND sent = 1 THEN 1 ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'email' AND sent = 1 THEN bounced ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'email' AND sent = 1 THEN opened ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'email' AND sent = 1 THEN clicked ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'email' AND sent = 1 THEN replied ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'call' THEN 1 ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'call' AND status = 'Connected' THEN 1 ELSE 0 END) || ',' || \
    SUM(CASE WHEN kind = 'call' THEN COALESCE(duration_s, 0) ELSE 0 END) \
    FROM activities WHERE deleted_at_ms IS NULL \
    GROUP BY occurred_at_us / 86400000000, user_id, cadence_id";

fn ts(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Store `n` activities with ids from `first`, at instants in `[from_us, to_us)`.
async fn fill(store: &Store, first: i64, n: usize, from_us: i64, to_us: i64) {
    let mut rng = fastrand::Rng::with_seed(first as u64);
    let (mut emails, mut calls) = (Vec::new(), Vec::new());
    for i in 0..n {
        let id = first + i as i64;
        let at = from_us + rng.i64(0..(to_us - from_us));
        let user = 1 + rng.i64(0..50);
        if rng.f64() < 0.7 {
            let sent = if rng.f64() < 0.95 {
                format!("\"{}\"", ts(at))
            } else {
                "null".into()
            };
            let views = rng.i64(0..4);
            let body = format!(
                r#"{{"id":{id},"created_at":"{c}","updated_at":"{c}","sent_at":{sent},"bounced":{b},"counts":{{"views":{views},"clicks":{k},"replies":{r}}},"user":{{"id":{user}}},"cadence":{cad}}}"#,
                c = ts(at),
                b = rng.f64() < 0.03,
                k = i64::from(views > 1 && rng.bool()),
                r = i64::from(views > 2),
                cad = if rng.f64() < 0.8 {
                    format!(r#"{{"id":{}}}"#, 1 + rng.i64(0..20))
                } else {
                    "null".into()
                },
            );
            emails.push(parse_received::<Email>(body.as_bytes()).unwrap());
        } else {
            let body = format!(
                r#"{{"id":{id},"created_at":"{c}","updated_at":"{c}","duration":{d},"disposition":"{p}","user":{{"id":{user}}}}}"#,
                c = ts(at),
                d = rng.i64(0..900),
                p = ["Connected", "No Answer", "Left Voicemail"][rng.usize(0..3)],
            );
            calls.push(parse_received::<Call>(body.as_bytes()).unwrap());
        }
        if emails.len() >= 5_000 {
            store
                .upsert_prepared(PreparedRows::received(&emails))
                .await
                .unwrap();
            emails.clear();
        }
        if calls.len() >= 5_000 {
            store
                .upsert_prepared(PreparedRows::received(&calls))
                .await
                .unwrap();
            calls.clear();
        }
    }
    store
        .upsert_prepared(PreparedRows::received(&emails))
        .await
        .unwrap();
    store
        .upsert_prepared(PreparedRows::received(&calls))
        .await
        .unwrap();
}

async fn naive(store: &Store) -> (Duration, usize) {
    let started = Instant::now();
    let rows = fetch_texts(store, NAIVE).await.unwrap();
    (started.elapsed(), rows.len())
}

async fn bench(name: &str, db: TestDb, n: usize) {
    let store = &db.store;
    let now = chrono::Utc::now().timestamp_micros();
    let users: Vec<_> = (1..=50)
        .map(|id| {
            let zone = ZONES[id as usize % ZONES.len()];
            let zone = if zone.is_empty() {
                "null".to_owned()
            } else {
                format!("\"{zone}\"")
            };
            let body = format!(
                r#"{{"id":{id},"created_at":"{t}","updated_at":"{t}","time_zone":{zone}}}"#,
                t = ts(now - 400 * DAY_US)
            );
            parse_received::<User>(body.as_bytes()).unwrap()
        })
        .collect();
    store
        .upsert_prepared(PreparedRows::received(&users))
        .await
        .unwrap();
    let filled = Instant::now();
    fill(store, 1, n, now - 365 * DAY_US, now).await;
    let fill_took = filled.elapsed();
    let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key("unused"))
        .build()
        .unwrap();
    let ctx = Context::new(client, store.clone());
    let metrics = EngagementMetrics::new(ctx, EngagementConfig::default());

    // Warm both paths once, then measure the best of three.
    naive(store).await;
    let mut naive_full = Duration::MAX;
    let mut groups = 0;
    let mut full = Duration::MAX;
    let mut rows = 0;
    // At least three runs, the last one started once the recompute's write-time overlap has
    // passed since the fill, as after a real sync: the incremental run then sees only the new
    // activities.
    let mut runs = 0;
    let settled = fill_took + EngagementConfig::default().overlap;
    let mut last_started = Duration::ZERO;
    while runs < 3 || last_started < settled {
        runs += 1;
        if runs >= 3 {
            // Wait out what is left of the overlap rather than recompute for it.
            tokio::time::sleep(settled.saturating_sub(filled.elapsed())).await;
        }
        last_started = filled.elapsed();
        let (took, n) = naive(store).await;
        naive_full = naive_full.min(took);
        groups = n;
        let report = metrics.recompute(Recompute::Full).await.unwrap();
        full = full.min(report.took);
        rows = report.rows;
    }
    // 1% more, in the last day; then the incremental recompute (days touched + 48 h).
    let extra = n / 100;
    fill(store, 10_000_000, extra, now - DAY_US, now).await;
    let (naive_after, _) = naive(store).await;
    let incremental = metrics.recompute(Recompute::Changed).await.unwrap();
    assert!(!incremental.full);
    println!(
        "{name:<8} {n} activities stored in {:.1} s; naive GROUP BY {:.3} s ({groups} groups)",
        fill_took.as_secs_f64(),
        naive_full.as_secs_f64()
    );
    println!(
        "{name:<8} full recompute      {:.3} s ({rows} rows)        {:.2}x the naive GROUP BY  (target <= 3 s)",
        full.as_secs_f64(),
        full.as_secs_f64() / naive_full.as_secs_f64()
    );
    println!(
        "{name:<8} incremental (+{extra}) {:.3} s ({} days, {} rows)  {:.2}x the naive GROUP BY  (target <= 0.3 s)",
        incremental.took.as_secs_f64(),
        incremental.days,
        incremental.rows,
        incremental.took.as_secs_f64() / naive_after.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_ACTIVITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let backends = std::env::var("BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("daily engagement over {n} activities, 2 cores");
    for backend in backends.split(',').map(str::trim) {
        match backend {
            "sqlite" => bench("sqlite", TestDb::sqlite().await.unwrap(), n).await,
            "postgres" => bench("postgres", TestDb::postgres().await.unwrap(), n).await,
            other => panic!("unknown backend {other:?}: sqlite or postgres"),
        }
    }
}
