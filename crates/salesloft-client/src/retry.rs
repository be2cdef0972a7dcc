//! When and how often a failed request is sent again.
//!
//! # The rule
//!
//! - **Retried** (exponential backoff with jitter, bounded by [`RetryPolicy::max_attempts`] and
//!   [`RetryPolicy::max_elapsed`]): 500, 502,
//!   503, 504, timeouts and connection errors — for requests that are safe to repeat: `GET`,
//!   `PUT`, `DELETE` (SalesLoft deletes are idempotent), and the upsert endpoints.
//! - **Not blindly retried**: a create that is not idempotent (`POST` people, accounts, notes,
//!   calls, cadence imports, cadence memberships, webhook subscriptions) once the server may have
//!   acted on it — that is, after a timeout, a broken connection or a 5xx. Repeating it could
//!   create the record twice; the error goes back to the caller, who can look the record up
//!   (for example by e-mail address) before trying again. Such a create *is* retried after a 429
//!   and after a failure to connect, because then the server cannot have acted.
//! - **A 429** waits for the budget window (the limiter's hold, or `Retry-After`, at most one
//!   minute) and is sent again without spending an attempt, until SalesLoft has refused for
//!   [`RetryPolicy::max_rate_limited`] in a row (default 10 minutes); waiting for budget in the
//!   limiter counts toward the same limit.
//! - A 401 with OAuth credentials triggers one token refresh and one more send, which does not
//!   count as an attempt.

use std::time::Duration;

/// How many times, and how patiently, a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total sends of one request, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// Backoff before the second send; doubles each time.
    pub initial_backoff: Duration,
    /// Largest backoff between two sends.
    pub max_backoff: Duration,
    /// No retry starts after this much time has passed since the first send (429s aside).
    pub max_elapsed: Duration,
    /// How long SalesLoft may keep answering 429 (or the limiter keep withholding budget)
    /// before the request fails. A 429 waits for the budget window and spends no attempt.
    pub max_rate_limited: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
            max_rate_limited: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// Send once, never retry.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before send number `attempt + 1` (attempt counts from 1): the exponential
    /// delay capped at `max_backoff`, times a random factor in [0.5, 1.5).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        base.mul_f64(0.5 + fastrand::f64())
    }
}

/// Whether a request may be repeated after the server might have acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating it has the same effect as sending it once.
    Idempotent,
    /// Repeating it could act twice: only retried when the server cannot have acted.
    NotIdempotent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..=12 {
            let d = p.backoff(attempt);
            let base = (p.initial_backoff * 2u32.pow(attempt - 1)).min(p.max_backoff);
            assert!(
                d >= base.mul_f64(0.5) && d < base.mul_f64(1.5),
                "{attempt}: {d:?}"
            );
        }
    }
}
