//! Whose jobs a runner runs: one team's (its store handle's) or every active team's, and
//! what that changes: how it claims, which registry runs a job, and for whom the schedules
//! are enqueued.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use salesloft_storage::{Store, TeamId, TeamState};

use crate::config::RunnerConfig;
use crate::error::Result;
use crate::job::JobError;
use crate::registry::{Registry, TeamRegistries};
use crate::schedule::Schedule;

/// Whose jobs a runner runs.
#[derive(Clone)]
pub(crate) enum Jobs {
    /// Its store handle's team's, with one registry.
    One(Arc<Registry>),
    /// Every active team's, each with its own registry; the teams whose schedules ran last
    /// (a team not among them, added or resumed, gets its start-up jobs).
    Teams(Arc<dyn TeamRegistries>, Arc<Mutex<BTreeSet<TeamId>>>),
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Jobs::One(registry) => f.debug_tuple("One").field(registry).finish(),
            Jobs::Teams(..) => f.write_str("Teams"),
        }
    }
}

impl Jobs {
    /// Every active team's jobs, each run with its registry from `teams`.
    pub(crate) fn teams(teams: Arc<dyn TeamRegistries>) -> Self {
        Jobs::Teams(teams, Arc::default())
    }

    /// Claim up to `n` jobs: the handle's team's, or every active team's in turn.
    pub(crate) async fn claim(
        &self,
        store: &Store,
        config: &RunnerConfig,
        n: u32,
    ) -> salesloft_storage::Result<Vec<salesloft_storage::Job>> {
        let (queue, worker, lease) = (&config.queue, &config.worker_id, config.lease);
        match self {
            Jobs::One(_) => store.claim(queue, n, worker, lease).await,
            Jobs::Teams(..) => {
                let most = config.max_running_per_team;
                store
                    .claim_across_teams(queue, n, worker, lease, most)
                    .await
            }
        }
    }

    /// The registry that runs `team`'s jobs.
    pub(crate) async fn registry(&self, team: TeamId) -> Result<Arc<Registry>, JobError> {
        match self {
            Jobs::One(registry) => Ok(registry.clone()),
            Jobs::Teams(teams, _) => teams.registry(team).await,
        }
    }

    /// Enqueue `schedules` at `now`: for the handle's team, or for each active team this
    /// process serves (a team seen for the first time, added or resumed, gets its start-up
    /// jobs now).
    pub(crate) async fn tick(
        &self,
        store: &Store,
        schedules: &[Schedule],
        now: i64,
        starting: bool,
    ) -> Result<()> {
        let (teams, scheduled) = match self {
            Jobs::One(_) => return tick_team(store, schedules, now, starting).await,
            Jobs::Teams(teams, scheduled) => (teams, scheduled),
        };
        let active: BTreeSet<TeamId> = store
            .teams()
            .await?
            .into_iter()
            .filter(|t| t.state == TeamState::Active && teams.serves(t.id))
            .map(|t| t.id)
            .collect();
        let seen = scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for team in &active {
            let first = starting || !seen.contains(team);
            tick_team(&store.team(*team), schedules, now, first).await?;
        }
        *scheduled.lock().unwrap_or_else(PoisonError::into_inner) = active;
        Ok(())
    }
}

async fn tick_team(store: &Store, schedules: &[Schedule], now: i64, starting: bool) -> Result<()> {
    for s in schedules {
        s.tick(store, now, starting).await?;
    }
    Ok(())
}
