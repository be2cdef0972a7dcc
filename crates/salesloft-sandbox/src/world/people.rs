//! People: create, update, upsert and delete, with SalesLoft's validation, and what a change
//! does to cadences.

use super::*;

impl World {
    /// `POST /v2/people`.
    pub fn create_person(&mut self, input: &Map<String, Value>) -> Change {
        let now = self.now();
        let id = self.col(Kind::PEOPLE).allocate_id();
        let blank = blank_person(id, now)?;
        let person = self.apply_person(blank, input, true)?;
        self.store_person(None, person, "person_created")
    }

    /// `PUT /v2/people/{id}`.
    pub fn update_person(&mut self, id: i64, input: &Map<String, Value>) -> Change {
        let before: Person = self.get(Kind::PEOPLE, id)?;
        let mut after = self.apply_person(before.clone(), input, false)?;
        after.updated_at = self.now();
        self.store_person(Some(before), after, "person_updated")
    }

    /// `POST /v2/person_upserts`.
    pub fn upsert_person(&mut self, input: &Map<String, Value>) -> Change {
        let existing =
            self.upsert_target(Kind::PEOPLE, input, &["id", "crm_id", "email_address"])?;
        let (body, events, kind) = match existing {
            Some(id) => {
                let (b, e) = self.update_person(id, input)?;
                (b, e, "update")
            }
            None => {
                let (b, e) = self.create_person(input)?;
                (b, e, "create")
            }
        };
        let person: Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::from(SandboxError::from(e)))?;
        let answer = serde_json::to_vec(&json!({"upsert_type": kind, "person": person}))
            .map_err(|e| ApiError::from(SandboxError::from(e)))?;
        Ok((Bytes::from(answer), events))
    }

    /// `DELETE /v2/people/{id}`: idempotent.
    pub fn delete_person(&mut self, id: i64) -> Result<Vec<Event>, ApiError> {
        let Some(doc) = self.col(Kind::PEOPLE).remove(id) else {
            return Ok(Vec::new());
        };
        let mut events = vec![Event::new("person_deleted", doc.json.clone())];
        if let Ok(p) = serde_json::from_slice::<Person>(&doc.json)
            && let Some(e) = p.email_address
        {
            self.people_by_email.remove(&e.to_lowercase());
        }
        let memberships: Vec<i64> = self
            .membership_by_pair
            .iter()
            .filter(|((p, _), _)| *p == id)
            .map(|(_, m)| *m)
            .collect();
        for m in memberships {
            let mut ms: CadenceMembership = self.get(Kind::CADENCE_MEMBERSHIPS, m)?;
            ms.person_deleted = Some(true);
            ms.currently_on_cadence = Some(false);
            ms.updated_at = self.now();
            let body = self.save(Kind::CADENCE_MEMBERSHIPS, &ms)?;
            events.push(Event::new("cadence_membership_updated", body));
        }
        Ok(events)
    }

    fn apply_person(
        &self,
        person: Person,
        input: &Map<String, Value>,
        creating: bool,
    ) -> Result<Person, ApiError> {
        let mut v =
            serde_json::to_value(&person).map_err(|e| ApiError::from(SandboxError::from(e)))?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("person"))?;
        copy_fields(obj, input, PERSON_FIELDS);
        self.copy_refs(obj, input, PERSON_REFS)?;
        self.check_person(obj, person.id.0, creating)?;
        name_fields(obj);
        serde_json::from_value(v)
            .map_err(|e| ApiError::bad_request(&format!("invalid person: {e}")))
    }

    /// SalesLoft's rules for a person's fields: an address or a phone and last name to create
    /// one, a valid address nobody else has, a known seniority, custom fields as an object.
    fn check_person(
        &self,
        obj: &Map<String, Value>,
        id: i64,
        creating: bool,
    ) -> Result<(), ApiError> {
        let email = obj
            .get("email_address")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let phone = obj
            .get("phone")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let last = obj
            .get("last_name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if creating
            && email.as_deref().is_none_or(str::is_empty)
            && (phone.is_none() || last.is_none())
        {
            return Err(ApiError::invalid(
                "email_address",
                "can't be blank unless phone and last_name are given",
            ));
        }
        if let Some(e) = &email {
            if !e.is_empty() && !e.contains('@') {
                return Err(ApiError::invalid("email_address", "is invalid"));
            }
            if let Some(other) = self.people_by_email.get(&e.to_lowercase())
                && *other != id
            {
                return Err(ApiError::invalid("email_address", "has already been taken"));
            }
        }
        if let Some(s) = obj.get("job_seniority").and_then(Value::as_str)
            && !SENIORITIES.contains(&s)
        {
            return Err(ApiError::invalid(
                "job_seniority",
                "is not included in the list",
            ));
        }
        if !obj.get("custom_fields").is_some_and(Value::is_object) {
            return Err(ApiError::invalid("custom_fields", "must be an object"));
        }
        Ok(())
    }

    pub(super) fn copy_refs(
        &self,
        obj: &mut Map<String, Value>,
        input: &Map<String, Value>,
        refs: &[(&str, &str, &str)],
    ) -> Result<(), ApiError> {
        for (param, field, path) in refs {
            let Some(raw) = input.get(*param) else {
                continue;
            };
            if raw.is_null() || raw.as_str() == Some("") {
                obj.insert((*field).into(), Value::Null);
                continue;
            }
            let id = as_i64(raw).ok_or_else(|| ApiError::invalid(param, "is not a number"))?;
            let exists = match *param {
                "account_id" => self.collection(Kind::ACCOUNTS).contains(id),
                "owner_id" => self.collection(Kind::USERS).contains(id),
                _ => true,
            };
            if !exists {
                return Err(ApiError::invalid(param, "is invalid"));
            }
            obj.insert((*field).into(), json!({"_href": href(path, id), "id": id}));
        }
        Ok(())
    }

    pub(super) fn store_person(
        &mut self,
        before: Option<Person>,
        mut after: Person,
        event: &str,
    ) -> Change {
        let mut events = Vec::new();
        if let Some(b) = &before
            && let Some(e) = &b.email_address
        {
            self.people_by_email.remove(&e.to_lowercase());
        }
        if let Some(e) = after.email_address.as_ref().filter(|e| !e.is_empty()) {
            self.people_by_email.insert(e.to_lowercase(), after.id.0);
        }
        // Marking a person do-not-contact takes them off every cadence.
        let newly_dnc = after.do_not_contact == Some(true)
            && before
                .as_ref()
                .is_none_or(|b| b.do_not_contact != Some(true));
        if newly_dnc && !after.cadences.is_empty() {
            for c in std::mem::take(&mut after.cadences) {
                if let Some(m) = self.membership_by_pair.get(&(after.id.0, c.id.0)).copied() {
                    let mut ms: CadenceMembership = self.get(Kind::CADENCE_MEMBERSHIPS, m)?;
                    ms.currently_on_cadence = Some(false);
                    ms.current_state = Some("removed".into());
                    ms.updated_at = self.now();
                    let body = self.save(Kind::CADENCE_MEMBERSHIPS, &ms)?;
                    events.push(Event::new("cadence_membership_updated", body));
                }
            }
        }
        let body = self.save(Kind::PEOPLE, &after)?;
        events.insert(0, Event::new(event, body.clone()));
        Ok((body, events))
    }
}

fn blank_person(id: i64, now: Timestamp) -> Result<Person, ApiError> {
    serde_json::from_value(json!({
        "id": id, "created_at": now, "updated_at": now,
        "do_not_contact": false, "bouncing": false, "eu_resident": false,
        "success_count": 0, "starred": false, "untouched": true,
        "counts": {"emails_sent": 0, "emails_viewed": 0, "emails_clicked": 0,
                   "emails_replied_to": 0, "emails_bounced": 0, "calls": 0}
    }))
    .map_err(|e| ApiError::from(SandboxError::from(e)))
}

/// The names SalesLoft derives: `display_name` from the first and last name, and
/// `full_email_address` from it and the address.
fn name_fields(obj: &mut Map<String, Value>) {
    let email = obj
        .get("email_address")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let first = obj
        .get("first_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let last = obj
        .get("last_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let display = format!("{first} {last}").trim().to_owned();
    obj.insert(
        "display_name".into(),
        json!(if display.is_empty() {
            None
        } else {
            Some(display.clone())
        }),
    );
    obj.insert(
        "full_email_address".into(),
        json!(
            email
                .as_ref()
                .filter(|e| !e.is_empty())
                .map(|e| format!("\"{display}\" <{e}>"))
        ),
    );
}
