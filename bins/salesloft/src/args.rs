//! The command line's arguments: every subcommand and its options, as clap parses them.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use salesloft_client::{RESOURCES, Resource, Timestamp};
use salesloft_services::Stream;
use salesloft_storage::TeamSlug;

use crate::report;

/// Operate a SalesLoft integration: keep a local copy, inspect the API, walk its records.
#[derive(Debug, Parser)]
#[command(name = "salesloft", version, about)]
pub(crate) struct Cli {
    /// A TOML file layered over the built-in defaults (instead of config/<SALESLOFT_ENV>.toml).
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// The team a command acts on (see `salesloft teams list`); without it, the team of the
    /// configured credentials, or the only team.
    #[arg(long, global = true, env = "SALESLOFT_TEAM")]
    pub(crate) team: Option<TeamSlug>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// A resource of the registry, by name.
pub(crate) fn resource_arg() -> impl TypedValueParser<Value = &'static Resource> {
    PossibleValuesParser::new(RESOURCES.iter().map(|r| r.name))
        .try_map(|name| Resource::named(&name).ok_or_else(|| format!("unknown resource {name:?}")))
}

/// A stream, by name.
pub(crate) fn stream_arg() -> impl TypedValueParser<Value = Stream> {
    PossibleValuesParser::new(Stream::all().iter().map(|s| s.name()))
        .try_map(|name| name.parse::<Stream>())
}

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksAction {
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

/// Where a team differs from the deployment's settings.
#[derive(Debug, clap::Args)]
pub(crate) struct OverrideArgs {
    /// Its IANA time zone, such as `Europe/Paris`.
    #[arg(long)]
    pub(crate) time_zone: Option<String>,
    /// Its cost budget per minute (1 to 600).
    #[arg(long)]
    pub(crate) budget_per_minute: Option<u32>,
    /// A call disposition that counts as connected (repeatable).
    #[arg(long = "connected-disposition")]
    pub(crate) connected_dispositions: Vec<String>,
    /// Seconds between two scheduled syncs of each of its streams (10 to 86,400).
    #[arg(long)]
    pub(crate) sync_every_secs: Option<u64>,
    /// A people field's two-way policy, FIELD=POLICY (salesloft_wins, local_wins,
    /// salesloft_unless_blank, local_unless_blank, newest_wins, none); repeatable.
    #[arg(long = "field-policy", value_parser = field_policy)]
    pub(crate) field_policies: Vec<(String, salesloft_services::FieldPolicy)>,
    /// The policy of every people field no policy names.
    #[arg(long, value_parser = policy)]
    pub(crate) default_policy: Option<salesloft_services::FieldPolicy>,
}

/// `FIELD=POLICY`.
fn field_policy(text: &str) -> Result<(String, salesloft_services::FieldPolicy), String> {
    let (field, name) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not FIELD=POLICY"))?;
    if field.trim().is_empty() {
        return Err(format!("{text:?} names no field"));
    }
    Ok((field.trim().to_owned(), policy(name)?))
}

/// A policy by its name.
fn policy(name: &str) -> Result<salesloft_services::FieldPolicy, String> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_owned())).map_err(|_| {
        format!(
            "{name:?} is not a policy (salesloft_wins, local_wins, salesloft_unless_blank, \
             local_unless_blank, newest_wins, none)"
        )
    })
}

#[derive(Debug, Subcommand)]
pub(crate) enum TeamsAction {
    /// Connect a SalesLoft team: its key is checked against SalesLoft (which team it is),
    /// then kept sealed with secrets.key; workers start its backfill.
    Add {
        /// Its name here: 1 to 40 of a-z, 0-9 and -.
        slug: TeamSlug,
        /// The SalesLoft API it talks to (default: api.base_url).
        #[arg(long)]
        base_url: Option<String>,
        /// Read its API key from this environment variable (keeps it out of the shell's
        /// history).
        #[arg(long, required_unless_present = "api_key", conflicts_with = "api_key")]
        api_key_env: Option<String>,
        /// Its API key.
        #[arg(long)]
        api_key: Option<String>,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Set where a team differs from the deployment's settings (its time zone, its budget,
    /// what counts as a connected call); workers pick it up within five minutes.
    Set {
        /// The team.
        slug: TeamSlug,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Every team: slug, SalesLoft team, state, records kept, budget spent this minute.
    List,
    /// Stop a team's work: nothing runs and nothing is spent until it is resumed.
    Pause {
        /// The team.
        slug: TeamSlug,
    },
    /// Run a paused team's work again (or a team whose credentials were replaced).
    Resume {
        /// The team.
        slug: TeamSlug,
    },
    /// Remove a team; with --purge, every row it owns too (in small batches).
    Remove {
        /// The team.
        slug: TeamSlug,
        /// Delete its records, jobs, webhooks and state (needed when it holds any).
        #[arg(long)]
        purge: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobsAction {
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
pub(crate) struct PeopleArgs {
    /// The cadence.
    #[arg(long)]
    pub(crate) cadence: i64,
    /// A person's SalesLoft id (repeatable).
    #[arg(long = "person")]
    pub(crate) people: Vec<i64>,
    /// A file of person ids, one per line (`#` comments allowed).
    #[arg(long)]
    pub(crate) people_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CadencesAction {
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
pub(crate) enum PeopleAction {
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
pub(crate) enum ReportKind {
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
pub(crate) enum Command {
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
    /// Create or upgrade the local database's tables (the expand steps, safe beside a process
    /// of the previous release).
    Migrate {
        /// Also run the contract steps, which remove what only an older release still uses:
        /// only once no process of an older release is left.
        #[arg(long)]
        contract: bool,
    },
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
    /// The SalesLoft teams this deployment serves: connect, list, pause, resume, remove.
    Teams {
        #[command(subcommand)]
        action: TeamsAction,
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
