//! What each subcommand does: open the store, build the client, call the libraries, print.

use std::sync::Arc;

use salesloft_client::WalkCursor;
use salesloft_config::Settings;
use salesloft_services::{Context, PeopleSync};
use salesloft_storage::Store;

use crate::args::*;
use crate::display::Display;
use crate::error::CliError;
use crate::meter::Metered;
use crate::{cadences, local, people, remote, report, teams, up, webhooks};

async fn jobs(store: &salesloft_storage::Store, action: JobsAction) -> Result<(), CliError> {
    match action {
        JobsAction::List { state, kind, limit } => {
            let jobs = store.jobs(state.as_deref(), kind.as_deref(), limit).await?;
            local::print_jobs(&jobs);
        }
        JobsAction::Show { id } => match store.job(id).await? {
            Some(job) => local::print_job(&job),
            None => return Err(CliError::Usage(format!("no job {id}"))),
        },
        JobsAction::Retry { id } => {
            if !store.retry_job(id).await? {
                return Err(CliError::Usage(format!(
                    "job {id} is not dead or cancelled (or does not exist)"
                )));
            }
            println!("job {id} will run again now");
        }
        JobsAction::Cancel { id } => {
            if !store.cancel_job(id).await? {
                return Err(CliError::Usage(format!(
                    "job {id} has finished already (or does not exist)"
                )));
            }
            println!("job {id} cancelled");
        }
        JobsAction::Resume => {
            let holds = store.credential_holds().await?;
            let released = store.release_all_credentials().await?;
            println!(
                "lifted {} credential hold(s); {released} job(s) run now",
                holds.len()
            );
        }
    }
    Ok(())
}

/// A context for work on the local copy alone: its client is never called (and needs no key).
fn offline_context(settings: &Settings, store: &Store) -> Result<Context, CliError> {
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key("unused-offline"))
            .build()?;
    Ok(Context::new(client, store.clone()).with_team(settings.team()))
}

/// What a command was pointed at: the file `--config` named (for `up`) and the team
/// `--team` named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    /// `--config`.
    pub(crate) config: Option<&'a std::path::Path>,
    /// `--team`.
    pub(crate) team: Option<&'a salesloft_storage::TeamSlug>,
}

/// The store scoped to the team a command acts on, that team, and the settings it runs with
/// (the deployment's with the team's overrides: its time zone, policies, budget).
async fn team_store(
    settings: &Settings,
    team: Option<&salesloft_storage::TeamSlug>,
) -> Result<(Store, salesloft_storage::TeamRecord, Settings), CliError> {
    let store = salesloft_runtime::open_store(settings).await?;
    let resolved = async {
        let record = salesloft_runtime::teams::resolve_team(&store, settings, team).await?;
        let applied = salesloft_runtime::teams::team_settings(settings, &record)?;
        Ok::<_, salesloft_runtime::Error>((record, applied))
    };
    match resolved.await {
        Ok((record, applied)) => Ok((store.team(record.id), record, applied)),
        Err(e) => {
            store.close().await;
            Err(e.into())
        }
    }
}

/// Run `command` against `target`.
pub(crate) async fn run(
    command: Command,
    target: Target<'_>,
    settings: &Settings,
    display: &Display,
) -> Result<(), CliError> {
    use secrecy::ExposeSecret;
    match command {
        Command::Up {
            people,
            port,
            db,
            changes_per_second,
        } => {
            let options = up::UpOptions {
                people,
                port,
                db,
                changes_per_second,
            };
            up::up(options, target.config).await
        }
        Command::Migrate { contract } => {
            let store = local::open_migrated(settings.database.url.expose_secret()).await?;
            let contracted = if contract {
                store
                    .migrate_contract()
                    .await
                    .map(|()| " (contract steps too)")
            } else {
                Ok("")
            };
            store.close().await;
            println!(
                "database migrated{}: {}",
                contracted?,
                settings.database.display_url()
            );
            Ok(())
        }
        Command::Demo { people, db } => local::demo(people, &db, settings.team(), display).await,
        Command::Teams { action } => {
            let store = salesloft_runtime::open_store(settings).await?;
            let result = teams::run(&store, settings, action).await;
            store.close().await;
            result
        }
        command if command.is_offline() => {
            let (store, _, settings) = team_store(settings, target.team).await?;
            let result = run_offline(command, &settings, &store).await;
            store.close().await;
            result
        }
        command => run_online(command, settings, target.team, display).await,
    }
}

impl Command {
    /// Whether it works on the local copy alone (no API key, no budget).
    fn is_offline(&self) -> bool {
        matches!(
            self,
            Command::Status
                | Command::Jobs { .. }
                | Command::Report { .. }
                | Command::People {
                    action: PeopleAction::Changes { .. } | PeopleAction::Parked,
                }
                | Command::People {
                    action: PeopleAction::Push { enqueue: true, .. },
                }
        )
    }
}

