//! Step 4: the job runner in the service's process: every built-in job (syncs, reconciles,
//! engagement, the webhook job and its pruning, wired by one constructor) and a job kind of
//! the service's own.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use salesloft_client::Person;
use salesloft_jobs::{Job, JobContext, JobError, Outcome, Runner, RunnerConfig, Schedule};
use salesloft_services::jobs::BuiltinSettings;
use salesloft_storage::Store;
use salesloft_webhooks::jobs::{InboxRetention, builtin_registry, builtin_schedules};
use serde::{Deserialize, Serialize};

use crate::{Error, Service};

/// The service's own job: count the people in the local copy.
#[derive(Debug, Clone)]
pub struct CountPeople {
    store: Store,
    /// The last count.
    pub counted: Arc<AtomicI64>,
}

impl CountPeople {
    /// Counts the people in `store`.
    pub fn new(store: Store) -> Self {
        let counted = Arc::new(AtomicI64::new(-1));
        Self { store, counted }
    }
}

/// [`CountPeople`] takes no arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CountPayload {}

#[salesloft_jobs::async_trait]
impl Job for CountPeople {
    type Payload = CountPayload;
    const KIND: &'static str = "embedder_count_people";

    async fn run(&self, _: CountPayload, _: &JobContext) -> Result<Outcome, JobError> {
        let people = self.store.count_live::<Person>().await?;
        self.counted.store(people, Ordering::SeqCst);
        Ok(Outcome::Done)
    }
}

/// A runner of every built-in job and `count`, which also runs every `every`, as are the
/// syncs; two jobs at a time.
pub fn runner(service: &Service, count: CountPeople, every: Duration) -> Result<Runner, Error> {
    let ctx = service.context();
    let builtin = builtin_registry(&ctx, BuiltinSettings::default(), InboxRetention::default());
    let mut schedules = builtin_schedules(every)?;
    schedules.push(Schedule::every::<CountPeople>(
        "count_people",
        &CountPayload {},
        every,
    )?);
    let config = RunnerConfig::default().with_concurrency(2);
    let runner = Runner::new(service.store.clone(), builtin.register(count), config)?;
    Ok(runner.with_schedules(schedules))
}
