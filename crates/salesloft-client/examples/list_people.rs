//! The client alone: the first page of people, one of them by id, and what it cost.
//!
//! `cargo run -p salesloft-client --example list_people` runs against an offline sandbox. For
//! SalesLoft itself, build the client with your key and leave the base URL out:
//! `Client::builder(Auth::api_key(key)).build()?`.

#![allow(clippy::print_stdout)] // an example talks to its user

use salesloft_client::{Auth, Client};
use salesloft_sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .build()?;

    let page = client.people().list().per_page(25).send().await?;
    for person in &page.items {
        let name = [&person.first_name, &person.last_name].map(|n| n.as_deref().unwrap_or(""));
        println!("{:>8}  {} {}", person.id.0, name[0], name[1]);
    }
    if let Some(first) = page.items.first() {
        let again = client.people().get(first.id).await?;
        println!("read {} again: updated at {}", again.id.0, again.updated_at);
    }
    println!("cost spent: {}", sandbox.counters().cost_spent);
    sandbox.shutdown().await?;
    Ok(())
}
