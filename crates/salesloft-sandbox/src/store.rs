//! The sandbox's data: one [`Collection`] per resource, each record kept as the JSON bytes the
//! API serves (so a list page is a concatenation, not a re-serialisation), with indexes on id,
//! `updated_at` and `created_at`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use salesloft_model::models::Record;
use salesloft_model::resource::{self, RESOURCES, Resource};
use salesloft_model::{
    Account, AccountStage, AccountTier, Action, ActivityHistory, Cadence, CadenceMembership, Call,
    CallDataRecord, CallDisposition, CallSentiment, CrmActivity, CrmActivityField, CrmUser,
    CustomField, Email, EmailTemplate, Import, Note, Person, PersonStage, Step, Success, Task,
    Timestamp, User,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SandboxError;

/// One of the sandbox's collections: a resource of salesloft-client's registry, which is the one
/// list of what the sandbox serves (`RESOURCES`). Ordered as the registry is (dependencies
/// first).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind(&'static Resource);

impl Kind {
    pub(crate) const USERS: Kind = Kind(&resource::USERS);
    pub(crate) const ACCOUNTS: Kind = Kind(&resource::ACCOUNTS);
    pub(crate) const PEOPLE: Kind = Kind(&resource::PEOPLE);
    pub(crate) const CADENCES: Kind = Kind(&resource::CADENCES);
    pub(crate) const STEPS: Kind = Kind(&resource::STEPS);
    pub(crate) const CADENCE_MEMBERSHIPS: Kind = Kind(&resource::CADENCE_MEMBERSHIPS);
    pub(crate) const EMAILS: Kind = Kind(&resource::EMAILS);
    pub(crate) const CALLS: Kind = Kind(&resource::CALLS);
    pub(crate) const NOTES: Kind = Kind(&resource::NOTES);

    /// Every kind, in registry order.
    pub(crate) fn all() -> impl Iterator<Item = Kind> {
        RESOURCES.iter().map(|r| Kind(r))
    }

    /// The collection of `resource` (every resource of the registry is one).
    pub(crate) const fn of(resource: &'static Resource) -> Kind {
        Kind(resource)
    }

    /// The resource.
    pub(crate) fn resource(self) -> &'static Resource {
        self.0
    }

    /// The name used in snapshots and the control API.
    pub(crate) fn name(self) -> &'static str {
        self.0.name
    }

    /// The kind named `name` (as in [`Kind::name`]).
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Resource::named(name).map(Kind)
    }

    fn index(self) -> usize {
        RESOURCES
            .iter()
            .position(|r| std::ptr::eq(*r, self.0))
            .unwrap_or(usize::MAX)
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Kind {}
impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kind {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.index().cmp(&other.index())
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
    Note,
    AccountStage,
    AccountTier,
    PersonStage,
    CallDisposition,
    CallSentiment,
    CustomField,
    Success,
    CallDataRecord,
    CrmActivity,
    Action,
    Task,
    ActivityHistory,
    EmailTemplate,
    Import,
    CrmUser,
    CrmActivityField
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
