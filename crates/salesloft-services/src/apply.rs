//! Applying one record SalesLoft pushed (a webhook body) to the local copy, with the same
//! monotonic upsert the sync uses: a stale delivery never overwrites a newer row, and a
//! deletion keeps the deleted version so only a strictly newer one revives the row.

use salesloft_client::wire::parse_received;
use salesloft_client::{ListResource, Record};
use salesloft_storage::{Entity, PreparedRows};
use serde::Serialize;

use crate::context::Context;
use crate::error::Result;

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
    /// A live row was marked deleted.
    Deleted,
    /// No live row: deleted here already, or never seen (a tombstone keeps the deleted
    /// version, so a late delivery of an older state does not bring it back).
    AlreadyDeleted,
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
            Applied::Rejected(_) => "rejected",
        }
    }
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
    let received = match parse_received::<R::Item>(body) {
        Ok(received) => received,
        Err(rejected) => {
            // A deletion needs the id only.
            if let (true, Some(id)) = (deleted, rejected.id) {
                return Ok(soft_delete::<R>(ctx, id, None).await?);
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
        return Ok(soft_delete::<R>(ctx, id, Some(version)).await?);
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

async fn soft_delete<R: ListResource>(
    ctx: &Context,
    id: i64,
    version_us: Option<i64>,
) -> salesloft_storage::Result<Applied>
where
    R::Item: Entity,
{
    Ok(if ctx.store.soft_delete::<R::Item>(id, version_us).await? {
        Applied::Deleted
    } else {
        Applied::AlreadyDeleted
    })
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
