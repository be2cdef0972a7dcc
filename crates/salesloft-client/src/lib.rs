//! A typed, cost-aware async client for the SalesLoft REST API v2.
//!
//! - **Typed and honest about nulls**: every model field real data can leave `null` is an
//!   `Option`; ids are newtypes ([`PersonId`], [`CadenceId`], ...); timestamps keep the team's
//!   UTC offset and microseconds and compare as instants; fields this crate does not know are
//!   kept in each model's `extra` map, so nothing SalesLoft sends is lost. Pages are decoded
//!   record by record: each comes with its JSON text exactly as sent ([`Received`]); a field
//!   of an unexpected type is left empty and named, and an item that is not a record at all
//!   is set aside ([`Rejected`]), never failing the page.
//! - **Frugal with the team's budget** (600 cost per minute, shared by every integration of the
//!   team): a [`CostLimiter`] is asked before every request, at the cost the page depth or the
//!   endpoint's last `x-ratelimit-endpoint-cost` says, and learns from
//!   `x-ratelimit-remaining-minute`. The [`IncrementalWalk`] reads any number of records at cost
//!   1 per request and can be checkpointed and resumed without losing or repeating a record,
//!   also while records change under it (tie groups larger than a page included) and, with a
//!   lookback, when they commit late.
//! - **Resilient**: 429s, 5xx, timeouts and connection errors are retried by an explicit
//!   [`RetryPolicy`] (see [`retry`] for the rule on non-idempotent creates); OAuth tokens are
//!   refreshed ahead of expiry and on a 401, and rotated refresh tokens go to your
//!   [`TokenStore`].
//! - **Embeddable**: no globals, no environment variables, no files; everything comes in
//!   through [`ClientBuilder`]. Secrets never appear in `Debug` output or logs.
//!
//! # Example
//!
//! ```no_run
//! use salesloft_client::{Auth, Client, WalkCursor};
//!
//! # async fn demo() -> salesloft_client::Result<()> {
//! let client = Client::builder(Auth::api_key("ak_..."))
//!     .base_url("https://api.salesloft.com") // or the sandbox, or a test server
//!     .build()?;
//!
//! // Everyone changed since the last checkpoint, 100 per request, each at cost 1.
//! let mut walk = client
//!     .people()
//!     .list()
//!     .walk(WalkCursor::start())
//!     .with_lookback(std::time::Duration::from_secs(2), || {
//!         chrono::Utc::now().timestamp_micros()
//!     });
//! while let Some(page) = walk.next_page().await? {
//!     for person in &page.items {
//!         println!("{} {:?}", person.record.id, person.record.email_address);
//!         // person.raw: the JSON exactly as SalesLoft sent it.
//!     }
//!     // Persist `page.cursor` together with the rows to resume exactly here.
//! }
//! # Ok(()) }
//! ```
//!
//! # Endpoints
//!
//! | handler | calls |
//! |---|---|
//! | [`Client::me`], [`Client::team`] | get |
//! | [`Client::users`] | list (paged only when `page` is given), get, activate/deactivate |
//! | [`Client::people`] | list, get, create, update, delete, upsert |
//! | [`Client::accounts`] | list, get, create, update, delete, upsert |
//! | [`Client::cadences`] | list, get, create through `cadence_imports` |
//! | [`Client::steps`] | list, get |
//! | [`Client::cadence_memberships`] | list, get, create (enroll), delete (remove) |
//! | [`Client::emails`] | list, get |
//! | [`Client::calls`] | list, get, create |
//! | [`Client::notes`] | list, get, create, update, delete |
//! | [`Client::webhook_subscriptions`] | list, get, create, enable/disable, delete |

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod auth;
mod client;
mod error;
mod headers;
mod list;
pub mod retry;
mod visit;
mod walk;

// The types, the registry and the seams live in salesloft-model; the client re-exports them
// under the paths it always had.
pub use salesloft_model::{for_each_resource, models, resource, wire};

pub use api::{
    AccountSort, AccountUpsertKey, Accounts, CadenceMemberships, CadenceSort, Cadences, CallSort,
    Calls, EmailSort, Emails, MembershipSort, NoteSort, Notes, People, PersonSort, PersonUpsertKey,
    StepSort, Steps, UserSort, Users, WebhookSubscriptions,
};
pub use auth::{Auth, DEFAULT_AUTHORIZE_URL, DEFAULT_TOKEN_URL, OAuthApp};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CREDENTIAL_PROBE};
pub use error::{Error, Result, TransportKind};
pub use headers::{MAX_REQUEST_COST, MAX_RETRY_AFTER};
pub use list::{
    Cmp, FilterCreatedAt, ListRequest, ListResource, SortDirection, SortField, format_filter_time,
};
pub use models::{
    Account, AccountInput, Cadence, CadenceImport, CadenceMembership, Call, CallInput, Email,
    Enrollment, Note, NoteInput, NoteTarget, Person, PersonInput, Record, Ref, Step, Team,
    Timestamp, UpsertType, Upserted, User, WebhookSubscription, WebhookSubscriptionInput,
};
pub use resource::{RESOURCES, Resource};
pub use retry::RetryPolicy;
pub use salesloft_model::{
    AccountId, BoxError, BudgetConfig, CadenceId, CadenceMembershipId, CallId, CostBudget,
    CostLimiter, CredentialHold, EmailId, FailureKind, HoldCheck, InMemoryTokenStore, NoteId,
    OAuthTokens, Observation, PersonId, RefreshLock, ReleaseRefreshLock, RoleId, StepId, TeamId,
    TokenStore, Unlimited, UserId, WebhookSubscriptionId, error_chain, next_minute_ms, page_cost,
};
pub use visit::{ResourceVisitor, VisitResource};
pub use walk::{
    IncrementalWalk, WALK_PAGE_SIZE, WINDOW_MAX_WAITING, WINDOW_PAGES, WalkCursor, WalkPage,
    WalkWindow,
};
pub use wire::{Page, Paging, Received, Rejected, Sorting};

/// The crate's version, for user agents and diagnostics.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
