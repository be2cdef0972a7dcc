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
        let served: Vec<_> = store
            .teams()
            .await?
            .into_iter()
            .filter(|t| t.state == TeamState::Active && teams.serves(t.id))
            .collect();
        let seen = scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for team in &served {
            let first = starting || !seen.contains(&team.id);
            let own = teams.schedules(team);
            let schedules = own.as_deref().unwrap_or(schedules);
            tick_team(&store.team(team.id), schedules, now, first).await?;
        }
        *scheduled.lock().unwrap_or_else(PoisonError::into_inner) =
            served.iter().map(|t| t.id).collect();
        Ok(())
    }
}

async fn tick_team(store: &Store, schedules: &[Schedule], now: i64, starting: bool) -> Result<()> {
    for s in schedules {
        s.tick(store, now, starting).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{Job, JobContext, Outcome};
    use salesloft_storage::testing::TestDb;
    use salesloft_storage::{Keyring, NewTeam, SecretsKey, TeamCredentials, TeamRecord, TeamSlug};
    use std::time::Duration;

    struct Nop;

    #[async_trait::async_trait]
    impl Job for Nop {
        type Payload = ();
        const KIND: &'static str = "nop";
        async fn run(&self, (): (), _: &JobContext) -> Result<Outcome, JobError> {
            Ok(Outcome::Done)
        }
    }

    /// The team named `fast` syncs every minute; the others on the runner's hour.
    struct FastTeam;

    #[async_trait::async_trait]
    impl TeamRegistries for FastTeam {
        async fn registry(&self, _: TeamId) -> Result<Arc<Registry>, JobError> {
            Ok(Arc::default())
        }

        fn schedules(&self, team: &TeamRecord) -> Option<Vec<Schedule>> {
            (team.slug.as_str() == "fast").then(|| {
                vec![Schedule::every::<Nop>("sync", &(), Duration::from_secs(60)).unwrap()]
            })
        }
    }

    #[tokio::test]
    async fn a_team_with_schedules_of_its_own_is_ticked_on_them() {
        let db = TestDb::sqlite().await.unwrap();
        let (key, _) = SecretsKey::generate("k1");
        let store = db.store.clone().with_keyring(Arc::new(Keyring::new(key)));
        let fast = store
            .add_team(&NewTeam {
                slug: TeamSlug::parse("fast").unwrap(),
                base_url: "https://api.salesloft.com".into(),
                salesloft_team_id: Some(7),
                name: None,
                credentials: TeamCredentials::ApiKey("ak_fast".to_owned().into()),
                settings: serde_json::json!({}),
            })
            .await
            .unwrap();
        let hourly = [Schedule::every::<Nop>("sync", &(), Duration::from_secs(3600)).unwrap()];
        let now = 1_800_000_123_000;
        Jobs::teams(Arc::new(FastTeam))
            .tick(&store, &hourly, now, false)
            .await
            .unwrap();
        let next = |team: TeamId| {
            let store = store.team(team);
            async move {
                let jobs = store.jobs(None, Some("nop"), 10).await.unwrap();
                assert_eq!(jobs.len(), 1);
                jobs[0].run_at_ms
            }
        };
        assert_eq!(next(fast.id).await, 1_800_000_180_000, "the next minute");
        assert_eq!(
            next(TeamId::DEFAULT).await,
            1_800_003_600_000,
            "the next hour"
        );
    }
}
