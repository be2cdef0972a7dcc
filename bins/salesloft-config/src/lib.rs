//! The configuration every SalesLoft toolkit binary reads, in one place: the built-in
//! `config/default.toml`, then `config/<SALESLOFT_ENV>.toml` (or a file given with
//! `--config`), then `SALESLOFT_*` environment variables (`SALESLOFT_<SECTION>__<KEY>`, plus
//! short forms such as `SALESLOFT_API_KEY`). Every key with a range is checked, and a bad value
//! gets an error naming the key and what it allows. Secrets are `secrecy::SecretString`s that
//! never reach `Debug` output.
//!
//! Only binaries use this crate: the libraries take typed settings and read no files or
//! environment variables.
//!
//! ```no_run
//! let settings = salesloft_config::Settings::load(None, std::env::vars())?;
//! println!("syncing every {:?} into {}", settings.sync_every(), settings.database.display_url());
//! # Ok::<(), salesloft_config::ConfigError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod de;
mod error;
mod layers;
pub mod logging;
mod settings;
mod tokens;

pub use error::{ConfigError, error_chain};
pub use layers::ALIASES;
pub use settings::{
    ApiSettings, BudgetSettings, DatabaseSettings, JobSettings, LogSettings, OAuthSettings,
    ServerSettings, Settings, TeamSection, WebhookSettings,
};
pub use tokens::FileTokenStore;
