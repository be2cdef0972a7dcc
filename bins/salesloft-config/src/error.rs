//! The crate's one error type.

use std::path::PathBuf;

/// Why the configuration could not be loaded. Every variant about a setting names its key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid TOML.
    #[error("{origin} is not valid TOML: {message}")]
    Parse {
        /// Which layer.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A setting has a value of the wrong kind, or one it does not know.
    #[error("invalid setting {key}: {message}")]
    Invalid {
        /// The setting's dotted key, such as `budget.per_minute`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A number outside the range the setting allows.
    #[error("invalid setting {key}: must be {allowed}, got {got}")]
    OutOfRange {
        /// The setting's dotted key.
        key: &'static str,
        /// The allowed range, such as `1..=600 (SalesLoft's team budget)`.
        allowed: String,
        /// The value given.
        got: String,
    },
    /// A required setting is missing.
    #[error("missing setting {key}: {hint}")]
    Missing {
        /// The setting's key.
        key: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_chain_names_every_cause() {
        let io = std::io::Error::other("disk full");
        let e = super::ConfigError::Read {
            path: "a.toml".into(),
            source: io,
        };
        assert_eq!(
            salesloft_services::error_chain(&e),
            "cannot read a.toml: disk full"
        );
    }
}
