//! What a person at a terminal sees while a sync runs: one indicatif bar per stream, with its
//! total once SalesLoft has counted it, records per second, an ETA that follows the budget when
//! there is one, and the cost spent; log lines print above the bars. Off a terminal there are no
//! bars, only log lines.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use salesloft_client::BudgetConfig;
use salesloft_services::{Progress, Stream, StreamReport};

/// The terminal display of one command.
#[derive(Debug, Clone)]
pub struct Display {
    multi: MultiProgress,
    terminal: bool,
}

impl Display {
    /// Bars on stderr when it is a terminal; none otherwise.
    pub fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal {
            ProgressDrawTarget::stderr_with_hz(8)
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            terminal,
        }
    }

    /// Whether bars are shown.
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Take the bars off the screen (the command prints its own summary next).
    pub fn clear(&self) {
        let _ = self.multi.clear();
    }

    /// Where log lines go: stderr, above the bars while any are shown.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter {
            multi: self.multi.clone(),
        }
    }

    /// A progress callback for a sync of `streams`: bars on a terminal, a log line every 100
    /// requests otherwise. `budget` is what the sync may spend, if it is throttled: the ETA then
    /// counts the cost still to spend (a request of cost 1 per 100 records) against its
    /// sustained rate.
    pub fn sync_progress(&self, streams: &[Stream], budget: Option<BudgetConfig>) -> Progress {
        // After the first burst the bucket refills `per_minute - burst` a minute.
        let budget_per_second =
            budget.map(|b| f64::from(b.per_minute.saturating_sub(b.burst).max(1)) / 60.0);
        if !self.terminal {
            return Arc::new(log_progress);
        }
        let bars: HashMap<String, ProgressBar> = streams
            .iter()
            .map(|s| {
                let bar = self.multi.add(
                    ProgressBar::no_length()
                        .with_style(style(false))
                        .with_prefix(s.name())
                        .with_message("waiting"),
                );
                (s.name().to_owned(), bar)
            })
            .collect();
        let shares = BudgetShares {
            per_second: budget_per_second,
            started: Instant::now(),
            streams: Mutex::default(),
        };
        Arc::new(move |report: &StreamReport| {
            let Some(bar) = bars.get(&report.stream) else {
                return;
            };
            if report.finished {
                // The stream's last report: freeze its line with the outcome.
                shares.finished(&report.stream);
                finish_bar(bar, report);
                return;
            }
            if let Some(total) = report.expected {
                if bar.length().is_none() {
                    bar.set_style(style(true));
                }
                bar.set_length(total.max(report.fetched));
            }
            bar.set_position(report.fetched);
            let eta = shares.eta(report).unwrap_or_else(|| bar.eta());
            let eta = if report.expected.is_some() {
                format!("eta {}", humanize(eta))
            } else {
                "counting".to_owned()
            };
            bar.set_message(format!("cost {:>5}  {eta}", report.cost));
            if !bar.is_finished() {
                bar.tick();
            }
        })
    }
}

/// What the progress bars share to estimate when each stream ends: every stream spends from
/// one budget, a request of cost 1 per 100 records, so each finishes when its share of the
/// budget has paid for what it has left.
struct BudgetShares {
    /// The budget's sustained rate, when there is a budget.
    per_second: Option<f64>,
    started: Instant,
    streams: Mutex<Shares>,
}

/// Each stream's cost so far, and each unfinished stream's requests left.
#[derive(Default)]
struct Shares {
    spent: HashMap<String, u64>,
    left: HashMap<String, u64>,
}

impl BudgetShares {
    /// `stream` has finished and takes no more of the budget.
    fn finished(&self, stream: &str) {
        self.lock().left.remove(stream);
    }

