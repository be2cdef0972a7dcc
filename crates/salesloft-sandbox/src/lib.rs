#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod config;
mod error;
mod faults;
mod generate;
mod list_rules;
mod query;
mod server;
mod simulator;
mod store;
mod webhooks;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::store::Kind;

pub use auth::{OAuthClient, OAuthStats};
pub use config::{DEFAULT_API_KEY, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxConfig};
pub use error::{ApiError, SandboxError};
pub use faults::{Fault, FaultConfig};
pub use generate::{TEAM_ID, TeamSize};
pub use query::{naive_cost, page_cost};
pub use server::{Counters, LoggedRequest, MinuteSpend};
pub use simulator::{Action, SimulatorConfig};
pub use webhooks::{ATTEMPTS as WEBHOOK_ATTEMPTS, DeliveryAttempt, sign as sign_webhook};

/// Starts sandboxes.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Generate the team, bind, and serve in the background until the handle is dropped or
    /// [`SandboxHandle::shutdown`] is called. Must run inside a tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        let mut teams = Self::start_teams(vec![config]).await?;
        teams
            .pop()
            .ok_or_else(|| SandboxError::Config("no team to serve".into()))
    }

    /// Serve several SalesLoft teams at one address, as SalesLoft serves every team at one
    /// API: each with its own data, API keys and OAuth tokens (a request acts on the team
    /// its credentials belong to), budget, faults, webhooks and simulator. Give each a
    /// `team_id` and API keys of its own; the first team's `bind` is used, and it answers
    /// the control API (`/__sandbox`) and credentials no team knows. The authorize page
    /// approves for the team whose `team_id` its `team_id` parameter names, else the first.
    /// One handle per team, in order; serving stops when the last is dropped (or at any
    /// handle's [`SandboxHandle::shutdown`]).
    pub async fn start_teams(
        configs: Vec<SandboxConfig>,
    ) -> Result<Vec<SandboxHandle>, SandboxError> {
        let Some(bind) = configs.first().map(|c| c.bind) else {
            return Err(SandboxError::Config("no team to serve".into()));
        };
        let mut teams = Vec::with_capacity(configs.len());
        let mut starts = Vec::with_capacity(configs.len());
        for config in configs {
            let api_key = config
                .api_keys
                .first()
                .cloned()
                .unwrap_or_else(|| DEFAULT_API_KEY.to_owned());
            starts.push((api_key, config.simulator));
            teams.push(server::Shared::new(config)?);
        }
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let served = Arc::new(server::Teams::new(teams.clone()));
        let task = tokio::spawn(server::serve(served, listener, rx));
        let serving = Arc::new(Serving {
            shutdown: std::sync::Mutex::new(Some(tx)),
            task: std::sync::Mutex::new(Some(task)),
        });
        let handles = teams
            .into_iter()
            .zip(starts)
            .map(|(shared, (api_key, simulator))| {
                if let Some(sim) = simulator {
                    shared.start_simulator(sim);
                }
                SandboxHandle {
                    shared,
                    addr,
                    api_key,
                    serving: Arc::clone(&serving),
                }
            })
            .collect();
        Ok(handles)
    }
}

/// The server of one or more teams' handles: stopped when the last handle goes.
struct Serving {
    shutdown: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<Result<(), SandboxError>>>>,
}

impl Serving {
    fn stop(&self) {
        if let Some(tx) = server::lock(&self.shutdown).take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running sandbox (one team of it). Dropping the last handle of a sandbox stops it.
pub struct SandboxHandle {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    api_key: String,
    serving: Arc<Serving>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// The base URL, such as `http://127.0.0.1:41234`; API paths (`/v2/...`) go under it.
    pub fn url(&self) -> String {
        server::local_url(self.addr)
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An API key the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The OAuth token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.url())
    }

    /// Counters of requests, cost, 429s, faults and pages.
    pub fn counters(&self) -> Counters {
        self.shared.counters()
    }

    /// The team budget's spend per calendar minute, oldest first (the last 240 minutes that
    /// saw a request; see `/__sandbox/minutes`).
    pub fn spend_by_minute(&self) -> Vec<MinuteSpend> {
        server::lock(&self.shared.window).minutes()
    }

    /// The full state as JSON (see the control API's `/__sandbox/state`).
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::from_slice(&self.shared.snapshot()).unwrap_or_default()
    }

