//! Credentials SalesLoft rejected: a [`CredentialHold`] stops every request sent with them
//! until they change, except one probe every so often.
//!
//! A revoked API key (or OAuth tokens SalesLoft no longer accepts) fails every request the same
//! way; sending more only spends the team's budget and fills its logs. When a request is
//! answered 401 after any refresh the credential could make, the client tells its
//! [`CostLimiter`](crate::CostLimiter) to hold the credential. While held, requests fail at once
//! with salesloft-client's `Error::CredentialsRejected` without being sent,
//! except the first one after the hold's probe time: it is sent, and either lifts the hold
//! (any answer but 401) or moves the probe time on. A limiter shared through a database holds
//! the credential for every process using it; other credentials (a new key) are not held.

use std::collections::HashMap;

use serde::Serialize;

/// A credential SalesLoft rejected, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialHold {
    /// Which credential: salesloft-client's `Client::credential_id`, a digest
    /// that names it without revealing it.
    pub credential: String,
    /// When it was first rejected, ms since the epoch.
    pub since_ms: i64,
    /// The request that was rejected, such as `GET /v2/people` (no query string).
    pub request: String,
    /// The HTTP status of that answer (401), or none when the token endpoint refused.
    pub status: Option<u16>,
    /// What SalesLoft said, when it said.
    pub message: Option<String>,
    /// When one request may be sent again to see whether the credential works, ms since the
    /// epoch.
    pub probe_at_ms: i64,
}

impl CredentialHold {
    /// When it was first rejected, as RFC 3339 (UTC, seconds).
    pub fn since_rfc3339(&self) -> String {
        rfc3339(self.since_ms)
    }

    /// When the next probe goes, as RFC 3339 (UTC, seconds).
    pub fn probe_at_rfc3339(&self) -> String {
        rfc3339(self.probe_at_ms)
    }
}

/// `credentials rejected since WHEN by REQUEST (HTTP 401: MESSAGE); next probe at WHEN`,
/// for status lines and pages.
impl std::fmt::Display for CredentialHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "credentials rejected since {} by {}",
            rfc3339(self.since_ms),
            self.request
        )?;
        match (self.status, &self.message) {
            (Some(status), Some(m)) => write!(f, " (HTTP {status}: {m})")?,
            (Some(status), None) => write!(f, " (HTTP {status})")?,
            (None, Some(m)) => write!(f, " ({m})")?,
            (None, None) => {}
        }
        write!(f, "; next probe at {}", rfc3339(self.probe_at_ms))
    }
}

/// What a limiter says of a credential before a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldCheck {
    /// Not held: send.
    Clear,
    /// Held, and this request is the probe (no other caller gets it until `probe_every` has
    /// passed again): send it, then lift or renew the hold by its answer.
    Probe(CredentialHold),
    /// Held: do not send.
    Held(CredentialHold),
}

/// `ms` since the epoch as RFC 3339 (UTC, seconds), for messages.
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

/// The holds of one process: the arithmetic the in-process limiter keeps.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    held: HashMap<String, CredentialHold>,
}

impl Holds {
    /// Whether `credential` may send at `now_ms`; a due probe is taken (the next one is
    /// `probe_every_ms` later).
    pub(crate) fn check(
        &mut self,
        credential: &str,
        now_ms: i64,
        probe_every_ms: i64,
    ) -> HoldCheck {
        match self.held.get_mut(credential) {
            None => HoldCheck::Clear,
            Some(hold) if hold.probe_at_ms <= now_ms => {
                hold.probe_at_ms = now_ms.saturating_add(probe_every_ms);
                HoldCheck::Probe(hold.clone())
            }
            Some(hold) => HoldCheck::Held(hold.clone()),
        }
    }

    /// Hold `hold.credential` (keeping when it was first held, if it already was).
    pub(crate) fn hold(&mut self, hold: &CredentialHold) {
        let since_ms = self
            .held
            .get(&hold.credential)
            .map_or(hold.since_ms, |h| h.since_ms);
        self.held.insert(
            hold.credential.clone(),
            CredentialHold {
                since_ms,
                ..hold.clone()
            },
        );
    }

    /// Lift the hold of `credential`.
    pub(crate) fn release(&mut self, credential: &str) {
        self.held.remove(credential);
    }

    /// Every hold.
    pub(crate) fn all(&self) -> Vec<CredentialHold> {
        self.held.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(at: i64, probe_at: i64) -> CredentialHold {
        CredentialHold {
            credential: "key:ab".into(),
            since_ms: at,
            request: "GET /v2/people".into(),
            status: Some(401),
            message: None,
            probe_at_ms: probe_at,
        }
    }

    #[test]
    fn a_held_credential_gets_one_probe_per_period() {
        let mut holds = Holds::default();
        assert_eq!(holds.check("key:ab", 0, 100), HoldCheck::Clear);
        holds.hold(&rejected(0, 100));
        assert!(matches!(holds.check("key:ab", 50, 100), HoldCheck::Held(_)));
        assert!(matches!(holds.check("key:cd", 50, 100), HoldCheck::Clear));
        assert!(matches!(
            holds.check("key:ab", 100, 100),
            HoldCheck::Probe(_)
        ));
        // The probe is taken: the next caller waits for the following period.
        match holds.check("key:ab", 101, 100) {
            HoldCheck::Held(h) => assert_eq!(h.probe_at_ms, 200),
            other => panic!("{other:?}"),
        }
        // The probe was refused again: still held since the first rejection.
        holds.hold(&rejected(150, 250));
        match holds.check("key:ab", 160, 100) {
            HoldCheck::Held(h) => assert_eq!((h.since_ms, h.probe_at_ms), (0, 250)),
            other => panic!("{other:?}"),
        }
        holds.release("key:ab");
        assert_eq!(holds.check("key:ab", 160, 100), HoldCheck::Clear);
        assert!(holds.all().is_empty());
    }
}
