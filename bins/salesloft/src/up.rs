//! `salesloft up`: the whole architecture in one process on the embedded default, with no API
//! key: an offline SalesLoft with a realistic team and its live simulator, the server
//! subscribed to its webhooks, the job runner (backfill, schedules, webhook processing) and
//! the status page. Ctrl-C (or SIGTERM) stops everything.

use std::path::Path;
use std::sync::Arc;

use salesloft_config::Settings;
use salesloft_sandbox::{Sandbox, SandboxConfig, SimulatorConfig, TeamSize};
use salesloft_storage::SharedBudget;

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
    let overrides = [
        ("SALESLOFT_API_KEY", sandbox.api_key().to_owned()),
        ("SALESLOFT_BASE_URL", sandbox.url()),
        ("SALESLOFT_DATABASE_URL", format!("sqlite://{}", options.db)),
    ];
    let vars = std::env::vars()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .chain(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let settings = Settings::load(config, vars)?;
    let metrics = salesloft_server::install_metrics_recorder().map_err(CliError::Usage)?;
    let store = crate::local::open_store(&format!("sqlite://{}", options.db)).await?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = salesloft_worker::edge::bind(addr).map_err(|source| CliError::Listen {
        addr: addr.to_string(),
        source,
    })?;
    let local = listener.local_addr().map_err(|source| CliError::Listen {
        addr: addr.to_string(),
        source,
    })?;
    let budget = SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?;
    let client = settings
        .client_builder(Some(&store))?
        .limiter(Arc::new(budget))
        .build()?;
    crate::webhooks::subscribe(
        &client,
        &store,
        &format!("http://{local}{}", salesloft_server::WEBHOOK_PATH),
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
    salesloft_worker::listen_for_signals(shutdown.clone())
        .map_err(|e| CliError::Usage(format!("listening for Ctrl-C: {e}")))?;
    let served = salesloft_server::serve(
        &settings,
        store.clone(),
        Some(metrics),
        salesloft_server::Listeners::shared(listener),
        true,
        shutdown,
    )
    .await;
    sandbox.stop_simulator();
    sandbox.shutdown().await?;
    store.close().await;
    served?;
    println!("stopped");
    Ok(())
}
