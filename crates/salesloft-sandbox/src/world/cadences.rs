//! Cadences, steps and memberships: cadence imports, enrollment and removal.

use super::*;

impl World {
    /// `POST /v2/cadence_imports`: creates a cadence (or adds steps to one without any) and
    /// answers `{"cadence": {"id": ...}}`.
    pub fn import_cadence(&mut self, input: &Map<String, Value>) -> Change {
        let settings = input.get("settings").and_then(Value::as_object);
        let content = input
            .get("cadence_content")
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::invalid("cadence_content", "can't be blank"))?;
        let groups = content
            .get("step_groups")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::invalid("cadence_content.step_groups", "can't be blank"))?;
        let now = self.now();
        let mut events = Vec::new();
        let cadence_id = match content.get("cadence_id").and_then(as_i64) {
            Some(existing) => {
                let _: Cadence = self.get(Kind::CADENCES, existing)?;
                let has_steps = self.collection(Kind::STEPS).iter().any(|(_, d)| {
                    serde_json::from_slice::<Step>(&d.json)
                        .ok()
                        .and_then(|s| s.cadence)
                        .is_some_and(|c| c.id.0 == existing)
                });
                if has_steps {
                    return Err(ApiError::invalid(
                        "cadence_content.cadence_id",
                        "already has steps",
                    ));
                }
                existing
            }
            None => self.new_cadence(input, settings, now, &mut events)?,
        };
        for group in groups {
            events.extend(self.import_group(cadence_id, group, now)?);
        }
        let answer = serde_json::to_vec(&json!({"cadence": {"id": cadence_id}}))
            .map_err(|e| ApiError::from(SandboxError::from(e)))?;
        Ok((Bytes::from(answer), events))
    }

    /// A new cadence from an import's `settings` and `sharing_settings`; its id.
    fn new_cadence(
        &mut self,
        input: &Map<String, Value>,
        settings: Option<&Map<String, Value>>,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<i64, ApiError> {
        let name = settings
            .and_then(|s| s.get("name"))
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::invalid("settings.name", "can't be blank"))?;
        let sharing = input.get("sharing_settings").and_then(Value::as_object);
        let id = self.col(Kind::CADENCES).allocate_id();
        let me = self.me;
        let cadence = Cadence {
            id: CadenceId(id),
            created_at: now,
            updated_at: now,
            archived_at: None,
            name: Some(name.to_owned()),
            team_cadence: Some(
                sharing
                    .and_then(|s| s.get("team_cadence"))
                    .and_then(as_bool)
                    .unwrap_or(false),
            ),
            shared: Some(
                sharing
                    .and_then(|s| s.get("shared"))
                    .and_then(as_bool)
                    .unwrap_or(false),
            ),
            remove_bounces_enabled: Some(
                settings
                    .and_then(|s| s.get("remove_bounced"))
                    .and_then(as_bool)
                    .unwrap_or(true),
            ),
            remove_replies_enabled: Some(
                settings
                    .and_then(|s| s.get("remove_replied"))
                    .and_then(as_bool)
                    .unwrap_or(true),
            ),
            opt_out_link_included: Some(false),
            draft: Some(false),
            cadence_framework_id: None,
            cadence_function: settings
                .and_then(|s| s.get("cadence_function"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(Some("outbound".into())),
            external_identifier: settings
                .and_then(|s| s.get("external_identifier"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            tags: Vec::new(),
            current_state: Some("active".into()),
            latest_active_date: None,
            creator: Some(r("users", UserId(me))),
            owner: Some(r("users", UserId(me))),
            bounced_stage: None,
            replied_stage: None,
            added_stage: None,
            finished_stage: None,
            cadence_priority: None,
            groups: Vec::new(),
            counts: None,
            extra: Map::new(),
        };
        let body = self.save(Kind::CADENCES, &cadence)?;
        events.push(Event::new("cadence_created", body));
        Ok(id)
    }

    /// The steps of one imported step group (`day`, `steps`) on cadence `cadence_id`.
    fn import_group(
        &mut self,
        cadence_id: i64,
        group: &Value,
        now: Timestamp,
    ) -> Result<Vec<Event>, ApiError> {
        let mut events = Vec::new();
        let day = group.get("day").and_then(as_i64).unwrap_or(1) as i32;
        let steps = group
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (n, s) in steps.iter().enumerate() {
            let step_type = s
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("Other")
                .to_lowercase();
            let name = s
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("Step")
                .to_owned();
            let id = self.col(Kind::STEPS).allocate_id();
            let step = Step {
                id: StepId(id),
                created_at: now,
                updated_at: now,
                disabled: Some(!s.get("enabled").and_then(as_bool).unwrap_or(true)),
                step_type: Some(step_type.clone()),
                display_name: Some(format!("Day {day}: Step {} - {}", n + 1, name)),
                name: Some(name),
                day: Some(day),
                step_number: Some(n as i32 + 1),
                multitouch_enabled: Some(false),
                cadence: Some(r("cadences", CadenceId(cadence_id))),
                details: Some(json!({"id": id})),
                extra: Map::new(),
            };
            let body = self.save(Kind::STEPS, &step)?;
            events.push(Event::new("step_created", body));
        }
        Ok(events)
    }

    /// `POST /v2/cadence_memberships`: enrolls a person. One membership per person and cadence:
    /// re-adding someone who left reuses it; someone on the cadence or marked do-not-contact is
    /// refused with a 422.
    pub fn enroll(&mut self, input: &Map<String, Value>) -> Change {
        let person_id = input
            .get("person_id")
            .and_then(as_i64)
            .ok_or_else(|| ApiError::invalid("person_id", "can't be blank"))?;
        let cadence_id = input
            .get("cadence_id")
            .and_then(as_i64)
            .ok_or_else(|| ApiError::invalid("cadence_id", "can't be blank"))?;
        let mut person: Person = self
            .get(Kind::PEOPLE, person_id)
            .map_err(|_| ApiError::invalid("person_id", "is invalid"))?;
        let _: Cadence = self
            .get(Kind::CADENCES, cadence_id)
            .map_err(|_| ApiError::invalid("cadence_id", "is invalid"))?;
        if person.do_not_contact == Some(true) {
            return Err(ApiError::invalid(
                "person",
                "is marked do not contact and cannot be added to a cadence",
            ));
        }
        let user_id = match input.get("user_id").and_then(as_i64) {
            Some(u) if self.collection(Kind::USERS).contains(u) => u,
            Some(_) => return Err(ApiError::invalid("user_id", "is invalid")),
            None => self.me,
        };
        let step = input.get("step_id").and_then(as_i64);
        let now = self.now();
        let mut events = Vec::new();
        let membership = self.membership_for(person_id, cadence_id, user_id, step, now)?;
        let is_new = membership.created_at == now;
        let body = self.save(Kind::CADENCE_MEMBERSHIPS, &membership)?;
        events.push(Event::new(
            if is_new {
                "cadence_membership_created"
            } else {
                "cadence_membership_updated"
            },
            body.clone(),
        ));
        if !person.cadences.iter().any(|c| c.id.0 == cadence_id) {
            person.cadences.push(r("cadences", CadenceId(cadence_id)));
        }
        person.most_recent_cadence = Some(r("cadences", CadenceId(cadence_id)));
        person.updated_at = now;
        let pbody = self.save(Kind::PEOPLE, &person)?;
        events.push(Event::new("person_updated", pbody));
        Ok((body, events))
    }

    /// The membership of person `person_id` on cadence `cadence_id`, staged by `user_id`: the
    /// one they left reused, or a new one; refused while they are on the cadence.
    fn membership_for(
        &mut self,
        person_id: i64,
        cadence_id: i64,
        user_id: i64,
        step: Option<i64>,
        now: Timestamp,
    ) -> Result<CadenceMembership, ApiError> {
        let membership = match self
            .membership_by_pair
            .get(&(person_id, cadence_id))
            .copied()
        {
            Some(existing) => {
                let mut m: CadenceMembership = self.get(Kind::CADENCE_MEMBERSHIPS, existing)?;
                if m.currently_on_cadence == Some(true) {
                    return Err(ApiError::invalid("person", "is already on this cadence"));
                }
                m.added_at = Some(now);
                m.updated_at = now;
                m.currently_on_cadence = Some(true);
                m.current_state = Some("staged".into());
                m.user = Some(r("users", UserId(user_id)));
                m.latest_action = None;
                m
            }
            None => {
                let id = self.col(Kind::CADENCE_MEMBERSHIPS).allocate_id();
                self.membership_by_pair.insert((person_id, cadence_id), id);
                CadenceMembership {
                    id: CadenceMembershipId(id),
                    added_at: Some(now),
                    created_at: now,
                    updated_at: now,
                    person_deleted: Some(false),
                    currently_on_cadence: Some(true),
                    current_state: Some("staged".into()),
                    cadence: Some(r("cadences", CadenceId(cadence_id))),
                    person: Some(r("people", PersonId(person_id))),
                    user: Some(r("users", UserId(user_id))),
                    latest_action: None,
                    counts: Some(Default::default()),
                    extra: step
                        .map(|s| {
                            [("start_step_id".to_owned(), json!(s))]
                                .into_iter()
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            }
        };
        Ok(membership)
    }

    /// `DELETE /v2/cadence_memberships/{id}`: takes the person off the cadence; the record
    /// stays, marked removed. Idempotent.
    pub fn remove_membership(&mut self, id: i64) -> Result<Vec<Event>, ApiError> {
        let Some(mut m) = self
            .collection(Kind::CADENCE_MEMBERSHIPS)
            .get_typed::<CadenceMembership>(id)
            .map_err(ApiError::from)?
        else {
            return Ok(Vec::new());
        };
        if m.currently_on_cadence != Some(true) {
            return Ok(Vec::new());
        }
        let now = self.now();
        m.currently_on_cadence = Some(false);
        m.current_state = Some("removed".into());
        m.updated_at = now;
        let body = self.save(Kind::CADENCE_MEMBERSHIPS, &m)?;
        let mut events = vec![Event::new("cadence_membership_updated", body)];
        if let (Some(p), Some(c)) = (&m.person, &m.cadence)
            && let Ok(mut person) = self.get::<Person>(Kind::PEOPLE, p.id.0)
        {
            person.cadences.retain(|x| x.id != c.id);
            person.updated_at = now;
            let pbody = self.save(Kind::PEOPLE, &person)?;
            events.push(Event::new("person_updated", pbody));
        }
        Ok(events)
    }
}
