//! Two-way people sync: pushing the local system's people to SalesLoft under per-field rules,
//! and a feed of what changed in SalesLoft since a caller's cursor that leaves out the echoes
//! of the toolkit's own writes.
//!
//! **Push.** Each local record names its person by SalesLoft id, `crm_id` or e-mail address
//! (the first it has) and says when it was changed locally. The engine finds the person in the
//! local copy of SalesLoft (asking SalesLoft, cost 1, when the copy lacks it), lets
//! [`FieldPolicies`] decide field by field what must be written, and writes only that: an
//! `update` of the changed fields, a `create` for an e-mail SalesLoft does not know, an
//! `upsert` on `crm_id` for a CRM id it does not know. An unchanged record costs nothing. The
//! write's answer goes into the local copy at once, with a note of its version and content, so
//! the feed, the poll and the webhook that bring it back are known as echoes. After a failure
//! that may have acted on a create (a 5xx, a dropped connection), the person is looked up by
//! e-mail before trying again, so nobody is created twice. A 422 parks the record with
//! SalesLoft's field errors ([`salesloft_storage::Store::parked_writes`]) and the others go
//! on.
//!
//! **Feed.** [`PeopleSync::changes`] reads the local copy's change feed (positions handed out
//! in commit order, so nothing committed late is skipped) from the caller's [`ChangeCursor`]:
//! each person added, updated or deleted once, at its latest state, in order, with a cursor to
//! resume from. A change whose version or content is what the toolkit itself wrote is an echo
//! and left out.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use salesloft_client::{Person, PersonId, PersonInput, PersonUpsertKey, Record};
use salesloft_storage::{ChangedRow, FeedPosition, OwnWrite, PreparedRows};
use serde::Serialize;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use crate::apply::stored_record;
use crate::cadences::BulkProgress;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::lookup::{LookupConfig, Lookups};
use crate::policy::{FieldPolicies, FieldPolicy, is_blank};

/// The stream name of people in the feed and the parked writes.
const STREAM: &str = "people";

/// How a local record names its SalesLoft person.
#[derive(Clone, PartialEq, Eq)]
pub enum PersonKey {
    /// SalesLoft's id.
    Id(PersonId),
    /// The CRM id.
    CrmId(String),
    /// The e-mail address.
    Email(String),
}

impl fmt::Display for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersonKey::Id(id) => write!(f, "id:{id}"),
            PersonKey::CrmId(c) => write!(f, "crm_id:{c}"),
            PersonKey::Email(e) => write!(f, "email:{e}"),
        }
    }
}

impl fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // CRM ids and addresses are personal data: the kind of key only.
        match self {
            PersonKey::Id(id) => write!(f, "Id({id})"),
            PersonKey::CrmId(_) => f.write_str("CrmId(..)"),
            PersonKey::Email(_) => f.write_str("Email(..)"),
        }
    }
}

/// One person as the local system has it: SalesLoft field names to values (`id`, `crm_id`
/// or `email_address` names the person) and when the local system last changed it.
#[derive(Clone, PartialEq)]
pub struct LocalPerson {
    /// Field values by SalesLoft field name (`first_name`, `title`, `account_id`, ...).
    pub fields: Map<String, Value>,
    /// When the local system last changed the record.
    pub changed_at: DateTime<Utc>,
}

impl fmt::Debug for LocalPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalPerson")
            .field("key", &self.key())
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("changed_at", &self.changed_at)
            .finish()
    }
}

impl LocalPerson {
    /// A record with these fields, changed locally at `changed_at`.
    pub fn new(fields: Map<String, Value>, changed_at: DateTime<Utc>) -> Self {
        Self { fields, changed_at }
    }

    /// A record from one JSON object: its fields, with `changed_at` (RFC 3339 or ms since
    /// the epoch) taken out; without one, `default_changed_at`.
    pub fn from_json(
        mut object: Map<String, Value>,
        default_changed_at: DateTime<Utc>,
    ) -> std::result::Result<Self, String> {
        check_key_fields(&object)?;
        let changed_at = match object.remove("changed_at") {
            None | Some(Value::Null) => default_changed_at,
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
                .map_err(|e| format!("changed_at is not an RFC 3339 instant: {e}"))?
                .with_timezone(&Utc),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(DateTime::from_timestamp_millis)
                .ok_or("changed_at is not milliseconds since the epoch")?,
            Some(_) => return Err("changed_at must be a string or a number".into()),
        };
        Ok(Self::new(object, changed_at))
    }

