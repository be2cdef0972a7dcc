//! Accounts (create, update, upsert, delete) and users (update).

use super::*;

impl World {
    /// `POST /v2/accounts`.
    pub fn create_account(&mut self, input: &Map<String, Value>) -> Change {
        let now = self.now();
        let id = self.col(Kind::ACCOUNTS).allocate_id();
        let account = self.apply_account(blank_account(id, now), input, true)?;
        self.store_account(None, account, "account_created")
    }

    /// `PUT /v2/accounts/{id}`.
    pub fn update_account(&mut self, id: i64, input: &Map<String, Value>) -> Change {
        let before: Account = self.get(Kind::ACCOUNTS, id)?;
        let mut after = self.apply_account(before.clone(), input, false)?;
        after.updated_at = self.now();
        self.store_account(Some(before), after, "account_updated")
    }

    /// `POST /v2/account_upserts`.
    pub fn upsert_account(&mut self, input: &Map<String, Value>) -> Change {
        let existing = self.upsert_target(Kind::ACCOUNTS, input, &["id", "crm_id", "domain"])?;
        let ((body, events), kind) = match existing {
            Some(id) => (self.update_account(id, input)?, "update"),
            None => (self.create_account(input)?, "create"),
        };
        let account: Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::from(SandboxError::from(e)))?;
        let answer = serde_json::to_vec(&json!({"upsert_type": kind, "account": account}))
            .map_err(|e| ApiError::from(SandboxError::from(e)))?;
        Ok((Bytes::from(answer), events))
    }

    /// `DELETE /v2/accounts/{id}`: unlinks the account's people. Idempotent.
    pub fn delete_account(&mut self, id: i64) -> Result<Vec<Event>, ApiError> {
        let Some(doc) = self.col(Kind::ACCOUNTS).remove(id) else {
            return Ok(Vec::new());
        };
        let mut events = vec![Event::new("account_deleted", doc.json.clone())];
        if let Ok(a) = serde_json::from_slice::<Account>(&doc.json)
            && let Some(d) = a.domain
        {
            self.accounts_by_domain.remove(&d.to_lowercase());
        }
        let linked: Vec<i64> = self
            .collection(Kind::PEOPLE)
            .iter()
            .filter_map(|(pid, d)| {
                let p: Person = serde_json::from_slice(&d.json).ok()?;
                (p.account.as_ref().map(|a| a.id.0) == Some(id)).then_some(pid)
            })
            .collect();
        for pid in linked {
            let mut p: Person = self.get(Kind::PEOPLE, pid)?;
            p.account = None;
            p.updated_at = self.now();
            let body = self.save(Kind::PEOPLE, &p)?;
            events.push(Event::new("person_updated", body));
        }
        Ok(events)
    }

    fn apply_account(
        &self,
        account: Account,
        input: &Map<String, Value>,
        creating: bool,
    ) -> Result<Account, ApiError> {
        let mut v =
            serde_json::to_value(&account).map_err(|e| ApiError::from(SandboxError::from(e)))?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("account"))?;
        copy_fields(obj, input, ACCOUNT_FIELDS);
        self.copy_refs(obj, input, ACCOUNT_REFS)?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let domain = obj
            .get("domain")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        if creating && name.is_none() {
            return Err(ApiError::invalid("name", "can't be blank"));
        }
        let Some(domain) = domain else {
            return Err(ApiError::invalid("domain", "can't be blank"));
        };
        if let Some(other) = self.accounts_by_domain.get(&domain)
            && *other != account.id.0
        {
            return Err(ApiError::invalid("domain", "must be unique on the team"));
        }
        serde_json::from_value(v)
            .map_err(|e| ApiError::bad_request(&format!("invalid account: {e}")))
    }

    fn store_account(&mut self, before: Option<Account>, after: Account, event: &str) -> Change {
        if let Some(d) = before.as_ref().and_then(|b| b.domain.as_ref()) {
            self.accounts_by_domain.remove(&d.to_lowercase());
        }
        if let Some(d) = &after.domain {
            self.accounts_by_domain.insert(d.to_lowercase(), after.id.0);
        }
        let body = self.save(Kind::ACCOUNTS, &after)?;
        Ok((body.clone(), vec![Event::new(event, body)]))
    }

    // ----- users -----

    /// `PUT /v2/users/{id}` with `active`.
    pub fn update_user(&mut self, id: i64, input: &Map<String, Value>) -> Change {
        let mut user: User = self.get(Kind::USERS, id)?;
        if let Some(a) = input.get("active") {
            user.active = Some(
                as_bool(a).ok_or_else(|| ApiError::invalid("active", "must be true or false"))?,
            );
        }
        user.updated_at = self.now();
        let body = self.save(Kind::USERS, &user)?;
        Ok((body.clone(), vec![Event::new("user_updated", body)]))
    }
}

fn blank_account(id: i64, now: Timestamp) -> Account {
    Account {
        id: AccountId(id),
        created_at: now,
        updated_at: now,
        archived_at: None,
        name: None,
        domain: None,
        conversational_name: None,
        description: None,
        phone: None,
        website: None,
        linkedin_url: None,
        twitter_handle: None,
        street: None,
        city: None,
        state: None,
        postal_code: None,
        country: None,
        locale: None,
        industry: None,
        company_type: None,
        founded: None,
        revenue_range: None,
        size: None,
        crm_id: None,
        crm_url: None,
        crm_object_type: Some("account".into()),
        owner_crm_id: None,
        last_contacted_at: None,
        last_contacted_type: None,
        do_not_contact: Some(false),
        custom_fields: Map::new(),
        tags: Vec::new(),
        user_relationships: Some(json!([])),
        counts: None,
        owner: None,
        creator: None,
        last_contacted_by: None,
        last_contacted_person: None,
        company_stage: None,
        account_tier: None,
        extra: Map::new(),
    }
}
