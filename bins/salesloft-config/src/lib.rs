//! The configuration every SalesLoft toolkit binary reads, in one place: the built-in
//! defaults (`salesloft_runtime::DEFAULTS_TOML`), then `config/<SALESLOFT_ENV>.toml` (or a
//! file given with `--config`), then `SALESLOFT_*` environment variables
//! (`SALESLOFT_<SECTION>__<KEY>`, plus short forms such as `SALESLOFT_API_KEY`), into the
//! runtime's typed [`Settings`]. Every key with a range is checked, and a bad value gets an
//! error naming the key and what it allows. Secrets are `secrecy::SecretString`s that never
//! reach `Debug` output. It also sets up the binaries' logging.
//!
//! Only binaries use this crate: the libraries take typed settings and read no files or
//! environment variables.
//!
//! ```no_run
//! let settings = salesloft_config::load(None, std::env::vars())?;
//! println!("syncing every {:?} into {}", settings.sync_every(), settings.database.display_url());
//! # Ok::<(), salesloft_config::ConfigError>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod layers;
mod load;
pub mod logging;

pub use error::ConfigError;
pub use layers::ALIASES;
pub use load::load;
pub use salesloft_runtime::Settings;
pub use salesloft_services::error_chain;

/// Load the settings as every binary does (`explicit` file or the defaults, then this
/// process's environment); on failure print `error: ...` to stderr and give back exit code 2.
#[allow(clippy::print_stderr)] // before logging is up, stderr is the only place to say it
pub fn load_for_binary(
    explicit: Option<&std::path::Path>,
) -> Result<Settings, std::process::ExitCode> {
    load(explicit, std::env::vars()).map_err(|e| {
        eprintln!("error: {e}");
        std::process::ExitCode::from(2)
    })
}

/// A binary's exit: 0 after `ran` succeeded, else 1 after logging the error's whole chain as
/// `what`.
pub fn exit_code<E: std::error::Error>(ran: Result<(), E>, what: &str) -> std::process::ExitCode {
    match ran {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "{what}");
            std::process::ExitCode::FAILURE
        }
    }
}
