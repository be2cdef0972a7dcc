//! `migrate`, `sync`, `status` and `demo`: the local copy of SalesLoft.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use salesloft_client::{Auth, Client, RetryPolicy, Unlimited};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};
use salesloft_services::verify::compare;
use salesloft_services::{
    Progress, Stream, StreamReport, SyncEngine, SyncOptions, SyncReport, lag,
};
use salesloft_storage::Store;

use crate::CliError;

/// Connect to the configured database, migrating it.
pub async fn open_store(url: &str) -> Result<Store, CliError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Per-stream progress: redrawn lines on a terminal, a log line every 100 pages otherwise.
pub fn progress(streams: &[Stream]) -> Progress {
    let tty = std::io::stderr().is_terminal();
    let names: Vec<String> = streams.iter().map(|s| s.name().to_owned()).collect();
    let state: Arc<Mutex<BTreeMap<String, StreamReport>>> = Arc::new(Mutex::new(BTreeMap::new()));
    let drawn = Arc::new(Mutex::new(false));
    Arc::new(move |report: &StreamReport| {
        let mut all = state.lock().unwrap_or_else(|p| p.into_inner());
        all.insert(report.stream.clone(), report.clone());
        if tty {
            let mut out = std::io::stderr().lock();
            let mut drawn = drawn.lock().unwrap_or_else(|p| p.into_inner());
            if *drawn {
                let _ = write!(out, "\x1b[{}A", names.len());
            }
            for name in &names {
                let line = match all.get(name) {
                    Some(r) => {
                        let width = (r.fetched / 500).min(30) as usize;
                        format!(
                            "{name:<20} [{:<30}] {:>9} fetched {:>9} new {:>7} updated  cost {:>6}",
                            "#".repeat(width),
                            r.fetched,
                            r.inserted,
                            r.updated,
                            r.cost
                        )
                    }
                    None => format!("{name:<20} [{:<30}] waiting", ""),
                };
                let _ = writeln!(out, "\x1b[2K{line}");
            }
            *drawn = true;
        } else if report.requests.is_multiple_of(100) {
            tracing::info!(stream = %report.stream, fetched = report.fetched, inserted = report.inserted, updated = report.updated, cost = report.cost, "sync progress");
        }
    })
}

/// Print a report as a table.
pub fn print_report(report: &SyncReport) {
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>9}",
        "stream", "fetched", "inserted", "updated", "unchanged", "requests", "cost", "time"
    );
    for s in &report.streams {
        println!(
            "{:<20} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8.1}s{}",
            s.stream,
            s.fetched,
            s.inserted,
            s.updated,
            s.unchanged,
            s.requests,
            s.cost,
            s.elapsed_ms as f64 / 1000.0,
            s.error
                .as_ref()
                .map(|e| format!("  FAILED: {e}"))
                .unwrap_or_default()
        );
    }
    println!("total cost: {}", report.cost());
}

/// `salesloft sync`.
pub async fn sync(
    client: Client,
    db_url: &str,
    streams: Vec<Stream>,
    full: bool,
) -> Result<(), CliError> {
    let store = open_store(db_url).await?;
    let streams = if streams.is_empty() {
        Stream::ALL.to_vec()
    } else {
        streams
    };
    let engine = SyncEngine::new(client, store.clone()).with_progress(progress(&streams));
    let report = engine
        .sync(
            &streams,
            SyncOptions {
                full,
                ..SyncOptions::default()
            },
        )
        .await;
    print_report(&report);
    store.close().await;
    if report.is_ok() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "some streams failed; rerun `salesloft sync` to resume them".into(),
        ))
    }
}