/// The commands on the local copy alone.
async fn run_offline(command: Command, settings: &Settings, store: &Store) -> Result<(), CliError> {
    match command {
        Command::Status => local::status(store.clone()).await,
        Command::Jobs { action } => jobs(store, action).await,
        Command::Report {
            kind:
                ReportKind::Engagement {
                    from,
                    to,
                    by,
                    format,
                    full,
                },
        } => {
            let ctx = offline_context(settings, store)?;
            report::engagement(ctx, settings.engagement(), (from, to), by, format, full).await
        }
        Command::People {
            action: PeopleAction::Changes { since, limit },
        } => {
            let ctx = offline_context(settings, store)?;
            let sync = PeopleSync::new(ctx, settings.people_policies());
            people::changes(&sync, &since, limit).await
        }
        Command::People {
            action: PeopleAction::Parked,
        } => people::parked(store).await,
        Command::People {
            action: PeopleAction::Push { file, .. },
        } => {
            let records = people::read_records(&file)?;
            people::enqueue(store, &records).await
        }
        other => Err(CliError::Usage(format!("{other:?} needs the API"))),
    }
}

/// The commands that call the API, spending from the team's budget in the database (shared by
/// every process, surviving restarts); the cost spent is printed last.
async fn run_online(
    command: Command,
    settings: &Settings,
    team: Option<&salesloft_storage::TeamSlug>,
    display: &Display,
) -> Result<(), CliError> {
    let (store, record, ref settings) = team_store(settings, team).await?;
    let (builder, budget) =
        salesloft_runtime::teams::team_client_builder(&store, settings, &record).await?;
    let meter = Arc::new(Metered::new(budget));
    let client = builder.limiter(meter.clone()).build()?;
    let ctx = Context::new(client.clone(), store.clone()).with_team(settings.team());
    let result = match command {
        Command::People {
            action: PeopleAction::Push { file, .. },
        } => {
            let records = people::read_records(&file)?;
            let sync = PeopleSync::new(ctx, settings.people_policies());
            people::push(&sync, &records).await
        }
        Command::Sync { streams, full } => {
            local::sync(local::SyncRun {
                ctx,
                streams,
                options: settings.sync_options(full),
                budget: settings.budget(),
                display,
            })
            .await
        }
        Command::Reconcile { streams, force } => {
            local::reconcile(ctx, streams, settings.reconcile_options(force)).await
        }
        Command::Cadences { action } => {
            cadences_command(salesloft_services::CadenceManager::new(ctx), action).await
        }
        Command::Webhooks { action } => webhooks_command(&client, &store, &record, action).await,
        command => remote_command(&client, command).await,
    };
    store.close().await;
    eprintln!("{}", meter.summary());
    result
}

async fn cadences_command(
    manager: salesloft_services::CadenceManager,
    action: CadencesAction,
) -> Result<(), CliError> {
    match action {
        CadencesAction::List => cadences::list(&manager).await,
        CadencesAction::Show { id } => cadences::show(&manager, id.into()).await,
        CadencesAction::Import { file } => cadences::import(&manager, &file).await,
        CadencesAction::Enroll { who, user, step } => {
            let people = cadences::people(who.people, who.people_file.as_deref())?;
            let mut options = salesloft_services::EnrollOptions::default();
            options.user_id = user.map(Into::into);
            options.step_id = step.map(Into::into);
            cadences::enroll(&manager, who.cadence.into(), &people, &options).await
        }
        CadencesAction::Remove { who } => {
            let people = cadences::people(who.people, who.people_file.as_deref())?;
            cadences::remove(&manager, who.cadence.into(), &people).await
        }
    }
}

async fn webhooks_command(
    client: &salesloft_client::Client,
    store: &Store,
    team: &salesloft_storage::TeamRecord,
    action: WebhooksAction,
) -> Result<(), CliError> {
    match action {
        WebhooksAction::Subscribe { url, events } => {
            let url = salesloft_runtime::server::team_webhook_url(&url, team);
            webhooks::subscribe(client, store, &url, events).await
        }
        WebhooksAction::List => webhooks::list(client, store).await,
        WebhooksAction::Unsubscribe { url, id } => {
            webhooks::unsubscribe(client, store, url, id).await
        }
    }
}

/// `me`, `list` and `walk`: reads of the API.
async fn remote_command(
    client: &salesloft_client::Client,
    command: Command,
) -> Result<(), CliError> {
    match command {
        Command::Me => remote::me(client).await,
        Command::List {
            resource,
            per_page,
            page,
            all,
            updated_since,
        } => {
            let options = remote::ListOptions {
                per_page,
                page,
                all,
                updated_since,
            };
            remote::list(client, resource, options).await
        }
        Command::Walk {
            resource,
            since,
            cursor,
            max_pages,
        } => {
            let cursor = match (cursor, since) {
                (Some(c), _) => serde_json::from_str(&c)
                    .map_err(|e| CliError::Usage(format!("--cursor is not a walk cursor: {e}")))?,
                (None, Some(t)) => WalkCursor::since(t),
                (None, None) => WalkCursor::start(),
            };
            remote::walk(client, resource, cursor, max_pages.unwrap_or(u64::MAX)).await
        }
        other => Err(CliError::Usage(format!(
            "{other:?} is not a read of the API"
        ))),
    }
}
