//! [`FileTokenStore`]: rotated OAuth tokens kept in a file between runs of the command line
//! (the server and the worker keep them in the database instead).

use std::path::PathBuf;

use salesloft_client::{BoxError, OAuthTokens, TokenStore};
use serde::Deserialize;

use crate::error::ConfigError;

/// Keeps rotated OAuth tokens in a JSON file only the owner can read.
#[derive(Debug)]
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

    /// The refresh token an earlier run saved, if any.
    pub fn load_refresh_token(&self) -> Result<Option<String>, ConfigError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let stored: StoredTokens =
                    serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
                        key: "oauth.token_file".into(),
                        message: format!("{} is not a token file: {e}", self.path.display()),
                    })?;
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
