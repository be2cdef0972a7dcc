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
                let hint = DeleteHint {
                    id,
                    version_us: None,
                };
                return first(confirm_deleted::<R>(ctx, &[hint]).await?);
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
        let hint = DeleteHint {
            id: received.record_id(),
            version_us: Some(received.updated_at().timestamp_micros()),
        };
        return first(confirm_deleted::<R>(ctx, &[hint]).await?);
    }
    let rows = PreparedRows::received(std::slice::from_ref(&received));
    let stats = ctx.store.upsert_prepared(rows).await?;
    Ok(if stats.inserted > 0 {
        Applied::Inserted
    } else if stats.updated > 0 {
        Applied::Updated
    } else {
        Applied::Stale
    })
}

/// The one answer of a one-hint confirmation.
fn first(mut applied: Vec<Applied>) -> Result<Applied> {
    applied
        .pop()
        .ok_or_else(|| crate::error::Error::Unreliable("a delete hint went unanswered".into()))
}

/// What a `*_deleted` delivery says: the record it names, and the version deleted when the
/// body has one. A hint, never proof: [`Stream::confirm_deleted`](crate::Stream) asks
/// SalesLoft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteHint {
    /// The record's id.
    pub id: i64,
    /// Its `updated_at` in µs, when the body has one.
    pub version_us: Option<i64>,
}

/// Read `body` as a delete delivery of `R`: its hint, or why it is not one of `R`'s records.
pub(crate) fn delete_hint<R: ListResource>(body: &[u8]) -> std::result::Result<DeleteHint, String>
where
    R::Item: Entity,
{
    if let Some(reason) = shape_mismatch(R::RESOURCE, body) {
        return Err(reason);
    }
    match parse_received::<R::Item>(body) {
        Ok(received) => Ok(DeleteHint {
            id: received.record_id(),
            version_us: Some(received.updated_at().timestamp_micros()),
        }),
        Err(rejected) => rejected
            .id
            .map(|id| DeleteHint {
                id,
                version_us: None,
            })
            .ok_or(rejected.error),
    }
}

/// Deliveries said these records of `R` were deleted: per hint, in order, what became of it.
/// A record with no live row here is tombstoned at once (nothing live is lost, and a list that
/// shows it alive later restores it); the others are asked about, 100 per `ids[]` list (cost
/// 1 each): absent, marked deleted; listed, kept live with the listed state (restored if it
/// was deleted here before the list was asked for).
pub(crate) async fn confirm_deleted<R: ListResource>(
    ctx: &Context,
    hints: &[DeleteHint],
) -> Result<Vec<Applied>>
where
    R::Item: Entity,
{
    let ids: Vec<i64> = hints.iter().map(|h| h.id).collect();
    let live = ctx.store.live_among::<R::Item>(&ids).await?;
    let asked: Vec<i64> = {
        let mut asked: Vec<i64> = ids.iter().copied().filter(|id| live.contains(id)).collect();
        asked.sort_unstable();
        asked.dedup();
        asked
    };
    let mut listed = std::collections::HashSet::new();
    for chunk in asked.chunks(100) {
        let answer = list_by_ids::<R>(ctx, chunk).await?;
        if !answer.items.is_empty() {
            tracing::info!(
                stream = R::RESOURCE.name,
                records = answer.items.len(),
                "delete deliveries name records SalesLoft still lists: kept live"
            );
            let rows = PreparedRows::received(&answer.items).listed_at(answer.asked_at_ms);
            ctx.store.upsert_prepared(rows).await?;
        }
        listed.extend(answer.present);
    }
    let mut out = Vec::with_capacity(hints.len());
    for hint in hints {
        out.push(if listed.contains(&hint.id) {
            Applied::NotDeleted
        } else if ctx
            .store
            .soft_delete::<R::Item>(hint.id, hint.version_us)
            .await?
        {
            Applied::Deleted
        } else {
            Applied::AlreadyDeleted
        });
    }
    Ok(out)
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
