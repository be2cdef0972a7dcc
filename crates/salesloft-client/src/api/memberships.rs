use reqwest::Method;

use super::send::handler;
use crate::client::Request;
use crate::error::Result;
use crate::list::{ListRequest, ListResource, sort_fields};
use crate::models::{CadenceMembership, Enrollment};
use crate::resource::{self, Resource};
use crate::{CadenceId, CadenceMembershipId, PersonId};

handler! {
    /// `/v2/cadence_memberships`: who is on which cadence; enroll people and remove them.
    CadenceMemberships
}

sort_fields! {
    /// Fields memberships can be sorted by (default `updated_at`).
    MembershipSort {
        /// `added_at`
        AddedAt => "added_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

impl ListResource for CadenceMemberships {
    const RESOURCE: &'static Resource = &resource::CADENCE_MEMBERSHIPS;
    type Item = CadenceMembership;
    type Id = CadenceMembershipId;
    type Sort = MembershipSort;
}

impl CadenceMemberships {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<CadenceMemberships> {
        ListRequest::new(self.client.clone())
    }

    /// One membership.
    pub async fn get(&self, id: CadenceMembershipId) -> Result<CadenceMembership> {
        self.client
            .get_one(
                format!("/v2/cadence_memberships/{id}"),
                "cadence_memberships.get",
            )
            .await
    }

    /// Add a person to a cadence. The parameters go in the query string, as SalesLoft
    /// documents. Re-adding a person reuses their one membership of that cadence; a person
    /// marked do-not-contact is refused with a 422. Not retried once the server may have acted.
    pub async fn create(&self, enrollment: &Enrollment) -> Result<CadenceMembership> {
        let mut query = vec![
            ("person_id".to_owned(), enrollment.person_id.to_string()),
            ("cadence_id".to_owned(), enrollment.cadence_id.to_string()),
        ];
        if let Some(u) = enrollment.user_id {
            query.push(("user_id".into(), u.to_string()));
        }
        if let Some(s) = enrollment.step_id {
            query.push(("step_id".into(), s.to_string()));
        }
        if let Some(t) = enrollment.task_id {
            query.push(("task_id".into(), t.to_string()));
        }
        let req = Request::new(
            Method::POST,
            "/v2/cadence_memberships",
            "cadence_memberships.create",
        )
        .query(query);
        self.client.send_one(req).await
    }

    /// Remove the person from the cadence. Idempotent.
    pub async fn delete(&self, id: CadenceMembershipId) -> Result<()> {
        self.client
            .delete(
                format!("/v2/cadence_memberships/{id}"),
                "cadence_memberships.delete",
            )
            .await
    }
}

impl ListRequest<CadenceMemberships> {
    /// Memberships of one person.
    pub fn person_id(self, id: PersonId) -> Self {
        self.filter("person_id", id)
    }

    /// Memberships of one cadence.
    pub fn cadence_id(self, id: CadenceId) -> Self {
        self.filter("cadence_id", id)
    }

    /// Only memberships whose person is (or is not) on the cadence now.
    pub fn currently_on_cadence(self, value: bool) -> Self {
        self.filter("currently_on_cadence", value)
    }
}
