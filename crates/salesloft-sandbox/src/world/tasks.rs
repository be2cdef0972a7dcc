//! Tasks: created at most once per idempotency key, completed, changed and deleted, each
//! change announced (`task_created`, `task_completed`, `task_updated`, `task_deleted`).

use salesloft_model::resource::TASKS;
use salesloft_model::{PersonId, Task, TaskId, UserId};
use serde_json::{Map, Value};

use super::input::{as_i64, as_string};
use super::{Change, Event, World};
use crate::error::ApiError;
use crate::generate::r;
use crate::store::Kind;

const TASK_TYPES: &[&str] = &["call", "email", "general"];

fn required(input: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    input
        .get(field)
        .and_then(as_string)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(field, "can't be blank"))
}

impl World {
    /// `POST /v2/tasks`. A key SalesLoft has seen creates nothing: the task it created is
    /// answered again, with no event.
    pub fn create_task(&mut self, input: &Map<String, Value>) -> Change {
        let kind = Kind::of(&TASKS);
        let key = input.get("idempotency_key").and_then(as_string);
        if let Some(existing) = key.as_ref().and_then(|k| self.task_by_key.get(k)) {
            let doc = self
                .collection(kind)
                .get(*existing)
                .ok_or_else(ApiError::not_found)?;
            return Ok((doc.json.clone(), Vec::new()));
        }
        let subject = required(input, "subject")?;
        let task_type = required(input, "task_type")?;
        if !TASK_TYPES.contains(&task_type.as_str()) {
            return Err(ApiError::invalid(
                "task_type",
                "is not included in the list",
            ));
        }
        let due_date = required(input, "due_date")?;
        if chrono::NaiveDate::parse_from_str(&due_date, "%Y-%m-%d").is_err() {
            return Err(ApiError::invalid("due_date", "is not a date"));
        }
        if required(input, "current_state")? != "scheduled" {
            return Err(ApiError::invalid("current_state", "must be scheduled"));
        }
        let person = input
            .get("person_id")
            .and_then(as_i64)
            .filter(|id| self.collection(Kind::PEOPLE).contains(*id))
            .ok_or_else(|| ApiError::invalid("person_id", "is invalid"))?;
        let user = input
            .get("user_id")
            .and_then(as_i64)
            .filter(|id| self.collection(Kind::USERS).contains(*id))
            .ok_or_else(|| ApiError::invalid("user_id", "is invalid"))?;
        let now = self.now();
        let id = self.col(kind).allocate_id();
        let task = Task {
            id: TaskId(id),
            created_at: now,
            updated_at: now,
            subject: Some(subject),
            task_type: Some(task_type),
            current_state: Some("scheduled".into()),
            description: input.get("description").and_then(as_string),
            due_date: Some(due_date),
            due_at: None,
            remind_at: input
                .get("remind_at")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
            completed_at: None,
            completed_by: None,
            created_by_user: Some(r("users", UserId(self.me))),
            user: Some(r("users", UserId(user))),
            person: Some(r("people", PersonId(person))),
            extra: Map::new(),
        };
        let body = self.save(kind, &task)?;
        if let Some(k) = key {
            self.task_by_key.insert(k, id);
        }
        Ok((body.clone(), vec![Event::new("task_created", body)]))
    }

    /// `PUT /v2/tasks/{id}`: `current_state: completed` completes it (`task_completed`);
    /// other changes are `task_updated`.
    pub fn update_task(&mut self, id: i64, input: &Map<String, Value>) -> Change {
        let kind = Kind::of(&TASKS);
        let mut task: Task = self.get(kind, id)?;
        let now = self.now();
        let completing = input.get("current_state").and_then(as_string).as_deref()
            == Some("completed")
            && task.current_state.as_deref() != Some("completed");
        for (field, slot) in [
            ("subject", &mut task.subject),
            ("description", &mut task.description),
            ("due_date", &mut task.due_date),
        ] {
            if let Some(v) = input.get(field).and_then(as_string) {
                *slot = Some(v);
            }
        }
        if completing {
            task.current_state = Some("completed".into());
            task.completed_at = Some(now);
            task.completed_by = Some(r("users", UserId(self.me)));
        }
        task.updated_at = now;
        let body = self.save(kind, &task)?;
        let event = if completing {
            "task_completed"
        } else {
            "task_updated"
        };
        Ok((body.clone(), vec![Event::new(event, body)]))
    }

    /// `DELETE /v2/tasks/{id}`: idempotent; `task_deleted` with its last state.
    pub fn delete_task(&mut self, id: i64) -> Vec<Event> {
        self.task_by_key.retain(|_, t| *t != id);
        self.col(Kind::of(&TASKS))
            .remove(id)
            .map(|d| vec![Event::new("task_deleted", d.json)])
            .unwrap_or_default()
    }

    /// The task created with idempotency key `key`, if any.
    pub fn task_with_key(&self, key: &str) -> Option<i64> {
        self.task_by_key.get(key).copied()
    }
}