    /// The full state as raw JSON bytes.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        self.shared.snapshot()
    }

    /// Records per kind.
    pub fn counts(&self) -> std::collections::BTreeMap<&'static str, usize> {
        server::read(&self.shared.world).counts()
    }

    /// Bytes of record JSON the sandbox holds (the served form of every record).
    pub fn json_bytes(&self) -> usize {
        server::read(&self.shared.world).json_bytes()
    }

    /// The latest requests served (up to 10,000).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests()
    }

    /// Every webhook delivery attempt so far.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.shared.deliveries()
    }

    /// Replace the random fault rates.
    pub fn set_faults(&self, config: FaultConfig) {
        server::lock(&self.shared.faults).set_config(config);
    }

    /// Queue faults for the next API requests, one each.
    pub fn schedule_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        server::lock(&self.shared.faults).schedule(faults);
    }

    /// Change the per-minute budget (`None` turns rate limiting off).
    pub fn set_rate_limit(&self, per_minute: Option<u32>) {
        self.shared.set_rate_limit(per_minute);
    }

    /// Apply `count` simulated changes now (a realistic mix when `action` is `None`); returns
    /// how many webhook events they caused.
    pub fn mutate(&self, action: Option<Action>, count: usize) -> Result<usize, ApiError> {
        self.shared.mutate(action, count)
    }

    /// Regenerate the team from `seed` and `team`, forgetting counters and logs.
    pub fn reseed(&self, seed: u64, team: TeamSize) -> Result<(), SandboxError> {
        self.shared.reseed(seed, team)
    }

    /// Give `count` people (from a random one on, in id order) one new `updated_at`, as a bulk
    /// update does: a tie group. Returns their ids and the instant (µs). No webhooks.
    pub fn tie_group(&self, count: usize) -> (Vec<i64>, i64) {
        self.shared.tie_group(count)
    }

    /// Give the records `ids` of the resource named `kind` the `updated_at` `behind` before
    /// now, one instant for all (zero: an update now; more: a late commit, a change whose
    /// timestamp is older than changes already visible). No webhooks. Returns the instant
    /// (µs); unknown kinds and ids are left alone.
    pub fn retime(&self, kind: &str, ids: &[i64], behind: std::time::Duration) -> i64 {
        self.shared.retime(Kind::from_name(kind), ids, behind)
    }

    /// Delete the records `ids` of the resource named `kind` with no webhook (a delete the
    /// toolkit is never told of); how many existed.
    pub fn delete_silently(&self, kind: &str, ids: &[i64]) -> usize {
        Kind::from_name(kind).map_or(0, |kind| self.shared.delete_silently(kind, ids))
    }

    /// Store `json` as the record `id` of the resource named `kind`, byte for byte (a record in
    /// a shape the models do not expect, or one that is not a record at all); its timestamps
    /// are read from it where they parse. False for an unknown kind.
    pub fn put_raw(&self, kind: &str, id: i64, json: &str) -> bool {
        Kind::from_name(kind).is_some_and(|kind| {
            self.shared
                .put_raw(kind, id, bytes::Bytes::from(json.to_owned()));
            true
        })
    }

    /// Start the live simulator.
    pub fn start_simulator(&self, config: SimulatorConfig) {
        self.shared.start_simulator(config);
    }

    /// Stop the live simulator.
    pub fn stop_simulator(&self) {
        self.shared.stop_simulator();
    }

    /// Make every OAuth access token expire now.
    pub fn expire_access_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Revoke every OAuth token issued so far, access and refresh (a user who withdrew the
    /// app's access): requests with them get 401, refreshes `invalid_grant`.
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Revoke the team's API keys (an admin deleted them): requests with them get 401
    /// (still counted as this team's).
    pub fn revoke_api_keys(&self) {
        self.shared.revoke_api_keys();
    }

    /// Issue an authorization code for `client_id`, as the authorize page would.
    pub fn authorization_code(&self, client_id: &str) -> Option<String> {
        self.shared.issue_code(client_id)
    }

    /// What the token endpoint did: refreshes served, `invalid_grant`s sent, refresh tokens
    /// still live.
    pub fn oauth_stats(&self) -> OAuthStats {
        self.shared.oauth_stats()
    }

    /// Stop serving (every team of this sandbox) and wait for the server to finish.
    pub async fn shutdown(self) -> Result<(), SandboxError> {
        self.shared.stop_simulator();
        self.serving.stop();
        let task = server::lock(&self.serving.task).take();
        if let Some(task) = task {
            return task
                .await
                .map_err(|e| SandboxError::Config(format!("server task failed: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.shared.stop_simulator();
    }
}
