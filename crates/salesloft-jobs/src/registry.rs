//! [`Registry`]: the job kinds a runner knows, each with its handler.

use std::collections::HashMap;
use std::sync::Arc;

use salesloft_storage::{NewJob, TeamId};

use crate::error::{Error, Result};
use crate::job::{Job, JobContext, JobError, Outcome};

/// A job with its payload type erased, as the runner calls it.
#[async_trait::async_trait]
pub(crate) trait ErasedJob: Send + Sync {
    async fn run(&self, payload: &str, ctx: &JobContext) -> Result<Outcome, JobError>;
}

struct Typed<J>(J);

#[async_trait::async_trait]
impl<J: Job> ErasedJob for Typed<J> {
    async fn run(&self, payload: &str, ctx: &JobContext) -> Result<Outcome, JobError> {
        // A payload this version cannot read will not become readable by retrying.
        let payload: J::Payload = serde_json::from_str(payload).map_err(|e| {
            JobError::permanent(format!(
                "the payload of this {} job is not what it expects: {e}",
                J::KIND
            ))
        })?;
        self.0.run(payload, ctx).await
    }
}

/// Where a runner serving many teams ([`Runner::for_teams`](crate::Runner::for_teams)) finds
/// the job kinds of each team, each bound to that team (its store handle, its credentials,
/// its budget). Build each team's registry once and keep it; forget it when the team's
/// credentials or settings change.
#[async_trait::async_trait]
pub trait TeamRegistries: Send + Sync + 'static {
    /// The registry that runs the jobs of `team`. An error fails the attempt of the job that
    /// asked (retried as the error's kind says).
    async fn registry(&self, team: TeamId) -> Result<Arc<Registry>, JobError>;

    /// Whether this process runs `team`'s work at all (its schedules are enqueued only if
    /// so): a team without credentials here is left alone. Every team by default.
    fn serves(&self, team: TeamId) -> bool {
        let _ = team;
        true
    }

    /// `team`'s own schedules when they differ from the runner's (a sync interval of its
    /// own); `None`, the default, runs the runner's.
    fn schedules(&self, team: &salesloft_storage::TeamRecord) -> Option<Vec<crate::Schedule>> {
        let _ = team;
        None
    }
}

/// The job kinds a runner runs. Register each handler once; enqueue with [`Registry::job`].
#[derive(Clone, Default)]
pub struct Registry {
    jobs: HashMap<&'static str, Arc<dyn ErasedJob>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl Registry {
    /// No kinds yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run jobs of `J::KIND` with `job` (replacing an earlier handler of that kind).
    pub fn register<J: Job>(mut self, job: J) -> Self {
        self.jobs.insert(J::KIND, Arc::new(Typed(job)));
        self
    }

    /// The kinds registered, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.jobs.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    pub(crate) fn get(&self, kind: &str) -> Option<Arc<dyn ErasedJob>> {
        self.jobs.get(kind).cloned()
    }

    /// A job of kind `J` with `payload`, ready to enqueue (add a unique key, a queue or a
    /// time with [`NewJob`]'s fields).
    pub fn job<J: Job>(payload: &J::Payload) -> Result<NewJob> {
        let value = serde_json::to_value(payload).map_err(|source| Error::Encode {
            kind: J::KIND,
            source,
        })?;
        let mut job = NewJob::new(J::KIND, value);
        job.max_attempts = J::MAX_ATTEMPTS;
        Ok(job)
    }
}
