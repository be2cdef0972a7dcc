//! Typed identifiers, so a `PersonId` cannot be passed where a `CadenceId` is expected.

use serde::{Deserialize, Deserializer, Serialize};

macro_rules! int_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw numeric id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

int_id! {
    /// Id of a person (`/v2/people`).
    PersonId;
    /// Id of an account (`/v2/accounts`).
    AccountId;
    /// Id of a user (`/v2/users`).
    UserId;
    /// Id of a team (`/v2/team`).
    TeamId;
    /// Id of a cadence (`/v2/cadences`).
    CadenceId;
    /// Id of a cadence step (`/v2/steps`).
    StepId;
    /// Id of a cadence membership (`/v2/cadence_memberships`).
    CadenceMembershipId;
    /// Id of an email activity (`/v2/activities/emails`).
    EmailId;
    /// Id of a call activity (`/v2/activities/calls`).
    CallId;
    /// Id of a note (`/v2/notes`).
    NoteId;
    /// Id of a webhook subscription (`/v2/webhook_subscriptions`).
    WebhookSubscriptionId;
    /// Id of an account stage (`/v2/account_stages`).
    AccountStageId;
    /// Id of an account tier (`/v2/account_tiers`).
    AccountTierId;
    /// Id of a person stage (`/v2/person_stages`).
    PersonStageId;
    /// Id of a call disposition (`/v2/call_dispositions`).
    CallDispositionId;
    /// Id of a call sentiment (`/v2/call_sentiments`).
    CallSentimentId;
    /// Id of a custom field definition (`/v2/custom_fields`).
    CustomFieldId;
    /// Id of a success (`/v2/successes`).
    SuccessId;
    /// Id of a call data record (`/v2/call_data_records`).
    CallDataRecordId;
    /// Id of a CRM activity (`/v2/crm_activities`).
    CrmActivityId;
    /// Id of an action: a step due for a person (`/v2/actions`).
    ActionId;
    /// Id of a task (`/v2/tasks`).
    TaskId;
    /// Id of a CRM activity field (`/v2/crm_activity_fields`).
    CrmActivityFieldId;
    /// Id of a CRM user (`/v2/crm_users`).
    CrmUserId;
    /// Id of an import (`/v2/imports`).
    ImportId;
    /// Id of an entry of the activity feed (`/v2/activity_histories`).
    ActivityHistoryId;
    /// Id of an e-mail template (`/v2/email_templates`).
    EmailTemplateId;
}

/// Id of a role. SalesLoft sends role ids as strings (`"Admin"`, `"User"`, `"20"`); an integer
/// is accepted too and kept as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleId(pub String);

impl<'de> Deserialize<'de> for RoleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::S(s) => RoleId(s),
            Raw::I(i) => RoleId(i.to_string()),
        })
    }
}

impl std::fmt::Display for RoleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
