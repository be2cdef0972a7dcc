//! What every behaviour of this crate shares: the SalesLoft client, the store, a clock and the
//! team's settings. Each behaviour ([`SyncEngine`](crate::SyncEngine),
//! [`Verifier`](crate::Verifier), [`StatusReport`](crate::StatusReport), ...) is a type built
//! over one [`Context`].

use std::fmt;
use std::sync::Arc;

use salesloft_client::Client;
use salesloft_storage::{Store, Tz};

pub use salesloft_client::{Clock, SystemClock};

/// What the toolkit needs to know about the SalesLoft team it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TeamSettings {
    /// The team's time zone: the day an activity counts for when its user has none.
    pub time_zone: Tz,
}

impl Default for TeamSettings {
    fn default() -> Self {
        Self { time_zone: Tz::UTC }
    }
}

impl TeamSettings {
    /// Settings for a team in `time_zone`.
    pub fn new(time_zone: Tz) -> Self {
        Self { time_zone }
    }
}

/// The client, store, clock and team settings every behaviour works with. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    /// Talks to SalesLoft; its limiter is the team's budget for every behaviour.
    pub client: Client,
    /// The local copy and the toolkit's own tables.
    pub store: Store,
    /// Now, for freshness, schedules and tests.
    pub clock: Arc<dyn Clock>,
    /// The team's settings.
    pub team: TeamSettings,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("client", &self.client)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("team", &self.team)
            .finish()
    }
}

impl Context {
    /// A context on its store's clock (the system clock unless the store was given another)
    /// with default team settings (UTC).
    pub fn new(client: Client, store: Store) -> Self {
        let clock = store.clock();
        Self {
            client,
            store,
            clock,
            team: TeamSettings::default(),
        }
    }

    /// The same context with the team's settings.
    pub fn with_team(mut self, team: TeamSettings) -> Self {
        self.team = team;
        self
    }

    /// The same context on another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keep records as SalesLoft sent them (a list page's) in the local copy, with the
    /// monotonic upsert: an older version never replaces a newer one.
    pub(crate) async fn keep_received<T: salesloft_storage::Entity>(
        &self,
        records: &[salesloft_client::Received<T>],
    ) -> crate::error::Result<()> {
        if !records.is_empty() {
            self.store
                .upsert_prepared(salesloft_storage::PreparedRows::received(records))
                .await?;
        }
        Ok(())
    }

    /// Milliseconds since the epoch by this context's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
