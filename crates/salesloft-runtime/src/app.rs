//! [`App`]: one process of the integration, assembled from [`Settings`] and the [`Roles`] it
//! plays: the web routes, the job worker, or both on one store.

use metrics_exporter_prometheus::PrometheusHandle;
use salesloft_jobs::{CancellationToken, Registry};
use salesloft_services::Context;
use salesloft_storage::Store;

use crate::error::{Error, Result};
use crate::server::{self, Listeners, Routes};
use crate::settings::Settings;
use crate::worker::CustomizeJobs;

/// Which parts of the integration a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    /// The web routes: webhooks and `/health` on `server.bind`, the status page, `/metrics`
    /// and `/ready` on `server.ops_bind` (or on `server.bind` when that is unset).
    pub api: bool,
    /// The job runner: scheduled syncs and reconciles, webhook processing, every queued job
    /// (with `/health`, `/ready` and `/metrics` on `jobs.metrics_bind` when it runs alone).
    pub worker: bool,
}

impl Roles {
    /// The web process.
    pub const API: Self = Self {
        api: true,
        worker: false,
    };
    /// A worker process.
    pub const WORKER: Self = Self {
        api: false,
        worker: true,
    };
    /// Everything in one process (the embedded SQLite default).
    pub const ALL: Self = Self {
        api: true,
        worker: true,
    };
}

/// Open the configured store as every process of the integration does: migrating it when
/// `database.migrate_on_start`, else refusing a database that lacks a migration of this
/// version ([`Error::NotMigrated`]; `salesloft migrate` applies them).
pub async fn open_store(settings: &Settings) -> Result<Store> {
    use secrecy::ExposeSecret;
    let mut store = Store::connect_with(
        settings.database.url.expose_secret(),
        settings.store_options(),
    )
    .await?;
    if let Some(keyring) = settings.keyring()? {
        store = store.with_keyring(std::sync::Arc::new(keyring));
    }
    if settings.database.migrate_on_start {
        store.migrate().await?;
        return Ok(store);
    }
    match store.pending_migrations().await {
        Ok(0) => Ok(store),
        Ok(pending) => {
            store.close().await;
            Err(Error::NotMigrated { pending })
        }
        Err(e) => {
            store.close().await;
            Err(e.into())
        }
    }
}

/// One process of the integration, built and listening, not yet running.
///
/// ```no_run
/// # async fn demo(settings: salesloft_runtime::Settings) -> salesloft_runtime::Result<()> {
/// use salesloft_runtime::{App, Roles};
/// let app = App::build(settings, Roles::ALL).await?;
/// println!("webhooks on port {:?}", app.port());
/// let shutdown = salesloft_jobs::CancellationToken::new();
/// salesloft_runtime::listen_for_signals(shutdown.clone())?;
/// app.run_until_stopped(shutdown).await
/// # }
/// ```
pub struct App {
    settings: Settings,
    roles: Roles,
    store: Store,
    listeners: Option<Listeners>,
    metrics: Option<PrometheusHandle>,
    queue: String,
    customize: Option<CustomizeJobs>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("roles", &self.roles)
            .field("store", &self.store)
            .field("port", &self.port())
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Open the store (and migrate it when `database.migrate_on_start`), and with the api
    /// role bind `server.bind` and `server.ops_bind`, so that a port taken fails here.
    pub async fn build(settings: Settings, roles: Roles) -> Result<Self> {
        let store = open_store(&settings).await?;
        let listeners = if roles.api {
            Some(Listeners::bind(&settings).await?)
        } else {
            None
        };
        Ok(Self {
            settings,
            roles,
            store,
            listeners,
            metrics: None,
            queue: "default".into(),
            customize: None,
        })
    }

    /// Serve the routes on `listener` instead of `server.bind` and `server.ops_bind` (every
    /// route on one port).
    pub fn with_listener(mut self, listener: tokio::net::TcpListener) -> Self {
        self.listeners = Some(Listeners::shared(listener));
        self
    }

