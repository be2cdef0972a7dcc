//! `salesloft report engagement`: the daily engagement of a range of days, recomputed first
//! for what changed (local work only: it costs no API budget).

use chrono::NaiveDate;
use salesloft_services::{
    Breakdown, Context, EngagementConfig, EngagementMetrics, EngagementTotals, Recompute,
    break_down,
};

use crate::error::CliError;

/// How the report prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// CSV with the documented header.
    Csv,
    /// One JSON object per line.
    Json,
}

/// How the report groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// One row per day.
    Day,
    /// One row per user over the range.
    User,
    /// One row per cadence over the range.
    Cadence,
}

/// `salesloft report engagement`.
pub async fn engagement(
    ctx: Context,
    config: EngagementConfig,
    (from, to): (NaiveDate, NaiveDate),
    by: Option<By>,
    format: Format,
    full: bool,
) -> Result<(), CliError> {
    if from > to {
        return Err(CliError::Usage(format!("--from {from} is after --to {to}")));
    }
    let metrics = EngagementMetrics::new(ctx, config);
    let what = if full {
        Recompute::Full
    } else {
        Recompute::Changed
    };
    let recomputed = metrics.recompute(what).await?;
    tracing::info!(?recomputed, "daily engagement recomputed");
    let rows = metrics.rows(from, to).await?;
    let by = match by {
        None => Breakdown::Key,
        Some(By::Day) => Breakdown::Day,
        Some(By::User) => Breakdown::User,
        Some(By::Cadence) => Breakdown::Cadence,
    };
    let totals = break_down(&rows, by);
    let mut out = String::new();
    match format {
        Format::Csv => {
            out.push_str(EngagementTotals::CSV_HEADER);
            out.push('\n');
            for t in &totals {
                out.push_str(&t.csv_line());
                out.push('\n');
            }
        }
        Format::Json => {
            for t in &totals {
                let line = serde_json::to_string(t)?;
                out.push_str(&line);
                out.push('\n');
            }
        }
        Format::Table => table(&totals, &mut out),
    }
    write_out(&out)
}

/// Write `text` to stdout; a reader that went away (`| head`) is not an error.
fn write_out(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Stdout(e)),
        _ => Ok(()),
    }
}

fn table(totals: &[EngagementTotals], out: &mut String) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{:<10} {:>8} {:>8} {:>6} {:>9} {:>7} {:>6} {:>7} {:>7} {:>5} {:>9} {:>8} {:>9} {:>5} {:>11} {:>10} {:>5}",
        "day",
        "user",
        "cadence",
        "sent",
        "delivered",
        "bounced",
        "opened",
        "clicked",
        "replied",
        "calls",
        "connected",
        "call_s",
        "successes",
        "other",
        "integration",
        "activities",
        "tasks"
    );
    let opt = |v: Option<i64>| v.map_or_else(|| "*".to_owned(), |v| v.to_string());
    for t in totals {
        let _ = writeln!(
            out,
            "{:<10} {:>8} {:>8} {:>6} {:>9} {:>7} {:>6} {:>7} {:>7} {:>5} {:>9} {:>8} {:>9} {:>5} {:>11} {:>10} {:>5}",
            t.day.as_deref().unwrap_or("*"),
            opt(t.user_id),
            opt(t.cadence_id),
            t.emails_sent,
            t.emails_delivered,
            t.emails_bounced,
            t.emails_opened,
            t.emails_clicked,
            t.emails_replied,
            t.calls,
            t.calls_connected,
            t.call_seconds,
            t.successes,
            t.other_steps,
            t.integration_steps,
            t.activities,
            t.tasks_completed
        );
    }
    let _ = writeln!(out, "{} rows", totals.len());
}
