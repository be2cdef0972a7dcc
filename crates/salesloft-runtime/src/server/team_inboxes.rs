//! One webhook inbox per team, for `POST /webhooks/salesloft/{slug}`: each verifies with its
//! team's callback tokens only and stores into its team's rows. The map of teams and their
//! tokens is read in one pass every few seconds, so a delivery to an unknown slug is
//! answered 404 without touching the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use salesloft_storage::{Store, TeamId, TeamSlug};
use salesloft_webhooks::{Inbox, InboxConfig, Verifier};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::error::Result;

/// The inboxes of every team, by slug.
#[derive(Debug, Clone)]
pub struct TeamInboxes {
    store: Store,
    configured: Vec<SecretString>,
    inboxes: Arc<RwLock<HashMap<TeamSlug, (TeamId, Inbox)>>>,
}

impl TeamInboxes {
    /// Every team's inbox on `store`'s database; `configured` (`webhooks.callback_tokens`)
    /// are the default team's tokens besides its stored ones. Read once now, then every
    /// `every` until `stop`.
    pub async fn start(
        store: Store,
        configured: Vec<SecretString>,
        every: Duration,
        stop: CancellationToken,
    ) -> Result<Self> {
        let inboxes = Self {
            store,
            configured,
            inboxes: Arc::default(),
        };
        inboxes.refresh().await?;
        let refreshing = inboxes.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                if let Err(e) = refreshing.refresh().await {
                    tracing::warn!(
                        error = %salesloft_services::error_chain(&e),
                        "reloading the teams' webhook tokens failed; keeping the current ones"
                    );
                }
            }
        });
        Ok(inboxes)
    }

    /// The inbox of the team named `slug`, if there is one.
    pub fn get(&self, slug: &str) -> Option<Inbox> {
        let slug = TeamSlug::parse(slug).ok()?;
        let inboxes = self.inboxes.read().unwrap_or_else(|p| p.into_inner());
        inboxes.get(&slug).map(|(_, inbox)| inbox.clone())
    }

    /// Read the teams and every team's tokens (two queries whatever the number of teams):
    /// new teams get an inbox, known ones their current tokens, removed ones lose theirs.
    /// Besides the periodic reads, call it after this process added a team or subscribed one.
    pub async fn refresh(&self) -> Result<()> {
        let teams = self.store.teams().await?;
        let mut tokens = self.store.callback_tokens_by_team().await?;
        let verifier = |id: TeamId, tokens: &mut std::collections::BTreeMap<_, Vec<_>>| {
            let mut kept = tokens.remove(&id).unwrap_or_default();
            if id == TeamId::DEFAULT {
                kept.extend(self.configured.iter().cloned());
            }
            Verifier::new(kept.iter())
        };
        let mut fresh = HashMap::with_capacity(teams.len());
        let known = self
            .inboxes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for team in teams {
            let verifier = verifier(team.id, &mut tokens);
            let inbox = match known.get(&team.slug) {
                // The same team (a slug removed and added again is another team).
                Some((id, inbox)) if *id == team.id => {
                    inbox.set_verifier(verifier);
                    inbox.clone()
                }
                _ => Inbox::new(self.store.team(team.id), verifier, InboxConfig::default()),
            };
            fresh.insert(team.slug, (team.id, inbox));
        }
        *self.inboxes.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}
