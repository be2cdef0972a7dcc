//! The typed settings, their ranges, and what the binaries build from them (credentials, the
//! client, the budget, the team).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{
    Auth, BudgetConfig, ClientBuilder, OAuthApp, OAuthTokens, RetryPolicy, TokenStore,
};
use salesloft_services::TeamSettings;
use salesloft_storage::Tz;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::de;
use crate::error::ConfigError;
use crate::layers;
use crate::tokens::FileTokenStore;

/// Every setting of every binary (`salesloft`, `salesloft-server`, `salesloft-worker`).
#[derive(Debug, Deserialize)]
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
}

/// `[people]`
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Default, Deserialize)]
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
    /// Keep tokens in this file instead of the database (SalesLoft revokes a refresh token
    /// when it issues the next, so the one in the configuration works only once). Unset: the
    /// database when the command has one, else `salesloft/oauth-tokens.json` under the
    /// configuration directory (`$XDG_CONFIG_HOME` or `~/.config`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// `[database]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DatabaseSettings {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://...` (which may carry a password).
    #[serde(deserialize_with = "required_secret")]
    pub url: SecretString,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BudgetSettings {
    /// Most cost spent in any calendar minute (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub per_minute: u32,
    /// Most cost spent at once (1 to `per_minute`).
    #[serde(deserialize_with = "de::number")]
    pub burst: u32,
    /// Cost left for other integrations (0 to 600).
    #[serde(deserialize_with = "de::number")]
    pub reserve: u32,
    /// The name of the team's budget in the database: every process spending from one team's
    /// budget uses the same one. Empty: derived from the base URL and the credentials.
    #[serde(default)]
    pub key: String,
}

/// `[log]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LogSettings {
    /// tracing filter directives.
    pub filter: String,
}

/// `[server]`
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookSettings {
    /// Callback tokens deliveries may be signed with (several during a rotation), besides
    /// those of subscriptions the toolkit created, which the database keeps. At least 16
    /// bytes each.
    #[serde(default, deserialize_with = "de::secret_list")]
    pub callback_tokens: Vec<SecretString>,
    /// Days processed (and skipped) deliveries are kept before they are pruned (1 to 3,650).
    #[serde(deserialize_with = "de::number")]
    pub keep_days: u64,
    /// Days failed deliveries are kept, for inspection (1 to 3,650).
    #[serde(deserialize_with = "de::number")]
    pub keep_failed_days: u64,
}

/// `[jobs]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JobSettings {
    /// Seconds between two scheduled syncs of each stream (10 to 86,400).
    #[serde(deserialize_with = "de::number")]
    pub sync_every_secs: u64,
    /// Jobs one worker process runs at once (1 to 64).
    #[serde(deserialize_with = "de::number")]
    pub concurrency: u32,
    /// Seconds a stopping worker gives running jobs to reach a safe point (1 to 600).
    #[serde(deserialize_with = "de::number")]
    pub shutdown_grace_secs: u64,
    /// Where `salesloft-worker` serves `/health`, `/ready` and `/metrics` (unset: nowhere).
    #[serde(default, deserialize_with = "de::parsed_option")]
    pub metrics_bind: Option<SocketAddr>,
}

/// `[sync]`
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
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
fn in_range(
    key: &'static str,
    value: u64,
    low: u64,
    high: u64,
    why: &str,
) -> Result<(), ConfigError> {
    if (low..=high).contains(&value) {
        return Ok(());
    }
    Err(ConfigError::OutOfRange {
        key,
        allowed: format!("{low}..={high}{why}"),
        got: value.to_string(),
    })
}

