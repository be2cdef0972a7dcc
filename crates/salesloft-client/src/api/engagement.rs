//! List-only resources: successes, call data records, CRM activities, actions, the activity
//! feed and e-mail templates (walked), imports, CRM users and CRM activity fields (listed
//! whole).

use super::send::list_handler;
use crate::list::ListRequest;
use crate::models::{
    Action, ActivityHistory, CallDataRecord, CrmActivity, CrmActivityField, CrmUser, EmailTemplate,
    Import, Success,
};
use crate::{
    ActionId, ActivityHistoryId, CallDataRecordId, CrmActivityFieldId, CrmActivityId, CrmUserId,
    EmailTemplateId, ImportId, SuccessId,
};

list_handler! {
    /// `/v2/successes`: people who reached the team's success event.
    Successes = successes, SUCCESSES, Success, SuccessId,
    /// Fields successes can be sorted by (default `updated_at`).
    SuccessSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `succeeded_at`
        SucceededAt => "succeeded_at",
    }
}

list_handler! {
    /// `/v2/call_data_records`: every call the dialer placed or received.
    CallDataRecords = call_data_records, CALL_DATA_RECORDS, CallDataRecord, CallDataRecordId,
    /// Fields call data records can be sorted by (default `updated_at`).
    CallDataRecordSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/crm_activities`: activities logged to the team's CRM.
    CrmActivities = crm_activities, CRM_ACTIVITIES, CrmActivity, CrmActivityId,
    /// Fields CRM activities can be sorted by (default `updated_at`).
    CrmActivitySort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/actions`: the steps due (or done) for each person on a cadence.
    Actions = actions, ACTIONS, Action, ActionId,
    /// Fields actions can be sorted by (default `updated_at`).
    ActionSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

impl ListRequest<Successes> {
    /// Successes of any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("person_id", ids)
    }
}

impl ListRequest<CallDataRecords> {
    /// Records of calls to any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("person_id", ids)
    }

    /// Only records logged as a call activity (or only those not).
    pub fn has_call(self, value: bool) -> Self {
        self.filter("has_call", value)
    }
}

impl ListRequest<Actions> {
    /// Actions for any of these people (`person_id[]`).
    pub fn person_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("person_id", ids)
    }

    /// Actions of any of these cadences (`cadence_id[]`).
    pub fn cadence_ids(self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.filter_array("cadence_id", ids)
    }

    /// Actions of one type: `email`, `phone`, `other` or `integration`.
    pub fn action_type(self, kind: impl ToString) -> Self {
        self.filter("type", kind)
    }
}

list_handler! {
    /// `/v2/activity_histories`: the activity feed.
    ActivityHistories = activity_histories, ACTIVITY_HISTORIES, ActivityHistory, ActivityHistoryId,
    /// Fields the feed can be sorted by (default `occurred_at`).
    ActivityHistorySort {
        /// `occurred_at`
        OccurredAt => "occurred_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/email_templates`: e-mail templates (archived and cadence ones included).
    EmailTemplates = email_templates, EMAIL_TEMPLATES, EmailTemplate, EmailTemplateId,
    /// Fields e-mail templates can be sorted by (default `updated_at`).
    EmailTemplateSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `last_used_at`
        LastUsedAt => "last_used_at",
    }
}

list_handler! {
    /// `/v2/imports`: people imports.
    Imports = imports, IMPORTS, Import, ImportId,
    /// Fields imports can be sorted by (default `created_at`).
    ImportSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/crm_users`: the team's users as the CRM knows them.
    CrmUsers = crm_users, CRM_USERS, CrmUser, CrmUserId,
    /// Fields CRM users can be sorted by (default `id`).
    CrmUserSort {
        /// `id`
        Id => "id",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/crm_activity_fields`: the fields CRM activities carry.
    CrmActivityFields = crm_activity_fields, CRM_ACTIVITY_FIELDS, CrmActivityField, CrmActivityFieldId,
    /// Fields CRM activity fields can be sorted by (default `title`).
    CrmActivityFieldSort {
        /// `title`
        Title => "title",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}
