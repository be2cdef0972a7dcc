use super::record::{Ref, Timestamp, impl_record, wire_record};
use crate::ids::{RoleId, TeamId, UserId};

wire_record! {
    /// A SalesLoft user, as `GET /v2/users/{id}` and `GET /v2/me` return it.
    pub struct User {
        /// SalesLoft id.
        pub id: UserId,
        /// Globally unique id (a UUID); webhook subscriptions and some filters use it.
        pub guid: Option<String>,
        /// When the user was created.
        pub created_at: Timestamp,
        /// When the user was last changed.
        pub updated_at: Timestamp,
        /// Full name.
        pub name: Option<String>,
        /// First name.
        pub first_name: Option<String>,
        /// Last name.
        pub last_name: Option<String>,
        /// Job role.
        pub job_role: Option<String>,
        /// Whether the user is active.
        pub active: Option<bool>,
        /// Time zone, such as `US/Eastern`.
        pub time_zone: Option<String>,
        /// Slack user name.
        pub slack_username: Option<String>,
        /// Twitter handle.
        pub twitter_handle: Option<String>,
        /// Login e-mail address.
        pub email: Option<String>,
        /// Address of the connected e-mail client.
        pub email_client_email_address: Option<String>,
        /// Address e-mails are sent from.
        pub sending_email_address: Option<String>,
        /// `From` address.
        pub from_address: Option<String>,
        /// `"Name" <address>` form of the sending address.
        pub full_email_address: Option<String>,
        /// Address blind-copied on e-mails.
        pub bcc_email_address: Option<String>,
        /// Work country.
        pub work_country: Option<String>,
        /// E-mail signature.
        pub email_signature: Option<String>,
        /// Signature type.
        pub email_signature_type: Option<String>,
        /// Whether click tracking is off in the signature.
        pub email_signature_click_tracking_disabled: Option<bool>,
        /// Whether the user administers the team.
        pub team_admin: Option<bool>,
        /// Whether local dial is on.
        pub local_dial_enabled: Option<bool>,
        /// Whether click-to-call is on.
        pub click_to_call_enabled: Option<bool>,
        /// Whether an e-mail client is configured.
        pub email_client_configured: Option<bool>,
        /// Whether the user's CRM is connected.
        pub crm_connected: Option<bool>,
        /// Feature flags.
        pub external_feature_flags: Option<serde_json::Value>,
        /// Fields SalesLoft marks private.
        pub private_fields as "_private_fields": Option<serde_json::Value>,
        /// The user's phone client.
        pub phone_client: Option<Ref<i64>>,
        /// The user's phone number assignment.
        pub phone_number_assignment: Option<Ref<i64>>,
        /// The user's group.
        pub group: Option<Ref<i64>>,
        /// The user's team.
        pub team: Option<Ref<TeamId>>,
        /// The user's role; its id is a string.
        pub role: Option<Ref<RoleId>>,
    }
}

impl_record!(User);

wire_record! {
    /// The team the authenticated user belongs to (`GET /v2/team`).
    pub struct Team {
        /// SalesLoft id.
        pub id: TeamId,
        /// When the team was created.
        pub created_at: Option<Timestamp>,
        /// When the team was last changed.
        pub updated_at: Option<Timestamp>,
        /// Team name.
        pub name: Option<String>,
        /// Plan (`group`, `professional`, `enterprise`).
        pub plan: Option<String>,
        /// Licensed seats.
        pub license_limit: Option<i64>,
        /// Daily e-mail limit per user.
        pub email_daily_limit: Option<i64>,
    }
}
