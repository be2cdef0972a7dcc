//! Push: find each local record's person, let the field policies decide what to write, write
//! it (retrying what may be transient, looking before a second create) and keep the answer as
//! the toolkit's own write.

use super::*;
use crate::checked_write::{Checked, send_checked};

/// How pushes go: the defaults, with a `with_*` setter per field
/// (`PushOptions::default().with_max_attempts(5)`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushOptions {
    /// Writes per record before giving up on a failure that may be transient (default 3).
    pub max_attempts: u32,
}

salesloft_client::with_setters!(PushOptions {
    with_max_attempts => max_attempts: u32,
});

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
    pub retryable: Vec<(String, RecordFailure)>,
    /// Failed for good (no key, an id SalesLoft does not have, ...), by key with the reason.
    pub failed: Vec<(String, RecordFailure)>,
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
        let keyed = |list: &[(String, RecordFailure)]| -> Vec<(String, RecordFailure)> {
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

impl PeopleSync {
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
            report.failed.push(("(none)".into(), RecordFailure::NoKey));
            return Ok(());
        };
        let fields = self.syncable(&record.fields);
        if let PersonKey::Email(email) = &key
            && self.local_wins_whatever_salesloft_holds(&fields)
            && self.ctx.store.live_person_by_email(email).await?.is_none()
        {
            // Not in the copy, and every field would be written whatever SalesLoft holds:
            // one upsert on the address, no read first (a retry after a lost answer updates
            // the person the first attempt made).
            let write = Write::UpsertByEmail(fields);
            return self.write(&key, record, write, options, report).await;
        }
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
                            .push((key.to_string(), RecordFailure::NoSuchPerson(id.get())));
                        return Ok(());
                    }
                    PersonKey::CrmId(_) => Write::UpsertByCrmId(fields),
                    PersonKey::Email(_) => Write::Create(fields),
                }
            }
            Err(e) => {
                report.retryable.push((key.to_string(), e.into()));
                return Ok(());
            }
        };
        self.write(&key, record, write, options, report).await
    }

    /// Whether writing `fields` is what their policies decide whatever SalesLoft holds for
    /// them: each `local_wins` with a value, or `local_unless_blank` with one (a blank under
    /// `local_wins` would have to clear SalesLoft's, and every other policy looks at
    /// SalesLoft's value or its time first).
    fn local_wins_whatever_salesloft_holds(&self, fields: &Map<String, Value>) -> bool {
        fields.contains_key("email_address")
            && fields.iter().all(|(f, v)| {
                !is_blank(Some(v))
                    && matches!(
                        self.policies.of(f),
                        FieldPolicy::LocalWins | FieldPolicy::LocalUnlessBlank
                    )
            })
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
        let key_text = key.to_string();
        let email = match (&write, key) {
            (Write::Create(_), PersonKey::Email(email)) => Some(email),
            _ => None,
        };
        let write = &write;
        let (end, writes) = send_checked(
            options.max_attempts,
            || self.send(write),
            // Only a create keyed by address can be found again by what it was sent with.
            || async move {
                match email {
                    Some(email) => self.look_again(email).await.map(|p| (p, true)),
                    None => None,
                }
            },
        )
        .await?;
        report.writes += writes;
        match end {
            Checked::Written { value, recovered } => {
                report.recovered += u64::from(recovered);
                self.written(key, &value.0, value.1, report).await?;
            }
            Checked::NotWritten { error, .. } if error.field_errors().is_some() => {
                let errors = error.field_errors().cloned().unwrap_or_default();
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
            }
            Checked::NotWritten {
                error,
                may_have_acted: true,
            } => report.retryable.push((key_text, Error::Api(error).into())),
            Checked::NotWritten { error, .. } => {
                report.failed.push((key_text, Error::Api(error).into()));
            }
        }
        Ok(())
    }

    /// Send `write` once: SalesLoft's answer and whether it created the person.
    async fn send(&self, write: &Write) -> salesloft_client::Result<(Person, bool)> {
        let people = self.ctx.client.people();
        match write {
            Write::Create(fields) => people.create(&input(fields)).await.map(|p| (p, true)),
            Write::Update(id, fields) => people
                .update(PersonId::from(*id), &input(fields))
                .await
                .map(|p| (p, false)),
            Write::UpsertByCrmId(fields) => {
                upserted(people.upsert(PersonUpsertKey::CrmId, &input(fields)).await)
            }
            Write::UpsertByEmail(fields) => upserted(
                people
                    .upsert(PersonUpsertKey::EmailAddress, &input(fields))
                    .await,
            ),
        }
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
                PreparedRows::new(std::slice::from_ref(person))?,
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
        self.ctx.store.upsert(std::slice::from_ref(person)).await?;
        Ok(())
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
    /// Fields whose policies write them whatever SalesLoft holds, on the address.
    UpsertByEmail(Map<String, Value>),
}

/// An upsert's person and whether it created it (a retried upsert after one that acted
/// reports an update).
fn upserted(
    answer: salesloft_client::Result<salesloft_client::Upserted<Person>>,
) -> salesloft_client::Result<(Person, bool)> {
    answer.map(|u| {
        let created = u.upsert_type == Some(salesloft_client::UpsertType::Create);
        (u.record, created)
    })
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

/// A hash of a person's content, `updated_at` left out: the same for the write's answer and
/// for the copy a poll or webhook brings back.
pub(super) fn content_hash(person: &Person) -> Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_keep_addresses_out_of_debug() {
        let report = PushReport {
            parked: vec![ParkedPush {
                key: "email:ada@example.com".into(),
                errors: BTreeMap::new(),
            }],
            failed: vec![("crm_id:003SECRET".into(), RecordFailure::NoSuchPerson(7))],
            retryable: vec![("id:12".into(), RecordFailure::NoKey)],
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
