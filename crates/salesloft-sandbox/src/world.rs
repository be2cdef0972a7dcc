//! The state of one sandbox team and the API's rules for changing it. Every change returns the
//! webhook events it causes; the caller delivers them after releasing the lock.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::FixedOffset;
use salesloft_model::{
    Account, AccountId, Cadence, CadenceId, CadenceMembership, CadenceMembershipId, Call, CallId,
    Note, NoteId, Person, PersonId, Ref, Step, StepId, Timestamp, User, UserId,
};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, SandboxError};
use crate::generate::{self, Generated, TeamSize, href, r, ts};
use crate::store::{Collection, Kind, Stored};

/// A webhook event: its type and the bare resource JSON it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `x-salesloft-event`, such as `person_updated`.
    pub event_type: String,
    /// The resource as the API would return it (for `*_deleted`, its last state).
    pub body: Bytes,
}

impl Event {
    fn new(event_type: &str, body: Bytes) -> Self {
        Self {
            event_type: event_type.to_owned(),
            body,
        }
    }
}

/// The result of a change: the record to answer with and the events to deliver.
pub type Change = Result<(Bytes, Vec<Event>), ApiError>;

/// A webhook subscription as the sandbox keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    /// Id.
    pub id: i64,
    /// Where deliveries go.
    pub callback_url: String,
    /// HMAC-SHA1 key of the signature.
    pub callback_token: String,
    /// The event type subscribed to.
    pub event_type: String,
    /// Whether deliveries are on.
    pub enabled: bool,
    /// The team.
    pub tenant_id: i64,
    /// The subscribing user's guid.
    pub user_guid: String,
}

/// One team's data.
#[derive(Debug, Clone)]
pub struct World {
    /// The team's UTC offset: every timestamp is written in it.
    pub offset: FixedOffset,
    /// The user the API credentials act as.
    pub me: i64,
    collections: BTreeMap<Kind, Collection>,
    people_by_email: HashMap<String, i64>,
    accounts_by_domain: HashMap<String, i64>,
    membership_by_pair: HashMap<(i64, i64), i64>,
    /// Webhook subscriptions by id.
    pub subscriptions: BTreeMap<i64, Subscription>,
    next_subscription: i64,
    last_now_us: i64,
}

const PERSON_FIELDS: &[&str] = &[
    "email_address",
    "first_name",
    "last_name",
    "phone",
    "phone_extension",
    "mobile_phone",
    "home_phone",
    "secondary_email_address",
    "personal_email_address",
    "title",
    "job_seniority",
    "city",
    "state",
    "country",
    "work_city",
    "work_state",
    "work_country",
    "linkedin_url",
    "twitter_handle",
    "personal_website",
    "locale",
    "person_company_name",
    "person_company_website",
    "person_company_industry",
    "do_not_contact",
    "contact_restrictions",
    "tags",
    "custom_fields",
    "crm_id",
];
const PERSON_REFS: &[(&str, &str, &str)] = &[
    ("account_id", "account", "accounts"),
    ("owner_id", "owner", "users"),
    ("person_stage_id", "person_stage", "person_stages"),
    ("import_id", "import", "imports"),
];
const ACCOUNT_FIELDS: &[&str] = &[
    "name",
    "domain",
    "conversational_name",
    "description",
    "phone",
    "website",
    "linkedin_url",
    "twitter_handle",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "locale",
    "industry",
    "company_type",
    "founded",
    "revenue_range",
    "size",
    "crm_id",
    "do_not_contact",
    "custom_fields",
    "tags",
];
const ACCOUNT_REFS: &[(&str, &str, &str)] = &[
    ("owner_id", "owner", "users"),
    ("company_stage_id", "company_stage", "account_stages"),
    ("account_tier_id", "account_tier", "account_tiers"),
];
const SENIORITIES: &[&str] = &[
    "director",
    "executive",
    "individual_contributor",
    "manager",
    "vice_president",
    "unknown",
];

