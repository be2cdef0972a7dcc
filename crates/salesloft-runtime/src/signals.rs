//! Stopping on a signal.

use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};

/// Cancel `shutdown` on the first SIGTERM or SIGINT. It cancels first and logs after, so a
/// log that cannot be written never keeps the process from stopping.
pub fn listen_for_signals(shutdown: CancellationToken) -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(Error::Signals)?;
        let mut int = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            shutdown.cancel();
            tracing::info!(
                signal = name,
                "stopping: no new work; what runs gets its grace"
            );
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shutdown.cancel();
        }
    });
    Ok(())
}
