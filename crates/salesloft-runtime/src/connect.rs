//! Connecting a SalesLoft team in a browser (OAuth's authorization-code flow), as the
//! server's `/connect` page does it, for any embedder's own pages too: [`ConnectFlow::begin`]
//! gives the authorize URL with a signed, single-use `state` that expires in 10 minutes;
//! [`ConnectFlow::finish`] takes the callback's code, exchanges it, asks SalesLoft which team
//! granted it, and creates that team, or reconnects the one that holds it already (new tokens,
//! its credential hold lifted, a team whose credentials were rejected active again), then
//! enqueues its sync at once and subscribes its webhooks.
//!
//! ```no_run
//! # async fn demo(store: salesloft_storage::Store, settings: salesloft_runtime::Settings) -> salesloft_runtime::Result<()> {
//! use salesloft_runtime::connect::ConnectFlow;
//! let flow = ConnectFlow::from_settings(&settings)?.expect("oauth.client_id, client_secret and redirect_url");
//! let begun = flow.begin(&store, None).await?;
//! println!("send the browser to {}", begun.authorize_url);
//! // ...SalesLoft sends it back to oauth.redirect_url with `code` (and `state`):
//! let connected = flow.finish(&store, &settings, &begun.state, "the-code").await?;
//! println!("{} is connected", connected.team.slug);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use salesloft_client::{Auth, InMemoryTokenStore, OAuthApp, OAuthTokens};
use salesloft_storage::{NewTeam, Store, TeamCredentials, TeamRecord, TeamSlug, TeamState};

use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::teams::{start_backfill, team_client, team_token_store, team_webhook_url};

/// The OAuth app and the two pages a browser goes through: SalesLoft's authorize page and
/// the server's callback.
#[derive(Debug, Clone)]
pub struct ConnectFlow {
    app: OAuthApp,
    authorize_url: url::Url,
    redirect_url: url::Url,
}

/// A connect begun: where to send the browser, and the state it carries.
#[derive(Debug, Clone)]
pub struct Begun {
    /// SalesLoft's authorize page with the app, the redirect URI and the state.
    pub authorize_url: url::Url,
    /// The signed state (also for a cookie binding the flow to this browser).
    pub state: String,
}

/// A team connected by [`ConnectFlow::finish`].
#[derive(Debug, Clone)]
pub struct Connected {
    /// The team, as stored now.
    pub team: TeamRecord,
    /// Whether it existed (the same SalesLoft team connected again) rather than was created.
    pub reconnected: bool,
    /// What became of its webhook subscriptions.
    pub webhooks: WebhookOutcome,
}

/// Whether a connected team's webhooks were subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Every event type delivers to `url`.
    Subscribed {
        /// The team's callback URL.
        url: String,
        /// Subscriptions created now.
        created: usize,
        /// Subscriptions that existed.
        existing: usize,
    },
    /// `webhooks.callback_url` is unset: its scheduled syncs alone keep its copy.
    NotConfigured,
    /// SalesLoft refused or failed; the team is connected all the same.
    Failed(String),
}

impl ConnectFlow {
    /// The flow of the configured app: `None` unless `oauth.client_id`,
    /// `oauth.client_secret` and `oauth.redirect_url` are set.
    pub fn from_settings(settings: &Settings) -> Result<Option<Self>> {
        let (Some(app), Some(redirect_url)) = (settings.oauth_app(), &settings.oauth.redirect_url)
        else {
            return Ok(None);
        };
        let authorize_url = match &settings.oauth.authorize_url {
            Some(url) => url.clone(),
            None => url::Url::parse(salesloft_client::DEFAULT_AUTHORIZE_URL).map_err(|e| {
                Error::Invalid {
                    key: "oauth.authorize_url".into(),
                    message: e.to_string(),
                }
            })?,
        };
        Ok(Some(Self {
            app,
            authorize_url,
            redirect_url: redirect_url.clone(),
        }))
    }

    /// The redirect URI the callback is reached at.
    pub fn redirect_url(&self) -> &url::Url {
        &self.redirect_url
    }

    /// The authorize page's origin (for a page's `form-action` policy).
    pub fn authorize_origin(&self) -> String {
        self.authorize_url.origin().ascii_serialization()
    }

    /// Begin a connect for a team to be named `slug` (else named after its SalesLoft name):
    /// a state remembered in `store` for 10 minutes, and the authorize URL carrying it.
    pub async fn begin(&self, store: &Store, slug: Option<&TeamSlug>) -> Result<Begun> {
        let state = store.begin_connect(slug).await?;
        let mut authorize_url = self
            .app
            .authorize_url(self.authorize_url.as_str(), self.redirect_url.as_str())?;
        authorize_url.query_pairs_mut().append_pair("state", &state);
        Ok(Begun {
            authorize_url,
            state,
        })
    }

