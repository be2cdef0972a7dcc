use serde::{Deserialize, Serialize};

use super::{Extra, Ref, Timestamp, impl_record};
use crate::ids::{RoleId, TeamId, UserId};

/// A SalesLoft user, as `GET /v2/users/{id}` and `GET /v2/me` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// SalesLoft id.
    pub id: UserId,
    /// Globally unique id (a UUID); webhook subscriptions and some filters use it.
    #[serde(default)]
    pub guid: Option<String>,
    /// When the user was created.
    pub created_at: Timestamp,
    /// When the user was last changed.
    pub updated_at: Timestamp,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Job role.
    #[serde(default)]
    pub job_role: Option<String>,
    /// Whether the user is active.
    #[serde(default)]
    pub active: Option<bool>,
    /// Time zone, such as `US/Eastern`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Slack user name.
    #[serde(default)]
    pub slack_username: Option<String>,
    /// Twitter handle.
    #[serde(default)]
    pub twitter_handle: Option<String>,
    /// Login e-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Address of the connected e-mail client.
    #[serde(default)]
    pub email_client_email_address: Option<String>,
    /// Address e-mails are sent from.
    #[serde(default)]
    pub sending_email_address: Option<String>,
    /// `From` address.
    #[serde(default)]
    pub from_address: Option<String>,
    /// `"Name" <address>` form of the sending address.
    #[serde(default)]
    pub full_email_address: Option<String>,
    /// Address blind-copied on e-mails.
    #[serde(default)]
    pub bcc_email_address: Option<String>,
    /// Work country.
    #[serde(default)]
    pub work_country: Option<String>,
    /// E-mail signature.
    #[serde(default)]
    pub email_signature: Option<String>,
    /// Signature type.
    #[serde(default)]
    pub email_signature_type: Option<String>,
    /// Whether click tracking is off in the signature.
    #[serde(default)]
    pub email_signature_click_tracking_disabled: Option<bool>,
    /// Whether the user administers the team.
    #[serde(default)]
    pub team_admin: Option<bool>,
    /// Whether local dial is on.
    #[serde(default)]
    pub local_dial_enabled: Option<bool>,
    /// Whether click-to-call is on.
    #[serde(default)]
    pub click_to_call_enabled: Option<bool>,
    /// Whether an e-mail client is configured.
    #[serde(default)]
    pub email_client_configured: Option<bool>,
    /// Whether the user's CRM is connected.
    #[serde(default)]
    pub crm_connected: Option<bool>,
    /// Feature flags.
    #[serde(default)]
    pub external_feature_flags: Option<serde_json::Value>,
    /// Fields SalesLoft marks private.
    #[serde(default, rename = "_private_fields")]
    pub private_fields: Option<serde_json::Value>,
    /// The user's phone client.
    #[serde(default)]
    pub phone_client: Option<Ref<i64>>,
    /// The user's phone number assignment.
    #[serde(default)]
    pub phone_number_assignment: Option<Ref<i64>>,
    /// The user's group.
    #[serde(default)]
    pub group: Option<Ref<i64>>,
    /// The user's team.
    #[serde(default)]
    pub team: Option<Ref<TeamId>>,
    /// The user's role; its id is a string.
    #[serde(default)]
    pub role: Option<Ref<RoleId>>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(User);

/// The team the authenticated user belongs to (`GET /v2/team`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Team {
    /// SalesLoft id.
    pub id: TeamId,
    /// When the team was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// When the team was last changed.
    #[serde(default)]
    pub updated_at: Option<Timestamp>,
    /// Team name.
    #[serde(default)]
    pub name: Option<String>,
    /// Plan (`group`, `professional`, `enterprise`).
    #[serde(default)]
    pub plan: Option<String>,
    /// Licensed seats.
    #[serde(default)]
    pub license_limit: Option<i64>,
    /// Daily e-mail limit per user.
    #[serde(default)]
    pub email_daily_limit: Option<i64>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}
