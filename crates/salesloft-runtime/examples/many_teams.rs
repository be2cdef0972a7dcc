//! Serving your customers' SalesLoft teams from code: each customer's key is connected with
//! [`connect_team`] (SalesLoft says which team it is; the key is kept sealed with your
//! `secrets.key`), and one worker pool keeps every team's copy, each in its own rows, each
//! within its own budget, taking turns.
//!
//! Offline, against two sandboxes (two customers) and a SQLite file in a temporary
//! directory: `cargo run -p salesloft-runtime --example many_teams` connects both, waits for
//! both first syncs, prints each team's count, and stops.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example talks to its user

use std::time::Duration;

use salesloft_client::Person;
use salesloft_runtime::teams::{TeamConnection, TeamOverrides, connect_team};
use salesloft_runtime::{App, Roles, Settings};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};
use salesloft_storage::{SecretsKey, TeamCredentials, TeamSlug};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut customers = Vec::new();
    for (seed, people) in [(1, 150), (2, 90)] {
        let config = SandboxConfig {
            team: TeamSize {
                people,
                ..TeamSize::empty()
            },
            seed,
            ..SandboxConfig::default()
        };
        customers.push((Sandbox::start(config).await?, people));
    }
    let dir = std::env::temp_dir().join(format!("salesloft-teams-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    // A deployment with no credentials of its own: every team is a customer's.
    let mut settings = Settings::defaults()?;
    settings.database.url = format!("sqlite://{}", dir.join("teams.db").display()).into();
    // In production: the base64 of 32 random bytes from your secret store.
    settings.secrets.key = Some(SecretsKey::generate("k1").1);
    settings.validate()?;
    let app = App::build(settings.clone(), Roles::WORKER).await?;
    let store = app.store().clone();

    let mut teams = Vec::new();
    for (n, (sandbox, people)) in customers.iter().enumerate() {
        let team = connect_team(
            &store,
            &settings,
            TeamConnection {
                slug: TeamSlug::parse(&format!("customer-{}", n + 1))?,
                base_url: Some(sandbox.url()),
                credentials: TeamCredentials::ApiKey(sandbox.api_key().to_owned().into()),
                overrides: TeamOverrides::default(),
            },
        )
        .await?;
        println!(
            "connected {} (SalesLoft team {})",
            team.slug,
            team.salesloft_team_id.unwrap_or_default()
        );
        teams.push((team, *people));
    }

    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for (team, people) in &teams {
        let copy = store.team(team.id);
        while copy.count_live::<Person>().await? < *people as i64 {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("{} was not synced within 120 s", team.slug).into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("{}: {} people in its copy", team.slug, people);
    }
    shutdown.cancel();
    worker.await??;
    let _ = std::fs::remove_dir_all(&dir);
    println!("stopped");
    Ok(())
}
