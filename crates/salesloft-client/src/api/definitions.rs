//! The small definition lists: account stages and tiers, person stages, call dispositions and
//! sentiments, custom field definitions. Each is a list request and one record by id.

use super::send::list_handler;
use crate::list::ListRequest;
use crate::models::{
    AccountStage, AccountTier, CallDisposition, CallSentiment, CustomField, PersonStage,
};
use crate::{
    AccountStageId, AccountTierId, CallDispositionId, CallSentimentId, CustomFieldId, PersonStageId,
};

list_handler! {
    /// `/v2/account_stages`: the stages of the account lifecycle.
    AccountStages = account_stages, ACCOUNT_STAGES, AccountStage, AccountStageId,
    /// Fields account stages can be sorted by (default `updated_at`).
    AccountStageSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `order`
        Order => "order",
    }
}

list_handler! {
    /// `/v2/account_tiers`: account tiers.
    AccountTiers = account_tiers, ACCOUNT_TIERS, AccountTier, AccountTierId,
    /// Fields account tiers can be sorted by (default `updated_at`).
    AccountTierSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `order`
        Order => "order",
    }
}

list_handler! {
    /// `/v2/person_stages`: the stages of the person lifecycle.
    PersonStages = person_stages, PERSON_STAGES, PersonStage, PersonStageId,
    /// Fields person stages can be sorted by (default `updated_at`).
    PersonStageSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/call_dispositions`: the call outcomes a team logs.
    CallDispositions = call_dispositions, CALL_DISPOSITIONS, CallDisposition, CallDispositionId,
    /// Fields call dispositions can be sorted by (default `name`).
    CallDispositionSort {
        /// `name`
        Name => "name",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/call_sentiments`: the call sentiments a team logs.
    CallSentiments = call_sentiments, CALL_SENTIMENTS, CallSentiment, CallSentimentId,
    /// Fields call sentiments can be sorted by (default `name`).
    CallSentimentSort {
        /// `name`
        Name => "name",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

list_handler! {
    /// `/v2/custom_fields`: the definitions of custom fields.
    CustomFields = custom_fields, CUSTOM_FIELDS, CustomField, CustomFieldId,
    /// Fields custom fields can be sorted by (default `updated_at`).
    CustomFieldSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
        /// `name`
        Name => "name",
    }
}

impl ListRequest<CustomFields> {
    /// Definitions of fields on one kind of record: `person`, `company` or `opportunity`.
    pub fn field_type(self, kind: impl ToString) -> Self {
        self.filter("field_type", kind)
    }
}

impl ListRequest<AccountTiers> {
    /// Tiers with any of these names (`name[]`).
    pub fn names<S: ToString>(self, names: impl IntoIterator<Item = S>) -> Self {
        self.filter_array("name", names)
    }
}
