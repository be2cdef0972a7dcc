//! Layered configuration: `config/default.toml` (built in), then `config/<SALESLOFT_ENV>.toml`
//! or `--config FILE`, then `SALESLOFT_*` environment variables. Only binaries read these;
//! the libraries take the typed settings below.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{Auth, BoxError, BudgetConfig, OAuthApp, OAuthTokens, TokenStore};
use serde::Deserialize;
use toml::{Table, Value};

/// The built-in defaults.
const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Environment variables with a short name, and the key each sets.
const ALIASES: &[(&str, &str)] = &[
    ("SALESLOFT_API_KEY", "api.key"),
    ("SALESLOFT_BASE_URL", "api.base_url"),
    ("SALESLOFT_OAUTH_CLIENT_ID", "oauth.client_id"),
    ("SALESLOFT_OAUTH_CLIENT_SECRET", "oauth.client_secret"),
    ("SALESLOFT_OAUTH_REFRESH_TOKEN", "oauth.refresh_token"),
    ("SALESLOFT_TOKEN_URL", "oauth.token_url"),
    ("SALESLOFT_DATABASE_URL", "database.url"),
];

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid TOML.
    #[error("{origin} is not valid TOML: {message}")]
    Parse {
        /// Which layer.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The merged settings have a wrong or missing value.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// A required setting is missing.
    #[error("missing setting {key}: {hint}")]
    Missing {
        /// The setting's key.
        key: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
}

/// All settings of the `salesloft` command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// SalesLoft API settings.
    pub api: ApiSettings,
    /// OAuth app settings (instead of an API key).
    #[serde(default)]
    pub oauth: OAuthSettings,
    /// The local database.
    pub database: DatabaseSettings,
    /// The cost budget.
    pub budget: BudgetSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[api]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Base URL of the API.
    pub base_url: String,
    /// API key.
    #[serde(default)]
    pub key: Option<String>,
    /// Per-request timeout in seconds.
    pub timeout_secs: u64,
    /// Sends per request, retries included.
    pub max_attempts: u32,
}

impl std::fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings")
            .field("base_url", &self.base_url)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

/// `[oauth]`
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// OAuth client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Refresh token of the authorized user.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Token endpoint.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Where rotated tokens are kept between runs (SalesLoft revokes a refresh token when it
    /// issues the next, so the one in the configuration works only once).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

impl std::fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("token_url", &self.token_url)
            .field("token_file", &self.token_file)
            .finish()
    }
}

/// `[database]`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://...`.
    pub url: String,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A PostgreSQL URL may carry a password.
        let shown = match url_password_free(&self.url) {
            Some(u) => u,
            None => "[redacted]".to_owned(),
        };
        f.debug_struct("DatabaseSettings")
            .field("url", &shown)
            .finish()
    }
}

/// The URL without its password, if it parses.
fn url_password_free(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            Some(format!("{scheme}://{user}@{host}"))
        }
        None => Some(url.to_owned()),
    }
}

/// `[budget]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSettings {
    /// Most cost spent in any calendar minute.
    pub per_minute: u32,
    /// Most cost spent at once.
    pub burst: u32,
    /// Cost left for other integrations.
    pub reserve: u32,
}

/// `[log]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// tracing filter directives.
    pub filter: String,
}

