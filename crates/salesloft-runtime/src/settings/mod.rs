//! The typed settings, their ranges, and what a process builds from them (credentials, the
//! client, the budget, the team). Built from the defaults and changed in code, or loaded by
//! the binaries' configuration crate from files and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{
    Auth, BudgetConfig, ClientBuilder, OAuthApp, OAuthTokens, RetryPolicy, TokenStore,
};
use salesloft_services::TeamSettings;
use salesloft_storage::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod de;
mod store;
mod tokens;

pub use tokens::FileTokenStore;

use crate::error::Error;

/// The built-in defaults of every setting, as TOML (the first configuration layer).
pub const DEFAULTS_TOML: &str = include_str!("../../defaults.toml");

/// Every setting of every binary (`salesloft`, `salesloft-server`, `salesloft-worker`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// `[api]`: the SalesLoft API.
    pub api: ApiSettings,
    /// `[oauth]`: an OAuth app instead of an API key.
    #[serde(default)]
    pub oauth: OAuthSettings,
    /// `[database]`: the local copy.
    pub database: DatabaseSettings,
    /// `[budget]`: the team's cost budget.
    pub budget: BudgetSettings,
    /// `[log]`: logging.
    pub log: LogSettings,
    /// `[server]`: the web process.
    pub server: ServerSettings,
    /// `[webhooks]`: SalesLoft's webhook deliveries.
    pub webhooks: WebhookSettings,
    /// `[jobs]`: background work.
    pub jobs: JobSettings,
    /// `[sync]`: how the local copy is kept exact.
    pub sync: SyncSection,
    /// `[team]`: the SalesLoft team served.
    pub team: TeamSection,
    /// `[people]`: two-way people sync.
    pub people: PeopleSection,
    /// `[secrets]`: the keys team credentials are sealed with.
    #[serde(default)]
    pub secrets: SecretsSettings,
}

/// `[secrets]`: the keys the database's copies of team credentials are sealed with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SecretsSettings {
    /// The key that seals: the base64 of 32 random bytes (`openssl rand -base64 32`). Unset,
    /// team credentials can be neither stored nor read.
    #[serde(default, deserialize_with = "de::secret")]
    pub key: Option<SecretString>,
    /// Its id, stored beside every secret it seals (default `k1`): give a new key a new id.
    #[serde(default = "default_key_id")]
    pub key_id: String,
    /// Older keys that still open what they sealed, during a rotation: `id:base64` each.
    #[serde(default, deserialize_with = "de::secret_list")]
    pub old_keys: Vec<SecretString>,
}

fn default_key_id() -> String {
    "k1".to_owned()
}

impl Default for SecretsSettings {
    fn default() -> Self {
        Self {
            key: None,
            key_id: default_key_id(),
            old_keys: Vec::new(),
        }
    }
}

/// `[people]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PeopleSection {
    /// The policy of every field `policies` does not name.
    pub default_policy: salesloft_services::FieldPolicy,
    /// Policies by SalesLoft field name.
    #[serde(default)]
    pub policies: std::collections::BTreeMap<String, salesloft_services::FieldPolicy>,
}

/// `[api]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiSettings {
    /// Base URL of the API.
    pub base_url: String,
    /// The API key.
    #[serde(default, deserialize_with = "de::secret")]
    pub key: Option<SecretString>,
    /// Per-request timeout in seconds (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub timeout_secs: u64,
    /// Sends per request, retries included (1 to 20).
    #[serde(deserialize_with = "de::number")]
    pub max_attempts: u32,
    /// Seconds of nothing but 429s (or no budget) before a request fails (1 to 86400).
    #[serde(deserialize_with = "de::number")]
    pub max_rate_limited_secs: u64,
    /// While SalesLoft rejects the credentials, seconds between probes (1 to 86400).
    #[serde(deserialize_with = "de::number")]
    pub credential_probe_secs: u64,
}

