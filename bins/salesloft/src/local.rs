//! `migrate`, `sync`, `status` and `demo`: the local copy of SalesLoft.

use std::sync::Arc;
use std::time::Instant;

use salesloft_client::{Auth, Client, RetryPolicy, Unlimited};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};
use salesloft_services::{
    Context, EngagementConfig, EngagementMetrics, Recompute, ReconcileOptions, Reconciler, Stream,
    SyncEngine, SyncOptions, SyncReport, TeamSettings, Verifier,
};
use salesloft_storage::Store;

use crate::display::{Display, humanize};
use crate::error::CliError;

/// Connect to `url` and apply its pending migrations (`salesloft migrate`, the demo's fresh
/// file); every other command opens the store as the processes do
/// (`salesloft_runtime::open_store`).
pub async fn open_migrated(url: &str) -> Result<Store, CliError> {
    let options = salesloft_storage::StoreOptions {
        tcp_nodelay: true,
        ..salesloft_storage::StoreOptions::default()
    };
    let store = Store::connect_with(url, options).await?;
    store.migrate().await?;
    Ok(store)
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
                .map(|e| format!("  FAILED: {}", salesloft_config::error_chain(e)))
                .unwrap_or_default()
        );
    }
    println!("total cost: {}", report.cost());
}

/// What `salesloft sync` runs on.
pub struct SyncRun<'a> {
    /// The context: client, store, team.
    pub ctx: Context,
    /// The streams asked for (empty: all).
    pub streams: Vec<Stream>,
    /// The run's options (full, lookback).
    pub options: SyncOptions,
    /// The budget the client spends under, for the ETA.
    pub budget: salesloft_client::BudgetConfig,
    /// The terminal display.
    pub display: &'a Display,
}

/// `salesloft reconcile`: one pass per stream, a line each.
pub async fn reconcile(
    ctx: Context,
    streams: Vec<Stream>,
    options: ReconcileOptions,
) -> Result<(), CliError> {
    let streams = if streams.is_empty() {
        Stream::all().to_vec()
    } else {
        streams
    };
    let reports = Reconciler::new(ctx).reconcile(&streams, options).await;
    println!(
        "{:<20} {:>9} {:>8} {:>8} {:>8} {:>6}  outcome",
        "stream", "local", "missing", "deleted", "restored", "cost"
    );
    let mut failed = false;
    for r in &reports {
        let outcome = match (&r.error, &r.refused) {
            (Some(e), _) => {
                failed = true;
                format!("failed: {}", salesloft_config::error_chain(e))
            }
            (None, Some(why)) => {
                failed = true;
                format!("refused: {why}")
            }
            (None, None) => r
                .skipped
                .as_ref()
                .map_or_else(|| "ok".to_owned(), |why| format!("skipped: {why}")),
        };
        println!(
            "{:<20} {:>9} {:>8} {:>8} {:>8} {:>6}  {}",
            r.stream, r.local, r.missing, r.deleted, r.restored, r.cost, outcome
        );
    }
    if failed {
        Err(CliError::Usage(
            "some streams were not reconciled (see above)".into(),
        ))
    } else {
        Ok(())
    }
}

/// `salesloft sync`.
pub async fn sync(run: SyncRun<'_>) -> Result<(), CliError> {
    let streams = if run.streams.is_empty() {
        Stream::all().to_vec()
    } else {
        run.streams
    };
    let progress = run.display.sync_progress(&streams, Some(run.budget));
    let engine = SyncEngine::new(run.ctx).with_progress(progress);
    let report = engine.sync(&streams, run.options).await;
    run.display.clear();
    print_report(&report);
    if report.is_ok() {
        Ok(())
    } else {
        Err(CliError::Usage(
            "some streams failed; rerun `salesloft sync` to resume them".into(),
        ))
    }
}