    /// The record as one JSON object, `changed_at` included (what [`Self::from_json`] reads).
    pub fn to_json(&self) -> Map<String, Value> {
        let mut object = self.fields.clone();
        object.insert(
            "changed_at".into(),
            Value::String(
                self.changed_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        );
        object
    }

    /// The key naming the person: `id`, else `crm_id`, else `email_address` (the first that
    /// is not blank); `None` when it has none.
    pub fn key(&self) -> Option<PersonKey> {
        if let Some(id) = self.fields.get("id").and_then(id_value) {
            return Some(PersonKey::Id(PersonId::from(id)));
        }
        let text = |field: &str| {
            let v = self.fields.get(field);
            (!is_blank(v))
                .then(|| v.and_then(Value::as_str).map(|s| s.trim().to_owned()))
                .flatten()
        };
        text("crm_id")
            .map(PersonKey::CrmId)
            .or_else(|| text("email_address").map(PersonKey::Email))
    }
}

/// How pushes go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOptions {
    /// Writes per record before giving up on a failure that may be transient (default 3).
    pub max_attempts: u32,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self { max_attempts: 3 }
    }
}

/// A record SalesLoft refused, with its field errors.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ParkedPush {
    /// The record's key (`id:…`, `crm_id:…`, `email:…`).
    pub key: String,
    /// Field name to SalesLoft's messages.
    pub errors: BTreeMap<String, Vec<String>>,
}

/// What a push did, record by record. Its `Debug` leaves out keys that are personal data
/// (addresses, CRM ids).
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PushReport {
    /// Records handed in.
    pub requested: usize,
    /// People created, by id.
    pub created: Vec<i64>,
    /// People updated, by id.
    pub updated: Vec<i64>,
    /// Records SalesLoft already agreed with: nothing written.
    pub unchanged: usize,
    /// Refused by SalesLoft (422), parked with the errors.
    pub parked: Vec<ParkedPush>,
    /// Failed for now (a failure that may pass: try again later), by key with the reason.
    pub retryable: Vec<(String, String)>,
    /// Failed for good (no key, an id SalesLoft does not have, ...), by key with the reason.
    pub failed: Vec<(String, String)>,
    /// Writes sent (creates, updates, upserts, including retries).
    pub writes: u64,
    /// Creates found, by a lookup after a failure, to have taken effect.
    pub recovered: u64,
}

/// `key` as logs may show it: an id as it is, an address or CRM id by its kind only.
fn redacted(key: &str) -> &str {
    if key.starts_with("id:") {
        key
    } else {
        key.split(':').next().unwrap_or("key")
    }
}

impl fmt::Debug for ParkedPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParkedPush")
            .field("key", &redacted(&self.key))
            .field("errors", &self.errors)
            .finish()
    }
}

impl fmt::Debug for PushReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyed = |list: &[(String, String)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, reason)| (redacted(k).to_owned(), reason.clone()))
                .collect()
        };
        f.debug_struct("PushReport")
            .field("requested", &self.requested)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .field("unchanged", &self.unchanged)
            .field("parked", &self.parked)
            .field("retryable", &keyed(&self.retryable))
            .field("failed", &keyed(&self.failed))
            .field("writes", &self.writes)
            .field("recovered", &self.recovered)
            .finish()
    }
}

/// How a person changed in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First seen after the cursor.
    Added,
    /// Changed after the cursor (treat as an upsert: a person added and changed since is
    /// reported once, as added).
    Updated,
    /// Deleted in SalesLoft.
    Deleted,
}

/// One person's change in the feed. Its `Debug` leaves the person's fields out.
#[derive(Clone, PartialEq, Serialize)]
pub struct PersonChange {
    /// How it changed.
    pub kind: ChangeKind,
    /// The person.
    pub id: i64,
    /// Its JSON as SalesLoft sent it (`None` for a deletion of a person never stored).
    pub person: Option<Value>,
    /// Its `updated_at`.
    pub updated_at: Option<DateTime<Utc>>,
    /// The cursor just past this change.
    pub cursor: ChangeCursor,
}

