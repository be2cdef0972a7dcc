//! Comparing the local copy with a full export of the source (the sandbox's snapshot, or any
//! `{"people": [...], ...}` document), record by record.

use std::collections::BTreeMap;

use salesloft_client::{Account, Cadence, CadenceMembership, Call, Email, Person, Step, User};
use salesloft_storage::{Entity, Store, Table};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::sync::Stream;

/// How one stream's local copy compares with the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamDiff {
    /// The stream.
    pub stream: String,
    /// Records in the source.
    pub source: usize,
    /// Records in the local copy.
    pub local: usize,
    /// Ids in the source but not the local copy (up to 20).
    pub missing: Vec<i64>,
    /// Ids in the local copy but not the source (up to 20).
    pub extra: Vec<i64>,
    /// Ids whose JSON differs (up to 20).
    pub different: Vec<i64>,
    /// Totals of the three lists before truncation.
    pub missing_count: usize,
    /// See `missing_count`.
    pub extra_count: usize,
    /// See `missing_count`.
    pub different_count: usize,
}

impl StreamDiff {
    /// Whether the local copy equals the source exactly.
    pub fn is_equal(&self) -> bool {
        self.missing_count == 0 && self.extra_count == 0 && self.different_count == 0
    }
}

/// The table (and activity kind) a stream is stored in, and its key in a source export.
pub fn table_of(stream: Stream) -> (Table, Option<&'static str>, &'static str) {
    match stream {
        Stream::Users => (User::TABLE, None, "users"),
        Stream::Accounts => (Account::TABLE, None, "accounts"),
        Stream::People => (Person::TABLE, None, "people"),
        Stream::Cadences => (Cadence::TABLE, None, "cadences"),
        Stream::Steps => (Step::TABLE, None, "steps"),
        Stream::CadenceMemberships => (CadenceMembership::TABLE, None, "cadence_memberships"),
        Stream::Emails => (Email::TABLE, Some("email"), "emails"),
        Stream::Calls => (Call::TABLE, Some("call"), "calls"),
    }
}

/// Compare `streams` of `store` with `snapshot`.
pub async fn compare(
    store: &Store,
    snapshot: &Value,
    streams: &[Stream],
) -> Result<Vec<StreamDiff>> {
    let mut out = Vec::new();
    for stream in streams {
        let (table, kind, key) = table_of(*stream);
        let source: BTreeMap<i64, &Value> = snapshot[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| Some((r.get("id")?.as_i64()?, r)))
                    .collect()
            })
            .unwrap_or_default();
        let mut local = BTreeMap::new();
        for (id, raw) in store.raw_records(&table, kind).await? {
            let v: Value = serde_json::from_str(&raw).map_err(|_| Error::Corrupt {
                stream: stream.name().to_owned(),
                id,
            })?;
            local.insert(id, v);
        }
        let mut diff = StreamDiff {
            stream: stream.name().to_owned(),
            source: source.len(),
            local: local.len(),
            ..StreamDiff::default()
        };
        for (id, v) in &source {
            match local.get(id) {
                None => {
                    diff.missing_count += 1;
                    if diff.missing.len() < 20 {
                        diff.missing.push(*id);
                    }
                }
                Some(l) if l != *v => {
                    diff.different_count += 1;
                    if diff.different.len() < 20 {
                        diff.different.push(*id);
                    }
                }
                Some(_) => {}
            }
        }
        for id in local.keys().filter(|id| !source.contains_key(id)) {
            diff.extra_count += 1;
            if diff.extra.len() < 20 {
                diff.extra.push(*id);
            }
        }
        out.push(diff);
    }
    Ok(out)
}
