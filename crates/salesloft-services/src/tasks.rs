//! Tasks created for the caller's own records: each sent with an idempotency key derived from
//! the caller's key (`salesloft_client::Tasks::idempotency_key`), so a create sent again (a
//! retry after a lost answer, a rerun, another process) never makes a second task; the task
//! SalesLoft holds is kept in the local copy at once.

use salesloft_client::{Task, TaskInput, Tasks};

use crate::checked_write::{Checked, send_checked};
use crate::context::Context;
use crate::error::{Error, Result};

/// Creates tasks at most once per caller's key.
#[derive(Debug, Clone)]
pub struct TaskWriter {
    ctx: Context,
    attempts: u32,
}

/// A task created (or found created by an earlier attempt).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CreatedTask {
    /// The task as SalesLoft holds it.
    pub task: Task,
    /// Whether an earlier attempt (whose answer was lost, or an earlier run's) had made it.
    pub recovered: bool,
    /// Creates sent.
    pub writes: u64,
}

impl TaskWriter {
    /// Tasks over `ctx`, each create sent at most 3 times.
    pub fn new(ctx: Context) -> Self {
        Self { ctx, attempts: 3 }
    }

    /// Create the task the caller knows as `caller_key`, once: its idempotency key is set
    /// from that key (any the input had is replaced). After an attempt that may have acted
    /// (no answer, a 5xx), or when SalesLoft refuses the key as taken, the task is looked up
    /// by its key (one list request) before anything is sent again.
    pub async fn create(&self, caller_key: &str, mut input: TaskInput) -> Result<CreatedTask> {
        let key = Tasks::idempotency_key(caller_key);
        input.idempotency_key = Some(key.clone());
        let tasks = self.ctx.client.tasks();
        let (end, writes) =
            send_checked(self.attempts, || tasks.create(&input), || self.find(&key)).await?;
        let (task, recovered) = match end {
            Checked::Written { value, recovered } => (value, recovered),
            Checked::NotWritten { error, .. } if key_taken(&error) => match self.find(&key).await {
                Some(task) => (task, true),
                None => return Err(Error::Api(error)),
            },
            Checked::NotWritten { error, .. } => return Err(Error::Api(error)),
        };
        self.ctx.store.upsert(std::slice::from_ref(&task)).await?;
        Ok(CreatedTask {
            task,
            recovered,
            writes,
        })
    }

    /// The task created with idempotency key `key`, if SalesLoft lists one.
    async fn find(&self, key: &str) -> Option<Task> {
        let page = self
            .ctx
            .client
            .tasks()
            .list()
            .idempotency_key(key)
            .per_page(1)
            .send()
            .await
            .ok()?;
        page.items.into_iter().next()
    }
}

/// Whether SalesLoft refused a create because its idempotency key is taken (one reading of
/// what a create sent again with a used key answers; the other is the task itself).
fn key_taken(error: &salesloft_client::Error) -> bool {
    error
        .field_errors()
        .is_some_and(|f| f.contains_key("idempotency_key"))
}