impl fmt::Debug for PersonChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonChange")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("updated_at", &self.updated_at)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// A place in the people change feed; its text form (`start`, or `<position>.<id>`) is what
/// callers keep between reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeCursor(pub FeedPosition);

impl ChangeCursor {
    /// Before every change.
    pub const START: ChangeCursor = ChangeCursor(FeedPosition::START);
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::START {
            f.write_str("start")
        } else {
            write!(f, "{}.{}", self.0.seq, self.0.id)
        }
    }
}

impl FromStr for ChangeCursor {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "start" || s == "0" {
            return Ok(Self::START);
        }
        let bad = || format!("{s:?} is not a change cursor (`start` or `<position>.<id>`)");
        let (seq, id) = s.split_once('.').ok_or_else(bad)?;
        Ok(Self(FeedPosition {
            seq: seq.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        }))
    }
}

impl Serialize for ChangeCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One read of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeBatch {
    /// The changes, in order.
    pub changes: Vec<PersonChange>,
    /// Where to read on from (past the echoes skipped too).
    pub next: ChangeCursor,
    /// Echoes of the toolkit's own writes left out.
    pub echoes: u64,
    /// Whether more changes were there already (read again at once).
    pub more: bool,
}

/// Two-way people sync over one [`Context`].
#[derive(Debug, Clone)]
pub struct PeopleSync {
    ctx: Context,
    policies: FieldPolicies,
    lookups: Lookups,
}

impl PeopleSync {
    /// People sync through `ctx` with `policies`, and a lookup cache of its own.
    pub fn new(ctx: Context, policies: FieldPolicies) -> Self {
        let lookups = Lookups::new(ctx.clone(), LookupConfig::default());
        Self {
            ctx,
            policies,
            lookups,
        }
    }

    /// The same sync sharing `lookups` (and its invalidation by webhooks).
    pub fn with_lookups(mut self, lookups: Lookups) -> Self {
        self.lookups = lookups;
        self
    }

    /// The field policies in force.
    pub fn policies(&self) -> &FieldPolicies {
        &self.policies
    }

    /// Push `records` to SalesLoft, writing only what the policies say must change;
    /// `progress` hears after each record.
    #[tracing::instrument(name = "people.push", skip_all, fields(records = records.len()))]
    pub async fn push(
        &self,
        records: &[LocalPerson],
        options: &PushOptions,
        progress: Option<BulkProgress<'_>>,
    ) -> Result<PushReport> {
        let mut report = PushReport {
            requested: records.len(),
            ..PushReport::default()
        };
        for (done, record) in records.iter().enumerate() {
            self.push_one(record, options, &mut report).await?;
            if let Some(p) = progress {
                p(done + 1, records.len());
            }
        }
        Ok(report)
    }

    async fn push_one(
        &self,
        record: &LocalPerson,
        options: &PushOptions,
        report: &mut PushReport,
    ) -> Result<()> {
        let Some(key) = record.key() else {
            report.failed.push((
                "(none)".into(),
                "the record has no id, crm_id or email_address".into(),
            ));
            return Ok(());
        };
        let fields = self.syncable(&record.fields);
        let write = match self.find(&key).await {
            Ok(Some(found)) => {
                let changes = self.policies.changes(
                    &fields,
                    &salesloft_view(&found.raw),
                    record.changed_at,
                    found.updated_at,
                );
                if changes.is_empty() {
                    report.unchanged += 1;
                    self.ctx
                        .store
                        .unpark_write(STREAM, &key.to_string())
                        .await?;
                    return Ok(());
                }
                Write::Update(found.id, changes)
            }
            Ok(None) => {
                let fields: Map<String, Value> = fields
                    .into_iter()
                    .filter(|(_, v)| !is_blank(Some(v)))
                    .collect();
                match &key {
                    PersonKey::Id(id) => {
                        report
                            .failed
                            .push((key.to_string(), format!("SalesLoft has no person {id}")));
                        return Ok(());
                    }
                    PersonKey::CrmId(_) => Write::UpsertByCrmId(fields),
                    PersonKey::Email(_) => Write::Create(fields),
                }
            }
            Err(e) => {
                report
                    .retryable
                    .push((key.to_string(), crate::error_chain(&e)));
                return Ok(());
            }
        };
        self.write(&key, record, write, options, report).await
    }

