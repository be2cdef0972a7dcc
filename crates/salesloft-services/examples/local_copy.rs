//! A local copy of people and accounts in a SQLite file, kept by incremental sync: the first
//! run backfills, the second finds nothing new at cost 1 per stream.
//!
//! `cargo run -p salesloft-services --example local_copy` runs against an offline sandbox and a
//! file in a temporary directory (a PostgreSQL URL works the same).

#![allow(clippy::print_stdout)] // an example talks to its user

use salesloft_client::{Auth, Client, Person};
use salesloft_sandbox::{Sandbox, SandboxConfig, TeamSize};
use salesloft_services::{Context, Stream, SyncEngine, SyncOptions};
use salesloft_storage::Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(2_000),
        ..SandboxConfig::default()
    })
    .await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .build()?;
    let dir = std::env::temp_dir().join(format!("salesloft-copy-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&format!("sqlite://{}", dir.join("copy.db").display())).await?;
    store.migrate().await?;

    let engine = SyncEngine::new(Context::new(client, store.clone()));
    let streams: Vec<Stream> = ["people", "accounts"]
        .into_iter()
        .filter_map(Stream::named)
        .collect();
    for run in ["backfill", "incremental"] {
        let report = engine.sync(&streams, SyncOptions::default()).await;
        for s in &report.streams {
            println!(
                "{run:>11} {:<9} {:>5} new {:>5} updated, cost {}",
                s.stream, s.inserted, s.updated, s.cost
            );
        }
        if let Some(e) = report.streams.iter().find_map(|s| s.error.clone()) {
            return Err(e.into());
        }
    }
    println!("people kept: {}", store.count_live::<Person>().await?);
    store.close().await;
    sandbox.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
