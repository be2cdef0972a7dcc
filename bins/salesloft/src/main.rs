//! `salesloft`: the operator's command line for the SalesLoft integration toolkit.
//!
//! It loads the shared configuration (salesloft-config), installs logging and the terminal
//! display, and calls the libraries; it holds no logic of its own beyond printing.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cadences;
mod display;
mod error;
mod local;
mod meter;
mod people;
mod remote;
mod report;
mod up;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use salesloft_client::{RESOURCES, Resource, Timestamp, WalkCursor};
use salesloft_config::Settings;
use salesloft_services::{Context, PeopleSync, Stream};
use salesloft_storage::{SharedBudget, Store};

use crate::display::Display;
use crate::error::CliError;
use crate::meter::Metered;

/// Operate a SalesLoft integration: keep a local copy, inspect the API, walk its records.
#[derive(Debug, Parser)]
#[command(name = "salesloft", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// A resource of the registry, by name.
fn resource_arg() -> impl TypedValueParser<Value = &'static Resource> {
    PossibleValuesParser::new(RESOURCES.iter().map(|r| r.name))
        .try_map(|name| Resource::named(&name).ok_or_else(|| format!("unknown resource {name:?}")))
}

/// A stream, by name.
fn stream_arg() -> impl TypedValueParser<Value = Stream> {
    PossibleValuesParser::new(Stream::all().iter().map(|s| s.name()))
        .try_map(|name| name.parse::<Stream>())
}

