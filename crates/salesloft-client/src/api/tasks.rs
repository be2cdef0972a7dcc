//! `/v2/tasks`: tasks for reps, created at most once per idempotency key.

use sha2::{Digest, Sha256};

use super::send::{post_json, put_json};
use crate::TaskId;
use crate::error::Result;
use crate::list::ListRequest;
use crate::models::{Task, TaskInput};

super::send::list_handler! {
    /// `/v2/tasks`: tasks for reps.
    Tasks = tasks, TASKS, Task, TaskId,
    /// Fields tasks can be sorted by (default `due_date`, ascending).
    TaskSort {
        /// `due_date`
        DueDate => "due_date",
        /// `due_at`
        DueAt => "due_at",
    }
}

impl Tasks {
    /// The idempotency key of the task a caller knows as `caller_key` (its own id for it,
    /// such as `crm-task:123`): a digest, so the caller's key (which may name a person) is not
    /// sent, and every process deriving it for the same key sends the same one.
    pub fn idempotency_key(caller_key: &str) -> String {
        let digest = Sha256::digest(format!("salesloft-toolkit task {caller_key}").as_bytes());
        format!("slt-{}", &hex_of(&digest)[..40])
    }

    /// Create a task (`POST /v2/tasks`). Not retried once the server may have acted: with an
    /// `idempotency_key`, send it again or look it up with [`ListRequest::idempotency_key`].
    pub async fn create(&self, input: &TaskInput) -> Result<Task> {
        post_json(&self.client, "/v2/tasks", "tasks.create", input).await
    }

    /// Change a task's fields (`PUT /v2/tasks/{id}`), such as `{"current_state": "completed"}`.
    pub async fn update(&self, id: TaskId, fields: &serde_json::Value) -> Result<Task> {
        put_json(
            &self.client,
            format!("/v2/tasks/{id}"),
            "tasks.update",
            fields,
        )
        .await
    }

    /// Delete a task. Idempotent.
    pub async fn delete(&self, id: TaskId) -> Result<()> {
        self.client
            .delete(format!("/v2/tasks/{id}"), "tasks.delete")
            .await
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ListRequest<Tasks> {
    /// The task created with this idempotency key, if any.
    pub fn idempotency_key(self, key: impl ToString) -> Self {
        self.filter("idempotency_key", key)
    }

    /// Tasks for any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("person_id", ids)
    }

    /// Tasks assigned to any of these users (`user_id[]`).
    pub fn user_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("user_id", ids)
    }

    /// Tasks in one state: `scheduled` or `completed`.
    pub fn current_state(self, state: impl ToString) -> Self {
        self.filter("current_state", state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_stable_digests_of_the_callers_key() {
        let a = Tasks::idempotency_key("crm-task:1");
        assert_eq!(a, Tasks::idempotency_key("crm-task:1"));
        assert_ne!(a, Tasks::idempotency_key("crm-task:2"));
        assert!(a.starts_with("slt-") && a.len() == 44, "{a}");
        assert!(!a.contains("crm-task"));
    }
}
