//! How each SalesLoft record maps onto its table: typed columns for queries plus the full raw
//! JSON. The mapping is this crate's own: callers name a record type ([`Entity`]) and never a
//! table or a column, so no caller-supplied text reaches the SQL this crate writes.

use std::marker::PhantomData;

use salesloft_model::models::Record;
use salesloft_model::{
    Account, AccountStage, AccountTier, Action, ActivityHistory, Cadence, CadenceMembership, Call,
    CallDataRecord, CallDisposition, CallSentiment, CrmActivity, CrmActivityField, CrmUser,
    CustomField, Email, EmailTemplate, Import, Note, Person, PersonStage, Received, Step, Success,
    Task, Timestamp, User,
};
use serde::Serialize;

use crate::error::{Error, Result};

/// A SalesLoft record kept in the local copy, one table per type (e-mails and calls share
/// `activities`, told apart by their kind). Implemented for every record the toolkit syncs;
/// it cannot be implemented outside this crate.
pub trait Entity: Record + Serialize + Send + Sync + 'static + Mapping {}

impl<T: Record + Serialize + Send + Sync + 'static + Mapping> Entity for T {}

/// The table of an entity and how one record becomes a row. Public in a private module: a
/// bound callers meet but cannot name or implement.
pub trait Mapping {
    /// The entity's table.
    const TABLE: Table;
    /// The typed column values of this record, in [`Table::columns`] order.
    fn values(&self) -> Vec<Val>;
    /// SalesLoft's `created_at`.
    fn created_at(&self) -> Option<&Timestamp>;
}

/// One column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// An integer (or null).
    Int(Option<i64>),
    /// Text (or null).
    Text(Option<String>),
}

impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<bool>> for Val {
    fn from(v: Option<bool>) -> Self {
        Val::Int(Some(i64::from(v.unwrap_or(false))))
    }
}
impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Self {
        Val::Text(v.clone())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}

/// A table of SalesLoft records. Every name here is a constant of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Table name.
    pub name: &'static str,
    /// For a table several entities share: the `kind` column's value for this one.
    pub kind: Option<&'static str>,
    /// The typed columns after the key, in [`Mapping::values`] order.
    pub columns: &'static [&'static str],
    /// Values (SQL literals) for the `NOT NULL` columns without a default, for a tombstone:
    /// the row a delete leaves for an id never stored.
    pub fillers: &'static [(&'static str, &'static str)],
}

impl Table {
    /// The primary-key columns.
    pub fn key(&self) -> &'static [&'static str] {
        if self.kind.is_some() {
            &["kind", "id"]
        } else {
            &["id"]
        }
    }

    /// The key a row is unique by: the team, then [`Table::key`].
    pub fn team_key(&self) -> String {
        format!("team_id, {}", self.key().join(", "))
    }

    /// `WHERE` conditions selecting this entity's rows of the team bound at the placeholder
    /// `team` (`$3`, `?`), with `kind = '...'` on a shared table (the kind is one of this
    /// crate's constants, never input).
    pub fn own_rows(&self, team: &str) -> String {
        self.own_rows_of("", team)
    }

    /// [`Table::own_rows`] with each column qualified by `alias` (`"t."`), for a join.
    pub fn own_rows_of(&self, alias: &str, team: &str) -> String {
        match self.kind {
            Some(kind) => format!("{alias}team_id = {team} AND {alias}kind = '{kind}'"),
            None => format!("{alias}team_id = {team}"),
        }
    }
}

/// One record as a row: typed columns, SalesLoft timestamps and the raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The record's id.
    pub id: i64,
    /// Values of [`Table::columns`].
    pub values: Vec<Val>,
    /// SalesLoft `created_at` in µs.
    pub created_us: Option<i64>,
    /// SalesLoft `updated_at` in µs: the monotonic guard compares it.
    pub updated_us: i64,
    /// The record's full JSON.
    pub raw: String,
    /// Fields sent with a type the model does not read, comma-separated; `None` when none.
    pub drifted: Option<String>,
}

/// Records of one entity turned into rows, ready to write: built wherever is convenient (the
/// sync builds them on its fetching task), written by [`Store::upsert_prepared`] or an
/// [`OpenCheckpoint`](crate::OpenCheckpoint).
///
/// [`Store::upsert_prepared`]: crate::Store::upsert_prepared
#[derive(Debug, Clone)]
pub struct PreparedRows<T> {
    pub(crate) rows: Vec<Row>,
    /// When the list request that returned them was sent (see [`PreparedRows::listed_at`]).
    pub(crate) listed_at_ms: Option<i64>,
    _entity: PhantomData<fn() -> T>,
}

