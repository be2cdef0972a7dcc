#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod failure;
mod hold;
mod ids;
mod limiter;
pub mod models;
pub mod resource;
mod setters;
mod tokens;
pub mod wire;

pub use clock::{Clock, SystemClock};
pub use failure::{BoxError, Failure, FailureKind, error_chain};
pub use hold::{CredentialHold, HoldCheck};
pub use ids::*;
pub use limiter::{
    BudgetConfig, CostBudget, CostLimiter, Observation, Unlimited, next_minute_ms, now_ms,
    page_cost,
};
pub use models::{
    Account, AccountInput, AccountStage, AccountTier, Action, ActivityHistory, Cadence,
    CadenceImport, CadenceMembership, Call, CallDataRecord, CallDisposition, CallInput,
    CallSentiment, CrmActivity, CrmActivityField, CrmUser, CustomField, Email, EmailTemplate,
    Enrollment, Import, Note, NoteInput, NoteTarget, Person, PersonInput, PersonStage, Record, Ref,
    Step, Success, Task, TaskInput, Team, Timestamp, UpsertType, Upserted, User,
    WebhookSubscription, WebhookSubscriptionInput,
};
pub use resource::{RESOURCES, Resource, Strategy};
pub use tokens::{InMemoryTokenStore, OAuthTokens, RefreshLock, ReleaseRefreshLock, TokenStore};
pub use wire::{DecodeError, Page, Paging, Received, Rejected, Sorting};
