//! What a person at a terminal sees while a sync runs: one indicatif bar per stream, with its
//! total once SalesLoft has counted it, records per second, an ETA that follows the budget when
//! there is one, and the cost spent; log lines print above the bars. Off a terminal there are no
//! bars, only log lines.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
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

    /// Where log lines go: stderr, above the bars while any are shown.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter {
            multi: self.multi.clone(),
        }
    }

    /// A progress callback for a sync of `streams`: bars on a terminal, a log line every 100
    /// requests otherwise. `budget_per_minute` is the cost the sync may spend per minute, if it
    /// is throttled: the ETA then counts the cost still to spend (a request of cost 1 per 100
    /// records) against it.
    pub fn sync_progress(&self, streams: &[Stream], budget_per_minute: Option<u32>) -> Progress {
        if !self.terminal {
            return Arc::new(|report: &StreamReport| {
                if report.requests > 0 && report.requests.is_multiple_of(100) {
                    tracing::info!(stream = %report.stream, fetched = report.fetched, expected = ?report.expected, inserted = report.inserted, updated = report.updated, cost = report.cost, "sync progress");
                }
            });
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
        let remaining: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        Arc::new(move |report: &StreamReport| {
            let Some(bar) = bars.get(&report.stream) else {
                return;
            };
            if report.finished {
                // The stream's last report: freeze its line with the outcome.
                lock(&remaining).remove(&report.stream);
                bar.set_style(style(true));
                bar.set_length(report.fetched);
                bar.set_position(report.fetched);
                bar.finish_with_message(match &report.error {
                    Some(e) => format!("FAILED: {e}"),
                    None => format!(
                        "{} new, {} updated, cost {}, {:.1}s",
                        report.inserted,
                        report.updated,
                        report.cost,
                        report.elapsed_ms as f64 / 1000.0
                    ),
                });
                return;
            }
            if let Some(total) = report.expected {
                if bar.length().is_none() {
                    bar.set_style(style(true));
                }
                bar.set_length(total.max(report.fetched));
            }
            bar.set_position(report.fetched);
            let left = report
                .expected
                .map_or(0, |t| t.saturating_sub(report.fetched));
            let cost_left: u64 = {
                let mut remaining = lock(&remaining);
                remaining.insert(report.stream.clone(), left.div_ceil(100));
                remaining.values().sum()
            };
            let mut eta = bar.eta();
            if let Some(per_minute) = budget_per_minute.filter(|p| *p > 0) {
                // Every stream spends from one budget: this one is done no sooner than the cost
                // still to spend by all of them allows.
                eta = eta.max(Duration::from_secs(cost_left * 60 / u64::from(per_minute)));
            }
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A bar's look: with a total, or counting while SalesLoft has not said how many.
fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix:<20} [{bar:28.cyan/blue}] {human_pos:>9}/{human_len:<9} {per_sec:>12} {msg}"
    } else {
        "{prefix:<20} [{spinner:^28}] {human_pos:>9}/{len:<9} {per_sec:>12} {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
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
        // The formatter writes each event whole: one write, one line above the bars.
        self.multi
            .suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(humanize(Duration::from_secs(45)), "45s");
        assert_eq!(humanize(Duration::from_secs(185)), "3m05s");
        assert_eq!(humanize(Duration::from_secs(7_800)), "2h10m");
        assert_eq!(humanize(Duration::from_secs(45 * 86_400)), "45d");
    }
}