#[derive(Debug, Subcommand)]
enum WebhooksAction {
    /// Subscribe URL to SalesLoft's webhooks: one subscription per event type (every
    /// documented type unless --event), signed with a generated token kept in the database
    /// for salesloft-server. Run again, it creates nothing.
    Subscribe {
        /// Where SalesLoft delivers: salesloft-server's /webhooks/salesloft, as SalesLoft
        /// reaches it.
        #[arg(long)]
        url: String,
        /// Only this event type (repeatable), such as `person_updated`.
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// The team's subscriptions, and which ones the database keeps the token of.
    List,
    /// Remove subscriptions: one by --id, every one to --url, or (neither) every one the
    /// database keeps.
    Unsubscribe {
        /// Every subscription delivering here.
        #[arg(long, conflicts_with = "id")]
        url: Option<String>,
        /// This subscription.
        #[arg(long)]
        id: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// Jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_parser = ["available", "running", "completed", "dead", "cancelled"])]
        state: Option<String>,
        /// Only jobs of this kind (such as `sync`).
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One job in full: payload, attempts, last error.
    Show {
        /// The job's id.
        id: i64,
    },
    /// Run a dead or cancelled job again, with its attempts reset.
    Retry {
        /// The job's id.
        id: i64,
    },
    /// Cancel a pending or running job (a running one stops at its next heartbeat).
    Cancel {
        /// The job's id.
        id: i64,
    },
    /// Lift every hold on credentials SalesLoft rejected and run the jobs that waited for
    /// them now (after fixing the key or the app's access in SalesLoft).
    Resume,
}

/// Who a bulk cadence command is for.
#[derive(Debug, clap::Args)]
struct PeopleArgs {
    /// The cadence.
    #[arg(long)]
    cadence: i64,
    /// A person's SalesLoft id (repeatable).
    #[arg(long = "person")]
    people: Vec<i64>,
    /// A file of person ids, one per line (`#` comments allowed).
    #[arg(long)]
    people_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CadencesAction {
    /// The cadences of the local copy.
    List,
    /// One cadence with its steps and how many people are on it.
    Show {
        /// The cadence's id.
        id: i64,
    },
    /// Create a cadence with its steps from a JSON or TOML definition (the body of
    /// `cadence_imports`: settings, sharing_settings, cadence_content).
    Import {
        /// The definition (`.toml` is read as TOML, anything else as JSON).
        file: PathBuf,
    },
    /// Add people to a cadence at one write each; people on it already and do-not-contact
    /// ones are skipped (and reported). Run again, it writes only what is left.
    Enroll {
        #[command(flatten)]
        who: PeopleArgs,
        /// Enroll them under this user (default: the authenticated one).
        #[arg(long)]
        user: Option<i64>,
        /// Start at this step (default: the first).
        #[arg(long)]
        step: Option<i64>,
    },
    /// Take people off a cadence at one write each; people not on it cost nothing.
    Remove {
        #[command(flatten)]
        who: PeopleArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PeopleAction {
    /// Push your system's people to SalesLoft under the `[people]` field policies: only what
    /// must change is written (an unchanged record costs nothing), new e-mail addresses are
    /// created, and records SalesLoft refuses are parked with its errors. Each record names
    /// its person by `id`, `crm_id` or `email_address` and may say when it was `changed_at`
    /// (else: when the file was written). Exit code: 0 when every record was written or
    /// unchanged, 1 when some were not (parked, failed, to retry), 2 when the file was
    /// refused before any write (an unreadable record or header, named by its line).
    Push {
        /// The records: JSON lines, or CSV (a header row of SalesLoft field names) when the
        /// name ends in `.csv`.
        #[arg(long)]
        file: PathBuf,
        /// Queue them for `salesloft-worker` (500 per job) instead of pushing now.
        #[arg(long)]
        enqueue: bool,
    },
    /// People changed in SalesLoft since a cursor (added, updated, deleted), as JSON lines
    /// in order, leaving out the echoes of the toolkit's own writes; the cursor to go on from
    /// goes to stderr. Reads the local copy: `salesloft sync` (or the worker) keeps it fresh.
    Changes {
        /// Where to start: `start`, `now` (only what changes from here on), or a cursor an
        /// earlier run printed.
        #[arg(long, default_value = "start")]
        since: String,
        /// At most this many changes.
        #[arg(long, default_value_t = 10_000)]
        limit: usize,
    },
    /// The records SalesLoft refused, with its field errors.
    Parked,
}

#[derive(Debug, Subcommand)]
enum ReportKind {
    /// Daily engagement per (day, user, cadence): e-mails sent, delivered, bounced, opened,
    /// clicked and replied, calls, connected calls and call seconds, each activity on its
    /// user's local day. Recomputes what changed first (no API cost).
    Engagement {
        /// The first day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        from: chrono::NaiveDate,
        /// The last day (YYYY-MM-DD), inclusive.
        #[arg(long)]
        to: chrono::NaiveDate,
        /// Sum per day, per user or per cadence instead of one row per key.
        #[arg(long, value_enum)]
        by: Option<report::By>,
        /// How to print.
        #[arg(long, value_enum, default_value = "table")]
        format: report::Format,
        /// Recompute every day first, not only the changed ones.
        #[arg(long)]
        full: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Command {
    /// See it run: an offline SalesLoft with a live team, the server subscribed to its
    /// webhooks, the worker backfilling and keeping the copy fresh, and the status page; all in
    /// one process on SQLite, no API key. Ctrl-C stops it.
    Up {
        /// People in the offline team (accounts, cadences and activities scale with it).
        #[arg(long, default_value_t = 2_000)]
        people: usize,
        /// The status page's port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The SQLite file of the local copy.
        #[arg(long, default_value = "salesloft-up.db")]
        db: String,
        /// Changes a second the simulated team makes.
        #[arg(long, default_value_t = 2.0)]
        changes_per_second: f64,
    },
    /// Create or upgrade the local database's tables.
    Migrate,
    /// Bring the local copy up to date: the first run backfills, later runs fetch only what
    /// changed, a killed run resumes where it stopped.
    Sync {
        /// Only these streams (repeatable). Default: all.
        #[arg(long = "stream", value_parser = stream_arg())]
        streams: Vec<Stream>,
        /// Forget the cursors and read everything again.
        #[arg(long)]
        full: bool,
    },
    /// Per stream: records, freshness (time since the last successful sync), cursor, records
    /// stored with drifted fields, quarantined items and last error.
    Status,
    /// Find records deleted in SalesLoft that no webhook reported and mark them deleted in the
    /// local copy (cost 1 per 100 local records). Deletes nothing when more than
    /// `sync.reconcile_max_percent` of a stream is missing, unless --force.
    Reconcile {
        /// Only these streams (repeatable). Default: all.
        #[arg(long = "stream", value_parser = stream_arg())]
        streams: Vec<Stream>,
        /// Delete whatever is missing, however much.
        #[arg(long)]
        force: bool,
    },
    /// Start an offline SalesLoft with a realistic team, sync it into SQLite, check the copy
    /// record by record, and print what it cost. Needs no API key.
    Demo {
        /// People in the demo team (accounts, memberships and activities scale with it).
        #[arg(long, default_value_t = 20_000)]
        people: usize,
        /// The SQLite file to sync into (replaced).
        #[arg(long, default_value = "salesloft-demo.db")]
        db: String,
    },
    /// Manage cadences and enroll people in them.
    Cadences {
        #[command(subcommand)]
        action: CadencesAction,
    },
    /// Two-way people sync: push your people, read what changed in SalesLoft.
    People {
        #[command(subcommand)]
        action: PeopleAction,
    },
    /// Reports from the local copy.
    Report {
        #[command(subcommand)]
        kind: ReportKind,
    },
    /// Manage the team's webhook subscriptions to salesloft-server.
    Webhooks {
        #[command(subcommand)]
        action: WebhooksAction,
    },
    /// Inspect and steer the background jobs `salesloft-worker` runs.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Show the authenticated user and their team: checks the credentials.
    Me,
    /// Print one page of a list as JSON lines (or every page with --all).
    List {
        /// What to list.
        #[arg(value_parser = resource_arg())]
        resource: &'static Resource,
        /// Records per page (1-100).
        #[arg(long, default_value_t = 100)]
        per_page: u32,
        /// The page to fetch.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Follow next_page to the end (pages past 100 cost more; prefer `walk`).
        #[arg(long)]
        all: bool,
        /// Only records updated at or after this RFC 3339 instant.
        #[arg(long)]
        updated_since: Option<Timestamp>,
    },
    /// Print every record changed since a cursor as JSON lines, at cost 1 per 100 records;
    /// the final cursor goes to stderr, to resume from with --cursor.
    Walk {
        /// What to walk (users and steps cannot be: list them).
        #[arg(value_parser = resource_arg())]
        resource: &'static Resource,
        /// Start at this RFC 3339 instant (default: the beginning).
        #[arg(long, conflicts_with = "cursor")]
        since: Option<Timestamp>,
        /// Resume from a cursor printed by an earlier walk (JSON).
        #[arg(long)]
        cursor: Option<String>,
        /// Stop after this many pages.
        #[arg(long)]
        max_pages: Option<u64>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match salesloft_config::load_for_binary(cli.config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let display = Display::new();
    init_logging(&settings.log.filter, &display);
    let result = match cli.command {
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
            up::up(options, cli.config.as_deref()).await
        }
        command => run(command, &settings, &display).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", salesloft_config::error_chain(&e));
            e.exit_code()
        }
    }
}

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

fn init_logging(default_filter: &str, display: &Display) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(display.is_terminal())
        .log_internal_errors(false)
        .with_writer(display.log_writer())
        .init();
}

/// A context for work on the local copy alone: its client is never called (and needs no key).
fn offline_context(settings: &Settings, store: &Store) -> Result<Context, CliError> {
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key("unused-offline"))
            .build()?;
    Ok(Context::new(client, store.clone()).with_team(settings.team()))
}

async fn run(command: Command, settings: &Settings, display: &Display) -> Result<(), CliError> {
    use secrecy::ExposeSecret;
    let db_url = settings.database.url.expose_secret();
    match command {
        Command::Migrate => {
            let store = local::open_store(db_url).await?;
            store.close().await;
            println!("database migrated: {}", settings.database.display_url());
            return Ok(());
        }
        Command::Status => return local::status(local::open_store(db_url).await?).await,
        Command::Jobs { action } => {
            let store = local::open_store(db_url).await?;
            let result = jobs(&store, action).await;
            store.close().await;
            return result;
        }
        Command::Demo { people, db } => {
            return local::demo(people, &db, settings.team(), display).await;
        }
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
            let store = local::open_store(db_url).await?;
            let ctx = offline_context(settings, &store)?;
            let result =
                report::engagement(ctx, settings.engagement(), (from, to), by, format, full).await;
            store.close().await;
            return result;
        }
        Command::People {
            action: PeopleAction::Changes { since, limit },
        } => {
            let store = local::open_store(db_url).await?;
            let sync = PeopleSync::new(
                offline_context(settings, &store)?,
                settings.people_policies(),
            );
            let result = people::changes(&sync, &since, limit).await;
            store.close().await;
            return result;
        }
        Command::People {
            action: PeopleAction::Parked,
        } => {
            let store = local::open_store(db_url).await?;
            let result = people::parked(&store).await;
            store.close().await;
            return result;
        }
        Command::People {
            action:
                PeopleAction::Push {
                    file,
                    enqueue: true,
                },
        } => {
            let records = people::read_records(&file)?;
            let store = local::open_store(db_url).await?;
            let result = people::enqueue(&store, &records).await;
            store.close().await;
            return result;
        }
        _ => {}
    }
    // Every command that spends does so from the team's budget in the database, shared by
    // every process and surviving restarts.
    let store = local::open_store(db_url).await?;
    let budget = SharedBudget::new(store.clone(), settings.budget_key(), settings.budget()).await?;
    let meter = Arc::new(Metered::new(budget));
    let client = settings
        .client_builder(Some(&store))?
        .limiter(meter.clone())
        .build()?;
    match command {
        Command::Migrate
        | Command::Up { .. }
        | Command::Status
        | Command::Demo { .. }
        | Command::Jobs { .. }
        | Command::Report { .. }
        | Command::People {
            action: PeopleAction::Changes { .. } | PeopleAction::Parked,
        }
        | Command::People {
            action: PeopleAction::Push { enqueue: true, .. },
        } => {}
        Command::People {
            action:
                PeopleAction::Push {
                    file,
                    enqueue: false,
                },
        } => {
            let records = people::read_records(&file)?;
            let sync = PeopleSync::new(
                Context::new(client, store.clone()).with_team(settings.team()),
                settings.people_policies(),
            );
            people::push(&sync, &records).await?;
        }
        Command::Sync { streams, full } => {
            local::sync(local::SyncRun {
                ctx: Context::new(client, store.clone()).with_team(settings.team()),
                streams,
                options: settings.sync_options(full),
                budget: settings.budget(),
                display,
            })
            .await?;
        }
        Command::Reconcile { streams, force } => {
            local::reconcile(
                Context::new(client, store.clone()).with_team(settings.team()),
                streams,
                settings.reconcile_options(force),
            )
            .await?;
        }
        Command::Me => remote::me(&client).await?,
        Command::Cadences { action } => {
            let manager = salesloft_services::CadenceManager::new(
                Context::new(client, store.clone()).with_team(settings.team()),
            );
            match action {
                CadencesAction::List => cadences::list(&manager).await?,
                CadencesAction::Show { id } => cadences::show(&manager, id.into()).await?,
                CadencesAction::Import { file } => cadences::import(&manager, &file).await?,
                CadencesAction::Enroll { who, user, step } => {
                    let people = cadences::people(who.people, who.people_file.as_deref())?;
                    let mut options = salesloft_services::EnrollOptions::default();
                    options.user_id = user.map(Into::into);
                    options.step_id = step.map(Into::into);
                    cadences::enroll(&manager, who.cadence.into(), &people, &options).await?;
                }
                CadencesAction::Remove { who } => {
                    let people = cadences::people(who.people, who.people_file.as_deref())?;
                    cadences::remove(&manager, who.cadence.into(), &people).await?;
                }
            }
        }
        Command::Webhooks { action } => match action {
            WebhooksAction::Subscribe { url, events } => {
                webhooks::subscribe(&client, &store, &url, events).await?;
            }
            WebhooksAction::List => webhooks::list(&client, &store).await?,
            WebhooksAction::Unsubscribe { url, id } => {
                webhooks::unsubscribe(&client, &store, url, id).await?;
            }
        },
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
            remote::list(&client, resource, options).await?;
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
            remote::walk(&client, resource, cursor, max_pages.unwrap_or(u64::MAX)).await?;
        }
    }
    store.close().await;
    eprintln!("{}", meter.summary());
    Ok(())
}
