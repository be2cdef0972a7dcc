use serde::{Deserialize, Serialize};

use super::{Extra, Ref, Timestamp, impl_record, null_as_default};
use crate::ids::{AccountId, PersonId, UserId};

/// An account (company) as `GET /v2/accounts/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// SalesLoft id.
    pub id: AccountId,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the account was last changed.
    pub updated_at: Timestamp,
    /// When the account was archived, if it is.
    #[serde(default)]
    pub archived_at: Option<Timestamp>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Domain (unique on the team).
    #[serde(default)]
    pub domain: Option<String>,
    /// Name used in e-mails.
    #[serde(default)]
    pub conversational_name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Website.
    #[serde(default)]
    pub website: Option<String>,
    /// LinkedIn URL.
    #[serde(default)]
    pub linkedin_url: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// Street address.
    #[serde(default)]
    pub street: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Industry.
    #[serde(default)]
    pub industry: Option<String>,
    /// Company type.
    #[serde(default)]
    pub company_type: Option<String>,
    /// Year founded.
    #[serde(default)]
    pub founded: Option<String>,
    /// Revenue range.
    #[serde(default)]
    pub revenue_range: Option<String>,
    /// Size (SalesLoft sends a string).
    #[serde(default)]
    pub size: Option<String>,
    /// CRM id.
    #[serde(default)]
    pub crm_id: Option<String>,
    /// Link to the account in the CRM.
    #[serde(default)]
    pub crm_url: Option<String>,
    /// CRM object type.
    #[serde(default)]
    pub crm_object_type: Option<String>,
    /// CRM id of the owner.
    #[serde(default)]
    pub owner_crm_id: Option<String>,
    /// Last time anyone at the account was contacted.
    #[serde(default)]
    pub last_contacted_at: Option<Timestamp>,
    /// How the account was last contacted.
    #[serde(default)]
    pub last_contacted_type: Option<String>,
    /// Whether the account must not be contacted.
    #[serde(default)]
    pub do_not_contact: Option<bool>,
    /// Custom field values by field name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// User relationships (an array in real payloads, an object in the OpenAPI document).
    #[serde(default)]
    pub user_relationships: Option<serde_json::Value>,
    /// Counters (`people` may be null).
    #[serde(default)]
    pub counts: Option<AccountCounts>,
    /// The owning user.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// The user who created the account.
    #[serde(default)]
    pub creator: Option<Ref<UserId>>,
    /// The user who last contacted the account.
    #[serde(default)]
    pub last_contacted_by: Option<Ref<UserId>>,
    /// The person last contacted at the account.
    #[serde(default)]
    pub last_contacted_person: Option<Ref<PersonId>>,
    /// The account's stage.
    #[serde(default)]
    pub company_stage: Option<Ref<i64>>,
    /// The account's tier.
    #[serde(default)]
    pub account_tier: Option<Ref<i64>>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(Account);

/// Counters of an account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountCounts {
    /// Number of people on the account (null in some real payloads).
    #[serde(default)]
    pub people: Option<i64>,
    /// Counters this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The writable fields of an account, for create, update and upsert. Create requires `name`
/// and `domain`. Unset fields are not sent; `extra` carries anything else.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountInput {
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Domain (unique on the team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Name used in e-mails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversational_name: Option<String>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Website.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Industry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Owning user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Tags (replaces the existing tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom field values by field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// CRM id (needs the `crm_id_account:write` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    /// Any other field to send verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
