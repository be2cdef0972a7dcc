//! The team's small definition lists: account stages and tiers, person stages, call
//! dispositions and sentiments, custom field definitions. Each is a handful of records a
//! team's admin edits by hand; the local copy reads them whole (or walks them where SalesLoft
//! filters them by `updated_at`) and sees deletes by difference.

use super::record::{Timestamp, impl_record, wire_record};
use crate::ids::{
    AccountStageId, AccountTierId, CallDispositionId, CallSentimentId, CustomFieldId, PersonStageId,
};

wire_record! {
    /// A stage of the account lifecycle (`/v2/account_stages`).
    pub struct AccountStage {
        /// SalesLoft id.
        pub id: AccountStageId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name.
        pub name: Option<String>,
        /// Its position among the stages.
        pub order: Option<i64>,
    }
}

wire_record! {
    /// An account tier (`/v2/account_tiers`).
    pub struct AccountTier {
        /// SalesLoft id.
        pub id: AccountTierId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name.
        pub name: Option<String>,
        /// Its position among the tiers.
        pub order: Option<i64>,
    }
}

wire_record! {
    /// A stage of the person lifecycle (`/v2/person_stages`).
    pub struct PersonStage {
        /// SalesLoft id.
        pub id: PersonStageId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name.
        pub name: Option<String>,
        /// Its position among the stages.
        pub order: Option<i64>,
    }
}

wire_record! {
    /// A call outcome a team can log (`/v2/call_dispositions`), such as `Connected`.
    pub struct CallDisposition {
        /// SalesLoft id.
        pub id: CallDispositionId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name, as calls carry it in `disposition`.
        pub name: Option<String>,
    }
}

wire_record! {
    /// A call sentiment a team can log (`/v2/call_sentiments`), such as `Interested`.
    pub struct CallSentiment {
        /// SalesLoft id.
        pub id: CallSentimentId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name, as calls carry it in `sentiment`.
        pub name: Option<String>,
    }
}

wire_record! {
    /// The definition of a custom field (`/v2/custom_fields`): people's and accounts'
    /// `custom_fields` maps are keyed by its name.
    pub struct CustomField {
        /// SalesLoft id.
        pub id: CustomFieldId,
        /// When it was created.
        pub created_at: Timestamp,
        /// When it was last changed.
        pub updated_at: Timestamp,
        /// Its name: the key in a record's `custom_fields`.
        pub name: Option<String>,
        /// What it is on: `person`, `company` or `opportunity`.
        pub field_type: Option<String>,
        /// Its value's type: `text` or `date`.
        pub value_type: Option<String>,
    }
}

impl_record!(
    AccountStage,
    AccountTier,
    PersonStage,
    CallDisposition,
    CallSentiment,
    CustomField
);
