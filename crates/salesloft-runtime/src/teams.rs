//! Many SalesLoft teams in one deployment: connect a team (read who it is from SalesLoft,
//! keep its credentials sealed), a client for any team, and the job registries of every team
//! for one worker pool ([`TeamJobs`]).
//!
//! The default team (id 1) is a single-team deployment's: its credentials are the
//! configured ones (`api.key` or `[oauth]`) and its budget keeps its configured name. Every
//! other team has its credentials in its `teams` row, sealed with `secrets.key`, and spends
//! from the budget of its SalesLoft team (two connections to one SalesLoft team would share
//! it; the teams table refuses a second slug for one SalesLoft team anyway).

use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{Auth, Client, ClientBuilder, OAuthApp};
use salesloft_jobs::{JobError, Registry, TeamRegistries};
use salesloft_services::Context;
use salesloft_services::jobs::BuiltinSettings;
use salesloft_storage::{
    DbTokenStore, NewTeam, SharedBudget, Store, TeamCredentials, TeamId, TeamRecord, TeamSlug,
};
use salesloft_webhooks::jobs::builtin_registry;
use secrecy::ExposeSecret;

use crate::error::{Error, Result};
use crate::settings::Settings;

mod overrides;

pub use overrides::{TeamOverrides, team_settings};

/// Adds or wraps job kinds on top of the built-in ones, for each team's registry.
pub type CustomizeJobs = Arc<dyn Fn(Registry, &Context) -> Registry + Send + Sync>;

/// How long a team's registry (its client, credentials and budget) is kept before it is
/// built again from its row, so new credentials take effect in every worker.
const REGISTRY_TTL: Duration = Duration::from_secs(300);

/// A team to connect.
#[derive(Debug, Clone)]
pub struct TeamConnection {
    /// Its slug in this deployment.
    pub slug: TeamSlug,
    /// The SalesLoft API it talks to (`api.base_url` when `None`).
    pub base_url: Option<String>,
    /// What SalesLoft accepts from it.
    pub credentials: TeamCredentials,
    /// Where it differs from the deployment's settings.
    pub overrides: TeamOverrides,
}

/// Connect a team: ask SalesLoft who it is (`GET /v2/team` with its credentials, so a key
/// SalesLoft rejects is refused before anything is stored), then keep it with its
/// credentials sealed by the store's keyring (`secrets.key`) and enqueue its backfill (the
/// start-up syncs), which any worker claims at once. A slug in use, or a SalesLoft team
/// another slug holds, is refused.
pub async fn connect_team(
    store: &Store,
    settings: &Settings,
    team: TeamConnection,
) -> Result<TeamRecord> {
    let base_url = team
        .base_url
        .clone()
        .unwrap_or_else(|| settings.api.base_url.clone());
    team.overrides.apply(settings)?;
    let auth = stored_auth(store, settings, &team.credentials)?;
    let probe = settings.client_builder_for(auth, &base_url).build()?;
    let who = probe.team().await?;
    let added = store
        .add_team(&NewTeam {
            slug: team.slug,
            base_url,
            salesloft_team_id: Some(who.id.0),
            name: who.name,
            credentials: team.credentials,
            settings: serde_json::to_value(&team.overrides).map_err(|e| Error::Invalid {
                key: "teams.settings".into(),
                message: e.to_string(),
            })?,
        })
        .await?;
    start_backfill(store, settings, &added).await?;
    Ok(added)
}

/// Enqueue `team`'s scheduled syncs to run now (its backfill when it is new), not at the next
/// maintenance of a worker.
pub async fn start_backfill(store: &Store, settings: &Settings, team: &TeamRecord) -> Result<()> {
    let team_store = store.team(team.id);
    let every = team_settings(settings, team)?.sync_every();
    for schedule in salesloft_webhooks::jobs::builtin_schedules(every)? {
        schedule.start_now(&team_store).await?;
    }
    Ok(())
}

/// The callback URL of `team`'s subscriptions, given `url`, where SalesLoft reaches the
/// webhook route (`/webhooks/salesloft`): `url` itself for the default team, `url/{slug}`
/// for another.
pub fn team_webhook_url(url: &str, team: &TeamRecord) -> String {
    if team.id == TeamId::DEFAULT {
        url.to_owned()
    } else {
        format!("{}/{}", url.trim_end_matches('/'), team.slug)
    }
}