/// `salesloft status`: per stream, its records, how fresh it is (the time since its last
/// successful sync), where its cursor stands and its last error.
pub async fn status(store: Store) -> Result<(), CliError> {
    // The snapshot the processes gather for their status page and `/metrics`, read once.
    let snapshot = salesloft_runtime::status::StatusSnapshot::gather(&store).await?;
    let streams = &snapshot.streams;
    println!(
        "{:<20} {:>10} {:>10}  {:<24} {:<28} {:>7} {:>11}  last error",
        "stream",
        "records",
        "freshness",
        "last success",
        "cursor (updated_at)",
        "drifted",
        "quarantined"
    );
    let mut drift_notes = Vec::new();
    for st in streams {
        let cursor = st.cursor_at.map_or("none (not synced)".to_owned(), |t| {
            t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
        });
        println!(
            "{:<20} {:>10} {:>10}  {:<24} {:<28} {:>7} {:>11}  {}",
            st.stream.name(),
            st.records,
            st.freshness.map_or("-".to_owned(), humanize),
            fmt_ms(st.last_success_at_ms),
            cursor,
            st.drifted,
            st.quarantined,
            st.last_error.as_deref().unwrap_or_default()
        );
        if !st.drifted_fields.is_empty() {
            let fields: Vec<String> = st
                .drifted_fields
                .iter()
                .map(|(f, n)| format!("{f} ({n})"))
                .collect();
            drift_notes.push(format!(
                "{}: fields with unexpected types: {}",
                st.stream.name(),
                fields.join(", ")
            ));
        }
    }
    for note in drift_notes {
        println!("{note}");
    }
    for hold in &snapshot.credential_holds {
        println!(
            "{hold}: scheduled work waits; change the credentials, or run `salesloft jobs resume` once SalesLoft accepts them"
        );
    }
    store.close().await;
    Ok(())
}