    /// The fields of a local record that are synced (not `none`, not the `id` key).
    fn syncable(&self, fields: &Map<String, Value>) -> Map<String, Value> {
        fields
            .iter()
            .filter(|(f, _)| f.as_str() != "id" && self.policies.of(f) != FieldPolicy::None)
            .map(|(f, v)| (f.clone(), v.clone()))
            .collect()
    }

    /// The person `key` names: from the local copy, else from SalesLoft (kept).
    async fn find(&self, key: &PersonKey) -> Result<Option<Found>> {
        let id = match key {
            PersonKey::Id(id) => {
                if self
                    .ctx
                    .store
                    .raw_record::<Person>(id.get())
                    .await?
                    .is_none()
                {
                    match self.ctx.client.people().get(*id).await {
                        Ok(person) => {
                            self.keep_read(&person).await?;
                        }
                        Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => {
                            return Ok(None);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                id.get()
            }
            PersonKey::CrmId(crm) => match self.ctx.store.live_person_by_crm_id(crm).await? {
                Some((id, _)) => id,
                None => {
                    let page = self
                        .ctx
                        .client
                        .people()
                        .list()
                        .crm_ids([crm.as_str()])
                        .send_received()
                        .await?;
                    self.ctx.keep_received(&page.items).await?;
                    match page
                        .items
                        .iter()
                        .filter(|p| p.record.crm_id.as_deref() == Some(crm.as_str()))
                        .map(|p| p.record.id.get())
                        .min()
                    {
                        Some(id) => id,
                        None => return Ok(None),
                    }
                }
            },
            PersonKey::Email(email) => match self.lookups.person_by_email(email).await? {
                Some(p) => p.id.get(),
                None => return Ok(None),
            },
        };
        let Some((raw, updated_us)) = self.ctx.store.raw_record::<Person>(id).await? else {
            return Ok(None);
        };
        let raw: Value = serde_json::from_str(&raw).map_err(|_| Error::Corrupt {
            stream: STREAM.into(),
            id,
        })?;
        let Value::Object(raw) = raw else {
            return Err(Error::Corrupt {
                stream: STREAM.into(),
                id,
            });
        };
        Ok(Some(Found {
            id,
            raw,
            updated_at: DateTime::from_timestamp_micros(updated_us).unwrap_or_default(),
        }))
    }

    /// Send one write, retrying what may be transient; after a create that may have acted,
    /// look the person up by e-mail first.
    async fn write(
        &self,
        key: &PersonKey,
        record: &LocalPerson,
        write: Write,
        options: &PushOptions,
        report: &mut PushReport,
    ) -> Result<()> {
        let people = self.ctx.client.people();
        let attempts = options.max_attempts.max(1);
        let key_text = key.to_string();
        // Whether a create may have acted without our hearing so.
        let mut uncertain = false;
        for attempt in 1..=attempts {
            report.writes += 1;
            let sent = match &write {
                Write::Create(fields) => people.create(&input(fields)).await.map(|p| (p, true)),
                Write::Update(id, fields) => people
                    .update(PersonId::from(*id), &input(fields))
                    .await
                    .map(|p| (p, false)),
                Write::UpsertByCrmId(fields) => people
                    .upsert(PersonUpsertKey::CrmId, &input(fields))
                    .await
                    .map(|u| {
                        let created = u.upsert_type == Some(salesloft_client::UpsertType::Create);
                        (u.record, created)
                    }),
            };
            let error = match sent {
                Ok((person, created)) => {
                    self.written(key, &person, created, report).await?;
                    return Ok(());
                }
                Err(e) => e,
            };
            if error.kind() == salesloft_client::FailureKind::CredentialsRejected {
                // Nothing will be accepted: stop here, what is written is kept, and the rest
                // waits for credentials that work.
                return Err(error.into());
            }
            let may_have_acted = error.is_transient() || error.status().is_none();
            uncertain |= may_have_acted;
            // This create, or an earlier one, may have happened: look before anything else
            // (a refusal now may only say the address is taken, by our own first try).
            if uncertain
                && let (Write::Create(_), PersonKey::Email(email)) = (&write, key)
                && let Some(person) = self.look_again(email).await
            {
                report.recovered += 1;
                self.written(key, &person, true, report).await?;
                return Ok(());
            }
            if let Some(errors) = error.field_errors() {
                let errors = errors.clone();
                let encoded = serde_json::to_string(&errors).unwrap_or_default();
                let fields = serde_json::to_string(&record.fields).unwrap_or_default();
                self.ctx
                    .store
                    .park_write(STREAM, &key_text, &fields, &encoded)
                    .await?;
                report.parked.push(ParkedPush {
                    key: key_text,
                    errors,
                });
                return Ok(());
            }
            if !may_have_acted {
                report
                    .failed
                    .push((key_text, crate::error_chain(&Error::Api(error))));
                return Ok(());
            }
            if attempt == attempts {
                report
                    .retryable
                    .push((key_text, crate::error_chain(&Error::Api(error))));
                return Ok(());
            }
        }
        Ok(())
    }

    /// After a create that may have acted: the person with `email` as SalesLoft has it now
    /// (one list, bypassing the cache), if any.
    async fn look_again(&self, email: &str) -> Option<Person> {
        let page = self
            .ctx
            .client
            .people()
            .list()
            .email_addresses([email])
            .send_received()
            .await
            .ok()?;
        let wanted = email.trim().to_lowercase();
        page.items
            .into_iter()
            .map(|r| r.record)
            .filter(|p| {
                p.email_address
                    .as_deref()
                    .is_some_and(|e| e.trim().to_lowercase() == wanted)
            })
            .min_by_key(|p| p.id.get())
    }

    /// A write went through: keep SalesLoft's answer with the note that it is the toolkit's
    /// own, unpark the record and forget cached lookups of it.
    async fn written(
        &self,
        key: &PersonKey,
        person: &Person,
        created: bool,
        report: &mut PushReport,
    ) -> Result<()> {
        let version_us = person.updated_at().timestamp_micros();
        let own = OwnWrite {
            version_us,
            content_hash: content_hash(person)?,
        };
        self.ctx
            .store
            .upsert_written(
                PreparedRows::new(std::slice::from_ref(person), self.ctx.team.time_zone)?,
                &[(person.id.get(), own)],
            )
            .await?;
        self.ctx
            .store
            .unpark_write(STREAM, &key.to_string())
            .await?;
        self.lookups
            .forget_person(person.id, person.email_address.as_deref())
            .await;
        // The address the record was looked up by, when SalesLoft keeps another (a "missing"
        // entry under it would hide the person just written).
        if let PersonKey::Email(email) = key
            && !person
                .email_address
                .as_deref()
                .is_some_and(|e| e.trim().eq_ignore_ascii_case(email.trim()))
        {
            self.lookups.forget_person(person.id, Some(email)).await;
        }
        if created {
            report.created.push(person.id.get());
        } else {
            report.updated.push(person.id.get());
        }
        Ok(())
    }

    /// Keep a person read from SalesLoft.
    async fn keep_read(&self, person: &Person) -> Result<()> {
        self.ctx
            .store
            .upsert(std::slice::from_ref(person), self.ctx.team.time_zone)
            .await?;
        Ok(())
    }

    /// Up to `limit` people changed in SalesLoft after `since`, echoes of the toolkit's own
    /// writes left out.
    pub async fn changes(&self, since: ChangeCursor, limit: usize) -> Result<ChangeBatch> {
        let limit = limit.max(1);
        let page = i64::try_from(limit).unwrap_or(i64::MAX).min(1_000);
        let mut batch = ChangeBatch {
            changes: Vec::new(),
            next: since,
            echoes: 0,
            more: false,
        };
        loop {
            let rows = self
                .ctx
                .store
                .changes_since::<Person>(batch.next.0, page)
                .await?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= page;
            for row in rows {
                if batch.changes.len() == limit {
                    batch.more = true;
                    return Ok(batch);
                }
                batch.next = ChangeCursor(row.position);
                if is_echo(&row) {
                    batch.echoes += 1;
                    continue;
                }
                batch.changes.push(change_of(row, since));
            }
            if !full {
                return Ok(batch);
            }
            if batch.changes.len() == limit {
                batch.more = true;
                return Ok(batch);
            }
        }
    }

    /// The cursor just past the newest change: where a caller that has everything starts.
    pub async fn head(&self) -> Result<ChangeCursor> {
        Ok(ChangeCursor(self.ctx.store.feed_head::<Person>().await?))
    }
}

/// A person found for a push.
struct Found {
    id: i64,
    raw: Map<String, Value>,
    updated_at: DateTime<Utc>,
}

/// The write a push sends.
enum Write {
    Create(Map<String, Value>),
    Update(i64, Map<String, Value>),
    UpsertByCrmId(Map<String, Value>),
}

/// A person write carrying exactly `fields` (a `null` clears a field).
fn input(fields: &Map<String, Value>) -> PersonInput {
    PersonInput {
        extra: fields.clone(),
        ..PersonInput::default()
    }
}

/// SalesLoft's record as push compares it: its fields, plus `<name>_id` for each reference
/// a write names by id (`account_id` for `account`, ...).
fn salesloft_view(raw: &Map<String, Value>) -> Map<String, Value> {
    let mut view = raw.clone();
    for reference in ["account", "owner", "person_stage", "import"] {
        let id = raw.get(reference).and_then(|r| r.get("id")).cloned();
        view.insert(format!("{reference}_id"), id.unwrap_or(Value::Null));
    }
    view
}

/// The fields that name a person, when given, are what they must be: an `id` that is not a
/// whole number (or a CRM id or an address that is not text) would otherwise be passed over
/// for the next key, and the push would act on another person, or on nobody.
fn check_key_fields(object: &Map<String, Value>) -> std::result::Result<(), String> {
    match object.get("id") {
        None | Some(Value::Null) => {}
        Some(v) if id_value(v).is_some() => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(_) => return Err("id is not a SalesLoft person id (a whole number)".into()),
    }
    for field in ["crm_id", "email_address"] {
        match object.get(field) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(_) => return Err(format!("{field} must be text")),
        }
    }
    Ok(())
}

/// An id as a number or digits.
fn id_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A hash of a person's content, `updated_at` left out: the same for the write's answer and
/// for the copy a poll or webhook brings back.
fn content_hash(person: &Person) -> Result<String> {
    let mut value = serde_json::to_value(person).map_err(|_| Error::Corrupt {
        stream: STREAM.into(),
        id: person.id.get(),
    })?;
    if let Value::Object(m) = &mut value {
        m.remove("updated_at");
    }
    let mut text = String::new();
    canonical(&value, &mut text);
    Ok(hex::encode(Sha1::digest(text.as_bytes())))
}

/// `value` as JSON with every object's keys sorted.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Whether a feed row is the toolkit's own write coming back: the version it answered with,
/// or the same content.
fn is_echo(row: &ChangedRow) -> bool {
    let Some(own) = &row.own_write else {
        return false;
    };
    if row.deleted {
        return false;
    }
    if own.version_us == row.version_us {
        return true;
    }
    stored_record::<Person>(STREAM, row.position.id, &row.raw)
        .ok()
        .and_then(|p| content_hash(&p).ok())
        .is_some_and(|h| h == own.content_hash)
}

/// The change a feed row reports to a reader at `since`.
fn change_of(row: ChangedRow, since: ChangeCursor) -> PersonChange {
    let first = FeedPosition {
        seq: row.first_seq,
        id: row.position.id,
    };
    let kind = if row.deleted {
        ChangeKind::Deleted
    } else if first > since.0 {
        ChangeKind::Added
    } else {
        ChangeKind::Updated
    };
    let person = (!row.raw.is_empty())
        .then(|| serde_json::from_str::<Value>(&row.raw).ok())
        .flatten();
    PersonChange {
        kind,
        id: row.position.id,
        person,
        updated_at: DateTime::from_timestamp_micros(row.version_us),
        cursor: ChangeCursor(row.position),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_field_that_cannot_be_read_is_an_error_not_a_missing_key() {
        let read = |v: Value| {
            LocalPerson::from_json(v.as_object().unwrap().clone(), Utc::now()).map(|p| p.key())
        };
        for (bad, wanted) in [
            (
                json!({"id": "not-a-number", "email_address": "a@x.com"}),
                "id is not",
            ),
            (json!({"id": 1e30}), "id is not"),
            (json!({"id": 1.5}), "id is not"),
            (json!({"id": true}), "id is not"),
            (
                json!({"email_address": 12345}),
                "email_address must be text",
            ),
            (json!({"crm_id": 77}), "crm_id must be text"),
        ] {
            let err = read(bad.clone()).unwrap_err();
            assert!(err.contains(wanted), "{bad}: {err}");
        }
        assert!(matches!(
            read(json!({"id": " 12 "})).unwrap(),
            Some(PersonKey::Id(id)) if id.get() == 12
        ));
        assert!(matches!(
            read(json!({"id": null, "email_address": "a@x.com"})).unwrap(),
            Some(PersonKey::Email(_))
        ));
    }

    #[test]
    fn a_cursor_reads_back_what_it_prints() {
        for c in [
            ChangeCursor::START,
            ChangeCursor(FeedPosition { seq: 0, id: 5 }),
            ChangeCursor(FeedPosition { seq: 42, id: 7 }),
        ] {
            assert_eq!(c.to_string().parse::<ChangeCursor>().unwrap(), c);
        }
        assert_eq!("".parse::<ChangeCursor>().unwrap(), ChangeCursor::START);
        assert!("12".parse::<ChangeCursor>().is_err());
        assert!("a.b".parse::<ChangeCursor>().is_err());
    }

    #[test]
    fn a_record_is_keyed_by_id_then_crm_id_then_email() {
        let t = Utc::now();
        let key = |v: Value| LocalPerson::new(v.as_object().unwrap().clone(), t).key();
        assert_eq!(
            key(json!({"id": "12", "crm_id": "c", "email_address": "a@x"})),
            Some(PersonKey::Id(PersonId::from(12)))
        );
        assert_eq!(
            key(json!({"crm_id": "c", "email_address": "a@x"})),
            Some(PersonKey::CrmId("c".into()))
        );
        assert_eq!(
            key(json!({"crm_id": " ", "email_address": " a@x "})),
            Some(PersonKey::Email("a@x".into()))
        );
        assert_eq!(key(json!({"first_name": "Ada"})), None);
        assert_eq!(
            format!("{:?}", PersonKey::Email("a@x".into())),
            "Email(..)",
            "no address in Debug"
        );
    }

    #[test]
    fn changed_at_reads_as_text_or_milliseconds() {
        let d = Utc::now();
        let obj = |v: Value| v.as_object().unwrap().clone();
        let p = LocalPerson::from_json(
            obj(json!({"email_address": "a@x", "changed_at": "2026-01-02T03:04:05Z"})),
            d,
        )
        .unwrap();
        assert_eq!(p.changed_at.to_rfc3339(), "2026-01-02T03:04:05+00:00");
        assert!(!p.fields.contains_key("changed_at"));
        let p = LocalPerson::from_json(obj(json!({"changed_at": 1000})), d).unwrap();
        assert_eq!(p.changed_at.timestamp_millis(), 1000);
        assert_eq!(
            LocalPerson::from_json(obj(json!({})), d)
                .unwrap()
                .changed_at,
            d
        );
        assert!(LocalPerson::from_json(obj(json!({"changed_at": "soon"})), d).is_err());
    }

    #[test]
    fn reports_keep_addresses_out_of_debug() {
        let report = PushReport {
            parked: vec![ParkedPush {
                key: "email:ada@example.com".into(),
                errors: BTreeMap::new(),
            }],
            failed: vec![("crm_id:003SECRET".into(), "no".into())],
            retryable: vec![("id:12".into(), "503".into())],
            ..PushReport::default()
        };
        let text = format!("{report:?}");
        assert!(
            !text.contains("ada@") && !text.contains("003SECRET"),
            "{text}"
        );
        assert!(
            text.contains("id:12") && text.contains("\"email\""),
            "{text}"
        );
    }

    #[test]
    fn references_compare_by_id() {
        let raw = json!({"account": {"id": 7, "_href": "x"}, "owner": null});
        let view = salesloft_view(raw.as_object().unwrap());
        assert_eq!(view["account_id"], json!(7));
        assert_eq!(view["owner_id"], Value::Null);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut a = String::new();
        canonical(
            &json!({"b": 1, "a": {"d": [1, {"f": 2, "e": 3}], "c": null}}),
            &mut a,
        );
        assert_eq!(a, r#"{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}"#);
    }
}
