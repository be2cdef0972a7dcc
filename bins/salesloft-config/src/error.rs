//! The crate's error type: the runtime's, which already names every setting's key and the
//! file that could not be read.

/// Why the configuration could not be loaded.
pub use salesloft_runtime::Error as ConfigError;