/// `salesloft demo`: an offline SalesLoft, synced into SQLite, checked record by record.
pub async fn demo(
    people: usize,
    db_path: &str,
    team: TeamSettings,
    display: &Display,
) -> Result<(), CliError> {
    let sandbox = demo_sandbox(people).await?;
    let counts = sandbox.counts();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db_path}{suffix}"));
    }
    let store = open_migrated(&format!("sqlite://{db_path}")).await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .retry(RetryPolicy::default())
        .build()?;
    let ctx = Context::new(client, store.clone()).with_team(team);
    let engine =
        SyncEngine::new(ctx.clone()).with_progress(display.sync_progress(Stream::all(), None));
    let sync_started = Instant::now();
    let report = engine.sync_all(SyncOptions::default()).await;
    let sync_time = sync_started.elapsed();
    display.clear();
    let diffs = Verifier::new(ctx.clone())
        .compare(&sandbox.snapshot_bytes(), Stream::all())
        .await?;
    let equal = diffs.iter().all(|d| d.is_equal());
    print_verified(&report, &diffs);
    print_demo_summary(
        &report,
        sync_time,
        sandbox.counters().cost_spent,
        &counts,
        db_path,
        equal,
    );
    print_idle_run(&engine.sync_all(SyncOptions::default()).await);
    let engagement = EngagementMetrics::new(ctx, EngagementConfig::default())
        .recompute(Recompute::Changed)
        .await?;
    println!(
        "daily engagement: {} (day, user, cadence) rows over {} days computed in {:.2}s, each \
         activity on its user's local day; see them with `salesloft report engagement --from \
         2024-01-01 --to 2025-12-31 --by day` on {db_path}",
        engagement.rows,
        engagement.days,
        engagement.took.as_secs_f64()
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

/// An offline SalesLoft with a team of `people` and what goes with them, unthrottled.
async fn demo_sandbox(people: usize) -> Result<salesloft_sandbox::SandboxHandle, CliError> {
    let size = TeamSize {
        users: 40,
        accounts: people / 5,
        people,
        cadences: (people / 400).max(3),
        memberships: people * 2,
        emails: people * 8,
        calls: people * 2,
        notes: people / 4,
        definitions: true,
    };
    tracing::info!(people, "starting an offline SalesLoft");
    let started = Instant::now();
    let sandbox = Sandbox::start(SandboxConfig {
        team: size,
        // Unthrottled so the demo takes a minute, not an hour; the cost is counted all the same.
        rate_limit_per_minute: None,
        ..SandboxConfig::default()
    })
    .await?;
    tracing::info!(
        url = %sandbox.url(),
        secs = format!("{:.1}", started.elapsed().as_secs_f64()),
        counts = ?sandbox.counts(),
        "sandbox ready"
    );
    Ok(sandbox)
}

/// The demo's figures: records and rate, API cost beside page-number paging, and whether the
/// copy equals the source.
fn print_demo_summary(
    report: &SyncReport,
    sync_time: std::time::Duration,
    cost: u64,
    counts: &std::collections::BTreeMap<&'static str, usize>,
    db_path: &str,
    equal: bool,
) {
    let records = report.fetched();
    // Computed, not measured: what reading the walkable lists by page number would cost by
    // SalesLoft's page table (users and steps are listed in full either way).
    let naive: u64 = Stream::all()
        .iter()
        .filter(|s| s.resource().walkable())
        .map(|s| salesloft_sandbox::naive_cost(counts[s.name()] as u64, 100))
        .sum();
    println!();
    println!(
        "synced {records} records in {:.1}s ({:.0} records/s) into {db_path}",
        sync_time.as_secs_f64(),
        records as f64 / sync_time.as_secs_f64().max(1e-9)
    );
    println!(
        "API cost spent: {cost} (page-number paging of the same data would cost {naive} by \
         SalesLoft's page table, computed); at SalesLoft's 600 per minute this sync needs {:.1} \
         minutes of the team's budget",
        cost as f64 / 600.0
    );
    println!(
        "local copy equals the source: {}",
        if equal { "yes" } else { "NO" }
    );
}

/// What a second run, with nothing changed in SalesLoft, cost per stream.
fn print_idle_run(report: &SyncReport) {
    let per_stream: Vec<String> = report
        .streams
        .iter()
        .map(|s| format!("{} {}", s.stream, s.cost))
        .collect();
    println!(
        "a second run with nothing changed cost {}{}: {}",
        report.cost(),
        if report.is_ok() {
            ""
        } else {
            " (some streams failed)"
        },
        per_stream.join(", ")
    );
}

/// Each stream's sync beside its record-by-record comparison with the source.
fn print_verified(report: &SyncReport, diffs: &[salesloft_services::StreamDiff]) {
    println!(
        "{:<20} {:>9} {:>9} {:>8} {:>6} {:>7}   {:>9} {:>9}  equal (JSON text, record by record)",
        "stream", "fetched", "inserted", "requests", "cost", "time", "source", "local",
    );
    for (s, d) in report.streams.iter().zip(diffs) {
        let verdict = if d.is_equal() {
            "yes".to_owned()
        } else {
            format!(
                "NO: {} missing, {} extra, {} different",
                d.missing_count, d.extra_count, d.different_count
            )
        };
        println!(
            "{:<20} {:>9} {:>9} {:>8} {:>6} {:>6.1}s   {:>9} {:>9}  {verdict}{}",
            s.stream,
            s.fetched,
            s.inserted,
            s.requests,
            s.cost,
            s.elapsed_ms as f64 / 1000.0,
            d.source,
            d.local,
            s.error
                .as_ref()
                .map(|e| format!("  FAILED: {}", salesloft_config::error_chain(e)))
                .unwrap_or_default()
        );
    }
}

/// An instant of our bookkeeping (ms since the epoch) for people; `never` for none.
fn fmt_ms(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or("never".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
}

/// Print jobs as a table.
pub fn print_jobs(jobs: &[salesloft_storage::JobRecord]) {
    println!(
        "{:>8} {:<12} {:<10} {:>8}  {:<24} {:<28} last error",
        "id", "kind", "state", "attempts", "run at", "unique key"
    );
    for j in jobs {
        let error: String = j
            .last_error
            .as_deref()
            .unwrap_or_default()
            .chars()
            .take(80)
            .collect();
        println!(
            "{:>8} {:<12} {:<10} {:>8}  {:<24} {:<28} {}",
            j.id,
            j.kind,
            j.state,
            format!("{}/{}", j.attempt, j.max_attempts),
            fmt_ms(Some(j.run_at_ms)),
            j.unique_key.as_deref().unwrap_or("-"),
            error
        );
    }
}

/// Print one job in full.
pub fn print_job(j: &salesloft_storage::JobRecord) {
    println!("id:          {}", j.id);
    println!("kind:        {}", j.kind);
    println!("queue:       {}", j.queue);
    println!("state:       {}", j.state);
    println!("attempts:    {} of {}", j.attempt, j.max_attempts);
    println!("run at:      {}", fmt_ms(Some(j.run_at_ms)));
    println!("unique key:  {}", j.unique_key.as_deref().unwrap_or("-"));
    println!("locked by:   {}", j.locked_by.as_deref().unwrap_or("-"));
    println!("created:     {}", fmt_ms(Some(j.created_at_ms)));
    println!("updated:     {}", fmt_ms(Some(j.updated_at_ms)));
    println!("payload:     {}", j.payload);
    println!("last error:  {}", j.last_error.as_deref().unwrap_or("-"));
    let errors = j.attempt_errors();
    if !errors.is_empty() {
        println!("errors:");
        for e in errors {
            println!(
                "  attempt {} at {}: {}",
                e.attempt,
                fmt_ms(Some(e.at_ms)),
                e.error
            );
        }
    }
}
