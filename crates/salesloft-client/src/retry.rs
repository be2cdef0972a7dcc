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

/// What one send came back as, for the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No answer: the connection failed (`connect`: before anything was sent) or the send
    /// timed out or broke.
    NoAnswer {
        /// The connection was never made, so the server cannot have acted.
        connect: bool,
    },
    /// An answer whose body could not be read.
    BodyLost,
    /// An answer with `status` and SalesLoft's `Retry-After`.
    Answered {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` it asked for, if any.
        retry_after: Option<Duration>,
    },
}

impl Outcome {
    /// The answer's HTTP status, if one came.
    pub(crate) fn status(self) -> Option<u16> {
        match self {
            Outcome::Answered { status, .. } => Some(status),
            Outcome::NoAnswer { .. } | Outcome::BodyLost => None,
        }
    }
}

/// Why the send loop waits before sending again (for its log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// No answer came.
    NoAnswer,
    /// The answer's body was lost.
    BodyLost,
    /// SalesLoft answered 429, `refusals` times in a row.
    RateLimited {
        /// 429s in a row.
        refusals: u32,
    },
    /// SalesLoft answered a 5xx worth another try.
    Refused,
}

/// What the send loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// A success: give back the body.
    Done,
    /// A first 401: refresh the token if the credential can, and send again (no attempt
    /// spent; see [`Attempts::refreshed`]); a credential that cannot fails with the 401.
    Refresh,
    /// Wait, then send again.
    Wait {
        /// How long.
        wait: Duration,
        /// Why.
        why: Why,
    },
    /// Give up with the failure as it stands.
    Fail,
    /// Give up after `refusals` 429s in a row over `waited`.
    RateLimited {
        /// 429s in a row.
        refusals: u32,
        /// Since the first of them.
        waited: Duration,
    },
}

/// Where one request's sends stand: the send loop's state, with time given as offsets from
/// the first send, so that the decision is a pure function a test drives without a network.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Attempts {
    /// Sends that count against [`RetryPolicy::max_attempts`] (a 429 or a refreshed 401
    /// counts none).
    spent: u32,
    refreshed_after_401: bool,
    /// When the current run of 429s began (offset from the first send), and its length.
    rate_limited: Option<(Duration, u32)>,
}

impl Attempts {
    /// Count a send; its number.
    pub(crate) fn start(&mut self) -> u32 {
        self.spent = self.spent.saturating_add(1);
        self.spent
    }

    /// Sends counted so far.
    pub(crate) fn spent(&self) -> u32 {
        self.spent
    }

    /// How long the limiter may take to grant budget for the next send, `elapsed` after the
    /// first: what is left of [`RetryPolicy::max_rate_limited`] in the current run of 429s.
    pub(crate) fn patience(&self, policy: &RetryPolicy, elapsed: Duration) -> Duration {
        let refused_for = self
            .rate_limited
            .map_or(Duration::ZERO, |(since, _)| elapsed.saturating_sub(since));
        policy.max_rate_limited.saturating_sub(refused_for)
    }

    /// The token was refreshed after a 401: the send that got it spent no attempt, and a
    /// second 401 is final.
    pub(crate) fn refreshed(&mut self) {
        self.refreshed_after_401 = true;
        self.spent = self.spent.saturating_sub(1);
    }

    /// What follows `outcome`, `elapsed` after the first send, with `backoff(n)` the wait
    /// before send `n + 1` (see the module's rule).
    pub(crate) fn decide(
        &mut self,
        policy: &RetryPolicy,
        idempotency: Idempotency,
        outcome: Outcome,
        elapsed: Duration,
        backoff: impl Fn(u32) -> Duration,
    ) -> Next {
        let idempotent = idempotency == Idempotency::Idempotent;
        // Send again after `wait` when `allowed` and within the attempts and the time.
        let spent = self.spent;
        let retry = |allowed: bool, wait: Duration, why: Why| {
            let in_bounds =
                spent < policy.max_attempts && elapsed.saturating_add(wait) <= policy.max_elapsed;
            if allowed && in_bounds {
                Next::Wait { wait, why }
            } else {
                Next::Fail
            }
        };
        match outcome {
            Outcome::NoAnswer { connect } => {
                retry(connect || idempotent, backoff(spent), Why::NoAnswer)
            }
            Outcome::BodyLost => retry(idempotent, backoff(spent), Why::BodyLost),
            Outcome::Answered { status, .. } if (200..300).contains(&status) => Next::Done,
            Outcome::Answered { status: 401, .. } if !self.refreshed_after_401 => Next::Refresh,
            Outcome::Answered {
                status: 429,
                retry_after,
            } => {
                let (since, count) = self.rate_limited.unwrap_or((elapsed, 0));
                let refusals = count.saturating_add(1);
                self.rate_limited = Some((since, refusals));
                let wait = retry_after.unwrap_or_else(|| backoff(refusals));
                let waited = elapsed.saturating_sub(since);
                if waited.saturating_add(wait) <= policy.max_rate_limited {
                    // Nothing was done, and the limiter holds the next send until the
                    // window reopens: no attempt spent.
                    self.spent = self.spent.saturating_sub(1);
                    Next::Wait {
                        wait,
                        why: Why::RateLimited { refusals },
                    }
                } else {
                    Next::RateLimited { refusals, waited }
                }
            }
            Outcome::Answered {
                status,
                retry_after,
            } => {
                self.rate_limited = None;
                let retryable = idempotent && matches!(status, 500 | 502 | 503 | 504);
                let wait = retry_after.unwrap_or_else(|| backoff(spent));
                retry(retryable, wait, Why::Refused)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// A backoff without jitter: `n` seconds before send `n + 1`.
    fn linear(n: u32) -> Duration {
        SECOND * n
    }

    fn answered(status: u16) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: None,
        }
    }

    /// Send once and decide, `elapsed` after the first send.
    fn send(
        a: &mut Attempts,
        outcome: Outcome,
        idempotency: Idempotency,
        elapsed: Duration,
    ) -> Next {
        a.start();
        a.decide(
            &RetryPolicy::default(),
            idempotency,
            outcome,
            elapsed,
            linear,
        )
    }

    #[test]
    fn a_5xx_is_retried_until_the_attempts_run_out_and_only_when_safe() {
        let policy = RetryPolicy::default();
        let mut a = Attempts::default();
        for n in 1..policy.max_attempts {
            assert_eq!(
                send(
                    &mut a,
                    answered(503),
                    Idempotency::Idempotent,
                    Duration::ZERO
                ),
                Next::Wait {
                    wait: linear(n),
                    why: Why::Refused
                }
            );
        }
        assert_eq!(
            send(
                &mut a,
                answered(503),
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Fail,
            "the last attempt"
        );
        let mut create = Attempts::default();
        assert_eq!(
            send(
                &mut create,
                answered(503),
                Idempotency::NotIdempotent,
                Duration::ZERO
            ),
            Next::Fail,
            "a create the server may have acted on is not repeated"
        );
        let mut refused = Attempts::default();
        assert_eq!(
            send(
                &mut refused,
                answered(422),
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Fail
        );
        assert_eq!(
            send(
                &mut refused,
                answered(200),
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Done
        );
    }

    #[test]
    fn no_answer_is_retried_for_a_create_only_when_nothing_was_sent() {
        let mut a = Attempts::default();
        let broke = Outcome::NoAnswer { connect: false };
        assert_eq!(
            send(&mut a, broke, Idempotency::NotIdempotent, Duration::ZERO),
            Next::Fail
        );
        let mut b = Attempts::default();
        let refused = Outcome::NoAnswer { connect: true };
        assert!(matches!(
            send(&mut b, refused, Idempotency::NotIdempotent, Duration::ZERO),
            Next::Wait {
                why: Why::NoAnswer,
                ..
            }
        ));
        let mut c = Attempts::default();
        assert_eq!(
            send(
                &mut c,
                Outcome::BodyLost,
                Idempotency::NotIdempotent,
                Duration::ZERO
            ),
            Next::Fail
        );
        assert!(matches!(
            send(
                &mut c,
                Outcome::BodyLost,
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Wait {
                why: Why::BodyLost,
                ..
            }
        ));
    }

    #[test]
    fn no_retry_starts_past_the_elapsed_limit() {
        let policy = RetryPolicy::default();
        let mut a = Attempts::default();
        let late = policy.max_elapsed - Duration::from_millis(500);
        assert_eq!(
            send(&mut a, answered(502), Idempotency::Idempotent, late),
            Next::Fail
        );
    }

    #[test]
    fn a_retry_after_is_the_wait() {
        let mut a = Attempts::default();
        let outcome = Outcome::Answered {
            status: 503,
            retry_after: Some(SECOND * 7),
        };
        assert_eq!(
            send(&mut a, outcome, Idempotency::Idempotent, Duration::ZERO),
            Next::Wait {
                wait: SECOND * 7,
                why: Why::Refused
            }
        );
    }

    #[test]
    fn rate_limits_spend_no_attempt_until_they_have_gone_on_too_long() {
        let policy = RetryPolicy::default();
        let mut a = Attempts::default();
        let minute = Some(SECOND * 60);
        let limited = Outcome::Answered {
            status: 429,
            retry_after: minute,
        };
        let mut at = Duration::ZERO;
        let mut refusals = 0;
        loop {
            refusals += 1;
            match send(&mut a, limited, Idempotency::NotIdempotent, at) {
                Next::Wait { wait, why } => {
                    assert_eq!(why, Why::RateLimited { refusals });
                    assert_eq!(a.spent(), 0, "a 429 spends no attempt");
                    assert_eq!(a.patience(&policy, at), policy.max_rate_limited - at);
                    at += wait;
                }
                Next::RateLimited {
                    refusals: n,
                    waited,
                } => {
                    assert_eq!(n, refusals);
                    assert_eq!(waited, at);
                    assert!(waited + SECOND * 60 > policy.max_rate_limited);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            refusals, 11,
            "ten minutes of one-minute windows, then the refusal"
        );
        // Another answer ends the run: the next 429 starts a new one.
        let mut b = Attempts::default();
        send(&mut b, limited, Idempotency::Idempotent, Duration::ZERO);
        send(&mut b, answered(503), Idempotency::Idempotent, SECOND * 60);
        assert_eq!(b.patience(&policy, SECOND * 120), policy.max_rate_limited);
    }

    #[test]
    fn a_first_401_refreshes_once_and_spends_nothing() {
        let mut a = Attempts::default();
        assert_eq!(
            send(
                &mut a,
                answered(401),
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Refresh
        );
        a.refreshed();
        assert_eq!(a.spent(), 0);
        assert_eq!(
            send(
                &mut a,
                answered(401),
                Idempotency::Idempotent,
                Duration::ZERO
            ),
            Next::Fail
        );
        assert_eq!(a.spent(), 1);
    }

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
