//! The client alone: the first page of people, one of them by id, and what it cost.
//!
//! Against SalesLoft: `SALESLOFT_API_KEY=ak_... cargo run -p salesloft-client --example
//! list_people`. Offline, against the sandbox binary (it prints its URL and key):
//!
//! ```sh
//! cargo run -p salesloft-sandbox-bin &
//! SALESLOFT_BASE_URL=http://127.0.0.1:4810 SALESLOFT_API_KEY=<the key it printed> \
//!   cargo run -p salesloft-client --example list_people
//! ```

#![allow(clippy::print_stdout)] // an example talks to its user

use salesloft_client::{Auth, Client, DEFAULT_BASE_URL};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // An example reads its settings from the environment; the library never does.
    let key = std::env::var("SALESLOFT_API_KEY").map_err(|_| "set SALESLOFT_API_KEY")?;
    let base_url = std::env::var("SALESLOFT_BASE_URL").unwrap_or(DEFAULT_BASE_URL.to_owned());
    let client = Client::builder(Auth::api_key(key))
        .base_url(base_url)
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
    Ok(())
}