/// `salesloft status`.
pub async fn status(db_url: &str) -> Result<(), CliError> {
    let store = open_store(db_url).await?;
    let states = store.sync_states().await?;
    let fmt_ms = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map_or("never".to_owned(), |t| {
                t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
            })
    };
    println!(
        "{:<20} {:<30} {:<24} {:>12} {:>10}  last error",
        "stream", "cursor (updated_at)", "last success", "lag", "rows"
    );
    for st in states {
        let cursor = st
            .cursor
            .updated_at()
            .map_or("none (not synced)".to_owned(), |t| {
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            });
        let lag = lag(&st).map_or("-".to_owned(), humanize);
        let rows = match st.stream.parse::<Stream>() {
            Ok(stream) => {
                let (table, kind, _) = salesloft_services::verify::table_of(stream);
                store.count_live_of(&table, kind).await?.to_string()
            }
            Err(_) => "-".to_owned(),
        };
        println!(
            "{:<20} {:<30} {:<24} {:>12} {:>10}  {}",
            st.stream,
            cursor,
            fmt_ms(st.last_success_at_ms),
            lag,
            rows,
            st.last_error.unwrap_or_default()
        );
    }
    store.close().await;
    Ok(())
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7_199 => format!("{}m", s / 60),
        7_200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `salesloft demo`: an offline SalesLoft, synced into SQLite, checked record by record.
pub async fn demo(people: usize, db_path: &str) -> Result<(), CliError> {
    let team = TeamSize {
        users: 40,
        accounts: people / 5,
        people,
        cadences: (people / 400).max(3),
        memberships: people * 2,
        emails: people * 8,
        calls: people * 2,
        notes: 0,
    };
    eprintln!("starting an offline SalesLoft with {people} people ...");
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        team,
        // Unthrottled so the demo takes a minute, not an hour; the cost is counted all the same.
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    })
    .await?;
    let counts = sandbox.counts();
    eprintln!(
        "sandbox ready at {} in {:.1}s: {counts:?}",
        sandbox.url(),
        started.elapsed().as_secs_f64()
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_path}{suffix}"));
    }
    let store = open_store(&format!("sqlite://{db_path}")).await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .retry(RetryPolicy::default())
        .build()?;
    let engine = SyncEngine::new(client, store.clone()).with_progress(progress(&Stream::ALL));
    let sync_started = Instant::now();
    let report = engine.sync(&Stream::ALL, SyncOptions::default()).await;
    let sync_time = sync_started.elapsed();
    print_report(&report);
    let diffs = compare(&store, &sandbox.snapshot(), &Stream::ALL).await?;
    let equal = diffs.iter().all(|d| d.is_equal());
    println!();
    println!("local copy vs sandbox state (every record, field by field):");
    for d in &diffs {
        println!(
            "  {:<20} source {:>8}  local {:>8}  missing {}  extra {}  different {}",
            d.stream, d.source, d.local, d.missing_count, d.extra_count, d.different_count
        );
    }
    let cost = sandbox.counters().cost_spent;
    let records = report.fetched();
    let naive: u64 = [
        ("people", counts["people"]),
        ("accounts", counts["accounts"]),
        ("cadence_memberships", counts["cadence_memberships"]),
        ("emails", counts["emails"]),
        ("calls", counts["calls"]),
    ]
    .iter()
    .map(|(_, n)| salesloft_sandbox::naive_cost(*n as u64, 100))
    .sum();
    println!();
    println!(
        "synced {records} records in {:.1}s ({:.0} records/s) into {db_path}",
        sync_time.as_secs_f64(),
        records as f64 / sync_time.as_secs_f64().max(1e-9)
    );
    println!(
        "API cost spent: {cost} (page-number paging of the same data would cost about {naive}); \
         at SalesLoft's 600 per minute this sync needs {:.1} minutes of the team's budget",
        cost as f64 / 600.0
    );
    println!(
        "local copy equals the source: {}",
        if equal { "yes" } else { "NO" }
    );
    store.close().await;
    sandbox.shutdown().await?;
    if equal && report.is_ok() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "the local copy differs from the source".into(),
        ))
    }
}