    /// How long `report`'s stream has left at its share of the budget's rate, or what the sync
    /// really spends per second when that is less (after a few seconds, once the burst is
    /// behind it); `None` without a budget.
    fn eta(&self, report: &StreamReport) -> Option<Duration> {
        let budget = self.per_second?;
        let left = report
            .expected
            .map_or(0, |t| t.saturating_sub(report.fetched));
        let mut shares = self.lock();
        shares.spent.insert(report.stream.clone(), report.cost);
        shares
            .left
            .insert(report.stream.clone(), left.div_ceil(100));
        let total_spent: u64 = shares.spent.values().sum();
        let secs = self.started.elapsed().as_secs_f64();
        let observed = (secs > 5.0).then(|| total_spent as f64 / secs);
        let rate = observed.map_or(budget, |o| o.min(budget));
        Some(
            fair_share_finish(&shares.left, rate)
                .get(&report.stream)
                .copied()
                .unwrap_or_default(),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shares> {
        self.streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A stream's progress as log lines, when stderr is not a terminal.
fn log_progress(r: &StreamReport) {
    if r.finished {
        tracing::info!(stream = %r.stream, fetched = r.fetched, inserted = r.inserted, updated = r.updated, unchanged = r.unchanged, cost = r.cost, elapsed_ms = r.elapsed_ms, error = r.error.as_ref().map(|e| salesloft_config::error_chain(e)), "sync stream done");
    } else if r.requests > 0 && r.requests.is_multiple_of(100) {
        tracing::info!(stream = %r.stream, fetched = r.fetched, expected = ?r.expected, inserted = r.inserted, updated = r.updated, cost = r.cost, "sync progress");
    }
}

/// Freeze a stream's bar with its outcome (its last report).
fn finish_bar(bar: &ProgressBar, report: &StreamReport) {
    bar.set_style(style(true));
    bar.set_length(report.fetched);
    bar.set_position(report.fetched);
    bar.finish_with_message(match &report.error {
        Some(e) => format!("FAILED: {}", salesloft_config::error_chain(e)),
        None => format!(
            "done: {} new, {} updated, cost {}, {:.1}s, {:.0} rec/s",
            report.inserted,
            report.updated,
            report.cost,
            report.elapsed_ms as f64 / 1000.0,
            report.fetched as f64 * 1000.0 / report.elapsed_ms.max(1) as f64
        ),
    });
}

/// When each stream finishes if they share `per_second` of budget equally and each needs the
/// cost given: the cheapest finishes first, and the others then share its part.
fn fair_share_finish(costs: &HashMap<String, u64>, per_second: f64) -> HashMap<String, Duration> {
    let mut by_cost: Vec<(&String, u64)> = costs.iter().map(|(s, c)| (s, *c)).collect();
    by_cost.sort_by_key(|(_, c)| *c);
    let mut out = HashMap::new();
    let (mut t, mut paid) = (0.0f64, 0u64);
    let n = by_cost.len();
    for (k, (stream, cost)) in by_cost.into_iter().enumerate() {
        // Until this one is paid for, the n - k streams left each get per_second / (n - k).
        t += (cost - paid) as f64 * (n - k) as f64 / per_second.max(1e-9);
        paid = cost;
        out.insert(stream.clone(), Duration::from_secs_f64(t));
    }
    out
}

/// A bar's look: with a total, or counting while SalesLoft has not said how many.
fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix:<20} [{bar:28.cyan/blue}] {human_pos:>9}/{human_len:<9} {rate:>12} {msg}"
    } else {
        "{prefix:<20} [{spinner:^28}] {human_pos:>9}/{len:<9} {rate:>12} {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                // A finished stream's line says its own average instead.
                if !state.is_finished() {
                    let _ = write!(w, "{:.0} rec/s", state.per_sec());
                }
            },
        )
        .progress_chars("=> ")
}

/// A duration as people read it: `45s`, `3m05s`, `2h10m`.
pub fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..=172_799 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d", s / 86_400),
    }
}

/// Writes log lines to stderr, above the bars (which are hidden for the write and redrawn).
#[derive(Debug, Clone)]
pub struct LogWriter {
    multi: MultiProgress,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine {
            multi: self.multi.clone(),
        }
    }
}

/// One log event being written.
pub struct LogLine {
    multi: MultiProgress,
}

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes each event whole: one write, one line above the bars. A line
        // stderr cannot take (a closed pipe) is dropped and counted, never an error.
        self.multi.suspend(|| {
            salesloft_config::logging::LineWriter::new(std::io::stderr().lock()).write_all(buf)
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        salesloft_config::logging::LineWriter::new(std::io::stderr()).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_sharing_a_budget_finish_in_turn() {
        let costs: HashMap<String, u64> = [("a", 10), ("b", 30), ("c", 0)]
            .into_iter()
            .map(|(s, c)| (s.to_owned(), c))
            .collect();
        // 1 cost per second: a and b each get half until a is done at 20 s, then b alone.
        let finish = fair_share_finish(&costs, 1.0);
        assert_eq!(finish["c"], Duration::ZERO);
        assert_eq!(finish["a"], Duration::from_secs(20));
        assert_eq!(finish["b"], Duration::from_secs(40));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(humanize(Duration::from_secs(45)), "45s");
        assert_eq!(humanize(Duration::from_secs(185)), "3m05s");
        assert_eq!(humanize(Duration::from_secs(7_800)), "2h10m");
        assert_eq!(humanize(Duration::from_secs(45 * 86_400)), "45d");
    }
}
