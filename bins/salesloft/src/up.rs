//! `salesloft up`: the whole architecture in one process on the embedded default, with no API
//! key: an offline SalesLoft with a realistic team and its live simulator, the server
//! subscribed to its webhooks, the job runner (backfill, schedules, webhook processing) and
//! the status page. Ctrl-C (or SIGTERM) stops everything.

use std::path::Path;
use std::sync::Arc;

use salesloft_runtime::{App, Roles};
use salesloft_sandbox::{Sandbox, SandboxConfig, SimulatorConfig, TeamSize};

use crate::error::CliError;

/// What `salesloft up` runs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// People in the sandbox team (everything else scales with it).
    pub people: usize,
    /// The server's port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// The SQLite file of the local copy (kept between runs).
    pub db: String,
    /// Changes per second the simulator makes.
    pub changes_per_second: f64,
}

/// Run everything until Ctrl-C.
pub async fn up(options: UpOptions, config: Option<&Path>) -> Result<(), CliError> {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(options.people),
        // SalesLoft's real budget: the status page shows it being spent.
        rate_limit_per_minute: Some(600),
        ..SandboxConfig::default()
    })
    .await?;
    // The user's configuration, with the sandbox and the file on top.
    let mut settings = salesloft_config::load(config, std::env::vars())?;
    settings.api.key = Some(sandbox.api_key().to_owned().into());
    settings.api.base_url = sandbox.url();
    settings.database.url = format!("sqlite://{}", options.db).into();
    settings.database.migrate_on_start = true;
    settings.validate()?;
    let metrics = salesloft_runtime::ops::install_metrics_recorder()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = salesloft_runtime::edge::bind(addr).map_err(|source| CliError::Listen {
        addr: addr.to_string(),
        source,
    })?;
    let local = listener.local_addr().map_err(|source| CliError::Listen {
        addr: addr.to_string(),
        source,
    })?;
    let app = App::build(settings, Roles::ALL)
        .await?
        .with_listener(listener)
        .with_metrics(metrics);
    let store = app.store().clone();
    let budget = salesloft_runtime::teams::store_team_budget(&store, app.settings()).await?;
    let client = app
        .settings()
        .client_builder(Some(&store))?
        .limiter(Arc::new(budget))
        .build()?;
    crate::webhooks::subscribe(
        &client,
        &store,
        &format!("http://{local}{}", salesloft_runtime::server::WEBHOOK_PATH),
        Vec::new(),
    )
    .await?;
    sandbox.start_simulator(SimulatorConfig {
        events_per_second: options.changes_per_second,
        ..SimulatorConfig::default()
    });
    println!(
        "status page: http://{local}/\n  offline SalesLoft at {} ({} people, changing {}/s), local copy in {}\n  Ctrl-C stops",
        sandbox.url(),
        options.people,
        options.changes_per_second,
        options.db
    );
    let shutdown = salesloft_jobs::CancellationToken::new();
    salesloft_runtime::listen_for_signals(shutdown.clone())?;
    let served = app.run_until_stopped(shutdown).await;
    sandbox.stop_simulator();
    sandbox.shutdown().await?;
    served?;
    println!("stopped");
    Ok(())
}
