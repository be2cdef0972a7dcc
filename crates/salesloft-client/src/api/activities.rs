use super::send::{handler, post_json};
use crate::error::Result;
use crate::list::{Cmp, FilterCreatedAt, ListRequest, ListResource, sort_fields};
use crate::models::{Call, CallInput, Email, Timestamp};
use crate::resource::{self, Resource};
use crate::{CadenceId, CallId, EmailId, PersonId, StepId, UserId};

handler! {
    /// `/v2/activities/emails`: e-mail activities (read-only).
    Emails
}

handler! {
    /// `/v2/activities/calls`: call activities.
    Calls
}

sort_fields! {
    /// Fields e-mails can be sorted by (default `updated_at`).
    EmailSort {
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `send_time`
        SendTime => "send_time",
    }
}

sort_fields! {
    /// Fields calls can be sorted by (default `updated_at`).
    CallSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

impl ListResource for Emails {
    const RESOURCE: &'static Resource = &resource::EMAILS;
    type Item = Email;
    type Id = EmailId;
    type Sort = EmailSort;
}

impl ListResource for Calls {
    const RESOURCE: &'static Resource = &resource::CALLS;
    type Item = Call;
    type Id = CallId;
    type Sort = CallSort;
}
impl FilterCreatedAt for Calls {}

impl Emails {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Emails> {
        ListRequest::new(self.client.clone())
    }

    /// One e-mail.
    pub async fn get(&self, id: EmailId) -> Result<Email> {
        self.client
            .get_one(format!("/v2/activities/emails/{id}"), "emails.get")
            .await
    }
}

impl ListRequest<Emails> {
    /// E-mails to any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = PersonId>) -> Self {
        self.filter_array("person_id", ids)
    }

    /// E-mails of any of these cadences (`cadence_id[]`).
    pub fn cadence_ids(self, ids: impl IntoIterator<Item = CadenceId>) -> Self {
        self.filter_array("cadence_id", ids)
    }

    /// E-mails of any of these steps (`step_id[]`).
    pub fn step_ids(self, ids: impl IntoIterator<Item = StepId>) -> Self {
        self.filter_array("step_id", ids)
    }

    /// E-mails sent by any of these users (`user_id[]`).
    pub fn user_ids(self, ids: impl IntoIterator<Item = UserId>) -> Self {
        self.filter_array("user_id", ids)
    }

    /// E-mails in any of these statuses (`status[]`).
    pub fn statuses<S: ToString>(self, statuses: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("status", statuses)
    }

    /// E-mails to any of these addresses (`email_addresses[]`).
    pub fn email_addresses<S: ToString>(self, emails: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("email_addresses", emails)
    }

    /// Bounced (or not bounced) e-mails only.
    pub fn bounced(self, value: bool) -> Self {
        self.filter("bounced", value)
    }

    /// E-mails whose `sent_at` compares to `t` by `cmp`.
    pub fn sent_at(self, cmp: Cmp, t: Timestamp) -> Self {
        self.range("sent_at", cmp, &t)
    }
}

impl Calls {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Calls> {
        ListRequest::new(self.client.clone())
    }

    /// One call.
    pub async fn get(&self, id: CallId) -> Result<Call> {
        self.client
            .get_one(format!("/v2/activities/calls/{id}"), "calls.get")
            .await
    }

    /// Log a call. Not retried once the server may have acted.
    pub async fn create(&self, input: &CallInput) -> Result<Call> {
        post_json(&self.client, "/v2/activities/calls", "calls.create", input).await
    }
}

impl ListRequest<Calls> {
    /// Calls to any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = PersonId>) -> Self {
        self.filter_array("person_id", ids)
    }

    /// Calls by any of these user guids (`user_guid[]`).
    pub fn user_guids<S: ToString>(self, guids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("user_guid", guids)
    }

    /// Calls with any of these sentiments, matched exactly (`sentiment[]`).
    pub fn sentiments<S: ToString>(self, values: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("sentiment", values)
    }

    /// Calls with any of these dispositions, matched exactly (`disposition[]`).
    pub fn dispositions<S: ToString>(self, values: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("disposition", values)
    }
}