impl World {
    /// A world holding `generated`.
    pub fn from_generated(generated: Generated, offset: FixedOffset) -> Result<Self, SandboxError> {
        let mut w = World {
            offset,
            me: generated
                .users
                .first()
                .map_or(generate::FIRST_USER_ID, |u| u.id.0),
            collections: BTreeMap::new(),
            people_by_email: HashMap::new(),
            accounts_by_domain: HashMap::new(),
            membership_by_pair: HashMap::new(),
            subscriptions: BTreeMap::new(),
            next_subscription: 1,
            last_now_us: 0,
        };
        let firsts = [
            (Kind::USERS, generate::FIRST_USER_ID),
            (Kind::ACCOUNTS, generate::FIRST_ACCOUNT_ID),
            (Kind::PEOPLE, generate::FIRST_PERSON_ID),
            (Kind::CADENCES, generate::FIRST_CADENCE_ID),
            (Kind::STEPS, generate::FIRST_STEP_ID),
            (Kind::CADENCE_MEMBERSHIPS, generate::FIRST_MEMBERSHIP_ID),
            (Kind::EMAILS, generate::FIRST_EMAIL_ID),
            (Kind::CALLS, generate::FIRST_CALL_ID),
            (Kind::NOTES, generate::FIRST_NOTE_ID),
        ];
        for (kind, first) in firsts {
            w.collections.insert(kind, Collection::new(first));
        }
        for u in generated.users {
            w.col(Kind::USERS).put(&u)?;
        }
        for a in generated.accounts {
            if let Some(d) = &a.domain {
                w.accounts_by_domain.insert(d.to_lowercase(), a.id.0);
            }
            w.col(Kind::ACCOUNTS).put(&a)?;
        }
        // Drain the largest lists from the back, shrinking as they go, so the generator's
        // buffers are returned while the stored JSON grows (a million people would otherwise
        // need both at once).
        let mut people = generated.people;
        while let Some(p) = people.pop() {
            if people.len().is_multiple_of(65_536) {
                people.shrink_to_fit();
            }
            if let Some(e) = &p.email_address {
                w.people_by_email.insert(e.to_lowercase(), p.id.0);
            }
            w.col(Kind::PEOPLE).put(&p)?;
        }
        for c in generated.cadences {
            w.col(Kind::CADENCES).put(&c)?;
        }
        for s in generated.steps {
            w.col(Kind::STEPS).put(&s)?;
        }
        for m in generated.memberships {
            if let (Some(p), Some(c)) = (&m.person, &m.cadence) {
                w.membership_by_pair.insert((p.id.0, c.id.0), m.id.0);
            }
            w.col(Kind::CADENCE_MEMBERSHIPS).put(&m)?;
        }
        let mut emails = generated.emails;
        while let Some(e) = emails.pop() {
            if emails.len().is_multiple_of(65_536) {
                emails.shrink_to_fit();
            }
            w.col(Kind::EMAILS).put(&e)?;
        }
        for c in generated.calls {
            w.col(Kind::CALLS).put(&c)?;
        }
        for n in generated.notes {
            w.col(Kind::NOTES).put(&n)?;
        }
        Ok(w)
    }

    /// A freshly generated world.
    pub fn generate(seed: u64, size: TeamSize, offset: FixedOffset) -> Result<Self, SandboxError> {
        Self::from_generated(generate::generate(seed, size, offset), offset)
    }

    /// The collection of `kind`.
    pub fn collection(&self, kind: Kind) -> &Collection {
        // Every kind is inserted at construction.
        &self.collections[&kind]
    }

    fn col(&mut self, kind: Kind) -> &mut Collection {
        self.collections.entry(kind).or_default()
    }

    /// The current instant, never earlier than the last one handed out.
    pub fn now(&mut self) -> Timestamp {
        let real = chrono::Utc::now().timestamp_micros();
        self.last_now_us = real.max(self.last_now_us);
        ts(self.last_now_us, self.offset)
    }

    /// The team object (`GET /v2/team`).
    pub fn team_json(&self) -> Value {
        json!({
            "id": generate::TEAM_ID,
            "name": "Sandbox Team",
            "plan": "enterprise",
            "license_limit": 250,
            "email_daily_limit": 500,
            "created_at": ts(1_672_531_200_000_000, self.offset),
            "updated_at": ts(1_704_067_200_000_000, self.offset),
            "_private_fields": {},
        })
    }

