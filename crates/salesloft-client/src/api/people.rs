use super::send::{handler, post_json, put_json, upsert};
use crate::error::Result;
use crate::list::{FilterCreatedAt, ListRequest, ListResource, sort_fields};
use crate::models::{Person, PersonInput, Upserted};
use crate::resource::{self, Resource};
use crate::{AccountId, CadenceId, PersonId, UserId};

handler! {
    /// `/v2/people`: list, get, create, update, delete and upsert people.
    People
}

sort_fields! {
    /// Fields people can be sorted by (default `updated_at`).
    PersonSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `last_contacted_at`
        LastContactedAt => "last_contacted_at",
        /// `name`
        Name => "name",
        /// `title`
        Title => "title",
        /// `job_seniority`
        JobSeniority => "job_seniority",
        /// `call_count`
        CallCount => "call_count",
        /// `sent_emails`
        SentEmails => "sent_emails",
        /// `clicked_emails`
        ClickedEmails => "clicked_emails",
        /// `replied_emails`
        RepliedEmails => "replied_emails",
        /// `viewed_emails`
        ViewedEmails => "viewed_emails",
        /// `account`
        Account => "account",
        /// `cadence_stage_name`
        CadenceStageName => "cadence_stage_name",
    }
}

impl ListResource for People {
    const RESOURCE: &'static Resource = &resource::PEOPLE;
    type Item = Person;
    type Id = PersonId;
    type Sort = PersonSort;
}
impl FilterCreatedAt for People {}

/// What a person upsert matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersonUpsertKey {
    /// The e-mail address.
    EmailAddress,
    /// The SalesLoft id (put it in `extra["id"]`).
    Id,
    /// The CRM id.
    CrmId,
}

impl PersonUpsertKey {
    fn as_str(self) -> &'static str {
        match self {
            PersonUpsertKey::EmailAddress => "email_address",
            PersonUpsertKey::Id => "id",
            PersonUpsertKey::CrmId => "crm_id",
        }
    }
}

impl People {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<People> {
        ListRequest::new(self.client.clone())
    }

    /// One person.
    pub async fn get(&self, id: PersonId) -> Result<Person> {
        self.client
            .get_one(format!("/v2/people/{id}"), "people.get")
            .await
    }

    /// Create a person. Needs `email_address`, or `phone` and `last_name`. Not retried once
    /// the server may have acted (see [`crate::retry`]).
    pub async fn create(&self, input: &PersonInput) -> Result<Person> {
        post_json(&self.client, "/v2/people", "people.create", input).await
    }

    /// Change a person's fields.
    pub async fn update(&self, id: PersonId, input: &PersonInput) -> Result<Person> {
        put_json(
            &self.client,
            format!("/v2/people/{id}"),
            "people.update",
            input,
        )
        .await
    }

    /// Delete a person (irreversible). Deleting an already deleted person succeeds.
    pub async fn delete(&self, id: PersonId) -> Result<()> {
        self.client
            .delete(format!("/v2/people/{id}"), "people.delete")
            .await
    }

    /// Create or update the person matching `key` (`POST /v2/person_upserts`).
    pub async fn upsert(
        &self,
        key: PersonUpsertKey,
        input: &PersonInput,
    ) -> Result<Upserted<Person>> {
        let mut body = serde_json::to_value(input)
            .map_err(|e| crate::Error::InvalidArgument(format!("person: {e}")))?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("upsert_key".into(), key.as_str().into());
        }
        upsert(
            &self.client,
            "/v2/person_upserts",
            "person_upserts.create",
            "person",
            &body,
        )
        .await
    }
}

impl ListRequest<People> {
    /// People with any of these e-mail addresses (`email_addresses[]`).
    pub fn email_addresses<S: ToString>(self, emails: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("email_addresses", emails)
    }

    /// People of any of these accounts (`account_id[]`).
    pub fn account_ids(self, ids: impl IntoIterator<Item = AccountId>) -> Self {
        self.filter_array("account_id", ids)
    }

    /// People owned by any of these users (`owner_id[]`).
    pub fn owner_ids(self, ids: impl IntoIterator<Item = UserId>) -> Self {
        self.filter_array("owner_id", ids)
    }

    /// People on any of these cadences (`cadence_id[]`).
    pub fn cadence_ids(self, ids: impl IntoIterator<Item = CadenceId>) -> Self {
        self.filter_array("cadence_id", ids)
    }

    /// People in any of these stages (`person_stage_id[]`).
    pub fn person_stage_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("person_stage_id", ids)
    }

    /// People with any of these CRM ids (`crm_id[]`).
    pub fn crm_ids<S: ToString>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("crm_id", ids)
    }

    /// People with any of these tags (`tag_id[]`).
    pub fn tag_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("tag_id", ids)
    }

    /// People whose `do_not_contact` is `value`.
    pub fn do_not_contact(self, value: bool) -> Self {
        self.filter("do_not_contact", value)
    }

    /// People who can (or cannot) be e-mailed.
    pub fn can_email(self, value: bool) -> Self {
        self.filter("can_email", value)
    }
}
