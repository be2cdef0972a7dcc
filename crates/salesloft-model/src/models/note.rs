use serde::{Deserialize, Serialize};

use super::record::{Extra, Ref, Timestamp, impl_record, wire_record};
use crate::ids::{CallId, NoteId, UserId};

wire_record! {
    /// A note on a person or an account.
    pub struct Note {
        /// SalesLoft id.
        pub id: NoteId,
        /// When the note was created.
        pub created_at: Timestamp,
        /// When the note was last changed.
        pub updated_at: Timestamp,
        /// The note's text.
        pub content: Option<String>,
        /// `person` or `account`.
        pub associated_type: Option<String>,
        /// The person or account the note is on.
        pub associated_with: Option<Ref<i64>>,
        /// The author.
        pub user: Option<Ref<UserId>>,
        /// The call the note belongs to.
        pub call: Option<Ref<CallId>>,
    }
}

impl_record!(Note);

/// What a note is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteTarget {
    /// A person.
    Person,
    /// An account.
    Account,
}

/// The body of `POST /v2/notes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteInput {
    /// The note's text.
    pub content: String,
    /// Whether it is on a person or an account.
    pub associated_with_type: NoteTarget,
    /// Id of that person or account.
    pub associated_with_id: i64,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The call the note belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<CallId>,
    /// Author (admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_guid: Option<String>,
    /// Do not sync the note to the CRM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_crm_sync: Option<bool>,
    /// Any other field to send verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl NoteInput {
    /// A note with `content` on the given person or account.
    pub fn new(content: impl Into<String>, target: NoteTarget, target_id: i64) -> Self {
        Self {
            content: content.into(),
            associated_with_type: target,
            associated_with_id: target_id,
            subject: None,
            call_id: None,
            user_guid: None,
            skip_crm_sync: None,
            extra: Extra::new(),
        }
    }
}
