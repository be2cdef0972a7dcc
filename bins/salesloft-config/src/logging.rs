//! Logging for every binary: `RUST_LOG` (else `log.filter`), human-readable on a terminal,
//! one JSON object per line otherwise (for log collectors).

use std::io::IsTerminal;

/// Install the global subscriber writing to stderr: JSON lines unless stderr is a terminal.
pub fn init(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.with_ansi(true).init();
    } else {
        builder.json().with_current_span(true).init();
    }
}
