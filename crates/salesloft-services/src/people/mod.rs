//! Two-way people sync: pushing the local system's people to SalesLoft under per-field rules,
//! and a feed of what changed in SalesLoft since a caller's cursor that leaves out the echoes
//! of the toolkit's own writes.
//!
//! **Push.** Each local record names its person by SalesLoft id, `crm_id` or e-mail address
//! (the first it has) and says when it was changed locally. The engine finds the person in the
//! local copy of SalesLoft (asking SalesLoft, cost 1, when the copy lacks it), lets
//! [`FieldPolicies`] decide field by field what must be written, and writes only that: an
//! `update` of the changed fields, a `create` for an e-mail SalesLoft does not know, an
//! `upsert` on `crm_id` for a CRM id it does not know. A person the copy lacks whose every
//! field its policy writes whatever SalesLoft holds (`local_wins` or `local_unless_blank`,
//! with a value) is one `upsert` on the e-mail address, with no lookup (sent again after a
//! lost answer, it updates the person the first made). An unchanged record costs nothing. The
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

mod feed;
mod push;

pub use feed::{ChangeBatch, ChangeCursor, ChangeKind, PersonChange};
pub use push::{ParkedPush, PushOptions, PushReport};

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
use crate::report::RecordFailure;

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
}