impl Settings {
    /// Load the layers: the built-in `config/default.toml`, then `explicit` or
    /// `config/<SALESLOFT_ENV>.toml`, then the `SALESLOFT_*` variables of `vars` (pass
    /// `std::env::vars()`), and check every range.
    pub fn load(
        explicit: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let merged = layers::merged(explicit, &vars)?;
        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: e.inner().message().to_owned(),
            })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, value, low, high, why) in self.ranges() {
            in_range(key, value, low, high, why)?;
        }
        self.validate_tokens()?;
        url::Url::parse(&self.api.base_url).map_err(|e| ConfigError::Invalid {
            key: "api.base_url".into(),
            message: format!("{:?} is not a URL: {e}", self.api.base_url),
        })?;
        Ok(())
    }

    /// Every ranged setting: its key, its value, the bounds it must lie in and why.
    fn ranges(&self) -> [(&'static str, u64, u64, u64, &'static str); 19] {
        let (b, s) = (&self.budget, &self.server);
        [
            (
                "budget.per_minute",
                b.per_minute.into(),
                1,
                600,
                " (SalesLoft's team budget)",
            ),
            (
                "budget.burst",
                b.burst.into(),
                1,
                b.per_minute.into(),
                " (at most budget.per_minute)",
            ),
            ("budget.reserve", b.reserve.into(), 0, 600, ""),
            ("api.timeout_secs", self.api.timeout_secs, 1, 600, ""),
            ("api.max_attempts", self.api.max_attempts.into(), 1, 20, ""),
            (
                "api.max_rate_limited_secs",
                self.api.max_rate_limited_secs,
                1,
                86_400,
                "",
            ),
            (
                "api.credential_probe_secs",
                self.api.credential_probe_secs,
                1,
                86_400,
                "",
            ),
            (
                "jobs.sync_every_secs",
                self.jobs.sync_every_secs,
                10,
                86_400,
                "",
            ),
            ("jobs.concurrency", self.jobs.concurrency.into(), 1, 64, ""),
            (
                "jobs.shutdown_grace_secs",
                self.jobs.shutdown_grace_secs,
                1,
                600,
                "",
            ),
            ("sync.lookback_ms", self.sync.lookback_ms, 0, 60_000, ""),
            (
                "sync.reconcile_max_percent",
                self.sync.reconcile_max_percent,
                1,
                100,
                "",
            ),
            (
                "server.header_timeout_secs",
                s.header_timeout_secs,
                1,
                300,
                "",
            ),
            ("server.body_timeout_secs", s.body_timeout_secs, 1, 300, ""),
            (
                "server.request_timeout_secs",
                s.request_timeout_secs,
                1,
                600,
                "",
            ),
            ("server.max_connections", s.max_connections, 1, 65_536, ""),
            (
                "server.shutdown_grace_secs",
                s.shutdown_grace_secs,
                1,
                600,
                "",
            ),
            ("webhooks.keep_days", self.webhooks.keep_days, 1, 3_650, ""),
            (
                "webhooks.keep_failed_days",
                self.webhooks.keep_failed_days,
                1,
                3_650,
                "",
            ),
        ]
    }

    /// Callback and admin tokens long enough not to be guessed.
    fn validate_tokens(&self) -> Result<(), ConfigError> {
        let short = |t: &SecretString| t.expose_secret().len() < MIN_TOKEN_BYTES;
        if self.webhooks.callback_tokens.iter().any(short) {
            return Err(ConfigError::Invalid {
                key: "webhooks.callback_tokens".into(),
                message: format!(
                    "a token is shorter than {MIN_TOKEN_BYTES} bytes: short tokens can be guessed \
                     (`salesloft webhooks subscribe` generates long ones)"
                ),
            });
        }
        if self.server.admin_token.as_ref().is_some_and(short) {
            return Err(ConfigError::Invalid {
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
    pub fn auth(&self, database: Option<&salesloft_storage::Store>) -> Result<Auth, ConfigError> {
        if let Some(key) = &self.api.key {
            return Ok(Auth::api_key(key.expose_secret()));
        }
        let o = &self.oauth;
        match (&o.client_id, &o.client_secret, &o.refresh_token) {
            (None, None, None) => Err(ConfigError::Missing {
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
                        FileTokenStore::default_path().ok_or(ConfigError::Missing {
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
            (None, _, _) => Err(ConfigError::Missing {
                key: "oauth.client_id",
                hint: "set SALESLOFT_OAUTH_CLIENT_ID",
            }),
            (_, None, _) => Err(ConfigError::Missing {
                key: "oauth.client_secret",
                hint: "set SALESLOFT_OAUTH_CLIENT_SECRET",
            }),
            (_, _, None) => Err(ConfigError::Missing {
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
    ) -> Result<ClientBuilder, ConfigError> {
        Ok(salesloft_client::Client::builder(self.auth(database)?)
            .base_url(&self.api.base_url)
            .timeout(Duration::from_secs(self.api.timeout_secs))
            .credential_probe_every(Duration::from_secs(self.api.credential_probe_secs))
            .retry(RetryPolicy {
                max_attempts: self.api.max_attempts,
                max_rate_limited: Duration::from_secs(self.api.max_rate_limited_secs),
                ..RetryPolicy::default()
            }))
    }

    /// The budget as the client and the shared budget take it.
    pub fn budget(&self) -> BudgetConfig {
        BudgetConfig {
            per_minute: self.budget.per_minute,
            burst: self.budget.burst,
            reserve: self.budget.reserve,
        }
    }

    /// The name of the team's shared budget: `budget.key`, or one derived from the base URL
    /// and a digest of the credential (never the credential itself), so every process with the
    /// same credentials spends from one budget.
    pub fn budget_key(&self) -> String {
        use sha2::Digest;
        if !self.budget.key.is_empty() {
            return self.budget.key.clone();
        }
        let credential = match (&self.api.key, &self.oauth.client_id) {
            (Some(key), _) => format!("key:{}", key.expose_secret()),
            (None, Some(id)) => format!("oauth:{id}"),
            (None, None) => String::new(),
        };
        let digest = sha2::Sha256::digest(credential.as_bytes());
        let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!(
            "salesloft:{}:{short}",
            self.api.base_url.trim_end_matches('/')
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::load(None, vars(pairs))
    }

    #[test]
    fn defaults_load_with_no_files_and_no_environment() {
        let s = load(&[]).unwrap();
        assert_eq!(s.api.base_url, "https://api.salesloft.com");
        assert_eq!(s.budget.per_minute, 540);
        assert_eq!(s.server.bind, "127.0.0.1:8080".parse().unwrap());
        assert!(s.webhooks.callback_tokens.is_empty());
        assert_eq!(s.jobs.sync_every_secs, 300);
        assert_eq!(s.team.time_zone, Tz::UTC);
        assert_eq!(s.team.connected_dispositions, ["Connected"]);
        assert_eq!(
            s.people_policies(),
            salesloft_services::FieldPolicies::people_defaults(),
            "config/default.toml documents the library's defaults"
        );
    }

    #[test]
    fn environment_overrides_files_with_typed_values() {
        let s = load(&[
            ("SALESLOFT_API_KEY", "12345"),
            ("SALESLOFT_BUDGET__PER_MINUTE", "300"),
            ("SALESLOFT_BASE_URL", "http://127.0.0.1:9"),
            ("SALESLOFT_SERVER__BIND", "0.0.0.0:9000"),
            ("SALESLOFT_JOBS__SYNC_EVERY_SECS", "60"),
            ("SALESLOFT_TEAM__TIME_ZONE", "America/Chicago"),
            (
                "SALESLOFT_WEBHOOKS__CALLBACK_TOKENS",
                "token-one-of-sixteen, token-two-of-sixteen,,",
            ),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(s.budget.per_minute, 300);
        assert_eq!(s.api.base_url, "http://127.0.0.1:9");
        assert_eq!(
            s.api.key.as_ref().map(|k| k.expose_secret()),
            Some("12345"),
            "a numeric-looking key stays text"
        );
        assert_eq!(s.server.bind.port(), 9000);
        assert_eq!(s.sync_every(), Duration::from_secs(60));
        assert_eq!(s.team().time_zone, Tz::America__Chicago);
        let tokens: Vec<&str> = s
            .webhooks
            .callback_tokens
            .iter()
            .map(|t| t.expose_secret())
            .collect();
        assert_eq!(tokens, ["token-one-of-sixteen", "token-two-of-sixteen"]);
        assert!(s.auth(None).is_ok());
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let s = load(&[
            ("SALESLOFT_API_KEY", "ak_secret_123"),
            ("SALESLOFT_DATABASE_URL", "postgres://u:pw_secret@db/x"),
            ("SALESLOFT_OAUTH_CLIENT_SECRET", "cs_secret"),
            (
                "SALESLOFT_WEBHOOKS__CALLBACK_TOKENS",
                "tok_secret_of_16_bytes",
            ),
            ("SALESLOFT_SERVER__ADMIN_TOKEN", "admin_secret_of_16_bytes"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        for secret in [
            "ak_secret_123",
            "pw_secret",
            "cs_secret",
            "tok_secret",
            "admin_secret",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(s.database.display_url(), "postgres://u@db/x");
    }

    #[test]
    fn one_budget_per_team_named_without_the_credential() {
        let key = |env: &[(&str, &str)]| load(env).unwrap().budget_key();
        let a = key(&[("SALESLOFT_API_KEY", "ak_secret_123")]);
        assert_eq!(a, key(&[("SALESLOFT_API_KEY", "ak_secret_123")]), "stable");
        assert!(!a.contains("ak_secret"), "{a}");
        assert!(a.starts_with("salesloft:https://api.salesloft.com:"), "{a}");
        assert_ne!(a, key(&[("SALESLOFT_API_KEY", "ak_other")]), "another team");
        assert_eq!(
            key(&[
                ("SALESLOFT_API_KEY", "ak_secret_123"),
                ("SALESLOFT_BUDGET__KEY", "team-16")
            ]),
            "team-16"
        );
    }

    #[test]
    fn database_passwords_never_show_whatever_the_spelling() {
        for (url, shown) in [
            ("postgres://u:pw@db/x", "postgres://u@db/x"),
            ("Postgres://u:pw@db/x", "Postgres://u@db/x"),
            (
                "postgresql://u:p@ss/w@rd@db:5432/x",
                "postgresql://u@db:5432/x",
            ),
            (
                "jdbc:postgresql://u:pw@db/x?sslmode=require&Password=pw",
                "jdbc:postgresql://u@db/x?sslmode=require&Password=[redacted]",
            ),
            (
                "host=db user=u password=pw dbname=x",
                "host=db user=u password=[redacted] dbname=x",
            ),
            ("sqlite://salesloft.db", "sqlite://salesloft.db"),
        ] {
            let redacted = redact_database_url(url);
            assert_eq!(redacted, shown, "{url}");
            for secret in ["pw", "p@ss", "w@rd"] {
                assert!(!redacted.contains(secret), "{secret} in {redacted}");
            }
        }
    }

    #[test]
    fn a_missing_credential_names_the_setting() {
        let err = load(&[]).unwrap().auth(None).unwrap_err().to_string();
        assert!(
            err.contains("api.key") && err.contains("SALESLOFT_API_KEY"),
            "{err}"
        );
        let s = load(&[("SALESLOFT_OAUTH_CLIENT_ID", "c")]).unwrap();
        let err = s.auth(None).unwrap_err().to_string();
        assert!(err.contains("oauth.client_secret"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key_and_the_allowed_range() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "SALESLOFT_BUDGET__PER_MINUTE",
                "900",
                &["budget.per_minute", "1..=600", "900"],
            ),
            (
                "SALESLOFT_BUDGET__PER_MINUTE",
                "0",
                &["budget.per_minute", "1..=600"],
            ),
            (
                "SALESLOFT_BUDGET__BURST",
                "541",
                &["budget.burst", "1..=540"],
            ),
            (
                "SALESLOFT_API__MAX_ATTEMPTS",
                "0",
                &["api.max_attempts", "1..=20"],
            ),
            (
                "SALESLOFT_API__TIMEOUT_SECS",
                "9999",
                &["api.timeout_secs", "1..=600"],
            ),
            (
                "SALESLOFT_JOBS__SYNC_EVERY_SECS",
                "1",
                &["jobs.sync_every_secs", "10..=86400"],
            ),
            (
                "SALESLOFT_JOBS__CONCURRENCY",
                "100",
                &["jobs.concurrency", "1..=64"],
            ),
            (
                "SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS",
                "0",
                &["jobs.shutdown_grace_secs"],
            ),
            (
                "SALESLOFT_SYNC__LOOKBACK_MS",
                "90000",
                &["sync.lookback_ms", "0..=60000"],
            ),
            (
                "SALESLOFT_SYNC__RECONCILE_MAX_PERCENT",
                "0",
                &["sync.reconcile_max_percent", "1..=100"],
            ),
            (
                "SALESLOFT_BUDGET__PER_MINUTE",
                "lots",
                &["budget.per_minute", "not a number"],
            ),
            ("SALESLOFT_BUDGET__PER_MINUTE", "-5", &["budget.per_minute"]),
            (
                "SALESLOFT_TEAM__TIME_ZONE",
                "Mars/Olympus",
                &["team.time_zone", "Mars/Olympus"],
            ),
            ("SALESLOFT_SERVER__BIND", "localhost", &["server.bind"]),
            (
                "SALESLOFT_WEBHOOKS__CALLBACK_TOKENS",
                "long-enough-token-1,short",
                &["webhooks.callback_tokens", "16 bytes"],
            ),
            (
                "SALESLOFT_SERVER__ADMIN_TOKEN",
                "hunter2",
                &["server.admin_token", "16 bytes"],
            ),
            (
                "SALESLOFT_SERVER__MAX_CONNECTIONS",
                "0",
                &["server.max_connections", "1..=65536"],
            ),
            (
                "SALESLOFT_SERVER__SHUTDOWN_GRACE_SECS",
                "0",
                &["server.shutdown_grace_secs"],
            ),
            (
                "SALESLOFT_WEBHOOKS__KEEP_DAYS",
                "0",
                &["webhooks.keep_days"],
            ),
            ("SALESLOFT_BASE_URL", "not a url", &["api.base_url"]),
            ("SALESLOFT_API__TYPO", "1", &["typo"]),
        ];
        for (var, value, wanted) in cases {
            let err = load(&[(var, value)]).unwrap_err().to_string();
            for w in *wanted {
                assert!(err.contains(w), "{var}={value}: {err:?} lacks {w:?}");
            }
        }
    }

    #[test]
    fn an_explicit_layer_file_is_read() {
        let dir = std::env::temp_dir().join(format!("salesloft-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("custom.toml");
        std::fs::write(
            &file,
            "[api]\ntimeout_secs = 7\n[webhooks]\ncallback_tokens = [\"token-a-of-16-bytes\", \"token-b-of-16-bytes\"]\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file), vars(&[])).unwrap();
        assert_eq!(s.api.timeout_secs, 7);
        assert_eq!(s.api.max_attempts, 8, "other keys keep their defaults");
        assert_eq!(s.webhooks.callback_tokens.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_shipped_layers_load() {
        for env in ["production", "test"] {
            let file = PathBuf::from(format!(
                "{}/../../config/{env}.toml",
                env!("CARGO_MANIFEST_DIR")
            ));
            assert!(Settings::load(Some(&file), vars(&[])).is_ok(), "{env}");
        }
        let production = PathBuf::from(format!(
            "{}/../../config/production.toml",
            env!("CARGO_MANIFEST_DIR")
        ));
        let s = Settings::load(Some(&production), vars(&[])).unwrap();
        assert_eq!(
            s.jobs.metrics_bind,
            Some("0.0.0.0:9091".parse().unwrap()),
            "workers serve their metrics in production"
        );
        assert_eq!(s.server.bind, "0.0.0.0:8080".parse().unwrap());
        let unset = Settings::load(None, vars(&[])).unwrap();
        assert_eq!(unset.jobs.metrics_bind, None, "off by default");
        let set = Settings::load(
            None,
            vars(&[("SALESLOFT_JOBS__METRICS_BIND", "127.0.0.1:9")]),
        )
        .unwrap();
        assert_eq!(set.jobs.metrics_bind, Some("127.0.0.1:9".parse().unwrap()));
    }
}
