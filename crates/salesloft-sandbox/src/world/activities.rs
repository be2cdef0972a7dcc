//! Calls and notes.

use super::*;

impl World {
    /// `POST /v2/activities/calls`.
    pub fn create_call(&mut self, input: &Map<String, Value>) -> Change {
        let person_id = input
            .get("person_id")
            .and_then(as_i64)
            .ok_or_else(|| ApiError::invalid("person_id", "can't be blank"))?;
        let mut person: Person = self
            .get(Kind::PEOPLE, person_id)
            .map_err(|_| ApiError::invalid("person_id", "is invalid"))?;
        let now = self.now();
        let id = self.col(Kind::CALLS).allocate_id();
        let me = self.me;
        let call = Call {
            id: CallId(id),
            created_at: now,
            updated_at: now,
            to: input.get("to").and_then(as_string).or(person.phone.clone()),
            duration: input.get("duration").and_then(as_i64),
            disposition: input.get("disposition").and_then(as_string),
            sentiment: input.get("sentiment").and_then(as_string),
            recordings: Vec::new(),
            user: Some(r("users", UserId(me))),
            action: input
                .get("action_id")
                .and_then(as_i64)
                .map(|a| Ref { id: a, href: None }),
            called_person: Some(r("people", PersonId(person_id))),
            crm_activity: None,
            note: None,
            cadence: None,
            step: None,
            extra: Map::new(),
        };
        let body = self.save(Kind::CALLS, &call)?;
        let mut events = vec![Event::new("call_created", body.clone())];
        if let Some(c) = person.counts.as_mut() {
            c.calls = Some(c.calls.unwrap_or(0) + 1);
        }
        person.last_contacted_at = Some(now);
        person.last_contacted_type = Some("call".into());
        person.untouched = Some(false);
        person.updated_at = now;
        let pbody = self.save(Kind::PEOPLE, &person)?;
        events.push(Event::new("person_updated", pbody));
        Ok((body, events))
    }

    /// `POST /v2/notes`.
    pub fn create_note(&mut self, input: &Map<String, Value>) -> Change {
        let content = input
            .get("content")
            .and_then(as_string)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ApiError::invalid("content", "can't be blank"))?;
        let target = input
            .get("associated_with_type")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
            .ok_or_else(|| ApiError::invalid("associated_with_type", "can't be blank"))?;
        let target_id = input
            .get("associated_with_id")
            .and_then(as_i64)
            .ok_or_else(|| ApiError::invalid("associated_with_id", "can't be blank"))?;
        let (kind, path) = match target.as_str() {
            "person" => (Kind::PEOPLE, "people"),
            "account" => (Kind::ACCOUNTS, "accounts"),
            _ => {
                return Err(ApiError::invalid(
                    "associated_with_type",
                    "must be person or account",
                ));
            }
        };
        if !self.collection(kind).contains(target_id) {
            return Err(ApiError::invalid("associated_with_id", "is invalid"));
        }
        let now = self.now();
        let id = self.col(Kind::NOTES).allocate_id();
        let me = self.me;
        let note = Note {
            id: NoteId(id),
            created_at: now,
            updated_at: now,
            content: Some(content),
            associated_type: Some(target),
            associated_with: Some(Ref {
                id: target_id,
                href: href(path, target_id),
            }),
            user: Some(r("users", UserId(me))),
            call: input
                .get("call_id")
                .and_then(as_i64)
                .map(|c| r("activities/calls", CallId(c))),
            extra: Map::new(),
        };
        let body = self.save(Kind::NOTES, &note)?;
        Ok((body.clone(), vec![Event::new("note_created", body)]))
    }

    /// `PUT /v2/notes/{id}`.
    pub fn update_note(&mut self, id: i64, input: &Map<String, Value>) -> Change {
        let mut note: Note = self.get(Kind::NOTES, id)?;
        if let Some(c) = input.get("content").and_then(as_string) {
            note.content = Some(c);
        }
        note.updated_at = self.now();
        let body = self.save(Kind::NOTES, &note)?;
        Ok((body.clone(), vec![Event::new("note_updated", body)]))
    }

    /// `DELETE /v2/notes/{id}`: idempotent.
    pub fn delete_note(&mut self, id: i64) -> Vec<Event> {
        self.col(Kind::NOTES)
            .remove(id)
            .map(|d| vec![Event::new("note_deleted", d.json)])
            .unwrap_or_default()
    }
}
