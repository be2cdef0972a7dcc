//! What happens around the cadences beyond e-mails and calls: successes, the dialer's call
//! data records, activities logged to the CRM, and actions (steps due for a person).

use super::record::{Ref, Timestamp, impl_record, wire_record};
use crate::ids::{
    ActionId, CadenceId, CallDataRecordId, CallId, CrmActivityId, EmailId, PersonId, StepId,
    SuccessId, UserId,
};

wire_record! {
    /// A success: a person who reached the team's success event (a reply, a meeting) while
    /// on a cadence (`/v2/successes`).
    pub struct Success {
        /// SalesLoft id.
        pub id: SuccessId,
        /// When it was recorded.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// When the person succeeded.
        pub succeeded_at: Option<Timestamp>,
        /// When the window of touches that led to it opened.
        pub success_window_started_at: Option<Timestamp>,
        /// The touches in that window (`total_calls`, `total_emails`, `total_other_touches`).
        pub counts: Option<serde_json::Value>,
        /// The person who succeeded.
        pub person: Option<Ref<PersonId>>,
        /// The user credited.
        pub user: Option<Ref<UserId>>,
        /// The last cadence the person was on.
        pub latest_cadence: Option<Ref<CadenceId>>,
        /// The last step completed.
        pub latest_step: Option<Ref<StepId>>,
        /// The last e-mail sent.
        pub latest_email: Option<Ref<EmailId>>,
        /// The last call made.
        pub latest_call: Option<Ref<CallId>>,
        /// The last action.
        pub latest_action: Option<Ref<i64>>,
    }
}

wire_record! {
    /// A call as the dialer saw it (`/v2/call_data_records`): every call made or received,
    /// logged as a call activity or not.
    pub struct CallDataRecord {
        /// SalesLoft id.
        pub id: CallDataRecordId,
        /// When the call was placed.
        pub created_at: Timestamp,
        /// When the record last changed.
        pub updated_at: Timestamp,
        /// The dialer's id of the call.
        pub call_uuid: Option<String>,
        /// `call` or `bridge`.
        pub call_type: Option<String>,
        /// `outbound` or `inbound`.
        pub direction: Option<String>,
        /// The dialer's outcome, such as `completed` or `no-answer`.
        pub status: Option<String>,
        /// Number called.
        pub to: Option<String>,
        /// Number called from.
        pub from: Option<String>,
        /// Length in seconds.
        pub duration: Option<i64>,
        /// The recording (`url`, `status`, `recording_status`).
        pub recording: Option<serde_json::Value>,
        /// The user on the call.
        pub user: Option<Ref<UserId>>,
        /// The person called.
        pub called_person: Option<Ref<PersonId>>,
        /// The call activity it was logged as.
        pub call: Option<Ref<CallId>>,
    }
}

wire_record! {
    /// An activity logged to the team's CRM (`/v2/crm_activities`).
    pub struct CrmActivity {
        /// SalesLoft id.
        pub id: CrmActivityId,
        /// When it was logged.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// `email`, `phone` or another kind.
        pub activity_type: Option<String>,
        /// Its subject.
        pub subject: Option<String>,
        /// Its description.
        pub description: Option<String>,
        /// The CRM's id of it, once logged.
        pub crm_id: Option<String>,
        /// Why logging it failed, if it did.
        pub error: Option<String>,
        /// CRM fields sent with it.
        pub custom_crm_fields: serde_json::Map<String, serde_json::Value>,
        /// The person it is about.
        pub person: Option<Ref<PersonId>>,
        /// The user who logged it.
        pub user: Option<Ref<UserId>>,
    }
}

wire_record! {
    /// An action: a step of a cadence due (or done) for a person (`/v2/actions`).
    pub struct Action {
        /// SalesLoft id.
        pub id: ActionId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it last changed.
        pub updated_at: Timestamp,
        /// `email`, `phone`, `other` or `integration`.
        pub action_type as "type": Option<String>,
        /// `pending`, `completed` or another state.
        pub status: Option<String>,
        /// Whether it is due now.
        pub due: Option<bool>,
        /// When it is due.
        pub due_on: Option<Timestamp>,
        /// The group of a multitouch step.
        pub multitouch_group_id: Option<i64>,
        /// The step's details for its type.
        pub action_details: Option<Ref<i64>>,
        /// The user it belongs to.
        pub user: Option<Ref<UserId>>,
        /// The person it is for.
        pub person: Option<Ref<PersonId>>,
        /// Its cadence.
        pub cadence: Option<Ref<CadenceId>>,
        /// Its step.
        pub step: Option<Ref<StepId>>,
    }
}

impl_record!(Success, CallDataRecord, CrmActivity, Action);
