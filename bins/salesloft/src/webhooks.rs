//! `salesloft webhooks subscribe|list|unsubscribe`: the toolkit's webhook subscriptions in
//! SalesLoft, with their callback tokens kept in the local database for the server.

use salesloft_client::Client;
use salesloft_storage::Store;

use crate::error::CliError;

/// Make sure `url` is subscribed to each of `events` (every documented type when empty), with
/// the library's [`salesloft_webhooks::subscribe_all`], and say what it did.
pub async fn subscribe(
    client: &Client,
    store: &Store,
    url: &str,
    events: Vec<String>,
) -> Result<(), CliError> {
    let done = salesloft_webhooks::subscribe_all(client, store, url, &events).await?;
    println!(
        "{url}: {} subscriptions created, {} already there ({} event types); \
         tokens kept in the database for salesloft-server",
        done.created,
        done.existing,
        done.created + done.existing
    );
    Ok(())
}

/// The team's subscriptions, marking those whose token the database keeps (never the token).
pub async fn list(client: &Client, store: &Store) -> Result<(), CliError> {
    let kept = store.subscriptions().await?;
    let remote = client.webhook_subscriptions().list(None).await?;
    println!(
        "{:>10}  {:<8} {:<8} {:<36} URL",
        "ID", "ENABLED", "TOKEN", "EVENT"
    );
    for s in &remote {
        let ours = kept.iter().any(|k| k.id == s.id.0);
        println!(
            "{:>10}  {:<8} {:<8} {:<36} {}",
            s.id.0,
            s.enabled.map_or("-", |e| if e { "yes" } else { "no" }),
            if ours { "kept" } else { "-" },
            s.event_type.as_deref().unwrap_or("-"),
            s.callback_url.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// Remove subscriptions: `id`, or every one delivering to `url`, or (neither given) every one
/// the database keeps.
pub async fn unsubscribe(
    client: &Client,
    store: &Store,
    url: Option<String>,
    id: Option<i64>,
) -> Result<(), CliError> {
    let remote = client.webhook_subscriptions().list(None).await?;
    let kept = store.subscriptions().await?;
    let doomed: Vec<i64> = match (id, &url) {
        (Some(id), _) => vec![id],
        (None, Some(url)) => remote
            .iter()
            .filter(|s| s.callback_url.as_deref() == Some(url.as_str()))
            .map(|s| s.id.0)
            .collect(),
        (None, None) => kept.iter().map(|k| k.id).collect(),
    };
    let mut removed = 0;
    for id in doomed {
        if remote.iter().any(|s| s.id.0 == id) {
            client
                .webhook_subscriptions()
                .delete(salesloft_client::WebhookSubscriptionId(id))
                .await?;
            removed += 1;
        }
        store.delete_subscription(id).await?;
    }
    println!("{removed} subscriptions removed");
    Ok(())
}
