#![doc = include_str!("../README.md")]
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
pub use salesloft_model::{for_each_resource, models, resource, wire, with_setters};

// Every handler and its sort fields, as `api` lists them.
pub use api::*;
pub use auth::{Auth, DEFAULT_AUTHORIZE_URL, DEFAULT_TOKEN_URL, OAuthApp, budget_key};
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CREDENTIAL_PROBE};
pub use error::{Error, Result, TransportKind};
pub use headers::{MAX_REQUEST_COST, MAX_RETRY_AFTER};
pub use list::{
    Cmp, FilterCreatedAt, ListRequest, ListResource, SortDirection, SortField, format_filter_time,
};
pub use models::{
    Account, AccountInput, AccountStage, AccountTier, Action, ActivityHistory, Cadence,
    CadenceImport, CadenceMembership, Call, CallDataRecord, CallDisposition, CallInput,
    CallSentiment, CrmActivity, CrmActivityField, CrmUser, CustomField, Email, EmailTemplate,
    Enrollment, Import, Note, NoteInput, NoteTarget, Person, PersonInput, PersonStage, Record, Ref,
    Step, Success, Task, TaskInput, Team, Timestamp, UpsertType, Upserted, User,
    WebhookSubscription, WebhookSubscriptionInput,
};
pub use resource::{RESOURCES, Resource};
pub use retry::RetryPolicy;
pub use salesloft_model::{
    AccountId, AccountStageId, AccountTierId, ActionId, ActivityHistoryId, BoxError, BudgetConfig,
    CadenceId, CadenceMembershipId, CallDataRecordId, CallDispositionId, CallId, CallSentimentId,
    Clock, CostBudget, CostLimiter, CredentialHold, CrmActivityFieldId, CrmActivityId, CrmUserId,
    CustomFieldId, EmailId, EmailTemplateId, Failure, FailureKind, HoldCheck, ImportId,
    InMemoryTokenStore, NoteId, OAuthTokens, Observation, PersonId, PersonStageId, RefreshLock,
    ReleaseRefreshLock, RoleId, StepId, SuccessId, SystemClock, TaskId, TeamId, TokenStore,
    Unlimited, UserId, WebhookSubscriptionId, error_chain, next_minute_ms, page_cost,
};
pub use visit::{ResourceVisitor, VisitResource};
pub use walk::{
    IncrementalWalk, WALK_PAGE_SIZE, WINDOW_MAX_WAITING, WINDOW_PAGES, WalkCursor, WalkPage,
    WalkWindow,
};
pub use wire::{Page, Paging, Received, Rejected, Sorting};

/// The crate's version, for user agents and diagnostics.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
