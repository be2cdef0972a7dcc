//! Applying one record SalesLoft pushed (a webhook body) to the local copy, with the same
//! monotonic upsert the sync uses: a stale delivery never overwrites a newer row, and a
//! deletion keeps the deleted version so only a strictly newer one revives the row.
//!
//! A body is only applied as a record of its event type's resource if it has that resource's
//! shape ([`Resource::marker_fields`](salesloft_client::Resource)): SalesLoft signs the body,
//! not the event type header, so a captured body replayed under another type is refused. A
//! `*_deleted` body is a hint, never proof: one `ids[]` list (cost 1) asks SalesLoft whether the
//! record still exists, and only its absence leaves a tombstone; a record SalesLoft still lists
//! is kept live (and restored, had it been deleted here before).

use salesloft_client::wire::parse_received;
use salesloft_client::{ListResource, Record, Resource};
use salesloft_storage::{Entity, PreparedRows};
use serde::Serialize;

use crate::context::Context;
use crate::error::Result;
use crate::reconcile::list_by_ids;

/// What applying a pushed record did to the local copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Applied {
    /// The record was new here.
    Inserted,
    /// It replaced an older version.
    Updated,
    /// The local copy had this version or a newer one already (a duplicate or a late,
    /// out-of-order delivery): nothing changed.
    Stale,
    /// A live row was marked deleted (SalesLoft no longer lists the record).
    Deleted,
    /// No live row: deleted here already, or never seen (a tombstone keeps the deleted
    /// version, so a late delivery of an older state does not bring it back).
    AlreadyDeleted,
    /// The delivery said the record was deleted, but SalesLoft still lists it: it stays live
    /// here with the state SalesLoft listed (restored, if it had been deleted here).
    NotDeleted,
    /// The body is not a record of this stream; the reason names the field at fault (never
    /// a value). It was quarantined with the stream's other unreadable items.
    Rejected(String),
}

impl Applied {
    /// A short name for logs and metrics (`inserted`, `updated`, `stale`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Applied::Inserted => "inserted",
            Applied::Updated => "updated",
            Applied::Stale => "stale",
            Applied::Deleted => "deleted",
            Applied::AlreadyDeleted => "already_deleted",
            Applied::NotDeleted => "not_deleted",
            Applied::Rejected(_) => "rejected",
        }
    }
}

/// Why `body` is not a record of `resource`, if it is not: not a JSON object, or none of the
/// fields only that resource's records carry. Names fields, never values.
pub(crate) fn shape_mismatch(resource: &Resource, body: &[u8]) -> Option<String> {
    let keys = match serde_json::from_slice::<
        std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    >(body)
    {
        Ok(keys) => keys,
        Err(_) => return Some("the body is not a JSON object".into()),
    };
    if resource.has_marker(keys.keys().map(String::as_str)) {
        return None;
    }
    Some(format!(
        "the body is not a {} record: it has none of the fields its records carry ({})",
        resource.name,
        resource.marker_fields.join(", ")
    ))
}

/// Apply `body`, one record of `R` in its new state (or, when `deleted`, its last state), to
/// the store of `ctx`.
pub(crate) async fn apply<R: ListResource>(
    ctx: &Context,
    body: &[u8],
    deleted: bool,
) -> Result<Applied>
where
    R::Item: Entity,
{
    let stream = R::RESOURCE.name;
    if let Some(reason) = shape_mismatch(R::RESOURCE, body) {
        return Ok(Applied::Rejected(reason));
    }
    let received = match parse_received::<R::Item>(body) {
        Ok(received) => received,
        Err(rejected) => {
            // A deletion needs the id only.
            if let (true, Some(id)) = (deleted, rejected.id) {
                return confirm_deleted::<R>(ctx, id, None).await;
            }
            let reason = rejected.error.clone();
            ctx.store
                .quarantine(stream, std::slice::from_ref(&rejected))
                .await?;
            return Ok(Applied::Rejected(reason));
        }
    };
    if !received.drifted.is_empty() {
        tracing::warn!(
            stream,
            fields = ?received.drifted,
            "a pushed record has fields of a type the model does not read; stored without them"
        );
    }
    if deleted {
        let id = received.record_id();
        let version = received.updated_at().timestamp_micros();
        return confirm_deleted::<R>(ctx, id, Some(version)).await;
    }
    let rows = PreparedRows::received(std::slice::from_ref(&received), ctx.team.time_zone);
    let stats = ctx.store.upsert_prepared(rows).await?;
    Ok(if stats.inserted > 0 {
        Applied::Inserted
    } else if stats.updated > 0 {
        Applied::Updated
    } else {
        Applied::Stale
    })
}

/// A delivery said record `id` of `R` was deleted (its last version `version_us`, when
/// known): ask SalesLoft with one `ids[]` list. Absent, it is marked deleted; listed, it is
/// kept live with the listed state (restored if it was deleted here before the list was
/// asked for).
async fn confirm_deleted<R: ListResource>(
    ctx: &Context,
    id: i64,
    version_us: Option<i64>,
) -> Result<Applied>
where
    R::Item: Entity,
{
    let listed = list_by_ids::<R>(ctx, &[id]).await?;
    if !listed.present.contains(&id) {
        return Ok(if ctx.store.soft_delete::<R::Item>(id, version_us).await? {
            Applied::Deleted
        } else {
            Applied::AlreadyDeleted
        });
    }
    tracing::info!(
        stream = R::RESOURCE.name,
        id,
        "a delete delivery names a record SalesLoft still lists: kept live"
    );
    let rows =
        PreparedRows::received(&listed.items, ctx.team.time_zone).listed_at(listed.asked_at_ms);
    ctx.store.upsert_prepared(rows).await?;
    Ok(Applied::NotDeleted)
}

/// A record kept in the local copy, read back with the model's tolerance for drifted fields.
pub(crate) fn stored_record<T: serde::de::DeserializeOwned>(
    stream: &str,
    id: i64,
    raw: &str,
) -> Result<T> {
    parse_received::<T>(raw.as_bytes())
        .map(|r| r.record)
        .map_err(|_| crate::error::Error::Corrupt {
            stream: stream.to_owned(),
            id,
        })
}
