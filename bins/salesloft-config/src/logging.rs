//! Logging for every binary: `RUST_LOG` (else `log.filter`), human-readable on a terminal,
//! one JSON object per line otherwise (for log collectors).
//!
//! Logging never stops the process: a line that cannot be written (stderr closed, the log
//! collector gone) is dropped and counted in `salesloft_log_lines_dropped_total`, never a
//! panic. (tracing-subscriber's own fallback would `eprintln!` the failure, which panics on the
//! same closed pipe.)

use std::io::{IsTerminal, Write};

use tracing_subscriber::fmt::MakeWriter;

/// The counter of log lines that could not be written.
pub const DROPPED_LINES_METRIC: &str = "salesloft_log_lines_dropped_total";

/// Install the global subscriber writing to stderr: JSON lines unless stderr is a terminal.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false)
        .with_writer(Stderr);
    if std::io::stderr().is_terminal() {
        builder.with_ansi(true).init();
    } else {
        builder.json().with_current_span(true).init();
    }
}

/// Makes a [`LineWriter`] to stderr per log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LineWriter<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter::new(std::io::stderr())
    }
}

/// Writes one log line to `inner`; if that fails, the rest of the line is dropped (counted
/// once) and the caller is told it was written, so nothing upstream retries or panics.
#[derive(Debug)]
pub struct LineWriter<W> {
    inner: W,
    dropped: bool,
}

impl<W: Write> LineWriter<W> {
    /// A writer of one line to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            dropped: false,
        }
    }

    fn drop_line(&mut self) {
        if !self.dropped {
            self.dropped = true;
            metrics::counter!(DROPPED_LINES_METRIC).increment(1);
        }
    }
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.dropped {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Ok(0) if !buf.is_empty() => {
                self.drop_line();
                Ok(buf.len())
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
            Err(_) => {
                self.drop_line();
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.inner.flush().is_err() {
            self.drop_line();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that refuses every write, as a closed pipe does.
    struct Closed(usize);

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.0 += 1;
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_line_to_a_closed_pipe_is_dropped_not_an_error() {
        let mut w = LineWriter::new(Closed(0));
        w.write_all(b"first part of the line, ").unwrap();
        w.write_all(b"and the rest\n").unwrap();
        w.flush().unwrap();
        assert!(w.dropped);
        assert_eq!(
            w.inner.0, 1,
            "after the first failure nothing more is tried"
        );
    }

    #[test]
    fn a_line_to_a_working_sink_is_written_whole() {
        let mut w = LineWriter::new(Vec::new());
        w.write_all(b"a line\n").unwrap();
        assert!(!w.dropped);
        assert_eq!(w.inner, b"a line\n");
    }
}