/// `[oauth]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OAuthSettings {
    /// OAuth client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[serde(default, deserialize_with = "de::secret")]
    pub client_secret: Option<SecretString>,
    /// Refresh token of the authorized user.
    #[serde(default, deserialize_with = "de::secret")]
    pub refresh_token: Option<SecretString>,
    /// Token endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
    /// The authorize page a browser is sent to when a team is connected (`/connect`).
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub authorize_url: Option<url::Url>,
    /// The redirect URI registered with the app, where the server's `/connect/callback` is
    /// reached (`https://ops.example.com/connect/callback`). Unset: no connecting in a browser.
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub redirect_url: Option<url::Url>,
    /// Keep tokens in this file instead of the database (SalesLoft revokes a refresh token
    /// when it issues the next, so the one in the configuration works only once). Unset: the
    /// database when the command has one, else `salesloft/oauth-tokens.json` under the
    /// configuration directory (`$XDG_CONFIG_HOME` or `~/.config`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Where tokens go when neither `token_file` nor a database is at hand (the binaries set
    /// it from `$XDG_CONFIG_HOME` or `$HOME`; a library reads no environment).
    #[serde(skip)]
    pub default_token_file: Option<PathBuf>,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DatabaseSettings {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://...` (which may carry a password).
    #[serde(deserialize_with = "required_secret")]
    pub url: SecretString,
    /// Apply pending migrations when a process starts ([`crate::App::build`]); without it a
    /// process starts only on a migrated database (`salesloft migrate`).
    pub migrate_on_start: bool,
}

fn required_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    Ok(SecretString::from(String::deserialize(d)?))
}

impl DatabaseSettings {
    /// The URL without its password, for logs and messages.
    pub fn display_url(&self) -> String {
        redact_database_url(self.url.expose_secret())
    }
}

/// `url` with every password removed: the userinfo's (whatever the scheme's spelling,
/// `jdbc:` prefixes included, a password holding `@` too) and any `password=` parameter, in
/// a query string or a `key=value` connection string.
pub fn redact_database_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let head = match head.split_once("://") {
        // The userinfo ends at the authority's last `@`: a password may hold `@` or `/`.
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{scheme}://{user}@{host}")
            }
            None => head.to_owned(),
        },
        None => redact_password_params(head, ' '),
    };
    match query {
        Some(q) => format!("{head}?{}", redact_password_params(q, '&')),
        None => head,
    }
}

