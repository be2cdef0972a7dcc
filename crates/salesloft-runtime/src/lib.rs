#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod admin;
mod app;
pub mod connect;
pub mod edge;
mod error;
pub mod ops;
pub mod server;
mod settings;
mod signals;
pub mod status;
pub mod teams;
pub mod worker;

pub use app::{App, Roles, open_store};
pub use error::{Error, Result};
pub use settings::{
    ApiSettings, BudgetSettings, DEFAULTS_TOML, DatabaseSettings, FileTokenStore, JobSettings,
    LogSettings, OAuthSettings, PeopleSection, SecretsSettings, ServerSettings, Settings,
    SyncSection, TeamSection, WebhookSettings, redact_database_url,
};
pub use signals::listen_for_signals;