/// Where `team_store`'s team keeps the rotating tokens of `app` (read by its clients before
/// the sealed ones of its row, which are the fallback).
pub fn team_token_store(team_store: &Store, app: &OAuthApp) -> DbTokenStore {
    DbTokenStore::new(
        team_store.clone(),
        format!("oauth:{}:{}", app.token_url, app.client_id),
    )
}

/// A client for `team`, spending from its SalesLoft team's shared budget: the default team
/// with the configured credentials, any other with its stored ones. `store` is any handle on
/// the deployment's database; `settings` are the deployment's (the team's overrides are
/// applied here).
pub async fn team_client(store: &Store, settings: &Settings, team: &TeamRecord) -> Result<Client> {
    let (builder, budget) = team_client_builder(store, settings, team).await?;
    Ok(builder.limiter(Arc::new(budget)).build()?)
}

/// [`team_client`]'s parts, for a caller that wraps the budget (a meter of what a command
/// spent): the builder with the team's credentials and base URL, and its shared budget.
pub async fn team_client_builder(
    store: &Store,
    settings: &Settings,
    team: &TeamRecord,
) -> Result<(ClientBuilder, SharedBudget)> {
    let settings = &team_settings(settings, team)?;
    let scoped = store.team(team.id);
    let (builder, budget_key) = if team.id == TeamId::DEFAULT {
        (
            settings.client_builder(Some(&scoped))?,
            settings.budget_key(),
        )
    } else {
        let credentials =
            store
                .team_credentials(&team.slug)
                .await?
                .ok_or_else(|| Error::Invalid {
                    key: format!("teams.{}", team.slug),
                    message: "the team has no stored credentials: connect it again".into(),
                })?;
        let auth = stored_auth(&scoped, settings, &credentials)?;
        let key =
            team_budget_key(settings, team).unwrap_or_else(|| auth.budget_key(&team.base_url));
        (settings.client_builder_for(auth, &team.base_url), key)
    };
    let budget = SharedBudget::new(scoped, budget_key, settings.budget()).await?;
    Ok((builder, budget))
}

/// `team`'s shared budget as its workers spend it (the deployment's `settings` with the
/// team's overrides: creating a `SharedBudget` sets the row's capacity, so every reader must
/// name the same one); `None` while its name is unknown ([`team_budget_key`]).
pub async fn team_budget(
    store: &Store,
    settings: &Settings,
    team: &TeamRecord,
) -> Result<Option<SharedBudget>> {
    let Some(key) = team_budget_key(settings, team) else {
        return Ok(None);
    };
    let config = team_settings(settings, team)?.budget();
    Ok(Some(
        SharedBudget::new(store.team(team.id), key, config).await?,
    ))
}

/// The shared budget of the team `store` acts on, as its workers spend it ([`team_budget`];
/// the deployment's settings while the team has no row or no known budget name).
pub async fn store_team_budget(store: &Store, settings: &Settings) -> Result<SharedBudget> {
    if let Some(team) = store.team_by_id(store.team_id()).await?
        && let Some(budget) = team_budget(store, settings, &team).await?
    {
        return Ok(budget);
    }
    Ok(SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?)
}

/// How a team's work stands, for operators: its row's state, except that an active team
/// whose credentials SalesLoft rejected (held: no request but one probe every
/// `api.credential_probe_secs`, which lifts the hold once accepted) shows
/// `credentials_rejected`.
pub fn shown_state(team: &TeamRecord, holds: &[salesloft_client::CredentialHold]) -> &'static str {
    match team.state {
        salesloft_storage::TeamState::Active if !holds.is_empty() => {
            salesloft_storage::TeamState::CredentialsRejected.as_str()
        }
        state => state.as_str(),
    }
}

/// The name of `team`'s shared budget: the configured one for the default team; for another,
/// its SalesLoft team's at its base URL (`None` until SalesLoft's id of the team is known:
/// then its credential's).
pub fn team_budget_key(settings: &Settings, team: &TeamRecord) -> Option<String> {
    if team.id == TeamId::DEFAULT {
        return Some(settings.budget_key());
    }
    team.salesloft_team_id
        .map(|id| salesloft_client::budget_key(&team.base_url, &format!("team:{id}")))
}

