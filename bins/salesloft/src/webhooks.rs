//! `salesloft webhooks subscribe|list|unsubscribe`: the toolkit's webhook subscriptions in
//! SalesLoft, with their callback tokens kept in the local database for the server.

use salesloft_client::{Client, WebhookSubscriptionInput};
use salesloft_storage::{Store, StoredSubscription};
use salesloft_webhooks::EventType;
use secrecy::SecretString;

use crate::error::CliError;

/// A new callback token: 256 random bits, hex.
fn new_token() -> SecretString {
    SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Make sure `url` is subscribed to each of `events` (every documented type when empty),
/// one subscription per type; what exists already is kept (adopted, with SalesLoft's token,
/// when the database did not know it). Run again, it creates nothing.
pub async fn subscribe(
    client: &Client,
    store: &Store,
    url: &str,
    events: Vec<String>,
) -> Result<(), CliError> {
    let wanted: Vec<String> = if events.is_empty() {
        EventType::all().map(|e| e.as_str().to_owned()).collect()
    } else {
        events
    };
    let kept = store.subscriptions().await?;
    // One token per callback URL: the one kept already, else a new one.
    let token = kept
        .iter()
        .find(|s| s.callback_url == url)
        .map(|s| s.callback_token.clone())
        .unwrap_or_else(new_token);
    let remote = client.webhook_subscriptions().list(None).await?;
    let (mut created, mut existing) = (0, 0);
    for event in &wanted {
        let found = remote.iter().find(|s| {
            s.callback_url.as_deref() == Some(url) && s.event_type.as_deref() == Some(event)
        });
        let subscription = match found {
            Some(s) => {
                existing += 1;
                let known = kept.iter().find(|k| k.id == s.id.0);
                let token = match (known, &s.callback_token) {
                    (Some(k), _) => k.callback_token.clone(),
                    (None, Some(t)) => t.clone(),
                    (None, None) => {
                        return Err(CliError::Usage(format!(
                            "subscription {} for {event} exists without a token the toolkit knows; remove it with `salesloft webhooks unsubscribe --id {}`",
                            s.id.0, s.id.0
                        )));
                    }
                };
                StoredSubscription {
                    id: s.id.0,
                    event_type: event.clone(),
                    callback_url: url.to_owned(),
                    callback_token: token,
                }
            }
            None => {
                let made = client
                    .webhook_subscriptions()
                    .create(&WebhookSubscriptionInput {
                        callback_url: url.to_owned(),
                        callback_token: token.clone(),
                        event_type: event.clone(),
                    })
                    .await?;
                created += 1;
                StoredSubscription {
                    id: made.id.0,
                    event_type: event.clone(),
                    callback_url: url.to_owned(),
                    callback_token: token.clone(),
                }
            }
        };
        store.save_subscription(&subscription).await?;
    }
    println!(
        "{url}: {created} subscriptions created, {existing} already there ({} event types); \
         tokens kept in the database for salesloft-server",
        wanted.len()
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
