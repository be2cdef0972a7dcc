//! The states of the OAuth connect flow (`connect_states`): a browser sent to SalesLoft's
//! authorize page carries a `state` that this deployment signed ([`Keyring::sign`]) and
//! remembers; the callback's state must carry a good signature, be unexpired (10 minutes) and
//! still be remembered, and taking it forgets it, so a state is used once, whichever process
//! serves the callback.
//!
//! [`Keyring::sign`]: crate::Keyring::sign

use std::time::Duration;

use crate::error::{Context, Error, Result};
use crate::store::{Store, on_writer};
use crate::teams::TeamSlug;

/// How long a browser has between leaving for SalesLoft's authorize page and coming back.
pub const CONNECT_STATE_TTL: Duration = Duration::from_secs(600);

/// Connects in flight at most (each unused state is kept until it expires).
const MAX_STATES: i64 = 1_000;

const PURPOSE: &[u8] = b"salesloft-connect-state";

/// What a connect's state carried back: the slug asked for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectGrant {
    /// The slug the operator asked for (`None`: one is made from SalesLoft's team name).
    pub slug: Option<TeamSlug>,
}

impl Store {
    /// Begin a connect (for a team to be named `slug`, if given): a state to send with the
    /// authorize redirect, signed with the store's keyring and remembered until it is used
    /// or [`CONNECT_STATE_TTL`] has passed. Expired states are forgotten here; with 1,000
    /// unused ones in flight, a new one is refused.
    pub async fn begin_connect(&self, slug: Option<&TeamSlug>) -> Result<String> {
        let keyring = self.keyring()?;
        let now = self.now_ms();
        let expires = now.saturating_add(CONNECT_STATE_TTL.as_millis() as i64);
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let message = format!("v1.{nonce}.{expires}");
        let state = format!("{message}.{}", keyring.sign(PURPOSE, message.as_bytes()));
        let in_flight: i64 = on_writer!(self, |pool| {
            sqlx::query("DELETE FROM connect_states WHERE expires_at_ms <= $1")
                .bind(now)
                .execute(pool)
                .await
                .context("forgetting expired connect states")?;
            sqlx::query_scalar("SELECT COUNT(*) FROM connect_states")
                .fetch_one(pool)
                .await
                .context("counting connect states")?
        });
        if in_flight >= MAX_STATES {
            return Err(Error::ConnectState {
                why: "one too many: 1,000 connects are unfinished",
            });
        }
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO connect_states (nonce, slug, expires_at_ms, created_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&nonce)
            .bind(slug.map(TeamSlug::as_str))
            .bind(expires)
            .bind(now)
            .execute(pool)
            .await
            .context("remembering a connect state")?;
        });
        Ok(state)
    }

    /// Take the connect `state` a callback brought back: refused ([`Error::ConnectState`])
    /// when this deployment did not sign it, when it expired, or when it was taken already.
    pub async fn take_connect_state(&self, state: &str) -> Result<ConnectGrant> {
        let (nonce, expires) = self.verified_state(state)?;
        let taken: Option<(Option<String>,)> = on_writer!(self, |pool| {
            sqlx::query_as("DELETE FROM connect_states WHERE nonce = $1 RETURNING slug")
                .bind(nonce)
                .fetch_optional(pool)
                .await
                .context("taking a connect state")?
        });
        if expires <= self.now_ms() {
            return Err(Error::ConnectState { why: "expired" });
        }
        let Some((slug,)) = taken else {
            return Err(Error::ConnectState {
                why: "used already",
            });
        };
        Ok(ConnectGrant {
            slug: slug.as_deref().map(TeamSlug::parse).transpose()?,
        })
    }

    /// The nonce and expiry of a state this deployment signed.
    fn verified_state<'s>(&self, state: &'s str) -> Result<(&'s str, i64)> {
        let forged = Error::ConnectState {
            why: "not one this deployment began",
        };
        let Some((message, signature)) = state.rsplit_once('.') else {
            return Err(forged);
        };
        if !self
            .keyring()?
            .verify(PURPOSE, message.as_bytes(), signature)
        {
            return Err(forged);
        }
        let mut parts = message.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(nonce), Some(expires)) => match expires.parse::<i64>() {
                Ok(expires) => Ok((nonce, expires)),
                Err(_) => Err(forged),
            },
            _ => Err(forged),
        }
    }
}