/// The client credentials of stored team credentials: an API key as it is; OAuth tokens with
/// the configured app's secret (an app's secret never leaves the configuration), their
/// rotations kept in the team's rows.
fn stored_auth(store: &Store, settings: &Settings, credentials: &TeamCredentials) -> Result<Auth> {
    match credentials {
        TeamCredentials::ApiKey(key) => Ok(Auth::api_key(key.expose_secret())),
        TeamCredentials::OAuth { client_id, tokens } => {
            let app = settings.oauth_app().ok_or(Error::Missing {
                key: "oauth.client_secret",
                hint: "a team connected with OAuth needs the app's id and secret: set SALESLOFT_OAUTH_CLIENT_ID and SALESLOFT_OAUTH_CLIENT_SECRET",
            })?;
            if app.client_id != *client_id {
                return Err(Error::Invalid {
                    key: "oauth.client_id".into(),
                    message: format!(
                        "the team was connected through the OAuth app {client_id:?}, not the configured one"
                    ),
                });
            }
            let saved = Arc::new(team_token_store(store, &app));
            Ok(Auth::oauth(app, tokens.clone(), saved))
        }
    }
}

/// The job registries of every team of a deployment, for one worker pool
/// ([`salesloft_jobs::Runner::for_teams`]): each team's built-in jobs (and the caller's, by
/// `customize`) bound to that team's store handle, client and budget, built on first use and
/// kept for five minutes.
pub struct TeamJobs {
    store: Store,
    settings: Arc<Settings>,
    customize: CustomizeJobs,
    registries: moka::future::Cache<TeamId, Arc<Registry>>,
}

impl std::fmt::Debug for TeamJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamJobs")
            .field("teams_built", &self.registries.entry_count())
            .finish_non_exhaustive()
    }
}

impl TeamJobs {
    /// Registries of the teams on `store`'s database, with `settings` for every team.
    pub fn new(store: Store, settings: Arc<Settings>, customize: CustomizeJobs) -> Self {
        Self {
            store,
            settings,
            customize,
            registries: moka::future::Cache::builder()
                .time_to_live(REGISTRY_TTL)
                .build(),
        }
    }

    /// The registry of `team`, built now if it is not kept.
    pub async fn get(&self, team: TeamId) -> Result<Arc<Registry>> {
        self.registries
            .try_get_with(team, self.build(team))
            .await
            .map_err(|e| match Arc::try_unwrap(e) {
                Ok(e) => e,
                Err(shared) => Error::Invalid {
                    key: format!("teams.{team}"),
                    message: salesloft_services::error_chain(&*shared),
                },
            })
    }

    /// Forget `team`'s registry (its credentials or settings changed).
    pub async fn forget(&self, team: TeamId) {
        self.registries.invalidate(&team).await;
    }

    async fn build(&self, team: TeamId) -> Result<Arc<Registry>> {
        let record = self.store.team_by_id(team).await?.ok_or(Error::Invalid {
            key: format!("teams.{team}"),
            message: "no such team".into(),
        })?;
        let client = team_client(&self.store, &self.settings, &record).await?;
        let settings = &team_settings(&self.settings, &record)?;
        let scoped = self.store.team(team);
        if team == TeamId::DEFAULT {
            // Jobs held for credentials SalesLoft rejected are this process's to run if its
            // credentials are others (a new key in the configuration).
            let released = scoped.take_over_holds(client.credential_id()).await?;
            if released > 0 {
                tracing::info!(
                    jobs = released,
                    "the credentials changed: jobs held for the old ones run now"
                );
            }
        }
        let ctx = Context::new(client, scoped).with_team(settings.team());
        let builtin = BuiltinSettings::new(
            settings.sync_options(false),
            settings.reconcile_options(false),
            settings.engagement(),
            settings.people_policies(),
        );
        let registry = (self.customize)(
            builtin_registry(&ctx, builtin, settings.inbox_retention()),
            &ctx,
        );
        Ok(Arc::new(registry))
    }
}

#[async_trait::async_trait]
impl TeamRegistries for TeamJobs {
    async fn registry(&self, team: TeamId) -> std::result::Result<Arc<Registry>, JobError> {
        self.get(team).await.map_err(|e| {
            let message = salesloft_services::error_chain(&e);
            match e {
                Error::Storage(s) => JobError::from(s),
                Error::Client(c) => JobError::from(c),
                _ => JobError::permanent(message),
            }
        })
    }

