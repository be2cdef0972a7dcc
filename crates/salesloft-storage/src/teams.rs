//! The SalesLoft teams one deployment serves (`teams`): a slug of the operator's choosing,
//! SalesLoft's id and name of the team, its base URL, its state, its settings, and its
//! credentials sealed with the store's [`Keyring`](crate::Keyring) (never stored, printed or
//! shown in `Debug` in the clear).

use std::fmt;

use salesloft_model::OAuthTokens;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::secrets::Sealed;
use crate::store::{Store, on_reader, on_writer};
use crate::team_id::TeamId;

/// A team's name in a deployment: 1 to 40 of `a-z`, `0-9` and `-`, unique; it names the
/// team in routes (`/webhooks/salesloft/{slug}`) and on the command line (`--team`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TeamSlug(String);

impl TeamSlug {
    /// `text` as a slug, or why not.
    pub fn parse(text: &str) -> Result<Self> {
        let ok = (1..=40).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::Invalid(format!(
                "team slug {text:?}: use 1 to 40 of a-z, 0-9 and -"
            )))
        }
    }

    /// The slug's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TeamSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TeamSlug {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// What SalesLoft accepts from a team. `Debug` shows the kind only.
#[derive(Clone)]
pub enum TeamCredentials {
    /// An API key.
    ApiKey(SecretString),
    /// OAuth tokens of an app (the app's secret stays in the configuration).
    OAuth {
        /// The app's client id.
        client_id: String,
        /// The tokens, refreshed and saved back as they rotate.
        tokens: OAuthTokens,
    },
}

impl fmt::Debug for TeamCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeamCredentials::ApiKey(_) => f.write_str("TeamCredentials::ApiKey([redacted])"),
            TeamCredentials::OAuth { client_id, .. } => f
                .debug_struct("TeamCredentials::OAuth")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// The credentials as sealed: JSON, inside the ciphertext only.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredCredentials {
    ApiKey {
        key: String,
    },
    OAuth {
        client_id: String,
        access_token: String,
        refresh_token: Option<String>,
        expires_at_ms: Option<i64>,
        scope: Option<String>,
    },
}

impl From<&TeamCredentials> for StoredCredentials {
    fn from(c: &TeamCredentials) -> Self {
        match c {
            TeamCredentials::ApiKey(key) => StoredCredentials::ApiKey {
                key: key.expose_secret().to_owned(),
            },
            TeamCredentials::OAuth { client_id, tokens } => StoredCredentials::OAuth {
                client_id: client_id.clone(),
                access_token: tokens.access_token.expose_secret().to_owned(),
                refresh_token: tokens
                    .refresh_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
                expires_at_ms: tokens.expires_at.map(|t| t.timestamp_millis()),
                scope: tokens.scope.clone(),
            },
        }
    }
}

impl From<StoredCredentials> for TeamCredentials {
    fn from(c: StoredCredentials) -> Self {
        match c {
            StoredCredentials::ApiKey { key } => TeamCredentials::ApiKey(key.into()),
            StoredCredentials::OAuth {
                client_id,
                access_token,
                refresh_token,
                expires_at_ms,
                scope,
            } => {
                let expires = expires_at_ms.and_then(chrono::DateTime::from_timestamp_millis);
                let mut tokens = OAuthTokens::new(access_token, refresh_token, expires);
                tokens.scope = scope;
                TeamCredentials::OAuth { client_id, tokens }
            }
        }
    }
}

/// Whether a team's work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamState {
    /// Synced, webhooks applied, jobs run.
    Active,
    /// Kept, but nothing runs and nothing is spent until resumed.
    Paused,
    /// SalesLoft rejected the credentials: nothing runs until they are replaced.
    CredentialsRejected,
}

impl TeamState {
    /// As stored: `active`, `paused`, `credentials_rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            TeamState::Active => "active",
            TeamState::Paused => "paused",
            TeamState::CredentialsRejected => "credentials_rejected",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        match text {
            "active" => Ok(TeamState::Active),
            "paused" => Ok(TeamState::Paused),
            "credentials_rejected" => Ok(TeamState::CredentialsRejected),
            other => Err(Error::Invalid(format!("unknown team state {other:?}"))),
        }
    }
}

/// A team as the `teams` table keeps it; its credentials stay sealed until
/// [`Store::team_credentials`] opens them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamRecord {
    /// The row's id, which every team-owned row carries.
    pub id: TeamId,
    /// Its slug.
    pub slug: TeamSlug,
    /// The SalesLoft API it talks to.
    pub base_url: String,
    /// SalesLoft's id of the team, once read.
    pub salesloft_team_id: Option<i64>,
    /// SalesLoft's name of the team, once read.
    pub name: Option<String>,
    /// Whether its work runs.
    pub state: TeamState,
    /// Its settings (time zone, field policies, budget, schedules), as JSON.
    pub settings: serde_json::Value,
    /// When it was added (ms since the epoch).
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

