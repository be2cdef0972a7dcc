//! The sandbox's data: one [`Collection`] per resource, each record kept as the JSON bytes the
//! API serves (so a list page is a concatenation, not a re-serialisation), with indexes on id,
//! `updated_at` and `created_at`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use salesloft_client::models::Record;
use salesloft_client::{
    Account, Cadence, CadenceMembership, Call, Email, Note, Person, Step, Timestamp, User,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SandboxError;

/// The resources the sandbox serves as collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `/v2/users`
    Users,
    /// `/v2/accounts`
    Accounts,
    /// `/v2/people`
    People,
    /// `/v2/cadences`
    Cadences,
    /// `/v2/steps`
    Steps,
    /// `/v2/cadence_memberships`
    CadenceMemberships,
    /// `/v2/activities/emails`
    Emails,
    /// `/v2/activities/calls`
    Calls,
    /// `/v2/notes`
    Notes,
}

impl Kind {
    /// Every kind, in dependency order.
    pub const ALL: [Kind; 9] = [
        Kind::Users,
        Kind::Accounts,
        Kind::People,
        Kind::Cadences,
        Kind::Steps,
        Kind::CadenceMemberships,
        Kind::Emails,
        Kind::Calls,
        Kind::Notes,
    ];

    /// The snake-case name used in snapshots and the control API.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Accounts => "accounts",
            Kind::People => "people",
            Kind::Cadences => "cadences",
            Kind::Steps => "steps",
            Kind::CadenceMemberships => "cadence_memberships",
            Kind::Emails => "emails",
            Kind::Calls => "calls",
            Kind::Notes => "notes",
        }
    }

    /// The kind named `name` (as in [`Kind::name`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One stored record.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The record exactly as the API serves it.
    pub json: Bytes,
    /// `updated_at` in microseconds since the epoch.
    pub updated_us: i64,
    /// `created_at` in microseconds since the epoch.
    pub created_us: i64,
}

/// A model the sandbox stores.
pub trait Stored: Record + Serialize + DeserializeOwned {
    /// The record's `created_at`.
    fn created_at(&self) -> Timestamp;
}

macro_rules! stored {
    ($($t:ty),*) => {$(
        impl Stored for $t {
            fn created_at(&self) -> Timestamp {
                self.created_at
            }
        }
    )*};
}
stored!(
    User,
    Account,
    Person,
    Cadence,
    Step,
    CadenceMembership,
    Email,
    Call,
    Note
);

/// The records of one resource with their indexes.
#[derive(Debug, Default, Clone)]
pub struct Collection {
    docs: BTreeMap<i64, Doc>,
    by_updated: BTreeSet<(i64, i64)>,
    by_created: BTreeSet<(i64, i64)>,
    next_id: i64,
}

impl Collection {
    /// An empty collection whose first id will be `first_id`.
    pub fn new(first_id: i64) -> Self {
        Self {
            next_id: first_id,
            ..Self::default()
        }
    }

    /// A fresh id.
    pub fn allocate_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Bytes of JSON held.
    pub fn json_bytes(&self) -> usize {
        self.docs.values().map(|d| d.json.len()).sum()
    }

    /// The record with `id`.
    pub fn get(&self, id: i64) -> Option<&Doc> {
        self.docs.get(&id)
    }

    /// Whether `id` exists.
    pub fn contains(&self, id: i64) -> bool {
        self.docs.contains_key(&id)
    }

    /// Store serialised JSON for `id`, replacing any previous version.
    pub fn put_raw(&mut self, id: i64, json: Bytes, created_us: i64, updated_us: i64) {
        if let Some(old) = self.docs.insert(
            id,
            Doc {
                json,
                updated_us,
                created_us,
            },
        ) {
            self.by_updated.remove(&(old.updated_us, id));
            self.by_created.remove(&(old.created_us, id));
        }
        self.by_updated.insert((updated_us, id));
        self.by_created.insert((created_us, id));
        if id >= self.next_id {
            self.next_id = id + 1;
        }
    }

    /// Store a typed record.
    pub fn put<T: Stored>(&mut self, record: &T) -> Result<Bytes, SandboxError> {
        let mut vec = serde_json::to_vec(record)?;
        // to_vec grows by doubling; keep only what the record needs (a million people add up).
        vec.shrink_to_fit();
        let json = Bytes::from(vec);
        self.put_raw(
            record.record_id(),
            json.clone(),
            record.created_at().timestamp_micros(),
            record.updated_at().timestamp_micros(),
        );
        Ok(json)
    }

    /// The typed record with `id`.
    pub fn get_typed<T: Stored>(&self, id: i64) -> Result<Option<T>, SandboxError> {
        match self.docs.get(&id) {
            Some(d) => Ok(Some(serde_json::from_slice(&d.json)?)),
            None => Ok(None),
        }
    }

    /// Remove the record with `id`.
    pub fn remove(&mut self, id: i64) -> Option<Doc> {
        let old = self.docs.remove(&id)?;
        self.by_updated.remove(&(old.updated_us, id));
        self.by_created.remove(&(old.created_us, id));
        Some(old)
    }

    /// A uniformly-ish random existing id (the first at or after a random point of the id
    /// range), in O(log n).
    pub fn random_id(&self, rng: &mut fastrand::Rng) -> Option<i64> {
        let lo = *self.docs.keys().next()?;
        let hi = *self.docs.keys().next_back()?;
        let point = rng.i64(lo..=hi);
        self.docs.range(point..).next().map(|(id, _)| *id)
    }

    /// Records in id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (i64, &Doc)> {
        self.docs.iter().map(|(id, d)| (*id, d))
    }

    /// Ids in `updated_at` order (ties by id) within `[from, to]` microseconds.
    pub fn by_updated(&self, from: i64, to: i64) -> impl DoubleEndedIterator<Item = i64> + '_ {
        range_ids(&self.by_updated, from, to)
    }

    /// Ids in `created_at` order (ties by id) within `[from, to]` microseconds.
    pub fn by_created(&self, from: i64, to: i64) -> impl DoubleEndedIterator<Item = i64> + '_ {
        range_ids(&self.by_created, from, to)
    }
}

fn range_ids(
    set: &BTreeSet<(i64, i64)>,
    from: i64,
    to: i64,
) -> impl DoubleEndedIterator<Item = i64> + '_ {
    let empty = from > to;
    let (lo, hi) = if empty { (0, -1) } else { (from, to) };
    set.range((lo, i64::MIN)..=(hi.max(lo), i64::MAX))
        .filter(move |_| !empty)
        .map(|(_, id)| *id)
}
