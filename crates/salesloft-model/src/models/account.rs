use serde::{Deserialize, Serialize};

use super::record::{Extra, Ref, Timestamp, impl_record, wire_record};
use crate::ids::{AccountId, PersonId, UserId};

wire_record! {
    /// An account (company) as `GET /v2/accounts/{id}` returns it.
    pub struct Account {
        /// SalesLoft id.
        pub id: AccountId,
        /// When the account was created.
        pub created_at: Timestamp,
        /// When the account was last changed.
        pub updated_at: Timestamp,
        /// When the account was archived, if it is.
        pub archived_at: Option<Timestamp>,
        /// Name.
        pub name: Option<String>,
        /// Domain (unique on the team).
        pub domain: Option<String>,
        /// Name used in e-mails.
        pub conversational_name: Option<String>,
        /// Description.
        pub description: Option<String>,
        /// Phone.
        pub phone: Option<String>,
        /// Website.
        pub website: Option<String>,
        /// LinkedIn URL.
        pub linkedin_url: Option<String>,
        /// Twitter handle.
        pub twitter_handle: Option<String>,
        /// Street address.
        pub street: Option<String>,
        /// City.
        pub city: Option<String>,
        /// State.
        pub state: Option<String>,
        /// Postal code.
        pub postal_code: Option<String>,
        /// Country.
        pub country: Option<String>,
        /// Locale.
        pub locale: Option<String>,
        /// Industry.
        pub industry: Option<String>,
        /// Company type.
        pub company_type: Option<String>,
        /// Year founded.
        pub founded: Option<String>,
        /// Revenue range.
        pub revenue_range: Option<String>,
        /// Size (SalesLoft sends a string).
        pub size: Option<String>,
        /// CRM id.
        pub crm_id: Option<String>,
        /// Link to the account in the CRM.
        pub crm_url: Option<String>,
        /// CRM object type.
        pub crm_object_type: Option<String>,
        /// CRM id of the owner.
        pub owner_crm_id: Option<String>,
        /// Last time anyone at the account was contacted.
        pub last_contacted_at: Option<Timestamp>,
        /// How the account was last contacted.
        pub last_contacted_type: Option<String>,
        /// Whether the account must not be contacted.
        pub do_not_contact: Option<bool>,
        /// Custom field values by field name.
        pub custom_fields: serde_json::Map<String, serde_json::Value>,
        /// Tags.
        pub tags: Vec<String>,
        /// User relationships (an array in real payloads, an object in the OpenAPI document).
        pub user_relationships: Option<serde_json::Value>,
        /// Counters (`people` may be null).
        pub counts: Option<AccountCounts>,
        /// The owning user.
        pub owner: Option<Ref<UserId>>,
        /// The user who created the account.
        pub creator: Option<Ref<UserId>>,
        /// The user who last contacted the account.
        pub last_contacted_by: Option<Ref<UserId>>,
        /// The person last contacted at the account.
        pub last_contacted_person: Option<Ref<PersonId>>,
        /// The account's stage.
        pub company_stage: Option<Ref<i64>>,
        /// The account's tier.
        pub account_tier: Option<Ref<i64>>,
    }
}

impl_record!(Account);

wire_record! {
    /// Counters of an account.
    #[derive(Default)]
    pub struct AccountCounts {
        /// Number of people on the account (null in some real payloads).
        pub people: Option<i64>,
    }
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
