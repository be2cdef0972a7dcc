use serde::{Deserialize, Serialize};

use super::record::{Extra, Ref, Timestamp, impl_record, wire_record};
use crate::ids::{CadenceId, CallId, EmailId, NoteId, PersonId, StepId, UserId};

wire_record! {
    /// An e-mail activity (`/v2/activities/emails`). Read-only.
    pub struct Email {
        /// SalesLoft id.
        pub id: EmailId,
        /// When the e-mail was created.
        pub created_at: Timestamp,
        /// When the e-mail last changed (opens, clicks and replies change it).
        pub updated_at: Timestamp,
        /// Recipient address.
        pub recipient_email_address: Option<String>,
        /// Status (`sent`, `sent_from_gmail`, `pending`, `scheduled`, `failed`, `cancelled`, ...).
        pub status: Option<String>,
        /// Whether the e-mail bounced.
        pub bounced: Option<bool>,
        /// Earliest send time (null once sent).
        pub send_after: Option<Timestamp>,
        /// When it was sent (null if unsent).
        pub sent_at: Option<Timestamp>,
        /// Whether click tracking is on.
        pub click_tracking: Option<bool>,
        /// Whether view tracking is on.
        pub view_tracking: Option<bool>,
        /// Personalisation score, as a string such as `"13.4"`.
        pub personalization: Option<String>,
        /// Subject (needs an extra scope; null otherwise).
        pub subject: Option<String>,
        /// Error message (needs an extra scope; null otherwise).
        pub error_message: Option<String>,
        /// Selected headers (`cc`, `bcc`, ...).
        pub headers: Option<serde_json::Value>,
        /// Engagement counters.
        pub counts: Option<EmailCounts>,
        /// The sending user.
        pub user: Option<Ref<UserId>>,
        /// The recipient person.
        pub recipient: Option<Ref<PersonId>>,
        /// The mailing.
        pub mailing: Option<Ref<i64>>,
        /// The action that sent it.
        pub action: Option<Ref<i64>>,
        /// The CRM activity it was logged as.
        pub crm_activity: Option<Ref<i64>>,
        /// The cadence it belongs to.
        pub cadence: Option<Ref<CadenceId>>,
        /// The step it belongs to.
        pub step: Option<Ref<StepId>>,
        /// The template used.
        pub email_template: Option<Ref<i64>>,
        /// The task it completed.
        pub task: Option<Ref<i64>>,
    }
}

impl_record!(Email);

wire_record! {
    /// Engagement counters of an e-mail.
    #[derive(Default)]
    pub struct EmailCounts {
        /// Link clicks.
        pub clicks: Option<i64>,
        /// Opens.
        pub views: Option<i64>,
        /// Replies.
        pub replies: Option<i64>,
        /// Distinct devices that opened it.
        pub unique_devices: Option<i64>,
        /// Distinct locations that opened it.
        pub unique_locations: Option<i64>,
        /// Attachments.
        pub attachments: Option<i64>,
    }
}

wire_record! {
    /// A call activity (`/v2/activities/calls`).
    pub struct Call {
        /// SalesLoft id.
        pub id: CallId,
        /// When the call was logged.
        pub created_at: Timestamp,
        /// When the call record last changed.
        pub updated_at: Timestamp,
        /// Number called.
        pub to: Option<String>,
        /// Length in seconds.
        pub duration: Option<i64>,
        /// Disposition, such as `Connected`.
        pub disposition: Option<String>,
        /// Sentiment, such as `Demo Scheduled`.
        pub sentiment: Option<String>,
        /// Recordings (`url`, `status`, `recording_status`).
        pub recordings: Vec<serde_json::Value>,
        /// The calling user.
        pub user: Option<Ref<UserId>>,
        /// The phone action.
        pub action: Option<Ref<i64>>,
        /// The person called.
        pub called_person: Option<Ref<PersonId>>,
        /// The CRM activity it was logged as.
        pub crm_activity: Option<Ref<i64>>,
        /// The note taken.
        pub note: Option<Ref<NoteId>>,
        /// The cadence it belongs to.
        pub cadence: Option<Ref<CadenceId>>,
        /// The step it belongs to.
        pub step: Option<Ref<StepId>>,
    }
}

impl_record!(Call);

/// The body of `POST /v2/activities/calls`. `person_id` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallInput {
    /// The person called.
    pub person_id: PersonId,
    /// Number called.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Disposition (must match a configured one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// Sentiment (must match a configured one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<String>,
    /// Notes taken on the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Log the call as this user (admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_guid: Option<String>,
    /// The phone action the call completes (usable once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    /// Any other field to send verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CallInput {
    /// A call to `person_id` with nothing else set.
    pub fn new(person_id: PersonId) -> Self {
        Self {
            person_id,
            to: None,
            duration: None,
            disposition: None,
            sentiment: None,
            notes: None,
            user_guid: None,
            action_id: None,
            extra: Extra::new(),
        }
    }
}
