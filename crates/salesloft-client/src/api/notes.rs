use super::send::{handler, post_json, put_json};
use crate::NoteId;
use crate::error::Result;
use crate::list::{ListRequest, ListResource, sort_fields};
use crate::models::{Note, NoteInput, NoteTarget};
use crate::resource::{self, Resource};

handler! {
    /// `/v2/notes`: notes on people and accounts.
    Notes
}

sort_fields! {
    /// Fields notes can be sorted by (default `updated_at`).
    NoteSort {
        /// `created_at`
        CreatedAt => "created_at",
        /// `updated_at`
        UpdatedAt => "updated_at",
    }
}

impl ListResource for Notes {
    const RESOURCE: &'static Resource = &resource::NOTES;
    type Item = Note;
    type Id = NoteId;
    type Sort = NoteSort;
}

impl Notes {
    /// Start a list request.
    pub fn list(&self) -> ListRequest<Notes> {
        ListRequest::new(self.client.clone())
    }

    /// One note.
    pub async fn get(&self, id: NoteId) -> Result<Note> {
        self.client
            .get_one(format!("/v2/notes/{id}"), "notes.get")
            .await
    }

    /// Create a note. Not retried once the server may have acted.
    pub async fn create(&self, input: &NoteInput) -> Result<Note> {
        post_json(&self.client, "/v2/notes", "notes.create", input).await
    }

    /// Replace a note's content.
    pub async fn update(&self, id: NoteId, content: &str) -> Result<Note> {
        put_json(
            &self.client,
            format!("/v2/notes/{id}"),
            "notes.update",
            &serde_json::json!({ "content": content }),
        )
        .await
    }

    /// Delete a note. Idempotent.
    pub async fn delete(&self, id: NoteId) -> Result<()> {
        self.client
            .delete(format!("/v2/notes/{id}"), "notes.delete")
            .await
    }
}

impl ListRequest<Notes> {
    /// Notes on one person or account.
    pub fn associated_with(self, target: NoteTarget, id: i64) -> Self {
        let kind = match target {
            NoteTarget::Person => "person",
            NoteTarget::Account => "account",
        };
        self.filter("associated_with_type", kind)
            .filter("associated_with_id", id)
    }
}
