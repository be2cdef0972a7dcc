//! How a sandbox runs: [`SandboxConfig`] and the credentials every sandbox accepts by default.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::auth::OAuthClient;
use crate::error::SandboxError;
use crate::faults::FaultConfig;
use crate::generate::TeamSize;
use crate::simulator::SimulatorConfig;

/// The API key every sandbox accepts unless configured otherwise.
pub const DEFAULT_API_KEY: &str =
    "ak_5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c";
/// The OAuth client id every sandbox accepts unless configured otherwise.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-client";
/// That client's secret.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";

/// How to run a sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Seed of the data generator.
    pub seed: u64,
    /// How much data to generate.
    pub team: TeamSize,
    /// The team's SalesLoft id ([`crate::TEAM_ID`] unless set): the teams of one sandbox
    /// ([`crate::Sandbox::start_teams`]) need ids of their own.
    pub team_id: i64,
    /// The team's offset from UTC in minutes (timestamps are written in it). Default -300.
    pub utc_offset_minutes: i32,
    /// The team's cost budget per minute; `None` turns rate limiting off. Default 600.
    pub rate_limit_per_minute: Option<u32>,
    /// Send `Retry-After` with 429s. SalesLoft documents none, so the default is off.
    pub send_retry_after: bool,
    /// Accepted API keys.
    pub api_keys: Vec<String>,
    /// Accepted OAuth applications.
    pub oauth_clients: Vec<OAuthClient>,
    /// Send the authorize request's `state` back with the code (SalesLoft's documentation
    /// does not say whether it does). Default on.
    pub oauth_returns_state: bool,
    /// Access-token lifetime in seconds. Default 7200, as SalesLoft's.
    pub token_ttl_secs: u64,
    /// Pause between webhook delivery attempts, in milliseconds. Default 15,000.
    pub webhook_retry_interval_ms: u64,
    /// How long a webhook receiver may take, in milliseconds. Default 10,000.
    pub webhook_timeout_ms: u64,
    /// Faults to inject from the start.
    pub faults: FaultConfig,
    /// Run the live simulator from the start.
    pub simulator: Option<SimulatorConfig>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 1,
            team: TeamSize::default(),
            team_id: crate::TEAM_ID,
            utc_offset_minutes: -300,
            rate_limit_per_minute: Some(600),
            send_retry_after: false,
            api_keys: vec![DEFAULT_API_KEY.to_owned()],
            oauth_clients: vec![OAuthClient {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            }],
            oauth_returns_state: true,
            token_ttl_secs: 7_200,
            webhook_retry_interval_ms: 15_000,
            webhook_timeout_ms: 10_000,
            faults: FaultConfig::default(),
            simulator: None,
        }
    }
}

impl SandboxConfig {
    pub(crate) fn offset(&self) -> Result<chrono::FixedOffset, SandboxError> {
        chrono::FixedOffset::east_opt(self.utc_offset_minutes * 60).ok_or_else(|| {
            SandboxError::Config(format!(
                "utc_offset_minutes {} is out of range",
                self.utc_offset_minutes
            ))
        })
    }
}