    /// Every team but the default one when the configuration holds no credentials (a
    /// deployment serving only connected teams).
    fn serves(&self, team: TeamId) -> bool {
        team != TeamId::DEFAULT || self.settings.has_credentials()
    }

    /// The built-in schedules at the team's own sync interval, when it has one.
    fn schedules(&self, team: &TeamRecord) -> Option<Vec<salesloft_jobs::Schedule>> {
        let every = TeamOverrides::of(team).ok()?.sync_every_secs?;
        match salesloft_webhooks::jobs::builtin_schedules(Duration::from_secs(every)) {
            Ok(schedules) => Some(schedules),
            Err(e) => {
                tracing::warn!(team = %team.slug, error = %e, "the team's schedules could not be made; it runs the deployment's");
                None
            }
        }
    }
}

/// The team a command acts on: the one named `slug`; without one, the default team when the
/// configuration holds credentials or no other team exists (a single-team deployment), else
/// the only other team. Anything else asks for a slug, listing the teams.
pub async fn resolve_team(
    store: &Store,
    settings: &Settings,
    slug: Option<&TeamSlug>,
) -> Result<TeamRecord> {
    let teams = store.teams().await?;
    let unknown = |what: String| Error::Invalid {
        key: "team".into(),
        message: format!(
            "{what}: name one with --team (or SALESLOFT_TEAM): {}",
            teams
                .iter()
                .map(|t| t.slug.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if let Some(slug) = slug {
        return teams
            .iter()
            .find(|t| &t.slug == slug)
            .cloned()
            .ok_or_else(|| unknown(format!("no team named {slug}")));
    }
    let others: Vec<&TeamRecord> = teams.iter().filter(|t| t.id != TeamId::DEFAULT).collect();
    if settings.has_credentials() || others.is_empty() {
        return teams
            .iter()
            .find(|t| t.id == TeamId::DEFAULT)
            .cloned()
            .ok_or_else(|| unknown("the default team is gone".into()));
    }
    match others.as_slice() {
        [only] => Ok((*only).clone()),
        _ => Err(unknown(
            "several teams, and no credentials configured".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesloft_storage::testing::TestDb;
    use salesloft_storage::{Keyring, SecretsKey};

    async fn add(store: &Store, slug: &str, id: i64) {
        store
            .add_team(&NewTeam {
                slug: TeamSlug::parse(slug).unwrap(),
                base_url: "http://sl".into(),
                salesloft_team_id: Some(id),
                name: None,
                credentials: TeamCredentials::ApiKey("ak".to_owned().into()),
                settings: serde_json::json!({}),
            })
            .await
            .unwrap();
    }

    async fn resolved(store: &Store, settings: &Settings, slug: Option<&str>) -> Result<String> {
        let slug = slug.map(|s| TeamSlug::parse(s).unwrap());
        resolve_team(store, settings, slug.as_ref())
            .await
            .map(|t| t.slug.to_string())
    }

    #[tokio::test]
    async fn a_command_acts_on_the_named_team_or_the_only_one() {
        let db = TestDb::sqlite().await.unwrap();
        let store = db
            .store
            .clone()
            .with_keyring(Arc::new(Keyring::new(SecretsKey::generate("k").0)));
        let mut keyless = Settings::defaults().unwrap();
        keyless.api.key = None;
        let mut keyed = Settings::defaults().unwrap();
        keyed.api.key = Some("ak_configured".to_owned().into());
        // One team: the default, with or without a key (offline commands need none).
        assert_eq!(resolved(&store, &keyless, None).await.unwrap(), "default");
        add(&store, "acme", 1).await;
        // The configured key's team, else the only connected one.
        assert_eq!(resolved(&store, &keyed, None).await.unwrap(), "default");
        assert_eq!(resolved(&store, &keyless, None).await.unwrap(), "acme");
        add(&store, "globex", 2).await;
        let several = resolved(&store, &keyless, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(several.contains("acme, default, globex"), "{several}");
        assert_eq!(
            resolved(&store, &keyless, Some("globex")).await.unwrap(),
            "globex"
        );
        assert!(resolved(&store, &keyed, Some("nobody")).await.is_err());
    }
}
