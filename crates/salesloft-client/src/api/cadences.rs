use serde::Deserialize;

use super::send::{handler, post_json};
use crate::error::Result;
use crate::list::{ListRequest, ListResource, sort_fields};
use crate::models::{Cadence, CadenceImport, Step};
use crate::resource::{self, Resource};
use crate::{CadenceId, StepId};

handler! {
    /// `/v2/cadences`: list and get cadences; create them through `/v2/cadence_imports`
    /// (SalesLoft has no POST, PUT or DELETE on cadences).
    Cadences
}

handler! {
    /// `/v2/steps`: the steps of cadences.
    Steps
}

sort_fields! {
    /// Fields cadences can be sorted by (default `updated_at`).
    CadenceSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `name`
        Name => "name",
    }
}

sort_fields! {
    /// Fields steps can be sorted by.
    StepSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

impl ListResource for Cadences {
    const RESOURCE: &'static Resource = &resource::CADENCES;
    type Item = Cadence;
    type Id = CadenceId;
    type Sort = CadenceSort;
}

impl ListResource for Steps {
    const RESOURCE: &'static Resource = &resource::STEPS;
    type Item = Step;
    type Id = StepId;
    type Sort = StepSort;
}

impl Cadences {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Cadences> {
        ListRequest::new(self.client.clone())
    }

    /// One cadence.
    pub async fn get(&self, id: CadenceId) -> Result<Cadence> {
        self.client
            .get_one(format!("/v2/cadences/{id}"), "cadences.get")
            .await
    }

    /// Create a cadence (and its steps) from an import (`POST /v2/cadence_imports`); returns
    /// the new cadence's id. Not retried once the server may have acted.
    pub async fn import(&self, import: &CadenceImport) -> Result<CadenceId> {
        #[derive(Deserialize)]
        struct Imported {
            cadence: IdOnly,
        }
        #[derive(Deserialize)]
        struct IdOnly {
            id: CadenceId,
        }
        let imported: Imported = post_json(
            &self.client,
            "/v2/cadence_imports",
            "cadence_imports.create",
            import,
        )
        .await?;
        Ok(imported.cadence.id)
    }
}

impl ListRequest<Cadences> {
    /// Team cadences (or personal ones) only.
    pub fn team_cadence(self, value: bool) -> Self {
        self.filter("team_cadence", value)
    }

    /// Shared (or unshared) cadences only.
    pub fn shared(self, value: bool) -> Self {
        self.filter("shared", value)
    }

    /// Cadences people can (or cannot) be added to.
    pub fn people_addable(self, value: bool) -> Self {
        self.filter("people_addable", value)
    }

    /// Cadences owned by any of these user guids (`owned_by_guid[]`).
    pub fn owned_by_guids<S: ToString>(self, guids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("owned_by_guid", guids)
    }

    /// Cadences with any of these names (`name[]`).
    pub fn names<S: ToString>(self, names: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("name", names)
    }

    /// Archived (or unarchived) cadences only.
    pub fn archived(self, value: bool) -> Self {
        self.filter("archived", value)
    }
}

impl Steps {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Steps> {
        ListRequest::new(self.client.clone())
    }

    /// One step.
    pub async fn get(&self, id: StepId) -> Result<Step> {
        self.client
            .get_one(format!("/v2/steps/{id}"), "steps.get")
            .await
    }
}

impl ListRequest<Steps> {
    /// Steps of one cadence.
    pub fn cadence_id(self, id: CadenceId) -> Self {
        self.filter("cadence_id", id)
    }

    /// Steps of one type (`email`, `phone`, `integration`, `other`).
    pub fn step_type(self, step_type: impl ToString) -> Self {
        self.filter("type", step_type)
    }

    /// Steps that have (or have no) due actions.
    pub fn has_due_actions(self, value: bool) -> Self {
        self.filter("has_due_actions", value)
    }
}