/// A team to add.
#[derive(Debug, Clone)]
pub struct NewTeam {
    /// Its slug.
    pub slug: TeamSlug,
    /// The SalesLoft API it talks to.
    pub base_url: String,
    /// SalesLoft's id of the team (read from `/v2/me` when added).
    pub salesloft_team_id: Option<i64>,
    /// SalesLoft's name of the team.
    pub name: Option<String>,
    /// Its credentials, sealed on the way in.
    pub credentials: TeamCredentials,
    /// Its settings, as JSON (`{}` for the deployment's defaults).
    pub settings: serde_json::Value,
}

/// The associated data a team's sealed credentials are bound to: the slug, which never
/// changes, so a ciphertext copied to another team's row does not open.
fn sealing_context(slug: &TeamSlug) -> Vec<u8> {
    format!("salesloft-team:{}", slug.as_str()).into_bytes()
}

/// Every table whose rows belong to a team (`team_id`), the jobs and the inbox last.
const TEAM_TABLES: [&str; 22] = [
    "people",
    "accounts",
    "users",
    "cadences",
    "steps",
    "cadence_memberships",
    "activities",
    "notes",
    "objects",
    "daily_engagement",
    "engagement_state",
    "sync_state",
    "change_counters",
    "own_writes",
    "parked_writes",
    "quarantine",
    "webhook_subscriptions",
    "oauth_tokens",
    "credential_holds",
    "leases",
    "webhook_events",
    "jobs",
];

const TEAM_COLUMNS: &str = "id, slug, base_url, salesloft_team_id, name, state, settings, \
     created_at_ms, updated_at_ms";

type TeamRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    String,
    i64,
    i64,
);

fn team_of(row: TeamRow) -> Result<TeamRecord> {
    let (id, slug, base_url, salesloft_team_id, name, state, settings, created, updated) = row;
    Ok(TeamRecord {
        id: TeamId::new(id),
        slug: TeamSlug::parse(&slug)?,
        base_url,
        salesloft_team_id,
        name,
        state: TeamState::parse(&state)?,
        settings: serde_json::from_str(&settings).map_err(|source| Error::Encode {
            what: "a team's settings",
            source,
        })?,
        created_at_ms: created,
        updated_at_ms: updated,
    })
}

impl Store {
    /// Add `team`, its credentials sealed with the store's keyring. A slug in use, or a
    /// SalesLoft team (at that base URL) another slug holds, is refused.
    pub async fn add_team(&self, team: &NewTeam) -> Result<TeamRecord> {
        if !self.team_keys_ready().await? {
            return Err(Error::ContractPending);
        }
        if self.team_by_slug(&team.slug).await?.is_some() {
            return Err(Error::TeamSlugTaken {
                slug: team.slug.to_string(),
            });
        }
        if let Some(holder) = self
            .team_of_salesloft(&team.base_url, team.salesloft_team_id)
            .await?
        {
            return Err(Error::SalesLoftTeamTaken {
                salesloft_team_id: team.salesloft_team_id.unwrap_or_default(),
                slug: holder.slug.to_string(),
            });
        }
        let sealed = self.seal_credentials(&team.slug, &team.credentials)?;
        let settings = serde_json::to_string(&team.settings).map_err(|source| Error::Encode {
            what: "a team's settings",
            source,
        })?;
        let now = self.now_ms();
        on_writer!(self, |pool| {
            sqlx::query(
                "INSERT INTO teams (slug, base_url, salesloft_team_id, name, state, settings, \
                 credentials_key_id, credentials_nonce, credentials, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $9)",
            )
            .bind(team.slug.as_str())
            .bind(&team.base_url)
            .bind(team.salesloft_team_id)
            .bind(&team.name)
            .bind(&settings)
            .bind(&sealed.key_id)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(now)
            .execute(pool)
            .await
            .context("adding a team")?;
        });
        self.team_by_slug(&team.slug)
            .await?
            .ok_or_else(|| Error::Invalid(format!("team {} vanished as it was added", team.slug)))
    }