    /// Finish a connect: take `state` (refused when forged, expired or used), exchange `code`
    /// for tokens, read the team they belong to, create it or reconnect the team holding it,
    /// enqueue its sync and subscribe its webhooks (when `webhooks.callback_url` is set).
    pub async fn finish(
        &self,
        store: &Store,
        settings: &Settings,
        state: &str,
        code: &str,
    ) -> Result<Connected> {
        let grant = store.take_connect_state(state).await?;
        let tokens = self
            .app
            .exchange_code(code, self.redirect_url.as_str())
            .await?;
        let base_url = settings.api.base_url.clone();
        let probe = settings
            .client_builder_for(
                Auth::oauth(
                    self.app.clone(),
                    tokens.clone(),
                    Arc::new(InMemoryTokenStore::default()),
                ),
                &base_url,
            )
            .build()?;
        let who = probe.team().await?;
        let credentials = TeamCredentials::OAuth {
            client_id: self.app.client_id.clone(),
            tokens: tokens.clone(),
        };
        let (team, reconnected) = match store.team_of_salesloft(&base_url, Some(who.id.0)).await? {
            Some(team) => (
                reconnect(store, &self.app, &team, &credentials).await?,
                true,
            ),
            None => {
                let slug = match grant.slug {
                    Some(slug) => slug,
                    None => free_slug(store, who.name.as_deref(), who.id.0).await?,
                };
                let new = NewTeam {
                    slug,
                    base_url,
                    salesloft_team_id: Some(who.id.0),
                    name: who.name,
                    credentials,
                    settings: serde_json::json!({}),
                };
                (store.add_team(&new).await?, false)
            }
        };
        start_backfill(store, settings, &team).await?;
        let webhooks = subscribe(store, settings, &team).await;
        Ok(Connected {
            team,
            reconnected,
            webhooks,
        })
    }
}

/// Give `team` new credentials: sealed in its row, saved where its clients look first (its
/// token store), its credential hold lifted, and active again if its credentials had been
/// rejected (a paused team stays paused).
async fn reconnect(
    store: &Store,
    app: &OAuthApp,
    team: &TeamRecord,
    credentials: &TeamCredentials,
) -> Result<TeamRecord> {
    store.set_team_credentials(&team.slug, credentials).await?;
    if let TeamCredentials::OAuth { tokens, .. } = credentials {
        save_tokens(&store.team(team.id), app, tokens).await?;
    }
    store.team(team.id).release_all_credentials().await?;
    if team.state == TeamState::CredentialsRejected {
        store.set_team_state(&team.slug, TeamState::Active).await?;
    }
    store
        .team_by_id(team.id)
        .await?
        .ok_or_else(|| Error::Invalid {
            key: format!("teams.{}", team.slug),
            message: "the team was removed while it was being reconnected".into(),
        })
}

async fn save_tokens(team_store: &Store, app: &OAuthApp, tokens: &OAuthTokens) -> Result<()> {
    Ok(team_token_store(team_store, app).save(tokens).await?)
}

/// Subscribe `team` to every event at its callback URL, when one is configured.
async fn subscribe(store: &Store, settings: &Settings, team: &TeamRecord) -> WebhookOutcome {
    let Some(base) = &settings.webhooks.callback_url else {
        return WebhookOutcome::NotConfigured;
    };
    let url = team_webhook_url(base.as_str(), team);
    let done = async {
        let client = team_client(store, settings, team).await?;
        salesloft_webhooks::subscribe_all(&client, &store.team(team.id), &url, &[])
            .await
            .map_err(Error::from)
    };
    match done.await {
        Ok(done) => WebhookOutcome::Subscribed {
            url,
            created: done.created,
            existing: done.existing,
        },
        Err(e) => {
            let why = salesloft_services::error_chain(&e);
            tracing::warn!(team = %team.slug, error = %why, "subscribing a connected team's webhooks failed");
            WebhookOutcome::Failed(why)
        }
    }
}

/// A slug for a team named `name` (SalesLoft id `id`) that no team has yet.
async fn free_slug(store: &Store, name: Option<&str>, id: i64) -> Result<TeamSlug> {
    let taken: Vec<String> = store
        .teams()
        .await?
        .into_iter()
        .map(|t| t.slug.to_string())
        .collect();
    Ok(slug_for(name, id, |s| taken.iter().any(|t| t == s)))
}

/// `name` as a slug (lowercase letters, digits and single dashes, at most 40), `team-{id}`
/// when nothing of it is left, with `-2`, `-3`, ... until `taken` says no.
fn slug_for(name: Option<&str>, id: i64, taken: impl Fn(&str) -> bool) -> TeamSlug {
    let mut base = String::new();
    for c in name.unwrap_or("").chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.is_empty() && !base.ends_with('-') {
            base.push('-');
        }
    }
    base.truncate(32);
    let base = match base.trim_matches('-') {
        "" => format!("team-{id}"),
        trimmed => trimmed.to_owned(),
    };
    let mut n = 1u32;
    loop {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        if !taken(&candidate)
            && let Ok(slug) = TeamSlug::parse(&candidate)
        {
            return slug;
        }
        n = n.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_the_name_and_never_collide() {
        let none = |_: &str| false;
        assert_eq!(
            slug_for(Some("Acme Corp. (EMEA)"), 7, none).as_str(),
            "acme-corp-emea"
        );
        assert_eq!(
            slug_for(Some("Ünïcode Team"), 7, none).as_str(),
            "n-code-team"
        );
        assert_eq!(slug_for(Some("!!!"), 7, none).as_str(), "team-7");
        assert_eq!(slug_for(None, 7, none).as_str(), "team-7");
        let long = "a".repeat(100);
        assert_eq!(slug_for(Some(&long), 7, none).as_str().len(), 32);
        let taken = |s: &str| s == "acme" || s == "acme-2";
        assert_eq!(slug_for(Some("ACME"), 7, taken).as_str(), "acme-3");
    }
}
