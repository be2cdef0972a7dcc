//! Reading and merging the configuration layers into one TOML table: the built-in defaults,
//! then a file, then `SALESLOFT_*` environment variables.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::ConfigError;

/// Environment variables with a short name, and the key each sets.
pub const ALIASES: &[(&str, &str)] = &[
    ("SALESLOFT_API_KEY", "api.key"),
    ("SALESLOFT_BASE_URL", "api.base_url"),
    ("SALESLOFT_OAUTH_CLIENT_ID", "oauth.client_id"),
    ("SALESLOFT_OAUTH_CLIENT_SECRET", "oauth.client_secret"),
    ("SALESLOFT_OAUTH_REFRESH_TOKEN", "oauth.refresh_token"),
    ("SALESLOFT_TOKEN_URL", "oauth.token_url"),
    ("SALESLOFT_DATABASE_URL", "database.url"),
];

/// The merged layers: defaults, then `explicit` or `config/<SALESLOFT_ENV>.toml`, then the
/// `SALESLOFT_*` variables of `vars`. Environment values stay strings; the settings' types read
/// numbers and flags from them.
pub(crate) fn merged(
    explicit: Option<&Path>,
    vars: &[(String, String)],
) -> Result<Table, ConfigError> {
    let mut merged = salesloft_runtime::Settings::defaults_table()?;
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
    for (name, value) in vars {
        if let Some(key) = env_key(name) {
            set_path(&mut merged, &key, Value::String(value.clone()))?;
        }
    }
    Ok(merged)
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

/// `SALESLOFT_BUDGET__PER_MINUTE` -> `budget.per_minute`; the short aliases for the common ones.
fn env_key(name: &str) -> Option<String> {
    if let Some((_, key)) = ALIASES.iter().find(|(n, _)| *n == name) {
        return Some((*key).to_owned());
    }
    let rest = name.strip_prefix("SALESLOFT_")?;
    rest.contains("__")
        .then(|| rest.to_ascii_lowercase().replace("__", "."))
}

fn set_path(table: &mut Table, dotted: &str, value: Value) -> Result<(), ConfigError> {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut t = table;
    for p in parts {
        let entry = t
            .entry(p.to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        t = entry.as_table_mut().ok_or_else(|| ConfigError::Invalid {
            key: dotted.to_owned(),
            message: format!("{p} is not a section"),
        })?;
    }
    t.insert(last.to_owned(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_map_to_dotted_keys() {
        assert_eq!(
            env_key("SALESLOFT_BUDGET__PER_MINUTE").as_deref(),
            Some("budget.per_minute")
        );
        assert_eq!(
            env_key("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS").as_deref(),
            Some("webhooks.callback_tokens")
        );
        assert_eq!(env_key("SALESLOFT_API_KEY").as_deref(), Some("api.key"));
        assert_eq!(env_key("SALESLOFT_ENV"), None);
        assert_eq!(env_key("HOME"), None);
    }
}
