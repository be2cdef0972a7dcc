use serde::{Deserialize, Serialize};

use super::record::{Extra, Ref, Timestamp, impl_record, wire_record};
use crate::ids::{PersonId, TaskId, UserId};

wire_record! {
    /// A task: something a rep is to do for a person (`/v2/tasks`).
    pub struct Task {
        /// SalesLoft id.
        pub id: TaskId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// Its subject.
        pub subject: Option<String>,
        /// `call`, `email` or `general`.
        pub task_type: Option<String>,
        /// `scheduled` or `completed`.
        pub current_state: Option<String>,
        /// What was recorded when it was completed.
        pub description: Option<String>,
        /// The day it is due (`YYYY-MM-DD`).
        pub due_date: Option<String>,
        /// When it is due, if at a time.
        pub due_at: Option<Timestamp>,
        /// When the user is reminded.
        pub remind_at: Option<Timestamp>,
        /// When it was completed.
        pub completed_at: Option<Timestamp>,
        /// Who completed it.
        pub completed_by: Option<Ref<UserId>>,
        /// Who created it.
        pub created_by_user: Option<Ref<UserId>>,
        /// The user it is assigned to.
        pub user: Option<Ref<UserId>>,
        /// The person it is for.
        pub person: Option<Ref<PersonId>>,
    }
}

impl_record!(Task);

/// The body of `POST /v2/tasks`. SalesLoft requires every field but the optional ones here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInput {
    /// Its subject.
    pub subject: String,
    /// The person it is for.
    pub person_id: PersonId,
    /// The user it is assigned to.
    pub user_id: UserId,
    /// `call`, `email` or `general`.
    pub task_type: String,
    /// The day it is due, `YYYY-MM-DD`.
    pub due_date: String,
    /// `scheduled` (the one state a task is created in).
    pub current_state: String,
    /// When the user is reminded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_at: Option<Timestamp>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// SalesLoft creates at most one task per key: a create sent again with the key of one
    /// that exists creates nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Any other field to send verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TaskInput {
    /// A scheduled task of `task_type` for `person_id`, assigned to `user_id`, due on
    /// `due_date` (`YYYY-MM-DD`).
    pub fn new(
        subject: impl Into<String>,
        person_id: PersonId,
        user_id: UserId,
        task_type: impl Into<String>,
        due_date: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            person_id,
            user_id,
            task_type: task_type.into(),
            due_date: due_date.into(),
            current_state: "scheduled".into(),
            remind_at: None,
            description: None,
            idempotency_key: None,
            extra: Extra::new(),
        }
    }
}