    fn get<T: Stored>(&self, kind: Kind, id: i64) -> Result<T, ApiError> {
        self.collection(kind)
            .get_typed(id)
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::not_found)
    }

    fn save<T: Stored>(&mut self, kind: Kind, record: &T) -> Result<Bytes, ApiError> {
        self.col(kind).put(record).map_err(ApiError::from)
    }

    // ----- people -----

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
        let key = input
            .get("upsert_key")
            .and_then(Value::as_str)
            .unwrap_or("email_address")
            .to_owned();
        let existing = match key.as_str() {
            "email_address" => input
                .get("email_address")
                .and_then(Value::as_str)
                .and_then(|e| self.people_by_email.get(&e.to_lowercase()).copied()),
            "id" => input
                .get("id")
                .and_then(as_i64)
                .filter(|id| self.collection(Kind::PEOPLE).contains(*id)),
            "crm_id" => {
                let crm = input.get("crm_id").and_then(Value::as_str);
                self.collection(Kind::PEOPLE).iter().find_map(|(id, d)| {
                    let v: Value = serde_json::from_slice(&d.json).ok()?;
                    (crm.is_some() && v.get("crm_id").and_then(Value::as_str) == crm).then_some(id)
                })
            }
            other => {
                return Err(ApiError::invalid(
                    "upsert_key",
                    &format!("{other} is not a valid upsert key"),
                ));
            }
        };
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
                && *other != person.id.0
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
        serde_json::from_value(v)
            .map_err(|e| ApiError::bad_request(&format!("invalid person: {e}")))
    }

    fn copy_refs(
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

    fn store_person(&mut self, before: Option<Person>, mut after: Person, event: &str) -> Change {
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

    // ----- accounts -----

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
        let key = input
            .get("upsert_key")
            .and_then(Value::as_str)
            .unwrap_or("domain");
        let existing = match key {
            "domain" => input
                .get("domain")
                .and_then(Value::as_str)
                .and_then(|d| self.accounts_by_domain.get(&d.to_lowercase()).copied()),
            "id" => input
                .get("id")
                .and_then(as_i64)
                .filter(|id| self.collection(Kind::ACCOUNTS).contains(*id)),
            other => {
                return Err(ApiError::invalid(
                    "upsert_key",
                    &format!("{other} is not a valid upsert key"),
                ));
            }
        };
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

    // ----- cadences, steps, memberships -----

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
            None => {
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
                id
            }
        };
        for group in groups {
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
        }
        let answer = serde_json::to_vec(&json!({"cadence": {"id": cadence_id}}))
            .map_err(|e| ApiError::from(SandboxError::from(e)))?;
        Ok((Bytes::from(answer), events))
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

    // ----- calls, notes -----

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

    // ----- webhook subscriptions -----

    /// `POST /v2/webhook_subscriptions`.
    pub fn create_subscription(
        &mut self,
        input: &Map<String, Value>,
    ) -> Result<Subscription, ApiError> {
        let field = |name: &str| {
            input
                .get(name)
                .and_then(as_string)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::invalid(name, "can't be blank"))
        };
        let callback_url = field("callback_url")?;
        if url::Url::parse(&callback_url).is_err() {
            return Err(ApiError::invalid("callback_url", "is not a valid URL"));
        }
        let sub = Subscription {
            id: self.next_subscription,
            callback_url,
            callback_token: field("callback_token")?,
            event_type: field("event_type")?,
            enabled: true,
            tenant_id: generate::TEAM_ID,
            user_guid: self
                .get::<User>(Kind::USERS, self.me)
                .ok()
                .and_then(|u| u.guid)
                .unwrap_or_default(),
        };
        self.next_subscription += 1;
        self.subscriptions.insert(sub.id, sub.clone());
        Ok(sub)
    }

    /// Give the records `ids` of `kind` the `updated_at` `at` (one instant for all: a bulk
    /// update makes a tie group; an instant in the past is a late commit). Each changed record
    /// emits its resource's update event; ids that do not exist are skipped.
    pub fn retime(
        &mut self,
        kind: Kind,
        ids: &[i64],
        at: Timestamp,
    ) -> Result<Vec<Event>, ApiError> {
        let stamp = serde_json::to_value(at).map_err(|e| ApiError::from(SandboxError::from(e)))?;
        let event = kind.resource().changed_events.last().copied();
        let mut events = Vec::new();
        for &id in ids {
            let Some(doc) = self.collection(kind).get(id) else {
                continue;
            };
            let mut v: Value = serde_json::from_slice(&doc.json)
                .map_err(|e| ApiError::from(SandboxError::from(e)))?;
            let created_us = doc.created_us;
            if let Some(map) = v.as_object_mut() {
                map.insert("updated_at".into(), stamp.clone());
            }
            let json = Bytes::from(
                serde_json::to_vec(&v).map_err(|e| ApiError::from(SandboxError::from(e)))?,
            );
            self.col(kind)
                .put_raw(id, json.clone(), created_us, at.timestamp_micros());
            if let Some(e) = event {
                events.push(Event::new(e, json));
            }
        }
        Ok(events)
    }

    /// Up to `count` ids of `kind` from `first` on, in id order (the records a bulk update
    /// touches).
    pub fn ids_from(&self, kind: Kind, first: i64, count: usize) -> Vec<i64> {
        self.collection(kind)
            .iter()
            .map(|(id, _)| id)
            .skip_while(|id| *id < first)
            .take(count)
            .collect()
    }

    /// Store `json` as the record `id` of `kind`, exactly as given (for tests of records in
    /// shapes the models do not expect); its timestamps are read from it where they parse.
    pub fn put_raw(&mut self, kind: Kind, id: i64, json: Bytes) {
        let stamp = |v: &Value, key: &str| {
            v.get(key)
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_micros())
        };
        let v: Value = serde_json::from_slice(&json).unwrap_or(Value::Null);
        let now = self.now().timestamp_micros();
        let updated = stamp(&v, "updated_at").unwrap_or(now);
        let created = stamp(&v, "created_at").unwrap_or(updated);
        self.col(kind).put_raw(id, json, created, updated);
    }

    /// Remove the records `ids` of `kind` with no webhook and no knock-on change, as a delete
    /// the toolkit was never told of; how many existed.
    pub fn remove_silently(&mut self, kind: Kind, ids: &[i64]) -> usize {
        let mut removed = 0;
        for &id in ids {
            let Some(doc) = self.col(kind).remove(id) else {
                continue;
            };
            removed += 1;
            if kind == Kind::PEOPLE
                && let Ok(p) = serde_json::from_slice::<Person>(&doc.json)
                && let Some(e) = p.email_address
            {
                self.people_by_email.remove(&e.to_lowercase());
            }
        }
        removed
    }

    /// Every change to the person with `id` takes one instant: for the simulator.
    pub fn touch_person(&mut self, id: i64, change: impl FnOnce(&mut Person)) -> Change {
        let before: Person = self.get(Kind::PEOPLE, id)?;
        let mut after = before.clone();
        change(&mut after);
        after.updated_at = self.now();
        self.store_person(Some(before), after, "person_updated")
    }

    /// Store an e-mail the simulator made, or a changed one.
    pub fn save_email(&mut self, email: &salesloft_model::Email) -> Result<Bytes, ApiError> {
        self.save(Kind::EMAILS, email)
    }

    /// Store a membership the simulator advanced.
    pub fn save_membership(&mut self, m: &CadenceMembership) -> Result<Bytes, ApiError> {
        self.save(Kind::CADENCE_MEMBERSHIPS, m)
    }

    /// A typed record, for the simulator and the control API.
    pub fn record<T: Stored>(&self, kind: Kind, id: i64) -> Result<T, ApiError> {
        self.get(kind, id)
    }

    /// A fresh id in `kind`.
    pub fn allocate(&mut self, kind: Kind) -> i64 {
        self.col(kind).allocate_id()
    }

    /// The full state as JSON: `{"team": ..., "users": [...], "people": [...], ...}`, each
    /// list in id order, each record exactly as the API serves it.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"team\":");
        out.extend_from_slice(self.team_json().to_string().as_bytes());
        for kind in Kind::all() {
            out.extend_from_slice(format!(",\"{}\":[", kind.name()).as_bytes());
            for (i, (_, doc)) in self.collection(kind).iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&doc.json);
            }
            out.push(b']');
        }
        out.extend_from_slice(b",\"webhook_subscriptions\":");
        out.extend_from_slice(
            serde_json::to_string(&self.subscriptions.values().collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into())
                .as_bytes(),
        );
        out.push(b'}');
        out
    }

    /// Bytes of record JSON held, over every kind.
    pub fn json_bytes(&self) -> usize {
        Kind::all().map(|k| self.collection(k).json_bytes()).sum()
    }

    /// Record counts per kind.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        Kind::all()
            .map(|k| (k.name(), self.collection(k).len()))
            .collect()
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

fn copy_fields(obj: &mut Map<String, Value>, input: &Map<String, Value>, fields: &[&str]) {
    for f in fields {
        if let Some(v) = input.get(*f) {
            let v = match (*f, v) {
                ("do_not_contact", v) => as_bool(v).map_or(Value::Null, Value::Bool),
                ("tags" | "contact_restrictions", Value::String(s)) => {
                    json!(
                        s.split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                    )
                }
                ("custom_fields", Value::Null) => json!({}),
                (_, v) => v.clone(),
            };
            obj.insert((*f).to_owned(), v);
        }
    }
}

/// A JSON number, or a string holding one (form-encoded bodies send strings).
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON bool, or `"true"`/`"false"`/`"1"`/`"0"`.
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
