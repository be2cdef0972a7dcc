//! Loading the settings as every binary does: the built-in defaults, then a file, then the
//! `SALESLOFT_*` environment variables.

use std::path::Path;

use salesloft_runtime::Settings;

use crate::error::ConfigError;
use crate::layers;

/// Load the layers: the built-in defaults, then `explicit` or `config/<SALESLOFT_ENV>.toml`,
/// then the `SALESLOFT_*` variables of `vars` (pass `std::env::vars()`), and check every
/// range. OAuth tokens with nowhere else to go are kept under the configuration directory.
pub fn load(
    explicit: Option<&Path>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let vars: Vec<(String, String)> = vars.into_iter().collect();
    let merged = layers::merged(explicit, &vars)?;
    let mut settings = Settings::from_table(merged)?;
    settings.oauth.default_token_file = default_token_file(&vars);
    Ok(settings)
}

/// `salesloft/oauth-tokens.json` under `$XDG_CONFIG_HOME`, else under `$HOME/.config`;
/// `None` when neither is set.
fn default_token_file(vars: &[(String, String)]) -> Option<std::path::PathBuf> {
    let var = |name: &str| {
        vars.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| std::path::PathBuf::from(v))
    };
    let base = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|h| h.join(".config")))?;
    Some(base.join("salesloft").join("oauth-tokens.json"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use salesloft_runtime::redact_database_url;
    use salesloft_storage::Tz;
    use secrecy::ExposeSecret;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load_vars(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        load(None, vars(pairs))
    }

    #[test]
    fn defaults_load_with_no_files_and_no_environment() {
        let s = load_vars(&[]).unwrap();
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
        let s = load_vars(&[
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
        let s = load_vars(&[
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
    fn the_secrets_key_comes_from_the_environment_and_is_checked_but_never_shown() {
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
        let none = load_vars(&[]).unwrap();
        assert!(none.keyring().unwrap().is_none());
        let s = load_vars(&[
            ("SALESLOFT_SECRETS__KEY", key),
            ("SALESLOFT_SECRETS__KEY_ID", "k2"),
            ("SALESLOFT_SECRETS__OLD_KEYS", &format!("k1:{key}")),
        ])
        .unwrap();
        let ring = s.keyring().unwrap().unwrap();
        assert_eq!(ring.current_id(), "k2");
        assert!(!format!("{s:?}{ring:?}").contains(key));
        let short = load_vars(&[("SALESLOFT_SECRETS__KEY", "c2hvcnQ=")]).unwrap_err();
        let said = short.to_string();
        assert!(
            said.contains("secrets.key") && !said.contains("c2hvcnQ"),
            "{said}"
        );
    }

    #[test]
    fn one_budget_per_team_named_without_the_credential() {
        let key = |env: &[(&str, &str)]| load_vars(env).unwrap().budget_key();
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
        let err = load_vars(&[]).unwrap().auth(None).unwrap_err().to_string();
        assert!(
            err.contains("api.key") && err.contains("SALESLOFT_API_KEY"),
            "{err}"
        );
        let s = load_vars(&[("SALESLOFT_OAUTH_CLIENT_ID", "c")]).unwrap();
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
            let err = load_vars(&[(var, value)]).unwrap_err().to_string();
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
        let s = load(Some(&file), vars(&[])).unwrap();
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
            assert!(load(Some(&file), vars(&[])).is_ok(), "{env}");
        }
        let production = PathBuf::from(format!(
            "{}/../../config/production.toml",
            env!("CARGO_MANIFEST_DIR")
        ));
        let s = load(Some(&production), vars(&[])).unwrap();
        assert_eq!(
            s.jobs.metrics_bind,
            Some("0.0.0.0:9091".parse().unwrap()),
            "workers serve their metrics in production"
        );
        assert_eq!(s.server.bind, "0.0.0.0:8080".parse().unwrap());
        assert!(
            !s.database.migrate_on_start,
            "production migrates as a release step"
        );
        let unset = load(None, vars(&[])).unwrap();
        assert_eq!(unset.jobs.metrics_bind, None, "off by default");
        let set = load(
            None,
            vars(&[("SALESLOFT_JOBS__METRICS_BIND", "127.0.0.1:9")]),
        )
        .unwrap();
        assert_eq!(set.jobs.metrics_bind, Some("127.0.0.1:9".parse().unwrap()));
    }
}
