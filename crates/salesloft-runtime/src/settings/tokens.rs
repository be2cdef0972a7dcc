//! [`FileTokenStore`]: OAuth tokens kept in a file between runs, for a command line used
//! without a shared database (the server, the worker and `salesloft` with a database keep them
//! in the database instead).

use std::path::{Path, PathBuf};
use std::time::Duration;

use salesloft_client::{BoxError, OAuthTokens, RefreshLock, ReleaseRefreshLock, TokenStore};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Keeps OAuth tokens in a JSON file only the owner can read (mode 0600, written whole under
/// a fresh name and renamed into place), with a lock file beside it so that processes on one
/// machine refresh one at a time.
#[derive(Debug)]
pub struct FileTokenStore {
    path: PathBuf,
    wait: Duration,
}

#[derive(Serialize, Deserialize)]
struct StoredTokens {
    #[serde(default)]
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    scope: Option<String>,
}

impl FileTokenStore {
    /// A store at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            wait: Duration::from_secs(90),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens an earlier run saved, if any.
    pub fn read(&self) -> Result<Option<OAuthTokens>, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                // serde's messages name the field and the expected type, never the value.
                let stored: StoredTokens =
                    serde_json::from_str(&text).map_err(|e| Error::Invalid {
                        key: "oauth.token_file".into(),
                        message: format!(
                            "{} is not a token file (line {}, column {})",
                            self.path.display(),
                            e.line(),
                            e.column()
                        ),
                    })?;
                let mut tokens = OAuthTokens::new(
                    stored.access_token.unwrap_or_default(),
                    stored.refresh_token,
                    stored.expires_at,
                );
                tokens.scope = stored.scope;
                Ok(Some(tokens))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn dir(&self) -> Option<&Path> {
        self.path.parent().filter(|d| !d.as_os_str().is_empty())
    }

    fn create_dir(&self) -> std::io::Result<()> {
        if let Some(dir) = self.dir() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir)?;
        }
        Ok(())
    }

    fn write(&self, tokens: &OAuthTokens) -> std::io::Result<()> {
        use std::io::Write;
        let stored = StoredTokens {
            access_token: Some(tokens.access_token.expose_secret().to_owned()),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at: tokens.expires_at,
            scope: tokens.scope.clone(),
        };
        self.create_dir()?;
        // A fresh name, created exclusively and owner-only, then renamed over the old file:
        // a crash leaves the old file or the new one, and nobody else can open the new one
        // before it is complete.
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "oauth-tokens.json".into());
        let tmp = self.path.with_file_name(format!(
            ".{name}.{}.{:016x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            #[cfg(unix)]
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            file.write_all(&serde_json::to_vec(&stored)?)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result?;
        // The rename is durable once the directory is.
        #[cfg(unix)]
        if let Some(dir) = self.dir() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    fn open_lock_file(&self) -> std::io::Result<std::fs::File> {
        self.create_dir()?;
        let mut lock = self.path.clone().into_os_string();
        lock.push(".lock");
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(PathBuf::from(lock))
    }
}

/// A held lock on the token file's `.lock` sibling; closing the file releases it, also when
/// the process dies.
struct FileRefreshLock(std::fs::File);

#[async_trait::async_trait]
impl ReleaseRefreshLock for FileRefreshLock {
    async fn release(self: Box<Self>) -> Result<(), BoxError> {
        self.0.unlock()?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<OAuthTokens>, BoxError> {
        Ok(self.read()?)
    }

    async fn save(&self, tokens: &OAuthTokens) -> Result<(), BoxError> {
        self.write(tokens).map_err(|e| {
            BoxError::from(format!(
                "writing OAuth tokens to {}: {e}",
                self.path.display()
            ))
        })
    }

    async fn lock_refresh(&self) -> Result<RefreshLock, BoxError> {
        let file = self.open_lock_file()?;
        let deadline = std::time::Instant::now() + self.wait;
        let mut pause = Duration::from_millis(20);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(RefreshLock::held(FileRefreshLock(file))),
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
            if std::time::Instant::now() + pause > deadline {
                return Err(format!(
                    "another process held the lock on {} for {:?}",
                    self.path.display(),
                    self.wait
                )
                .into());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn tokens_are_written_owner_only_whole_and_read_back() {
        let dir = std::env::temp_dir().join(format!("sl-tokens-{:016x}", fastrand::u64(..)));
        let path = dir.join("nested").join("tokens.json");
        let store = FileTokenStore::new(path.clone());
        assert!(store.load().await.unwrap().is_none());
        // An older file someone left readable is replaced by an owner-only one.
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{}").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        let mut t = OAuthTokens::new("acc", Some("ref".into()), Some(chrono::Utc::now()));
        t.scope = Some("people:read".into());
        store.save(&t).await.unwrap();
        store.save(&t).await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back = store.load().await.unwrap().unwrap();
        assert_eq!(back.access_token.expose_secret(), "acc");
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "ref");
        assert_eq!(back.scope.as_deref(), Some("people:read"));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["tokens.json".to_owned()], "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn the_refresh_lock_is_exclusive_until_released() {
        let dir = std::env::temp_dir().join(format!("sl-lock-{:016x}", fastrand::u64(..)));
        let path = dir.join("tokens.json");
        let first = FileTokenStore::new(path.clone());
        let mut second = FileTokenStore::new(path.clone());
        second.wait = Duration::from_millis(200);
        let held = first.lock_refresh().await.unwrap();
        assert!(second.lock_refresh().await.is_err(), "a second holder");
        held.release().await.unwrap();
        second
            .lock_refresh()
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
