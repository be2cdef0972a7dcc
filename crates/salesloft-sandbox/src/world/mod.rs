//! The state of one sandbox team and the API's rules for changing it. Every change returns the
//! webhook events it causes; the caller delivers them after releasing the lock.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::FixedOffset;
use salesloft_model::resource;
use salesloft_model::{
    Account, AccountId, Cadence, CadenceId, CadenceMembership, CadenceMembershipId, Call, CallId,
    Note, NoteId, Person, PersonId, Ref, Step, StepId, Timestamp, User, UserId,
};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, SandboxError};
use crate::generate::{self, Generated, TeamSize, href, r, ts};
use crate::store::{Collection, Kind, Stored};

mod accounts;
mod activities;
mod cadences;
mod input;
mod people;
mod tasks;

pub(crate) use input::{as_bool, as_i64};
use input::{as_string, copy_fields};

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
    /// The team's SalesLoft id (`/v2/team`, users' team, subscriptions' tenant).
    pub team_id: i64,
    /// The user the API credentials act as.
    pub me: i64,
    collections: BTreeMap<Kind, Collection>,
    people_by_email: HashMap<String, i64>,
    accounts_by_domain: HashMap<String, i64>,
    membership_by_pair: HashMap<(i64, i64), i64>,
    /// Tasks by the idempotency key they were created with.
    task_by_key: HashMap<String, i64>,
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
    pub fn from_generated(
        generated: Generated,
        offset: FixedOffset,
        team_id: i64,
    ) -> Result<Self, SandboxError> {
        let me = generated
            .users
            .first()
            .map_or(generate::FIRST_USER_ID, |u| u.id.0);
        let mut w = World::empty(offset, team_id, me);
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
        w.put_definitions(generated.definitions)?;
        let e = generated.engagement;
        w.put_all(&resource::SUCCESSES, e.successes)?;
        w.put_all(&resource::CALL_DATA_RECORDS, e.call_data_records)?;
        w.put_all(&resource::CRM_ACTIVITIES, e.crm_activities)?;
        w.put_all(&resource::ACTIONS, e.actions)?;
        w.put_all(&resource::TASKS, e.tasks)?;
        let f = generated.feed;
        w.put_all(&resource::ACTIVITY_HISTORIES, f.activity_histories)?;
        w.put_all(&resource::EMAIL_TEMPLATES, f.email_templates)?;
        w.put_all(&resource::IMPORTS, f.imports)?;
        w.put_all(&resource::CRM_USERS, f.crm_users)?;
        w.put_all(&resource::CRM_ACTIVITY_FIELDS, f.crm_activity_fields)?;
        Ok(w)
    }

    /// A world of team `team_id` holding nothing, its API credentials acting as user `me`;
    /// each collection's ids start at the generator's first.
    fn empty(offset: FixedOffset, team_id: i64, me: i64) -> Self {
        let mut w = World {
            offset,
            team_id,
            me,
            collections: BTreeMap::new(),
            people_by_email: HashMap::new(),
            accounts_by_domain: HashMap::new(),
            membership_by_pair: HashMap::new(),
            task_by_key: HashMap::new(),
            subscriptions: BTreeMap::new(),
            next_subscription: 1,
            last_now_us: 0,
        };
        for kind in Kind::all() {
            w.collections
                .insert(kind, Collection::new(generate::first_id(kind.resource())));
        }
        w
    }

    /// Store the definition lists.
    fn put_definitions(&mut self, d: generate::Definitions) -> Result<(), SandboxError> {
        self.put_all(&resource::ACCOUNT_STAGES, d.account_stages)?;
        self.put_all(&resource::ACCOUNT_TIERS, d.account_tiers)?;
        self.put_all(&resource::PERSON_STAGES, d.person_stages)?;
        self.put_all(&resource::CALL_DISPOSITIONS, d.call_dispositions)?;
        self.put_all(&resource::CALL_SENTIMENTS, d.call_sentiments)?;
        self.put_all(&resource::CUSTOM_FIELDS, d.custom_fields)
    }

    /// Store `records` in `resource`'s collection.
    fn put_all<T: Stored>(
        &mut self,
        resource: &'static salesloft_model::Resource,
        records: Vec<T>,
    ) -> Result<(), SandboxError> {
        let col = self.col(Kind::of(resource));
        for r in records {
            col.put(&r)?;
        }
        Ok(())
    }

    /// A freshly generated world of team `team_id`.
    pub fn generate(
        seed: u64,
        size: TeamSize,
        offset: FixedOffset,
        team_id: i64,
    ) -> Result<Self, SandboxError> {
        Self::from_generated(
            generate::generate(seed, size, offset, team_id),
            offset,
            team_id,
        )
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
            "id": self.team_id,
            "name": "Sandbox Team",
            "plan": "enterprise",
            "license_limit": 250,
            "email_daily_limit": 500,
            "created_at": ts(1_672_531_200_000_000, self.offset),
            "updated_at": ts(1_704_067_200_000_000, self.offset),
            "_private_fields": {},
        })
    }

    /// The record an upsert of `kind` updates, by SalesLoft's documented rules: none without
    /// `upsert_key` (an upsert without one never updates); else the one record whose `key`
    /// field (one of `keys`) holds the input's value (e-mail and domain compared without case),
    /// which the input's `id`, when given beside another key, must be. Refused: a key not in
    /// `keys`, its field missing, several records matching, or (on `id`) none.
    fn upsert_target(
        &self,
        kind: Kind,
        input: &Map<String, Value>,
        keys: &[&str],
    ) -> Result<Option<i64>, ApiError> {
        let Some(key) = input.get("upsert_key").and_then(Value::as_str) else {
            return Ok(None);
        };
        if !keys.contains(&key) {
            let why = format!("{key} is not a valid upsert key ({})", keys.join(", "));
            return Err(ApiError::invalid("upsert_key", &why));
        }
        let Some(wanted) = input
            .get(key)
            .and_then(input::as_string)
            .filter(|v| !v.trim().is_empty())
        else {
            return Err(ApiError::invalid(key, "must be given to upsert on it"));
        };
        let matches: Vec<i64> = match key {
            "id" => as_i64(&Value::String(wanted))
                .filter(|id| self.collection(kind).contains(*id))
                .into_iter()
                .collect(),
            "email_address" => self
                .people_by_email
                .get(&wanted.to_lowercase())
                .copied()
                .into_iter()
                .collect(),
            "domain" => self
                .accounts_by_domain
                .get(&wanted.to_lowercase())
                .copied()
                .into_iter()
                .collect(),
            field => self
                .collection(kind)
                .iter()
                .filter_map(|(id, d)| {
                    let v: Value = serde_json::from_slice(&d.json).ok()?;
                    (v.get(field)?.as_str()? == wanted).then_some(id)
                })
                .collect(),
        };
        match (matches.as_slice(), input.get("id").and_then(as_i64)) {
            ([], _) if key == "id" => Err(ApiError::not_found()),
            ([], _) => Ok(None),
            ([one], Some(id)) if key != "id" && id != *one => Err(ApiError::invalid(
                "id",
                "does not match the record the upsert key finds",
            )),
            ([one], _) => Ok(Some(*one)),
            _ => Err(ApiError::invalid(key, "matches more than one record")),
        }
    }

    fn get<T: Stored>(&self, kind: Kind, id: i64) -> Result<T, ApiError> {
        self.collection(kind)
            .get_typed(id)
            .map_err(ApiError::from)?
            .ok_or_else(ApiError::not_found)
    }

    /// Store `record` in `kind`'s collection; the JSON it is served as.
    pub(crate) fn save<T: Stored>(&mut self, kind: Kind, record: &T) -> Result<Bytes, ApiError> {
        self.col(kind).put(record).map_err(ApiError::from)
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
            tenant_id: self.team_id,
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
