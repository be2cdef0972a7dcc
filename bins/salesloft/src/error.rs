//! The command line's one error type: what failed, with the libraries' errors as sources.

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration could not be loaded or lacks a setting, or the process of `salesloft
    /// up` could not start or stopped with an error.
    #[error(transparent)]
    Runtime(#[from] salesloft_runtime::Error),
    /// SalesLoft answered with an error or could not be reached.
    #[error(transparent)]
    Api(#[from] salesloft_client::Error),
    /// The command was used wrongly, or its work did not succeed.
    #[error("{0}")]
    Usage(String),
    /// An input file was refused before anything was done (exit code 2).
    #[error("{0}")]
    Input(String),
    /// The work ran, but not all of it was done: some records were not written (exit code 1).
    #[error("{0}")]
    Incomplete(String),
    /// Output could not be written.
    #[error("writing output")]
    Output(#[from] serde_json::Error),
    /// Standard output could not be written.
    #[error("writing to standard output")]
    Stdout(#[source] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] salesloft_storage::Error),
    /// A behaviour of the services failed.
    #[error(transparent)]
    Services(#[from] salesloft_services::Error),
    /// Subscribing webhooks failed.
    #[error(transparent)]
    Webhooks(Box<salesloft_webhooks::Error>),
    /// The offline sandbox could not start or stop.
    #[error(transparent)]
    Sandbox(#[from] salesloft_sandbox::SandboxError),
    /// A port could not be listened on.
    #[error("listening on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// Why not.
        #[source]
        source: std::io::Error,
    },
}

impl From<salesloft_webhooks::Error> for CliError {
    fn from(e: salesloft_webhooks::Error) -> Self {
        CliError::Webhooks(Box::new(e))
    }
}

impl CliError {
    /// The process's exit code: 2 for input refused before any work (as for a bad command
    /// line), 1 for everything else.
    pub fn exit_code(&self) -> std::process::ExitCode {
        match self {
            CliError::Input(_) => std::process::ExitCode::from(2),
            _ => std::process::ExitCode::FAILURE,
        }
    }
}
