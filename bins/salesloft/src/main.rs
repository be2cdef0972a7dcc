//! `salesloft`: the operator's command line for the SalesLoft integration toolkit.
//!
//! It loads the layered configuration, installs logging, and calls the libraries; it holds no
//! logic of its own beyond printing.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config;
mod ops;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Parser, Subcommand, ValueEnum};
use futures_util::TryStreamExt;
use salesloft_client::{
    BoxError, Client, CostBudget, CostLimiter, ListRequest, ListResource, Observation, RetryPolicy,
    Timestamp, WalkCursor, Walkable,
};

use crate::config::Settings;

/// Operate a SalesLoft integration: inspect the API, walk its records.
#[derive(Debug, Parser)]
#[command(name = "salesloft", version, about)]
struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or upgrade the local database's tables.
    Migrate,
    /// Bring the local copy up to date: the first run backfills, later runs fetch only what
    /// changed, a killed run resumes where it stopped.
    Sync {
        /// Only these streams (repeatable): users, accounts, people, cadences, steps,
        /// cadence_memberships, emails, calls. Default: all.
        #[arg(long = "stream")]
        streams: Vec<salesloft_services::Stream>,
        /// Forget the cursors and read everything again.
        #[arg(long)]
        full: bool,
    },
    /// Per stream: cursor, last success, lag, records and last error.
    Status,
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
    /// Show the authenticated user and their team: checks the credentials.
    Me,
    /// Print one page of a list as JSON lines (or every page with --all).
    List {
        /// What to list.
        resource: Resource,
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
        /// What to walk.
        resource: Resource,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Resource {
    People,
    Accounts,
    Users,
    Cadences,
    Steps,
    CadenceMemberships,
    Emails,
    Calls,
    Notes,
}

/// Wraps the budget to count what was spent, for the summary line.
#[derive(Debug)]
struct Metered {
    inner: CostBudget,
    spent: AtomicU64,
    requests: AtomicU64,
}

#[async_trait::async_trait]
impl CostLimiter for Metered {
    async fn acquire(&self, cost: u32) -> Result<(), BoxError> {
        self.inner.acquire(cost).await
    }
    async fn observe(&self, o: &Observation) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.spent.fetch_add(
            u64::from(o.actual_cost.unwrap_or(o.estimated_cost)),
            Ordering::Relaxed,
        );
        self.inner.observe(o).await
    }
    async fn on_rate_limited(&self, o: &Observation) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.on_rate_limited(o).await
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Api(#[from] salesloft_client::Error),
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[from] serde_json::Error),
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    #[error(transparent)]
    Services(#[from] salesloft_services::Error),
    #[error(transparent)]
    Sandbox(#[from] salesloft_sandbox::SandboxError),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref(), std::env::vars()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings.log.filter);
    match run(cli.command, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

async fn run(command: Command, settings: &Settings) -> Result<(), CliError> {
    match command {
        Command::Migrate => {
            let store = ops::open_store(&settings.database.url).await?;
            store.close().await;
            println!("database migrated");
            return Ok(());
        }
        Command::Status => return ops::status(&settings.database.url).await,
        Command::Demo { people, db } => return ops::demo(people, &db).await,
        _ => {}
    }
    let meter = Arc::new(Metered {
        inner: CostBudget::new(settings.budget()),
        spent: AtomicU64::new(0),
        requests: AtomicU64::new(0),
    });
    let client = Client::builder(settings.auth()?)
        .base_url(&settings.api.base_url)
        .timeout(settings.timeout())
        .limiter(meter.clone())
        .retry(RetryPolicy {
            max_attempts: settings.api.max_attempts,
            ..RetryPolicy::default()
        })
        .build()?;
    match command {
        Command::Migrate | Command::Status | Command::Demo { .. } => {}
        Command::Sync { streams, full } => {
            ops::sync(client, &settings.database.url, streams, full).await?;
        }
        Command::Me => {
            let me = client.me().await?;
            let team = client.team().await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "user": me, "team": team }))?
            );
        }
        Command::List {
            resource,
            per_page,
            page,
            all,
            updated_since,
        } => {
            let opts = ListOptions {
                per_page,
                page,
                all,
                updated_since,
            };
            match resource {
                Resource::People => list(client.people().list(), &opts).await?,
                Resource::Accounts => list(client.accounts().list(), &opts).await?,
                Resource::Users => list(client.users().list(), &opts).await?,
                Resource::Cadences => list(client.cadences().list(), &opts).await?,
                Resource::Steps => list(client.steps().list(), &opts).await?,
                Resource::CadenceMemberships => {
                    list(client.cadence_memberships().list(), &opts).await?
                }
                Resource::Emails => list(client.emails().list(), &opts).await?,
                Resource::Calls => list(client.calls().list(), &opts).await?,
                Resource::Notes => list(client.notes().list(), &opts).await?,
            }
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
            let max = max_pages.unwrap_or(u64::MAX);
            match resource {
                Resource::People => walk(client.people().list(), cursor, max).await?,
                Resource::Accounts => walk(client.accounts().list(), cursor, max).await?,
                Resource::Cadences => walk(client.cadences().list(), cursor, max).await?,
                Resource::CadenceMemberships => {
                    walk(client.cadence_memberships().list(), cursor, max).await?
                }
                Resource::Emails => walk(client.emails().list(), cursor, max).await?,
                Resource::Calls => walk(client.calls().list(), cursor, max).await?,
                Resource::Notes => walk(client.notes().list(), cursor, max).await?,
                Resource::Users | Resource::Steps => {
                    return Err(CliError::Usage(format!(
                        "{resource:?} cannot be filtered by updated_at; use `list --all`"
                    )));
                }
            }
        }
    }
    eprintln!(
        "requests: {}, cost spent: {}",
        meter.requests.load(Ordering::Relaxed),
        meter.spent.load(Ordering::Relaxed)
    );
    Ok(())
}

struct ListOptions {
    per_page: u32,
    page: u32,
    all: bool,
    updated_since: Option<Timestamp>,
}

async fn list<R: ListResource>(
    request: ListRequest<R>,
    opts: &ListOptions,
) -> Result<(), CliError> {
    let mut request = request.per_page(opts.per_page).page(opts.page);
    if let Some(t) = opts.updated_since {
        request = request.updated_since(t);
    }
    if opts.all {
        let mut items = std::pin::pin!(request.stream());
        while let Some(item) = items.try_next().await? {
            println!("{}", serde_json::to_string(&item)?);
        }
    } else {
        let page = request.send().await?;
        for item in &page.items {
            println!("{}", serde_json::to_string(item)?);
        }
        if let Some(p) = page.paging {
            eprintln!(
                "page {} of {}; next page: {:?}",
                p.current_page.unwrap_or(opts.page),
                p.total_pages.map_or("?".to_owned(), |t| t.to_string()),
                p.next_page
            );
        }
    }
    Ok(())
}

async fn walk<R: Walkable>(
    request: ListRequest<R>,
    cursor: WalkCursor,
    max_pages: u64,
) -> Result<(), CliError>
where
    R::Item: salesloft_client::Record,
{
    let mut walk = request.walk(cursor);
    let mut pages = 0u64;
    let mut records = 0usize;
    while pages < max_pages {
        let Some(page) = walk.next_page().await? else {
            break;
        };
        pages += 1;
        records += page.items.len();
        for item in &page.items {
            println!("{}", serde_json::to_string(item)?);
        }
    }
    eprintln!(
        "{records} records in {pages} pages; resume with --cursor '{}'",
        serde_json::to_string(walk.cursor())?
    );
    Ok(())
}