    /// Every team, by slug.
    pub async fn teams(&self) -> Result<Vec<TeamRecord>> {
        let rows: Vec<TeamRow> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TEAM_COLUMNS} FROM teams ORDER BY slug"
            )))
            .fetch_all(pool)
            .await
            .context("reading teams")?
        });
        rows.into_iter().map(team_of).collect()
    }

    /// The team named `slug`.
    pub async fn team_by_slug(&self, slug: &TeamSlug) -> Result<Option<TeamRecord>> {
        let row: Option<TeamRow> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TEAM_COLUMNS} FROM teams WHERE slug = $1"
            )))
            .bind(slug.as_str())
            .fetch_optional(pool)
            .await
            .context("reading a team")?
        });
        row.map(team_of).transpose()
    }

    /// The team whose id is `id`.
    pub async fn team_by_id(&self, id: TeamId) -> Result<Option<TeamRecord>> {
        let row: Option<TeamRow> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1"
            )))
            .bind(id.get())
            .fetch_optional(pool)
            .await
            .context("reading a team")?
        });
        row.map(team_of).transpose()
    }

    /// The team holding SalesLoft team `salesloft_team_id` at `base_url`, if any.
    pub async fn team_of_salesloft(
        &self,
        base_url: &str,
        salesloft_team_id: Option<i64>,
    ) -> Result<Option<TeamRecord>> {
        let Some(id) = salesloft_team_id else {
            return Ok(None);
        };
        let row: Option<TeamRow> = on_reader!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TEAM_COLUMNS} FROM teams WHERE base_url = $1 AND salesloft_team_id = $2"
            )))
            .bind(base_url)
            .bind(id)
            .fetch_optional(pool)
            .await
            .context("reading a team")?
        });
        row.map(team_of).transpose()
    }

    /// Set the state of the team named `slug`; whether it exists.
    pub async fn set_team_state(&self, slug: &TeamSlug, state: TeamState) -> Result<bool> {
        let now = self.now_ms();
        let n = on_writer!(self, |pool| {
            sqlx::query("UPDATE teams SET state = $2, updated_at_ms = $3 WHERE slug = $1")
                .bind(slug.as_str())
                .bind(state.as_str())
                .bind(now)
                .execute(pool)
                .await
                .context("setting a team's state")?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Replace the settings of the team named `slug` (JSON, read by the runtime); whether it
    /// exists.
    pub async fn set_team_settings(
        &self,
        slug: &TeamSlug,
        settings: &serde_json::Value,
    ) -> Result<bool> {
        let text = serde_json::to_string(settings).map_err(|source| Error::Encode {
            what: "a team's settings",
            source,
        })?;
        let now = self.now_ms();
        let n = on_writer!(self, |pool| {
            sqlx::query("UPDATE teams SET settings = $2, updated_at_ms = $3 WHERE slug = $1")
                .bind(slug.as_str())
                .bind(&text)
                .bind(now)
                .execute(pool)
                .await
                .context("setting a team's settings")?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// The credentials of the team named `slug`, opened with the store's keyring; `None` for
    /// a team whose credentials are the deployment's configured ones (the default team of a
    /// single-team deployment).
    pub async fn team_credentials(&self, slug: &TeamSlug) -> Result<Option<TeamCredentials>> {
        type SealedRow = (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>);
        let row: Option<SealedRow> = on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT credentials_key_id, credentials_nonce, credentials FROM teams WHERE slug = $1",
            )
            .bind(slug.as_str())
            .fetch_optional(pool)
            .await
            .context("reading a team's credentials")?
        });
        let (key_id, nonce, ciphertext) =
            row.ok_or_else(|| Error::Invalid(format!("no team named {slug}")))?;
        let (Some(key_id), Some(nonce), Some(ciphertext)) = (key_id, nonce, ciphertext) else {
            return Ok(None);
        };
        let sealed = Sealed {
            key_id,
            nonce,
            ciphertext,
        };
        let plain = self.keyring()?.open(&sealed, &sealing_context(slug))?;
        let stored: StoredCredentials =
            serde_json::from_slice(plain.expose_secret()).map_err(|source| Error::Encode {
                what: "a team's credentials",
                source,
            })?;
        Ok(Some(stored.into()))
    }

    /// Replace the credentials of the team named `slug` (new tokens, a new key); whether it
    /// exists.
    pub async fn set_team_credentials(
        &self,
        slug: &TeamSlug,
        credentials: &TeamCredentials,
    ) -> Result<bool> {
        let sealed = self.seal_credentials(slug, credentials)?;
        let now = self.now_ms();
        let n = on_writer!(self, |pool| {
            sqlx::query(
                "UPDATE teams SET credentials_key_id = $2, credentials_nonce = $3, credentials = $4, \
                 updated_at_ms = $5 WHERE slug = $1",
            )
            .bind(slug.as_str())
            .bind(&sealed.key_id)
            .bind(&sealed.nonce)
            .bind(&sealed.ciphertext)
            .bind(now)
            .execute(pool)
            .await
            .context("replacing a team's credentials")?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Seal every team's credentials again with the keyring's current key (after a rotation,
    /// before the old key leaves the configuration); how many were sealed again.
    pub async fn reseal_team_credentials(&self) -> Result<usize> {
        let current = self.keyring()?.current_id().to_owned();
        let stale: Vec<String> = on_reader!(self, |pool| {
            sqlx::query_scalar(
                "SELECT slug FROM teams WHERE credentials_key_id IS NOT NULL \
                 AND credentials_key_id <> $1 ORDER BY slug",
            )
            .bind(&current)
            .fetch_all(pool)
            .await
            .context("finding credentials sealed with an older key")?
        });
        let mut resealed = 0;
        for slug in stale {
            let slug = TeamSlug::parse(&slug)?;
            if let Some(credentials) = self.team_credentials(&slug).await? {
                self.set_team_credentials(&slug, &credentials).await?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// Whether any team-owned table holds a row of team `id`.
    pub async fn team_holds_rows(&self, id: TeamId) -> Result<bool> {
        for table in TEAM_TABLES {
            let sql = format!("SELECT 1 FROM {table} WHERE team_id = $1 LIMIT 1");
            let found: Option<i32> = on_reader!(self, |pool| {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(id.get())
                    .fetch_optional(pool)
                    .await
                    .context("looking for a team's rows")?
            });
            if found.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Remove the team named `slug` and every row it owns: paused first (so no worker claims
    /// its jobs), then its rows deleted table by table in batches of `batch` (short
    /// statements, so the other teams' writes wait at most for one batch), then its row.
    /// The default team cannot be removed. How many rows were deleted.
    pub async fn remove_team(&self, slug: &TeamSlug, batch: u32) -> Result<u64> {
        let team = self
            .team_by_slug(slug)
            .await?
            .ok_or_else(|| Error::Invalid(format!("no team named {slug}")))?;
        if team.id == TeamId::DEFAULT {
            return Err(Error::Invalid(
                "the default team holds the configured credentials' data and cannot be removed"
                    .into(),
            ));
        }
        self.set_team_state(slug, TeamState::Paused).await?;
        let row = match self.backend() {
            crate::Backend::Postgres => "ctid",
            crate::Backend::Sqlite => "rowid",
        };
        let mut deleted = 0;
        for table in TEAM_TABLES {
            let sql = format!(
                "DELETE FROM {table} WHERE {row} IN \
                 (SELECT {row} FROM {table} WHERE team_id = $1 LIMIT $2)"
            );
            loop {
                let n = on_writer!(self, |pool| {
                    sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(team.id.get())
                        .bind(i64::from(batch.max(1)))
                        .execute(pool)
                        .await
                        .context("deleting a team's rows")?
                        .rows_affected()
                });
                deleted += n;
                if n < u64::from(batch.max(1)) {
                    break;
                }
            }
        }
        on_writer!(self, |pool| {
            sqlx::query("DELETE FROM teams WHERE id = $1")
                .bind(team.id.get())
                .execute(pool)
                .await
                .context("removing a team")?;
        });
        Ok(deleted)
    }

    /// Whether every key includes the team, so a second team's records cannot collide with
    /// the first's: always on SQLite; on PostgreSQL once the contract step 0016 has run.
    async fn team_keys_ready(&self) -> Result<bool> {
        if self.backend() == crate::Backend::Sqlite {
            return Ok(true);
        }
        let applied: std::result::Result<Option<i64>, sqlx::Error> = on_reader!(self, |pool| {
            sqlx::query_scalar(
                "SELECT version FROM _salesloft_contract_migrations \
                 WHERE version = 16 AND success",
            )
            .fetch_optional(pool)
            .await
        });
        match applied {
            Ok(version) => Ok(version.is_some()),
            // No contract step ever ran.
            Err(sqlx::Error::Database(e)) if e.message().contains("_salesloft_contract") => {
                Ok(false)
            }
            Err(source) => Err(Error::Database {
                context: "reading the applied contract steps",
                source,
            }),
        }
    }

    fn seal_credentials(&self, slug: &TeamSlug, credentials: &TeamCredentials) -> Result<Sealed> {
        let plain: SecretSlice<u8> = serde_json::to_vec(&StoredCredentials::from(credentials))
            .map_err(|source| Error::Encode {
                what: "a team's credentials",
                source,
            })?
            .into();
        self.keyring()?
            .seal(plain.expose_secret(), &sealing_context(slug))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_short_lowercase_words() {
        for ok in ["acme", "acme-eu-2", "a", &"x".repeat(40)] {
            assert!(TeamSlug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Acme",
            "acme_eu",
            "acme eu",
            "ac/me",
            &"x".repeat(41),
            "é",
        ] {
            assert!(TeamSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let key = TeamCredentials::ApiKey("ak_secret".to_owned().into());
        assert!(!format!("{key:?}").contains("ak_secret"));
        let tokens = OAuthTokens::new("at_secret", Some("rt_secret".into()), None);
        let oauth = TeamCredentials::OAuth {
            client_id: "app".into(),
            tokens,
        };
        let shown = format!("{oauth:?}");
        assert!(
            !shown.contains("at_secret") && !shown.contains("rt_secret"),
            "{shown}"
        );
    }
}