/// `key=value` pairs separated by `sep` with the values of `password` (any case) redacted.
fn redact_password_params(text: &str, sep: char) -> String {
    text.split(sep)
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.trim().eq_ignore_ascii_case("password") => format!("{k}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

/// `[budget]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BudgetSettings {
    /// Most cost spent in any calendar minute (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub per_minute: u32,
    /// Most cost spent at once (1 to `per_minute`; at most a tenth of it takes effect).
    #[serde(deserialize_with = "de::number")]
    pub burst: u32,
    /// The share of `per_minute`, in percent, left for other integrations when the server
    /// says the minute runs low (0 to 50).
    #[serde(deserialize_with = "de::number")]
    pub reserve_percent: u8,
    /// The name of the team's budget in the database: every process spending from one team's
    /// budget uses the same one. Empty: derived from the base URL and the credentials.
    #[serde(default)]
    pub key: String,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogSettings {
    /// tracing filter directives.
    pub filter: String,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerSettings {
    /// Where `salesloft-server` takes webhooks (and serves `/health`).
    #[serde(deserialize_with = "de::parsed")]
    pub bind: SocketAddr,
    /// Where it serves the operator routes (the status page, `/metrics`, `/ready`); unset:
    /// on `bind` beside the webhooks.
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub ops_bind: Option<SocketAddr>,
    /// The token operator routes ask for (bearer header, or the login form's cookie). Without
    /// it operator routes are served on loopback addresses only. At least 16 bytes.
    #[serde(default, deserialize_with = "de::secret")]
    pub admin_token: Option<SecretString>,
    /// A header an authenticating reverse proxy sets on every request it lets through (such
    /// as `X-Forwarded-User`): a request carrying it is an operator's. Only for a server
    /// that nothing but that proxy can reach, and that strips the header from what clients send.
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub admin_header: Option<axum::http::HeaderName>,
    /// Seconds a client has to send a request's headers; also how long a keep-alive
    /// connection may stay silent (1 to 300).
    #[serde(deserialize_with = "de::number")]
    pub header_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces (1 to 300).
    #[serde(deserialize_with = "de::number")]
    pub body_timeout_secs: u64,
    /// Seconds for a whole request, its body read and its answer (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub request_timeout_secs: u64,
    /// Connections one listener keeps open at once (1 to 65,536; keep it below the
    /// process's open-file limit).
    #[serde(deserialize_with = "de::number")]
    pub max_connections: u64,
    /// Seconds requests in flight get once shutdown begins, before their connections are
    /// closed (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub shutdown_grace_secs: u64,
}

/// Bytes a callback or admin token has at least: shorter ones can be guessed.
pub const MIN_TOKEN_BYTES: usize = 16;

/// `[webhooks]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookSettings {
    /// Callback tokens deliveries may be signed with (several during a rotation), besides
    /// those of subscriptions the toolkit created, which the database keeps. At least 16
    /// bytes each.
    #[serde(default, deserialize_with = "de::secret_list")]
    pub callback_tokens: Vec<SecretString>,
    /// Where SalesLoft reaches `server.bind`'s `/webhooks/salesloft`
    /// (`https://hooks.example.com/webhooks/salesloft`): a team connected in a browser is
    /// subscribed at `{callback_url}/{slug}`. Unset: connected teams are not subscribed.
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub callback_url: Option<url::Url>,
    /// Days processed (and skipped) deliveries are kept before they are pruned (1 to 3,650).
    #[serde(deserialize_with = "de::number")]
    pub keep_days: u64,
    /// Days failed deliveries are kept, for inspection (1 to 3,650).
    #[serde(deserialize_with = "de::number")]
    pub keep_failed_days: u64,
}

/// `[jobs]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JobSettings {
    /// Seconds between two scheduled syncs of each stream (10 to 86,400).
    #[serde(deserialize_with = "de::number")]
    pub sync_every_secs: u64,
    /// Jobs one worker process runs at once (1 to 64).
    #[serde(deserialize_with = "de::number")]
    pub concurrency: u32,
    /// Jobs of one team running at once over every worker process (1 to 64).
    #[serde(deserialize_with = "de::number")]
    pub max_running_per_team: u32,
    /// Seconds a stopping worker gives running jobs to reach a safe point (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub shutdown_grace_secs: u64,
    /// Where `salesloft-worker` serves `/health`, `/ready` and `/metrics` (unset: nowhere).
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub metrics_bind: Option<SocketAddr>,
}

/// `[sync]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SyncSection {
    /// Milliseconds an incremental run re-reads behind its cursor, for records committed late
    /// (0 to 60,000; 0 turns it off).
    #[serde(deserialize_with = "de::number")]
    pub lookback_ms: u64,
    /// The largest share of a stream, in percent, one reconcile pass may delete without
    /// `--force` (1 to 100).
    #[serde(deserialize_with = "de::number")]
    pub reconcile_max_percent: u64,
}

/// `[team]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TeamSection {
    /// The team's IANA time zone, such as `America/Chicago`.
    #[serde(deserialize_with = "de::parsed")]
    pub time_zone: Tz,
    /// Call dispositions that count as connected in the daily engagement, compared exactly
    /// (env `SALESLOFT_TEAM__CONNECTED_DISPOSITIONS=Connected,Meeting Booked`).
    #[serde(deserialize_with = "de::string_list")]
    pub connected_dispositions: Vec<String>,
}

/// One range rule: the key, the value, the allowed bounds and why.
fn in_range(key: &'static str, value: u64, low: u64, high: u64, why: &str) -> Result<(), Error> {
    if (low..=high).contains(&value) {
        return Ok(());
    }
    Err(Error::OutOfRange {
        key,
        allowed: format!("{low}..={high}{why}"),
        got: value.to_string(),
    })
}

impl Settings {
    /// The built-in defaults ([`DEFAULTS_TOML`]) as a table, to merge layers over.
    pub fn defaults_table() -> Result<toml::Table, Error> {
        DEFAULTS_TOML
            .parse::<toml::Table>()
            .map_err(|e| Error::Parse {
                origin: "the built-in defaults".into(),
                message: e.message().to_owned(),
            })
    }

