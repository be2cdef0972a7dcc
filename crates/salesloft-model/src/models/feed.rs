//! The activity feed, e-mail templates, imports and the CRM's view of the team: CRM users
//! and the fields CRM activities carry.

use super::record::{Ref, Timestamp, impl_record, wire_record};
use crate::ids::{
    ActivityHistoryId, CrmActivityFieldId, CrmUserId, EmailTemplateId, ImportId, UserId,
};

wire_record! {
    /// An entry of the activity feed of a person, an account or an opportunity
    /// (`/v2/activity_histories`), such as `sent_email` or `completed_action`.
    pub struct ActivityHistory {
        /// SalesLoft id.
        pub id: ActivityHistoryId,
        /// When it was recorded.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// What happened: `added_to_cadence`, `completed_action`, `call`, `sent_email`, ...
        pub activity_type as "type": Option<String>,
        /// When it happened.
        pub occurred_at: Option<Timestamp>,
        /// When it was pinned, if it is.
        pub pinned_at: Option<Timestamp>,
        /// The record it is about: its id.
        pub resource_id: Option<i64>,
        /// The record it is about: its type (`person`, `account`, `crm_opportunity`; the
        /// document types it as an integer, so it is kept as sent).
        pub resource_type: Option<serde_json::Value>,
        /// The user who acted, by guid.
        pub user_guid: Option<String>,
        /// What the entry shows, fixed when recorded.
        pub static_data: serde_json::Map<String, serde_json::Value>,
        /// What the entry shows, read when shown.
        pub dynamic_data: serde_json::Map<String, serde_json::Value>,
    }
}

wire_record! {
    /// An e-mail template (`/v2/email_templates`).
    pub struct EmailTemplate {
        /// SalesLoft id.
        pub id: EmailTemplateId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// Its title.
        pub title: Option<String>,
        /// Its subject line.
        pub subject: Option<String>,
        /// Its body (HTML).
        pub body: Option<String>,
        /// When it was archived, if it is.
        pub archived_at: Option<Timestamp>,
        /// When it was last used.
        pub last_used_at: Option<Timestamp>,
        /// Whether it belongs to a cadence only.
        pub cadence_template: Option<bool>,
        /// Whether the team shares it.
        pub shared: Option<bool>,
        /// Its tags.
        pub tags: Vec<String>,
        /// Its owner.
        pub template_owner: Option<Ref<UserId>>,
        /// How its e-mails did (`sent_emails`, `views`, `clicks`, `replies`, `bounces`).
        pub counts: Option<serde_json::Value>,
    }
}

wire_record! {
    /// A people import (`/v2/imports`).
    pub struct Import {
        /// SalesLoft id.
        pub id: ImportId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// Its name.
        pub name: Option<String>,
        /// People it brought in.
        pub imported_people_count: Option<i64>,
        /// Of those, people that still exist.
        pub current_people_count: Option<i64>,
    }
}

wire_record! {
    /// A user as the team's CRM knows them (`/v2/crm_users`).
    pub struct CrmUser {
        /// SalesLoft id.
        pub id: CrmUserId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// The CRM's id of the user.
        pub crm_id: Option<String>,
        /// The SalesLoft user.
        pub user: Option<Ref<UserId>>,
    }
}

wire_record! {
    /// A field CRM activities carry (`/v2/crm_activity_fields`).
    pub struct CrmActivityField {
        /// SalesLoft id.
        pub id: CrmActivityFieldId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// Its label.
        pub title: Option<String>,
        /// The CRM's name of the field.
        pub field: Option<String>,
        /// Its type (`picklist`, `string`, ...).
        pub field_type: Option<String>,
        /// The CRM object it is on.
        pub crm_object_type: Option<String>,
        /// Salesforce's object, when the CRM is Salesforce.
        pub salesforce_object_type: Option<String>,
        /// Where it applies: `Call`, `Email`, ...
        pub source: Option<String>,
        /// Its default value.
        pub value: Option<String>,
        /// A picklist's values.
        pub picklist_values: Option<serde_json::Value>,
    }
}

impl_record!(
    ActivityHistory,
    EmailTemplate,
    Import,
    CrmUser,
    CrmActivityField
);
