use serde::{Deserialize, Serialize};

use super::{Extra, Ref, Timestamp, impl_record, null_as_default};
use crate::ids::{AccountId, CadenceId, PersonId, StepId, UserId};

/// A person (prospect) as `GET /v2/people/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// SalesLoft id.
    pub id: PersonId,
    /// When the person was created.
    pub created_at: Timestamp,
    /// When the person was last changed.
    pub updated_at: Timestamp,
    /// Last time anyone contacted the person.
    #[serde(default)]
    pub last_contacted_at: Option<Timestamp>,
    /// Last time the person replied.
    #[serde(default)]
    pub last_replied_at: Option<Timestamp>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Name as SalesLoft displays it.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Primary e-mail address (unique on the team).
    #[serde(default)]
    pub email_address: Option<String>,
    /// `"Name" <address>` form of the primary address.
    #[serde(default)]
    pub full_email_address: Option<String>,
    /// Secondary e-mail address.
    #[serde(default)]
    pub secondary_email_address: Option<String>,
    /// Personal e-mail address.
    #[serde(default)]
    pub personal_email_address: Option<String>,
    /// Work phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Work phone extension.
    #[serde(default)]
    pub phone_extension: Option<String>,
    /// Home phone.
    #[serde(default)]
    pub home_phone: Option<String>,
    /// Mobile phone.
    #[serde(default)]
    pub mobile_phone: Option<String>,
    /// LinkedIn profile URL.
    #[serde(default)]
    pub linkedin_url: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Home city.
    #[serde(default)]
    pub city: Option<String>,
    /// Home state.
    #[serde(default)]
    pub state: Option<String>,
    /// Home country.
    #[serde(default)]
    pub country: Option<String>,
    /// Work city.
    #[serde(default)]
    pub work_city: Option<String>,
    /// Work state.
    #[serde(default)]
    pub work_state: Option<String>,
    /// Work country.
    #[serde(default)]
    pub work_country: Option<String>,
    /// Link to the person in the CRM.
    #[serde(default)]
    pub crm_url: Option<String>,
    /// CRM id of the person.
    #[serde(default)]
    pub crm_id: Option<String>,
    /// CRM id of the person's account.
    #[serde(default)]
    pub account_crm_id: Option<String>,
    /// CRM object type (`lead`, `contact`).
    #[serde(default)]
    pub crm_object_type: Option<String>,
    /// CRM id of the owner.
    #[serde(default)]
    pub owner_crm_id: Option<String>,
    /// Company name entered on the person.
    #[serde(default)]
    pub person_company_name: Option<String>,
    /// Company website entered on the person.
    #[serde(default)]
    pub person_company_website: Option<String>,
    /// Company industry entered on the person.
    #[serde(default)]
    pub person_company_industry: Option<String>,
    /// Whether the person must not be contacted (also blocks cadence enrollment).
    #[serde(default)]
    pub do_not_contact: Option<bool>,
    /// Whether e-mails to the person bounce.
    #[serde(default)]
    pub bouncing: Option<bool>,
    /// Locale, such as `US/Eastern`.
    #[serde(default)]
    pub locale: Option<String>,
    /// Offset of the person's locale from UTC, in minutes.
    #[serde(default)]
    pub locale_utc_offset: Option<i32>,
    /// Whether the person lives in the EU.
    #[serde(default)]
    pub eu_resident: Option<bool>,
    /// Personal website.
    #[serde(default)]
    pub personal_website: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// How the person was last contacted (`call`, `email`, `other`).
    #[serde(default)]
    pub last_contacted_type: Option<String>,
    /// Seniority (`director`, `executive`, `individual_contributor`, `manager`, `vice_president`, `unknown`).
    #[serde(default)]
    pub job_seniority: Option<String>,
    /// Custom field values by field name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Channels the person may not be contacted on (`call`, `email`, `message`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub contact_restrictions: Vec<String>,
    /// Number of successes recorded on the person.
    #[serde(default)]
    pub success_count: Option<i64>,
    /// Whether the authenticated user starred the person.
    #[serde(default)]
    pub starred: Option<bool>,
    /// Whether the person has never been contacted.
    #[serde(default)]
    pub untouched: Option<bool>,
    /// Engagement counters.
    #[serde(default)]
    pub counts: Option<PersonCounts>,
    /// The person's account.
    #[serde(default)]
    pub account: Option<Ref<AccountId>>,
    /// The owning user.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// The user who last contacted the person.
    #[serde(default)]
    pub last_contacted_by: Option<Ref<UserId>>,
    /// The import the person came from.
    #[serde(default)]
    pub import: Option<Ref<i64>>,
    /// The person's stage.
    #[serde(default)]
    pub person_stage: Option<Ref<i64>>,
    /// The cadence the person was most recently added to.
    #[serde(default)]
    pub most_recent_cadence: Option<Ref<CadenceId>>,
    /// The cadence of the last completed step.
    #[serde(default)]
    pub last_completed_step_cadence: Option<Ref<CadenceId>>,
    /// The last completed step.
    #[serde(default)]
    pub last_completed_step: Option<Ref<StepId>>,
    /// Cadences the person is currently on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cadences: Vec<Ref<CadenceId>>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(Person);

/// Engagement counters of a person.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PersonCounts {
    /// E-mails sent to the person.
    #[serde(default)]
    pub emails_sent: Option<i64>,
    /// E-mails the person viewed.
    #[serde(default)]
    pub emails_viewed: Option<i64>,
    /// E-mails the person clicked.
    #[serde(default)]
    pub emails_clicked: Option<i64>,
    /// E-mails the person replied to.
    #[serde(default)]
    pub emails_replied_to: Option<i64>,
    /// E-mails to the person that bounced.
    #[serde(default)]
    pub emails_bounced: Option<i64>,
    /// Calls to the person.
    #[serde(default)]
    pub calls: Option<i64>,
    /// Counters this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
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
