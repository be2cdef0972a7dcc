//! What every crate's errors share: [`FailureKind`] (what a failure says about trying again),
//! the [`Failure`] trait that says it, [`error_chain`] and [`BoxError`].

/// A boxed error from a pluggable part (a [`CostLimiter`](crate::CostLimiter) or a
/// [`TokenStore`](crate::TokenStore)) that this crate does not know the type of.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a failure says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// Trying again later may succeed: 5xx, timeouts, dropped connections, 429 past the wait,
    /// the database unavailable.
    Transient,
    /// Trying again will fail the same way: 403, 404 of a configured resource, 422, bad
    /// configuration, a contract SalesLoft broke.
    Permanent,
    /// SalesLoft rejected the credentials: nothing works until they change.
    CredentialsRejected,
}

/// An error that says what it means for trying again. Every crate's error type implements
/// it, so code that handles failures from any of them (the job runner's `JobError`, which
/// is built from any `Failure` with `?`) decides by what the error is, not by its text.
pub trait Failure: std::error::Error + Send + Sync + 'static {
    /// What this failure says about trying again.
    fn failure_kind(&self) -> FailureKind;

    /// The hold on the credentials, when SalesLoft rejected them.
    fn held_credential(&self) -> Option<&crate::CredentialHold> {
        None
    }
}

/// `error` and each of its sources, joined by `": "`, for reports, logs and a binary's last
/// words (a source whose text the message already ends with is not repeated).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = s.source();
    }
    chain
}
