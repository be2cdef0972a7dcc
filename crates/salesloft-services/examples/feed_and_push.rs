//! Two-way people sync: read the people SalesLoft changed since a cursor your system keeps
//! (as text), and push your system's changes back under the per-field rules, which write
//! only what must change and leave your own writes out of the next read.
//!
//! `cargo run -p salesloft-services --example feed_and_push` runs against an offline sandbox
//! and a SQLite file in a temporary directory.

#![allow(clippy::print_stdout)] // an example talks to its user

use salesloft_client::{Auth, Client};
use salesloft_sandbox::{Action, Sandbox, SandboxConfig, TeamSize};
use salesloft_services::{
    ChangeCursor, Context, FieldPolicies, LocalPerson, PeopleSync, PushOptions, Stream, SyncEngine,
    SyncOptions,
};
use salesloft_storage::Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(500),
        ..SandboxConfig::default()
    })
    .await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .build()?;
    let dir = std::env::temp_dir().join(format!("salesloft-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&format!("sqlite://{}", dir.join("copy.db").display())).await?;
    store.migrate().await?;
    let ctx = Context::new(client, store.clone());
    let people: Vec<Stream> = Stream::named("people").into_iter().collect();
    let sync = SyncEngine::new(ctx.clone());
    sync.sync(&people, SyncOptions::default()).await;

    // Everything so far, from the start; keep the cursor as text (a column, a file).
    let two_way = PeopleSync::new(ctx.clone(), FieldPolicies::people_defaults());
    let all = two_way.changes(ChangeCursor::START, 10_000).await?;
    let saved = all.next.to_string();
    println!(
        "{} people changed since the start; cursor {saved}",
        all.changes.len()
    );

    // Your system retitles one of them: pushed once, and a second push writes nothing.
    let Some(first) = all.changes.first() else {
        return Err("the sandbox has no people".into());
    };
    let mut fields = serde_json::Map::new();
    fields.insert("id".into(), first.id.into());
    fields.insert("title".into(), "Head of Integrations".into());
    let mine = [LocalPerson::new(fields, chrono::Utc::now())];
    for attempt in ["first", "second"] {
        let report = two_way.push(&mine, &PushOptions::default(), None).await?;
        println!("{attempt} push: {} written", report.writes);
    }

    // SalesLoft changes three people; the next read from the saved cursor has those three,
    // and leaves out the echo of the push above.
    sandbox.mutate(Some(Action::EditPerson), 3)?;
    sync.sync(&people, SyncOptions::default()).await;
    let next = two_way.changes(saved.parse()?, 100).await?;
    println!(
        "since the cursor: {} changed, {} echo of our own write left out",
        next.changes.len(),
        next.echoes
    );
    store.close().await;
    sandbox.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
