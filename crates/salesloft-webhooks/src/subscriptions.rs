//! The team's webhook subscriptions and the callback tokens deliveries are signed with:
//! [`subscribe_all`] subscribes a callback URL to every event type (idempotently) and keeps
//! each token in the database; [`stored_verifier`] and [`reload_tokens`] give an [`Inbox`]
//! those tokens and keep it current, so a subscription made by another process (the
//! `salesloft webhooks subscribe` command, say) is verified within seconds.

use std::time::Duration;

use salesloft_client::{Client, WebhookSubscriptionInput};
use salesloft_jobs::CancellationToken;
use salesloft_storage::{Store, StoredSubscription};
use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::event::EventType;
use crate::inbox::Inbox;
use crate::verify::Verifier;

/// What [`subscribe_all`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subscribed {
    /// Subscriptions created in SalesLoft.
    pub created: usize,
    /// Subscriptions that existed already (kept, their tokens stored).
    pub existing: usize,
}

/// A new callback token: two random (v4) UUIDs, hex, from the operating system's generator.
fn new_token() -> SecretString {
    SecretString::from(format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Make sure SalesLoft delivers each of `events` (every documented type, [`EventType::all`],
/// when empty) to `callback_url`, one subscription per type, and keep every subscription's
/// token in `store` for [`stored_verifier`]. What exists is kept (adopted with SalesLoft's
/// token when the database did not know it); run again, it creates nothing. One token signs
/// every subscription of a URL: the one kept already, else a new one.
///
/// ```no_run
/// # async fn demo(client: salesloft_client::Client, store: salesloft_storage::Store) -> salesloft_webhooks::Result<()> {
/// let done = salesloft_webhooks::subscribe_all(&client, &store, "https://example.com/hooks", &[]).await?;
/// println!("{} created, {} already there", done.created, done.existing);
/// # Ok(()) }
/// ```
pub async fn subscribe_all(
    client: &Client,
    store: &Store,
    callback_url: &str,
    events: &[String],
) -> Result<Subscribed> {
    let wanted: Vec<String> = if events.is_empty() {
        EventType::all().map(|e| e.as_str().to_owned()).collect()
    } else {
        events.to_vec()
    };
    let kept = store.subscriptions().await?;
    let token = kept
        .iter()
        .find(|s| s.callback_url == callback_url)
        .map(|s| s.callback_token.clone())
        .unwrap_or_else(new_token);
    let remote = client.webhook_subscriptions().list(None).await?;
    let mut done = Subscribed::default();
    for event in &wanted {
        let found = remote.iter().find(|s| {
            s.callback_url.as_deref() == Some(callback_url)
                && s.event_type.as_deref() == Some(event)
        });
        let (id, callback_token) = match found {
            Some(s) => {
                done.existing += 1;
                let known = kept.iter().find(|k| k.id == s.id.0);
                let token = match (known, &s.callback_token) {
                    (Some(k), _) => k.callback_token.clone(),
                    (None, Some(t)) => t.clone(),
                    (None, None) => {
                        return Err(Error::UnknownToken {
                            id: s.id.0,
                            event_type: event.clone(),
                        });
                    }
                };
                (s.id.0, token)
            }
            None => {
                let input = WebhookSubscriptionInput {
                    callback_url: callback_url.to_owned(),
                    callback_token: token.clone(),
                    event_type: event.clone(),
                };
                let made = client.webhook_subscriptions().create(&input).await?;
                done.created += 1;
                (made.id.0, token.clone())
            }
        };
        store
            .save_subscription(&StoredSubscription {
                id,
                event_type: event.clone(),
                callback_url: callback_url.to_owned(),
                callback_token,
            })
            .await?;
    }
    Ok(done)
}

/// A verifier accepting `configured` tokens (a deployment's own, such as
/// `webhooks.callback_tokens`) and those of every subscription `store` keeps.
pub async fn stored_verifier(store: &Store, configured: &[SecretString]) -> Result<Verifier> {
    let kept = store.callback_tokens().await?;
    Ok(Verifier::new(configured.iter().chain(kept.iter())))
}

/// Reload `inbox`'s tokens ([`stored_verifier`]) every `every` until `stop`, so a
/// subscription made by another process is verified within that time. A failed reload keeps
/// the tokens in use and is logged.
pub fn reload_tokens(
    inbox: Inbox,
    store: Store,
    configured: Vec<SecretString>,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            match stored_verifier(&store, &configured).await {
                Ok(verifier) => inbox.set_verifier(verifier),
                Err(e) => tracing::warn!(
                    error = %salesloft_model::error_chain(&e),
                    "reloading webhook tokens failed; keeping the current ones"
                ),
            }
        }
    })
}
