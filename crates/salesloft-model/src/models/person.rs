use serde::{Deserialize, Serialize};

use super::record::{Extra, Ref, Timestamp, impl_record, wire_record};
use crate::ids::{AccountId, CadenceId, PersonId, StepId, UserId};

wire_record! {
    /// A person (prospect) as `GET /v2/people/{id}` returns it.
    pub struct Person {
        /// SalesLoft id.
        pub id: PersonId,
        /// When the person was created.
        pub created_at: Timestamp,
        /// When the person was last changed.
        pub updated_at: Timestamp,
        /// Last time anyone contacted the person.
        pub last_contacted_at: Option<Timestamp>,
        /// Last time the person replied.
        pub last_replied_at: Option<Timestamp>,
        /// First name.
        pub first_name: Option<String>,
        /// Last name.
        pub last_name: Option<String>,
        /// Name as SalesLoft displays it.
        pub display_name: Option<String>,
        /// Primary e-mail address (unique on the team).
        pub email_address: Option<String>,
        /// `"Name" <address>` form of the primary address.
        pub full_email_address: Option<String>,
        /// Secondary e-mail address.
        pub secondary_email_address: Option<String>,
        /// Personal e-mail address.
        pub personal_email_address: Option<String>,
        /// Work phone.
        pub phone: Option<String>,
        /// Work phone extension.
        pub phone_extension: Option<String>,
        /// Home phone.
        pub home_phone: Option<String>,
        /// Mobile phone.
        pub mobile_phone: Option<String>,
        /// LinkedIn profile URL.
        pub linkedin_url: Option<String>,
        /// Job title.
        pub title: Option<String>,
        /// Home city.
        pub city: Option<String>,
        /// Home state.
        pub state: Option<String>,
        /// Home country.
        pub country: Option<String>,
        /// Work city.
        pub work_city: Option<String>,
        /// Work state.
        pub work_state: Option<String>,
        /// Work country.
        pub work_country: Option<String>,
        /// Link to the person in the CRM.
        pub crm_url: Option<String>,
        /// CRM id of the person.
        pub crm_id: Option<String>,
        /// CRM id of the person's account.
        pub account_crm_id: Option<String>,
        /// CRM object type (`lead`, `contact`).
        pub crm_object_type: Option<String>,
        /// CRM id of the owner.
        pub owner_crm_id: Option<String>,
        /// Company name entered on the person.
        pub person_company_name: Option<String>,
        /// Company website entered on the person.
        pub person_company_website: Option<String>,
        /// Company industry entered on the person.
        pub person_company_industry: Option<String>,
        /// Whether the person must not be contacted (also blocks cadence enrollment).
        pub do_not_contact: Option<bool>,
        /// Whether e-mails to the person bounce.
        pub bouncing: Option<bool>,
        /// Locale, such as `US/Eastern`.
        pub locale: Option<String>,
        /// Offset of the person's locale from UTC, in minutes.
        pub locale_utc_offset: Option<i32>,
        /// Whether the person lives in the EU.
        pub eu_resident: Option<bool>,
        /// Personal website.
        pub personal_website: Option<String>,
        /// Twitter handle.
        pub twitter_handle: Option<String>,
        /// How the person was last contacted (`call`, `email`, `other`).
        pub last_contacted_type: Option<String>,
        /// Seniority (`director`, `executive`, `individual_contributor`, `manager`, `vice_president`, `unknown`).
        pub job_seniority: Option<String>,
        /// Custom field values by field name.
        pub custom_fields: serde_json::Map<String, serde_json::Value>,
        /// Tags.
        pub tags: Vec<String>,
        /// Channels the person may not be contacted on (`call`, `email`, `message`).
        pub contact_restrictions: Vec<String>,
        /// Number of successes recorded on the person.
        pub success_count: Option<i64>,
        /// Whether the authenticated user starred the person.
        pub starred: Option<bool>,
        /// Whether the person has never been contacted.
        pub untouched: Option<bool>,
        /// Engagement counters.
        pub counts: Option<PersonCounts>,
        /// The person's account.
        pub account: Option<Ref<AccountId>>,
        /// The owning user.
        pub owner: Option<Ref<UserId>>,
        /// The user who last contacted the person.
        pub last_contacted_by: Option<Ref<UserId>>,
        /// The import the person came from.
        pub import: Option<Ref<i64>>,
        /// The person's stage.
        pub person_stage: Option<Ref<i64>>,
        /// The cadence the person was most recently added to.
        pub most_recent_cadence: Option<Ref<CadenceId>>,
        /// The cadence of the last completed step.
        pub last_completed_step_cadence: Option<Ref<CadenceId>>,
        /// The last completed step.
        pub last_completed_step: Option<Ref<StepId>>,
        /// Cadences the person is currently on.
        pub cadences: Vec<Ref<CadenceId>>,
    }
}

impl_record!(Person);

wire_record! {
    /// Engagement counters of a person.
    #[derive(Default)]
    pub struct PersonCounts {
        /// E-mails sent to the person.
        pub emails_sent: Option<i64>,
        /// E-mails the person viewed.
        pub emails_viewed: Option<i64>,
        /// E-mails the person clicked.
        pub emails_clicked: Option<i64>,
        /// E-mails the person replied to.
        pub emails_replied_to: Option<i64>,
        /// E-mails to the person that bounced.
        pub emails_bounced: Option<i64>,
        /// Calls to the person.
        pub calls: Option<i64>,
    }
}

/// The writable fields of a person, for create, update and upsert. Unset fields are not sent;
/// `extra` carries anything else, including explicit `null`s to clear a field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PersonInput {
    /// E-mail address (unique on the team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    /// First name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Work phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Work phone extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_extension: Option<String>,
    /// Mobile phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Home phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_phone: Option<String>,
    /// Secondary e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_email_address: Option<String>,
    /// Personal e-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_email_address: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Seniority (`director`, `executive`, `individual_contributor`, `manager`, `vice_president`, `unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_seniority: Option<String>,
    /// Home city.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Home state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Home country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Work city.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_city: Option<String>,
    /// Work state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_state: Option<String>,
    /// Work country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_country: Option<String>,
    /// LinkedIn profile URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin_url: Option<String>,
    /// Twitter handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twitter_handle: Option<String>,
    /// Personal website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_website: Option<String>,
    /// Locale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Company name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_company_name: Option<String>,
    /// Company website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_company_website: Option<String>,
    /// Company industry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_company_industry: Option<String>,
    /// Account to link the person to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    /// Owning user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Person stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_stage_id: Option<i64>,
    /// Import to record the person under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_id: Option<i64>,
    /// `true` removes the person from all cadences and blocks enrollment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_not_contact: Option<bool>,
    /// Channels the person may not be contacted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_restrictions: Option<Vec<String>>,
    /// Tags (replaces the existing tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom field values by field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// CRM id (needs the `crm_id_person:write` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// CRM id type; `salesforce` is the only documented value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_id_type: Option<String>,
    /// Any other field to send verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How an upsert matched an existing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum UpsertType {
    /// A new record was created.
    Create,
    /// An existing record was updated.
    Update,
}

/// The result of a person or account upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted<T> {
    /// Whether the record was created or updated, when SalesLoft said.
    pub upsert_type: Option<UpsertType>,
    /// The record as it now stands.
    pub record: T,
}
