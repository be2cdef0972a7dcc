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
mod store;
mod tokens;

pub use error::ConfigError;
pub use layers::ALIASES;
pub use salesloft_services::error_chain;
pub use settings::{
    ApiSettings, BudgetSettings, DatabaseSettings, JobSettings, LogSettings, OAuthSettings,
    ServerSettings, Settings, TeamSection, WebhookSettings,
};
pub use tokens::FileTokenStore;

/// Load the settings as every binary does (`explicit` file or the defaults, then this
/// process's environment); on failure print `error: ...` to stderr and give back exit code 2.
#[allow(clippy::print_stderr)] // before logging is up, stderr is the only place to say it
pub fn load_for_binary(
    explicit: Option<&std::path::Path>,
) -> Result<Settings, std::process::ExitCode> {
    Settings::load(explicit, std::env::vars()).map_err(|e| {
        eprintln!("error: {e}");
        std::process::ExitCode::from(2)
    })
}
