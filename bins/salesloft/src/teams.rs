//! `salesloft teams add|list|pause|resume|remove`: the SalesLoft teams one deployment serves.

use salesloft_config::Settings;
use salesloft_runtime::teams::{TeamConnection, TeamOverrides, connect_team, team_budget};
use salesloft_storage::{Store, TeamCredentials, TeamSlug, TeamState};

use crate::args::{OverrideArgs, TeamsAction};
use crate::error::CliError;

/// Rows deleted per statement when a team is purged.
const PURGE_BATCH: u32 = 1_000;

/// Run a `teams` action.
pub async fn run(store: &Store, settings: &Settings, action: TeamsAction) -> Result<(), CliError> {
    match action {
        TeamsAction::Add {
            slug,
            base_url,
            api_key_env,
            api_key,
            overrides,
        } => {
            let key = match (api_key_env, api_key) {
                (Some(var), _) => std::env::var(&var).map_err(|_| {
                    CliError::Usage(format!("the environment variable {var} is not set"))
                })?,
                (None, Some(key)) => key,
                (None, None) => {
                    return Err(CliError::Usage(
                        "give --api-key-env VAR or --api-key KEY".into(),
                    ));
                }
            };
            let connection = TeamConnection {
                slug,
                base_url,
                credentials: TeamCredentials::ApiKey(key.into()),
                overrides: overrides_of(overrides, TeamOverrides::default()),
            };
            let team = connect_team(store, settings, connection).await?;
            println!(
                "team {} connected: SalesLoft team {} ({}); its backfill is queued for the workers",
                team.slug,
                team.salesloft_team_id.unwrap_or_default(),
                team.name.as_deref().unwrap_or("unnamed")
            );
            Ok(())
        }
        TeamsAction::Set { slug, overrides } => set(store, settings, &slug, overrides).await,
        TeamsAction::List => list(store, settings).await,
        TeamsAction::Pause { slug } => set_state(store, &slug, TeamState::Paused).await,
        TeamsAction::Resume { slug } => set_state(store, &slug, TeamState::Active).await,
        TeamsAction::Remove { slug, purge } => remove(store, &slug, purge).await,
    }
}

/// `given` over `current`: what the flags name replaces, the rest stays.
fn overrides_of(given: OverrideArgs, current: TeamOverrides) -> TeamOverrides {
    let dispositions = (!given.connected_dispositions.is_empty())
        .then_some(given.connected_dispositions)
        .or(current.connected_dispositions.clone());
    let mut policies = current.field_policies.clone();
    policies.extend(given.field_policies);
    current
        .clone()
        .with_time_zone(given.time_zone.or(current.time_zone))
        .with_budget_per_minute(given.budget_per_minute.or(current.budget_per_minute))
        .with_connected_dispositions(dispositions)
        .with_sync_every_secs(given.sync_every_secs.or(current.sync_every_secs))
        .with_field_policies(policies)
        .with_default_policy(given.default_policy.or(current.default_policy))
}

async fn set(
    store: &Store,
    settings: &Settings,
    slug: &TeamSlug,
    given: OverrideArgs,
) -> Result<(), CliError> {
    let team = store
        .team_by_slug(slug)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no team named {slug}")))?;
    let overrides = overrides_of(given, TeamOverrides::of(&team)?);
    overrides.apply(settings)?;
    let json = serde_json::to_value(&overrides)?;
    store.set_team_settings(slug, &json).await?;
    println!("team {slug}: {json}");
    Ok(())
}

async fn set_state(store: &Store, slug: &TeamSlug, state: TeamState) -> Result<(), CliError> {
    if !store.set_team_state(slug, state).await? {
        return Err(CliError::Usage(format!("no team named {slug}")));
    }
    println!("team {slug} is {}", state.as_str());
    Ok(())
}

async fn remove(store: &Store, slug: &TeamSlug, purge: bool) -> Result<(), CliError> {
    let team = store
        .team_by_slug(slug)
        .await?
        .ok_or_else(|| CliError::Usage(format!("no team named {slug}")))?;
    if !purge && store.team_holds_rows(team.id).await? {
        return Err(CliError::Usage(format!(
            "team {slug} holds records, jobs or webhooks: `salesloft teams remove {slug} --purge` deletes them with it"
        )));
    }
    let deleted = store.remove_team(slug, PURGE_BATCH).await?;
    println!("team {slug} removed ({deleted} rows deleted)");
    Ok(())
}

/// One line per team: slug, SalesLoft team, state, records kept, spent this minute.
async fn list(store: &Store, settings: &Settings) -> Result<(), CliError> {
    println!(
        "{:<20} {:>12}  {:<24} {:<21} {:>10} {:>12}",
        "SLUG", "SALESLOFT ID", "NAME", "STATE", "RECORDS", "SPENT/MINUTE"
    );
    let minute = store.now_ms() - store.now_ms().rem_euclid(60_000);
    for team in store.teams().await? {
        let scoped = store.team(team.id);
        let snapshot = salesloft_runtime::status::StatusSnapshot::gather(&scoped).await?;
        let records: i64 = snapshot.streams.iter().map(|s| s.records).sum();
        let spent = match team_budget(store, settings, &team).await? {
            Some(budget) => {
                let spend = budget.spend_since(minute).await?;
                format!("{:.0}", spend.iter().map(|m| m.cost).sum::<f64>())
            }
            None => "-".into(),
        };
        println!(
            "{:<20} {:>12}  {:<24} {:<21} {:>10} {:>12}",
            team.slug.as_str(),
            team.salesloft_team_id
                .map_or("-".to_owned(), |id| id.to_string()),
            team.name.as_deref().unwrap_or("-"),
            salesloft_runtime::teams::shown_state(&team, &snapshot.credential_holds),
            records,
            spent
        );
    }
    Ok(())
}