impl<T: Entity> PreparedRows<T> {
    /// Turn `records` into rows.
    pub fn new(records: &[T]) -> Result<Self> {
        let rows = records
            .iter()
            .map(|r| {
                Ok(Row {
                    id: r.record_id(),
                    values: r.values(),
                    created_us: r.created_at().map(Timestamp::timestamp_micros),
                    updated_us: r.updated_at().timestamp_micros(),
                    raw: serde_json::to_string(r).map_err(|source| Error::Encode {
                        what: "record",
                        source,
                    })?,
                    drifted: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            rows,
            listed_at_ms: None,
            _entity: PhantomData,
        })
    }

    /// Turn records as SalesLoft sent them into rows: each keeps its JSON text exactly as
    /// received, and the fields that drifted are noted on the row.
    pub fn received(records: &[Received<T>]) -> Self {
        let rows = records
            .iter()
            .map(|r| Row {
                id: r.record.record_id(),
                values: r.record.values(),
                created_us: r.record.created_at().map(Timestamp::timestamp_micros),
                updated_us: r.record.updated_at().timestamp_micros(),
                raw: r.raw.clone(),
                drifted: (!r.drifted.is_empty()).then(|| r.drifted.join(",")),
            })
            .collect();
        Self {
            rows,
            listed_at_ms: None,
            _entity: PhantomData,
        }
    }

    /// Rows that SalesLoft listed in answer to a request sent at `at_ms` ([`crate::now_ms`]):
    /// the records existed then, so a record deleted here *before* that moment (a webhook's
    /// delete, a reconcile's) is restored with this state, whatever its version. Rows deleted
    /// after it stay deleted: the list may have been read before the delete.
    pub fn listed_at(mut self, at_ms: i64) -> Self {
        self.listed_at_ms = Some(at_ms);
        self
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn us(t: &Timestamp) -> i64 {
    t.timestamp_micros()
}

fn ref_id<I: Copy + Into<i64>>(r: &Option<salesloft_model::Ref<I>>) -> Option<i64> {
    r.as_ref().map(|r| r.id.into())
}

impl Mapping for Person {
    const TABLE: Table = Table {
        name: "people",
        kind: None,
        columns: &[
            "email",
            "first_name",
            "last_name",
            "title",
            "account_id",
            "owner_user_id",
            "do_not_contact",
            "crm_id",
        ],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            (&self.email_address).into(),
            (&self.first_name).into(),
            (&self.last_name).into(),
            (&self.title).into(),
            ref_id(&self.account).into(),
            ref_id(&self.owner).into(),
            self.do_not_contact.into(),
            (&self.crm_id).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for Account {
    const TABLE: Table = Table {
        name: "accounts",
        kind: None,
        columns: &["name", "domain", "owner_user_id", "archived_at_us"],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            (&self.name).into(),
            (&self.domain).into(),
            ref_id(&self.owner).into(),
            self.archived_at.as_ref().map(us).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for User {
    const TABLE: Table = Table {
        name: "users",
        kind: None,
        columns: &["guid", "email", "name", "active", "role_id"],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            (&self.guid).into(),
            (&self.email).into(),
            (&self.name).into(),
            self.active.into(),
            Val::Text(self.role.as_ref().map(|r| r.id.0.clone())),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for Cadence {
    const TABLE: Table = Table {
        name: "cadences",
        kind: None,
        columns: &[
            "name",
            "owner_user_id",
            "team_cadence",
            "shared",
            "archived_at_us",
        ],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            (&self.name).into(),
            ref_id(&self.owner).into(),
            self.team_cadence.into(),
            self.shared.into(),
            self.archived_at.as_ref().map(us).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for Step {
    const TABLE: Table = Table {
        name: "steps",
        kind: None,
        columns: &["cadence_id", "step_type", "day", "step_number"],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            ref_id(&self.cadence).unwrap_or(0).into(),
            (&self.step_type).into(),
            self.day.map(i64::from).into(),
            self.step_number.map(i64::from).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for CadenceMembership {
    const TABLE: Table = Table {
        name: "cadence_memberships",
        kind: None,
        columns: &[
            "person_id",
            "cadence_id",
            "user_id",
            "current_state",
            "currently_on_cadence",
            "added_at_us",
        ],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            ref_id(&self.person).unwrap_or(0).into(),
            ref_id(&self.cadence).unwrap_or(0).into(),
            ref_id(&self.user).unwrap_or(0).into(),
            (&self.current_state).into(),
            self.currently_on_cadence.into(),
            self.added_at.as_ref().map(us).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for Note {
    const TABLE: Table = Table {
        name: "notes",
        kind: None,
        columns: &[
            "associated_type",
            "associated_id",
            "user_id",
            "call_id",
            "content",
        ],
        fillers: &[],
    };
    fn values(&self) -> Vec<Val> {
        vec![
            (&self.associated_type).into(),
            self.associated_with.as_ref().map(|r| r.id).into(),
            ref_id(&self.user).into(),
            ref_id(&self.call).into(),
            (&self.content).into(),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

/// The `NOT NULL` activity columns without a default, filled on a tombstone.
const ACTIVITY_FILLERS: &[(&str, &str)] = &[("occurred_at_us", "0")];

const ACTIVITY_COLUMNS: &[&str] = &[
    "user_id",
    "person_id",
    "cadence_id",
    "step_id",
    "occurred_at_us",
    "status",
    "opened",
    "clicked",
    "replied",
    "bounced",
    "duration_s",
    "sent",
];

impl Mapping for Email {
    const TABLE: Table = Table {
        name: "activities",
        kind: Some("email"),
        columns: ACTIVITY_COLUMNS,
        fillers: ACTIVITY_FILLERS,
    };
    fn values(&self) -> Vec<Val> {
        let occurred = self.sent_at.unwrap_or(self.created_at);
        let counts = self.counts.clone().unwrap_or_default();
        let positive = |v: Option<i64>| Val::Int(Some(i64::from(v.unwrap_or(0) > 0)));
        vec![
            ref_id(&self.user).unwrap_or(0).into(),
            ref_id(&self.recipient).unwrap_or(0).into(),
            ref_id(&self.cadence).unwrap_or(0).into(),
            ref_id(&self.step).unwrap_or(0).into(),
            us(&occurred).into(),
            (&self.status).into(),
            positive(counts.views),
            positive(counts.clicks),
            positive(counts.replies),
            self.bounced.into(),
            Val::Int(None),
            Val::Int(Some(i64::from(self.sent_at.is_some()))),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

impl Mapping for Call {
    const TABLE: Table = Table {
        name: "activities",
        kind: Some("call"),
        columns: ACTIVITY_COLUMNS,
        fillers: ACTIVITY_FILLERS,
    };
    fn values(&self) -> Vec<Val> {
        vec![
            ref_id(&self.user).unwrap_or(0).into(),
            ref_id(&self.called_person).unwrap_or(0).into(),
            ref_id(&self.cadence).unwrap_or(0).into(),
            ref_id(&self.step).unwrap_or(0).into(),
            us(&self.created_at).into(),
            (&self.disposition).into(),
            Val::Int(Some(0)),
            Val::Int(Some(0)),
            Val::Int(Some(0)),
            Val::Int(Some(0)),
            self.duration.into(),
            Val::Int(Some(0)),
        ]
    }
    fn created_at(&self) -> Option<&Timestamp> {
        Some(&self.created_at)
    }
}

/// The typed columns of `objects`, the one table of every collection kept beyond the first
/// nine (told apart by `kind`, the resource's name); a kind fills those it has.
const OBJECT_COLUMNS: &[&str] = &[
    "name",
    "state",
    "user_id",
    "person_id",
    "account_id",
    "cadence_id",
    "occurred_at_us",
];

/// An [`OBJECT_COLUMNS`] row's values, by name.
#[derive(Default)]
struct ObjectValues {
    name: Option<String>,
    state: Option<String>,
    user_id: Option<i64>,
    person_id: Option<i64>,
    account_id: Option<i64>,
    cadence_id: Option<i64>,
    occurred_at_us: Option<i64>,
}

impl ObjectValues {
    fn into_values(self) -> Vec<Val> {
        vec![
            Val::Text(self.name),
            Val::Text(self.state),
            self.user_id.into(),
            self.person_id.into(),
            self.account_id.into(),
            self.cadence_id.into(),
            self.occurred_at_us.into(),
        ]
    }
}

/// Maps a model kept in `objects` under `kind`: `$values` turns a record into its
/// [`ObjectValues`].
macro_rules! object_mapping {
    ($($ty:ty => $kind:literal, |$r:ident| $values:expr;)*) => {$(
        impl Mapping for $ty {
            const TABLE: Table = Table {
                name: "objects",
                kind: Some($kind),
                columns: OBJECT_COLUMNS,
                fillers: &[],
            };
            fn values(&self) -> Vec<Val> {
                let $r = self;
                let values: ObjectValues = $values;
                values.into_values()
            }
            fn created_at(&self) -> Option<&Timestamp> {
                Some(&self.created_at)
            }
        }
    )*};
}

object_mapping! {
    AccountStage => "account_stages", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    AccountTier => "account_tiers", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    PersonStage => "person_stages", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    CallDisposition => "call_dispositions", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    CallSentiment => "call_sentiments", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    CustomField => "custom_fields", |r| ObjectValues {
        name: r.name.clone(),
        state: r.field_type.clone(),
        ..Default::default()
    };
    Success => "successes", |r| ObjectValues {
        user_id: ref_id(&r.user),
        person_id: ref_id(&r.person),
        cadence_id: ref_id(&r.latest_cadence),
        occurred_at_us: Some(us(r.succeeded_at.as_ref().unwrap_or(&r.created_at))),
        ..Default::default()
    };
    CallDataRecord => "call_data_records", |r| ObjectValues {
        name: r.direction.clone(),
        state: r.status.clone(),
        user_id: ref_id(&r.user),
        person_id: ref_id(&r.called_person),
        occurred_at_us: Some(us(&r.created_at)),
        ..Default::default()
    };
    CrmActivity => "crm_activities", |r| ObjectValues {
        name: r.subject.clone(),
        state: r.activity_type.clone(),
        user_id: ref_id(&r.user),
        person_id: ref_id(&r.person),
        occurred_at_us: Some(us(&r.created_at)),
        ..Default::default()
    };
    Action => "actions", |r| ObjectValues {
        name: r.action_type.clone(),
        state: r.status.clone(),
        user_id: ref_id(&r.user),
        person_id: ref_id(&r.person),
        cadence_id: ref_id(&r.cadence),
        // A completed action happened when it was completed (SalesLoft gives no
        // `completed_at`: its `updated_at`); any other is due on `due_on`.
        occurred_at_us: if r.status.as_deref() == Some("completed") {
            Some(us(&r.updated_at))
        } else {
            r.due_on.as_ref().map(us)
        },
        ..Default::default()
    };
    Task => "tasks", |r| ObjectValues {
        name: r.subject.clone(),
        state: r.current_state.clone(),
        user_id: ref_id(&r.user),
        person_id: ref_id(&r.person),
        // When it was completed: the daily engagement counts tasks by it.
        occurred_at_us: r.completed_at.as_ref().map(us),
        ..Default::default()
    };
    ActivityHistory => "activity_histories", |r| ObjectValues {
        name: r.activity_type.clone(),
        person_id: r.resource_id,
        occurred_at_us: r.occurred_at.as_ref().map(us),
        ..Default::default()
    };
    EmailTemplate => "email_templates", |r| ObjectValues {
        name: r.title.clone(),
        state: r.archived_at.is_some().then(|| "archived".to_owned()),
        user_id: ref_id(&r.template_owner),
        occurred_at_us: r.last_used_at.as_ref().map(us),
        ..Default::default()
    };
    Import => "imports", |r| ObjectValues { name: r.name.clone(), ..Default::default() };
    CrmUser => "crm_users", |r| ObjectValues {
        name: r.crm_id.clone(),
        user_id: ref_id(&r.user),
        ..Default::default()
    };
    CrmActivityField => "crm_activity_fields", |r| ObjectValues {
        name: r.title.clone(),
        state: r.source.clone(),
        ..Default::default()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_name_and_column_is_a_plain_identifier() {
        let tables = [
            Person::TABLE,
            Account::TABLE,
            User::TABLE,
            Cadence::TABLE,
            Step::TABLE,
            CadenceMembership::TABLE,
            Note::TABLE,
            Email::TABLE,
            Call::TABLE,
            AccountStage::TABLE,
            AccountTier::TABLE,
            PersonStage::TABLE,
            CallDisposition::TABLE,
            CallSentiment::TABLE,
            CustomField::TABLE,
            Success::TABLE,
            CallDataRecord::TABLE,
            CrmActivity::TABLE,
            Action::TABLE,
            Task::TABLE,
            ActivityHistory::TABLE,
            EmailTemplate::TABLE,
            Import::TABLE,
            CrmUser::TABLE,
            CrmActivityField::TABLE,
        ];
        let plain =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        for t in tables {
            assert!(plain(t.name), "{}", t.name);
            assert!(t.kind.is_none_or(plain), "{:?}", t.kind);
            assert!(t.columns.iter().all(|c| plain(c)), "{:?}", t.columns);
        }
    }
}