    /// Render `/metrics` from `handle` (the process's recorder, installed once with
    /// [`crate::ops::install_metrics_recorder`]); without one `/metrics` answers 404.
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = Some(handle);
        self
    }

    /// Claim jobs from `queue` (default `default`).
    pub fn on_queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// Add or wrap job kinds on top of the built-in ones, in each team's registry (called
    /// once per team, with that team's context).
    pub fn with_jobs(
        mut self,
        customize: impl Fn(Registry, &Context) -> Registry + Send + Sync + 'static,
    ) -> Self {
        self.customize = Some(std::sync::Arc::new(customize));
        self
    }

    /// The port the public routes listen on (`None` without the api role).
    pub fn port(&self) -> Option<u16> {
        let listeners = self.listeners.as_ref()?;
        listeners.public.local_addr().ok().map(|a| a.port())
    }

    /// The store this process works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The api role's routes as axum routers, to `merge` or `nest` into an embedder's own
    /// `Router` (build the app with [`Roles::WORKER`] to run the worker beside them, or with
    /// no listener at all). Webhook tokens are reloaded from the database every 10 s until
    /// `shutdown`. Serving the operator routes off loopback without `server.admin_token` is
    /// the embedder's choice to make; [`crate::admin::check_exposure`] refuses it.
    pub async fn routes(&self, shutdown: &CancellationToken) -> Result<Routes> {
        Routes::build(&self.settings, &self.store, self.metrics.clone(), shutdown).await
    }

    /// Run the roles until `shutdown` is cancelled and what was in flight has had its grace;
    /// a role that fails stops the others (the process is one unit). Closes the store.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<()> {
        let customize = self
            .customize
            .unwrap_or_else(|| std::sync::Arc::new(|registry, _: &Context| registry));
        let ran = match (self.listeners, self.roles.worker) {
            (Some(listeners), worker) => {
                let worker = worker.then_some((self.queue, customize));
                server::serve(
                    &self.settings,
                    self.store.clone(),
                    self.metrics,
                    listeners,
                    worker,
                    shutdown,
                )
                .await
            }
            (None, true) => {
                crate::worker::run_with_ops(
                    &self.store,
                    &self.settings,
                    self.queue,
                    shutdown,
                    self.metrics,
                    customize,
                )
                .await
            }
            (None, false) => Err(Error::Invalid {
                key: "roles".into(),
                message: "a process needs the api role, the worker role, or both".into(),
            }),
        };
        self.store.close().await;
        ran
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn settings_on(dir: &std::path::Path, migrate_on_start: bool) -> Settings {
        let mut settings = Settings::defaults().unwrap();
        settings.api.key = Some(SecretString::from("ak_test"));
        settings.database.url = format!("sqlite://{}", dir.join("copy.db").display()).into();
        settings.database.migrate_on_start = migrate_on_start;
        settings.server.bind = "127.0.0.1:0".parse().unwrap();
        settings.server.ops_bind = Some("127.0.0.1:0".parse().unwrap());
        settings.validate().unwrap();
        settings
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "salesloft-app-{name}-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn settings_built_in_code_are_checked() {
        let mut settings = Settings::defaults().unwrap();
        settings.budget.per_minute = 601;
        let refused = settings.validate().unwrap_err().to_string();
        assert!(refused.contains("budget.per_minute"), "{refused}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_process_migrates_only_when_told_and_refuses_a_database_behind() {
        let dir = temp_dir("migrate");
        let refused = App::build(settings_on(&dir, false), Roles::WORKER)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::NotMigrated { pending } if pending > 0),
            "{refused:?}"
        );
        let app = App::build(settings_on(&dir, true), Roles::WORKER)
            .await
            .unwrap();
        assert_eq!(app.store().pending_migrations().await.unwrap(), 0);
        assert_eq!(app.port(), None, "the worker role listens on nothing");
        app.store().close().await;
        let again = App::build(settings_on(&dir, false), Roles::API)
            .await
            .unwrap();
        assert!(again.port().is_some_and(|p| p > 0), "the api role listens");
        again.store().close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
