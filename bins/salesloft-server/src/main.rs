//! `salesloft-server`: the integration's web process. Serves `POST /webhooks/salesloft` and
//! `/health` on `server.bind` (`SALESLOFT_SERVER__BIND`, default `127.0.0.1:8080`), verifying
//! deliveries with `webhooks.callback_tokens` (`SALESLOFT_WEBHOOKS__CALLBACK_TOKENS`), and the
//! status page, `/metrics` and `/ready` on `server.ops_bind` (default `127.0.0.1:8081`; off
//! loopback only with `server.admin_token`). With `--with-worker` it also runs the job runner
//! (scheduled syncs, webhook processing), as the embedded SQLite default does; without it, it
//! only serves and enqueues, and `salesloft-worker` processes. The body is the runtime's
//! (`salesloft_runtime::App`). SIGTERM or SIGINT: stop accepting, finish what is in flight
//! within `server.shutdown_grace_secs` (then close what is left), exit 0.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use salesloft_runtime::{App, Roles};

/// Serve SalesLoft webhooks, health, readiness and metrics.
#[derive(Debug, Parser)]
#[command(name = "salesloft-server", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run the job runner in this process too (syncs on schedule, webhook processing).
    #[arg(long)]
    with_worker: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match salesloft_config::load_for_binary(cli.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    salesloft_config::logging::init(&settings.log.filter);
    let roles = Roles {
        api: true,
        worker: cli.with_worker,
    };
    let run = async {
        let shutdown = salesloft_jobs::CancellationToken::new();
        salesloft_runtime::listen_for_signals(shutdown.clone())?;
        let metrics = salesloft_runtime::ops::install_metrics_recorder()?;
        let app = App::build(settings, roles).await?;
        app.with_metrics(metrics).run_until_stopped(shutdown).await
    };
    salesloft_config::exit_code(run.await, "server stopped")
}