impl Settings {
    /// Load the layers: defaults, then `explicit` or `config/<SALESLOFT_ENV>.toml`, then the
    /// environment (`vars`).
    pub fn load(
        explicit: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let mut merged = parse(DEFAULT_TOML, "built-in config/default.toml")?;
        let env_name = vars
            .iter()
            .find(|(k, _)| k == "SALESLOFT_ENV")
            .map(|(_, v)| v.clone());
        let layer_path = match (explicit, env_name) {
            (Some(p), _) => Some(p.to_path_buf()),
            (None, Some(env)) => Some(PathBuf::from(format!("config/{env}.toml"))),
            (None, None) => None,
        };
        if let Some(path) = layer_path {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            merge(&mut merged, parse(&text, &path.display().to_string())?);
        }
        for (name, value) in &vars {
            if let Some(key) = env_key(name) {
                set_path(&mut merged, &key, env_value(value))?;
            }
        }
        let settings: Settings = Value::Table(merged)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.budget.per_minute == 0 || self.budget.per_minute > 600 {
            return Err(ConfigError::Invalid(format!(
                "budget.per_minute must be 1..=600 (SalesLoft's team budget), got {}",
                self.budget.per_minute
            )));
        }
        if self.api.max_attempts == 0 {
            return Err(ConfigError::Invalid(
                "api.max_attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The credentials: an API key, or an OAuth app with a refresh token.
    pub fn auth(&self) -> Result<Auth, ConfigError> {
        if let Some(key) = self.api.key.as_ref().filter(|k| !k.is_empty()) {
            return Ok(Auth::api_key(key.clone()));
        }
        let o = &self.oauth;
        match (&o.client_id, &o.client_secret, &o.refresh_token) {
            (None, None, None) => Err(ConfigError::Missing {
                key: "api.key",
                hint: "set SALESLOFT_API_KEY, or oauth.client_id, oauth.client_secret and oauth.refresh_token",
            }),
            (Some(id), Some(secret), Some(refresh)) => {
                let mut app = OAuthApp::new(id.clone(), secret.clone());
                if let Some(url) = &o.token_url {
                    app = app.with_token_url(url.clone());
                }
                let store = FileTokenStore::new(
                    o.token_file
                        .clone()
                        .unwrap_or_else(|| PathBuf::from(".salesloft/oauth-tokens.json")),
                );
                // A token file from an earlier run holds the newest refresh token; the one in
                // the configuration was revoked when that file was written.
                let refresh = store
                    .load_refresh_token()?
                    .unwrap_or_else(|| refresh.clone());
                let tokens = OAuthTokens::new("", Some(refresh), Some(chrono::Utc::now()));
                Ok(Auth::oauth(app, tokens, Arc::new(store)))
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

    /// The budget as the client takes it.
    pub fn budget(&self) -> BudgetConfig {
        BudgetConfig {
            per_minute: self.budget.per_minute,
            burst: self.budget.burst,
            reserve: self.budget.reserve,
        }
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.api.timeout_secs)
    }
}

/// Keeps rotated OAuth tokens in a JSON file only the owner can read.
pub struct FileTokenStore {
    path: PathBuf,
}

#[derive(serde::Serialize, Deserialize)]
struct StoredTokens {
    refresh_token: Option<String>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl FileTokenStore {
    /// A store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn load_refresh_token(&self) -> Result<Option<String>, ConfigError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let stored: StoredTokens = serde_json::from_str(&text)
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", self.path.display())))?;
                Ok(stored.refresh_token)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[async_trait::async_trait]
impl TokenStore for FileTokenStore {
    async fn save(&self, tokens: &OAuthTokens) -> Result<(), BoxError> {
        use secrecy::ExposeSecret;
        let stored = StoredTokens {
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at: tokens.expires_at,
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        // Write a sibling file and rename it over the old one, so a crash leaves either.
        let tmp = self.path.with_extension("tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(&serde_json::to_vec(&stored)?)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}

fn parse(text: &str, origin: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        origin: origin.to_owned(),
        message: e.message().to_owned(),
    })
}

/// Deep-merge `over` into `base`: tables merge, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `SALESLOFT_BUDGET__PER_MINUTE` -> `budget.per_minute`; aliases for the common ones.
fn env_key(name: &str) -> Option<String> {
    if let Some((_, key)) = ALIASES.iter().find(|(n, _)| *n == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("SALESLOFT_")?;
    rest.contains("__")
        .then(|| rest.to_ascii_lowercase().replace("__", "."))
}

/// An environment value as TOML when it parses as a number or boolean, else as a string.
fn env_value(raw: &str) -> Value {
    if let Ok(i) = raw.parse::<i64>() {
        return Value::Integer(i);
    }
    if let Ok(b) = raw.parse::<bool>() {
        return Value::Boolean(b);
    }
    Value::String(raw.to_owned())
}

fn set_path(table: &mut Table, dotted: &str, value: Value) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut t = table;
    for p in parts {
        let entry = t
            .entry(p.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        t = entry
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid(format!("{dotted}: {p} is not a section")))?;
    }
    t.insert(last.to_owned(), value);
    Ok(())
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

    #[test]
    fn defaults_load_with_no_files_and_no_environment() {
        let s = Settings::load(None, vars(&[])).unwrap();
        assert_eq!(s.api.base_url, "https://api.salesloft.com");
        assert_eq!(s.budget.per_minute, 540);
    }

    #[test]
    fn environment_overrides_files_with_typed_values() {
        let s = Settings::load(
            None,
            vars(&[
                ("SALESLOFT_API_KEY", "ak_123"),
                ("SALESLOFT_BUDGET__PER_MINUTE", "300"),
                ("SALESLOFT_BASE_URL", "http://127.0.0.1:9"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.budget.per_minute, 300);
        assert_eq!(s.api.base_url, "http://127.0.0.1:9");
        assert!(s.auth().is_ok());
        assert!(!format!("{s:?}").contains("ak_123"));
        let s = Settings::load(
            None,
            vars(&[("SALESLOFT_DATABASE_URL", "postgres://u:pw@db/x")]),
        )
        .unwrap();
        assert_eq!(s.database.url, "postgres://u:pw@db/x");
        assert!(!format!("{s:?}").contains("pw"));
    }

    #[test]
    fn a_missing_credential_names_the_setting() {
        let s = Settings::load(None, vars(&[])).unwrap();
        let err = s.auth().unwrap_err().to_string();
        assert!(
            err.contains("api.key") && err.contains("SALESLOFT_API_KEY"),
            "{err}"
        );
        let s = Settings::load(None, vars(&[("SALESLOFT_OAUTH_CLIENT_ID", "c")])).unwrap();
        let err = s.auth().unwrap_err().to_string();
        assert!(err.contains("oauth.client_secret"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_the_key() {
        let err = Settings::load(None, vars(&[("SALESLOFT_BUDGET__PER_MINUTE", "900")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("budget.per_minute"), "{err}");
        let err = Settings::load(None, vars(&[("SALESLOFT_API__TYPO", "1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("typo"), "{err}");
    }

    #[test]
    fn an_environment_layer_file_is_read() {
        let dir = std::env::temp_dir().join(format!("salesloft-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("custom.toml");
        std::fs::write(&file, "[api]\ntimeout_secs = 7\n").unwrap();
        let s = Settings::load(Some(&file), vars(&[])).unwrap();
        assert_eq!(s.api.timeout_secs, 7);
        assert_eq!(s.api.max_attempts, 8, "other keys keep their defaults");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