    /// The settings of a merged table (the defaults with any layers over them), every range
    /// checked.
    pub fn from_table(table: toml::Table) -> Result<Self, Error> {
        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| Error::Invalid {
                key: e.path().to_string(),
                message: e.inner().message().to_owned(),
            })?;
        settings.validate()?;
        Ok(settings)
    }

    /// The built-in defaults: the embedded SQLite database and the real API, with no
    /// credentials. Change fields in code, then [`Settings::validate`].
    pub fn defaults() -> Result<Self, Error> {
        Self::from_table(Self::defaults_table()?)
    }

    /// Check every range and token length (after changing fields in code).
    pub fn validate(&self) -> Result<(), Error> {
        for (key, value, low, high, why) in self.ranges() {
            in_range(key, value, low, high, why)?;
        }
        self.validate_tokens()?;
        self.validate_urls()?;
        self.keyring()?;
        url::Url::parse(&self.api.base_url).map_err(|e| Error::Invalid {
            key: "api.base_url".into(),
            message: format!("{:?} is not a URL: {e}", self.api.base_url),
        })?;
        Ok(())
    }

    /// Every ranged setting: its key, its value, the bounds it must lie in and why.
    // A table: one setting a row (rustfmt would give each row seven lines).
    #[rustfmt::skip]
    fn ranges(&self) -> [(&'static str, u64, u64, u64, &'static str); 20] {
        let (b, s, a, j, w) = (&self.budget, &self.server, &self.api, &self.jobs, &self.webhooks);
        let per_minute = u64::from(b.per_minute);
        [
            ("budget.per_minute", per_minute, 1, 600, " (SalesLoft's team budget)"),
            ("budget.burst", b.burst.into(), 1, per_minute, ""),
            ("budget.reserve_percent", b.reserve_percent.into(), 0, 50, ""),
            ("api.timeout_secs", a.timeout_secs, 1, 600, ""),
            ("api.max_attempts", a.max_attempts.into(), 1, 20, ""),
            ("api.max_rate_limited_secs", a.max_rate_limited_secs, 1, 86_400, ""),
            ("api.credential_probe_secs", a.credential_probe_secs, 1, 86_400, ""),
            ("jobs.sync_every_secs", j.sync_every_secs, 10, 86_400, ""),
            ("jobs.concurrency", j.concurrency.into(), 1, 64, ""),
            ("jobs.max_running_per_team", j.max_running_per_team.into(), 1, 64, ""),
            ("jobs.shutdown_grace_secs", j.shutdown_grace_secs, 1, 600, ""),
            ("sync.lookback_ms", self.sync.lookback_ms, 0, 60_000, ""),
            ("sync.reconcile_max_percent", self.sync.reconcile_max_percent, 1, 100, ""),
            ("server.header_timeout_secs", s.header_timeout_secs, 1, 300, ""),
            ("server.body_timeout_secs", s.body_timeout_secs, 1, 300, ""),
            ("server.request_timeout_secs", s.request_timeout_secs, 1, 600, ""),
            ("server.max_connections", s.max_connections, 1, 65_536, ""),
            ("server.shutdown_grace_secs", s.shutdown_grace_secs, 1, 600, ""),
            ("webhooks.keep_days", w.keep_days, 1, 3_650, ""),
            ("webhooks.keep_failed_days", w.keep_failed_days, 1, 3_650, ""),
        ]
    }

    /// The URLs browsers and SalesLoft are sent to are web addresses.
    fn validate_urls(&self) -> Result<(), Error> {
        let urls = [
            ("oauth.authorize_url", &self.oauth.authorize_url),
            ("oauth.redirect_url", &self.oauth.redirect_url),
            ("webhooks.callback_url", &self.webhooks.callback_url),
        ];
        for (key, url) in urls {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                return Err(Error::Invalid {
                    key: key.into(),
                    message: format!("{:?} is not an http(s) URL", url.as_str()),
                });
            }
        }
        Ok(())
    }

    /// Callback and admin tokens long enough not to be guessed.
    fn validate_tokens(&self) -> Result<(), Error> {
        let short = |t: &SecretString| t.expose_secret().len() < MIN_TOKEN_BYTES;
        if self.webhooks.callback_tokens.iter().any(short) {
            return Err(Error::Invalid {
                key: "webhooks.callback_tokens".into(),
                message: format!(
                    "a token is shorter than {MIN_TOKEN_BYTES} bytes: short tokens can be guessed \
                     (`salesloft webhooks subscribe` generates long ones)"
                ),
            });
        }
        if self.server.admin_token.as_ref().is_some_and(short) {
            return Err(Error::Invalid {
                key: "server.admin_token".into(),
                message: format!(
                    "shorter than {MIN_TOKEN_BYTES} bytes: short tokens can be guessed (try \
                     `openssl rand -hex 32`)"
                ),
            });
        }
        Ok(())
    }

    /// The credentials: an API key, or an OAuth app with a refresh token whose rotations are
    /// kept in `oauth.token_file` when set, else in `database` (shared by every process on it),
    /// else in the default token file.
    pub fn auth(&self, database: Option<&salesloft_storage::Store>) -> Result<Auth, Error> {
        if let Some(key) = &self.api.key {
            return Ok(Auth::api_key(key.expose_secret()));
        }
        let o = &self.oauth;
        match (&o.client_id, &o.client_secret, &o.refresh_token) {
            (None, None, None) => Err(Error::Missing {
                key: "api.key",
                hint: "set SALESLOFT_API_KEY, or oauth.client_id, oauth.client_secret and oauth.refresh_token",
            }),
            (Some(id), Some(secret), Some(refresh)) => {
                let mut app = OAuthApp::new(id.clone(), secret.expose_secret());
                if let Some(url) = &o.token_url {
                    app = app.with_token_url(url.clone());
                }
                let store: Arc<dyn TokenStore> = match (&o.token_file, database) {
                    (Some(path), _) => Arc::new(FileTokenStore::new(path.clone())),
                    (None, Some(db)) => Arc::new(salesloft_storage::DbTokenStore::new(
                        db.clone(),
                        format!("oauth:{}:{id}", app.token_url),
                    )),
                    (None, None) => Arc::new(FileTokenStore::new(
                        o.default_token_file.clone().ok_or(Error::Missing {
                            key: "oauth.token_file",
                            hint: "set SALESLOFT_OAUTH__TOKEN_FILE (neither XDG_CONFIG_HOME nor HOME is set)",
                        })?,
                    )),
                };
                // The configured refresh token is the fallback: the client reads the store
                // first and uses (or refreshes with) the newest pair saved there.
                let tokens = OAuthTokens::new(
                    "",
                    Some(refresh.expose_secret().to_owned()),
                    Some(chrono::Utc::now()),
                );
                Ok(Auth::oauth(app, tokens, store))
            }
            (None, _, _) => Err(Error::Missing {
                key: "oauth.client_id",
                hint: "set SALESLOFT_OAUTH_CLIENT_ID",
            }),
            (_, None, _) => Err(Error::Missing {
                key: "oauth.client_secret",
                hint: "set SALESLOFT_OAUTH_CLIENT_SECRET",
            }),
            (_, _, None) => Err(Error::Missing {
                key: "oauth.refresh_token",
                hint: "set SALESLOFT_OAUTH_REFRESH_TOKEN",
            }),
        }
    }

    /// A client builder with the credentials (OAuth tokens kept in `database` when given; see
    /// [`Settings::auth`]), base URL, timeout and retry policy set; add a limiter and build.
    pub fn client_builder(
        &self,
        database: Option<&salesloft_storage::Store>,
    ) -> Result<ClientBuilder, Error> {
        Ok(self.client_builder_for(self.auth(database)?, &self.api.base_url))
    }

    /// A client builder with `auth` for the API at `base_url`, and the configured timeout
    /// and retry policy (a team connected with its own credentials).
    pub fn client_builder_for(&self, auth: Auth, base_url: &str) -> ClientBuilder {
        salesloft_client::Client::builder(auth)
            .base_url(base_url)
            .timeout(Duration::from_secs(self.api.timeout_secs))
            .credential_probe_every(Duration::from_secs(self.api.credential_probe_secs))
            .retry(RetryPolicy {
                max_attempts: self.api.max_attempts,
                max_rate_limited: Duration::from_secs(self.api.max_rate_limited_secs),
                ..RetryPolicy::default()
            })
    }

    /// The budget as the client and the shared budget take it.
    pub fn budget(&self) -> BudgetConfig {
        BudgetConfig {
            per_minute: self.budget.per_minute,
            burst: self.budget.burst,
            reserve_percent: self.budget.reserve_percent,
        }
    }

    /// The name of the team's shared budget: `budget.key`, or one derived from the base URL
    /// and a digest of the credential (never the credential itself), so every process with the
    /// same credentials spends from one budget.
    pub fn budget_key(&self) -> String {
        if !self.budget.key.is_empty() {
            return self.budget.key.clone();
        }
        let credential = match (&self.api.key, &self.oauth.client_id) {
            (Some(key), _) => Auth::api_key(key.expose_secret()).credential_id(),
            (None, Some(id)) => OAuthApp::new(id.clone(), "").credential_id(),
            (None, None) => "none".to_owned(),
        };
        salesloft_client::budget_key(&self.api.base_url, &credential)
    }

    /// The keyring of `[secrets]` (none without `secrets.key`); a key that is not the base64
    /// of 32 bytes is refused, naming the setting, never showing the key.
    pub fn keyring(&self) -> Result<Option<salesloft_storage::Keyring>, Error> {
        use salesloft_storage::{Keyring, SecretsKey};
        let s = &self.secrets;
        let Some(key) = &s.key else {
            return Ok(None);
        };
        let invalid = |key: &str, e: salesloft_storage::Error| Error::Invalid {
            key: key.to_owned(),
            message: e.to_string(),
        };
        let current = SecretsKey::from_base64(s.key_id.clone(), key.expose_secret())
            .map_err(|e| invalid("secrets.key", e))?;
        let mut ring = Keyring::new(current);
        for old in &s.old_keys {
            let (id, encoded) = old.expose_secret().split_once(':').ok_or(Error::Invalid {
                key: "secrets.old_keys".into(),
                message: "each is `id:base64`".into(),
            })?;
            let older =
                SecretsKey::from_base64(id, encoded).map_err(|e| invalid("secrets.old_keys", e))?;
            ring = ring.with_older(older);
        }
        Ok(Some(ring))
    }

    /// Whether the configuration holds the default team's credentials: `api.key`, or an
    /// OAuth app with its refresh token (an app alone only connects other teams).
    pub fn has_credentials(&self) -> bool {
        self.api.key.is_some()
            || (self.oauth.client_id.is_some() && self.oauth.refresh_token.is_some())
    }

    /// The configured OAuth app (`oauth.client_id` and `oauth.client_secret`, with
    /// `oauth.token_url`), if both are set.
    pub fn oauth_app(&self) -> Option<OAuthApp> {
        let o = &self.oauth;
        let (id, secret) = (o.client_id.as_ref()?, o.client_secret.as_ref()?);
        let app = OAuthApp::new(id.clone(), secret.expose_secret());
        Some(match &o.token_url {
            Some(url) => app.with_token_url(url.clone()),
            None => app,
        })
    }

    /// The team's settings as the services take them.
    pub fn team(&self) -> TeamSettings {
        TeamSettings::new(self.team.time_zone)
    }

    /// How the daily engagement is computed.
    pub fn engagement(&self) -> salesloft_services::EngagementConfig {
        salesloft_services::EngagementConfig::default()
            .with_connected_dispositions(self.team.connected_dispositions.clone())
    }

    /// The field policies of two-way people sync.
    pub fn people_policies(&self) -> salesloft_services::FieldPolicies {
        salesloft_services::FieldPolicies {
            fields: self.people.policies.clone(),
            default: self.people.default_policy,
        }
    }

    /// How long the webhook inbox keeps deliveries (`webhooks.keep_days`, `keep_failed_days`).
    pub fn inbox_retention(&self) -> salesloft_webhooks::jobs::InboxRetention {
        let days = |n: u64| Duration::from_secs(n.saturating_mul(86_400));
        salesloft_webhooks::jobs::InboxRetention {
            settled: days(self.webhooks.keep_days),
            failed: days(self.webhooks.keep_failed_days),
        }
    }

    /// The interval between scheduled syncs.
    pub fn sync_every(&self) -> Duration {
        Duration::from_secs(self.jobs.sync_every_secs)
    }

    /// A sync run's options (`full` forgets the cursors first).
    pub fn sync_options(&self, full: bool) -> salesloft_services::SyncOptions {
        salesloft_services::SyncOptions {
            full,
            lookback: Duration::from_millis(self.sync.lookback_ms),
            ..salesloft_services::SyncOptions::default()
        }
    }

    /// A reconcile pass's options.
    pub fn reconcile_options(&self, force: bool) -> salesloft_services::ReconcileOptions {
        salesloft_services::ReconcileOptions {
            max_fraction: self.sync.reconcile_max_percent as f64 / 100.0,
            force,
        }
    }
}
