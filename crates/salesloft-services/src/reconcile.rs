//! [`Reconciler`]: deletes in SalesLoft that no webhook reported. The walk never sees a delete
//! (a deleted record just stops being listed), so a pass asks SalesLoft which of the local
//! copy's ids still exist, 100 per request at cost 1 (`ids[]` filters), and soft-deletes the
//! rest: only after the whole pass succeeded, and never more than a set fraction of the stream
//! in one pass unless forced (a guard against a listing that came back short). It first asks
//! the same of the records deleted here in the last 30 days, and restores those SalesLoft
//! still lists.

use std::collections::HashSet;

use salesloft_client::{ListResource, Received, Record, page_cost};
use salesloft_storage::Entity;
use serde::Serialize;

use crate::context::Context;
use crate::error::Result;
use crate::report::ReportError;

/// Ids asked about per request: the largest page.
const IDS_PER_REQUEST: usize = 100;

/// How a reconcile pass may act.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconcileOptions {
    /// The largest fraction of a stream's live records one pass may delete (default 0.1);
    /// a pass that finds more missing deletes nothing and says why.
    pub max_fraction: f64,
    /// Delete whatever is missing, however much.
    pub force: bool,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            max_fraction: 0.1,
            force: false,
        }
    }
}

/// What one stream's pass found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReconcileReport {
    /// The stream.
    pub stream: String,
    /// Live records in the local copy when the pass began.
    pub local: u64,
    /// Of those, how many SalesLoft no longer has.
    pub missing: u64,
    /// How many were soft-deleted (all the missing ones, or none when refused).
    pub deleted: u64,
    /// Records deleted here (in the last 30 days) that SalesLoft still lists: restored.
    pub restored: u64,
    /// Requests sent.
    pub requests: u64,
    /// Their API cost.
    pub cost: u64,
    /// Why nothing was deleted although records were missing, if so.
    pub refused: Option<String>,
    /// Why the pass stopped early (nothing was deleted then), if it did.
    pub error: Option<ReportError>,
    /// Why the stream was not asked about at all, if so: its list takes no `ids[]` filter
    /// (a full list sees its deletes by difference instead).
    pub skipped: Option<String>,
}

/// What one `ids[]` list answered: the records SalesLoft still has among those asked about.
pub(crate) struct Listed<T> {
    /// When the request was sent (by the context's clock).
    pub asked_at_ms: i64,
    /// The records listed, readable ones.
    pub items: Vec<Received<T>>,
    /// The ids listed (readable or not).
    pub present: HashSet<i64>,
}

/// Ask SalesLoft which of `ids` (at most 100) still exist, with one `ids[]` list at cost 1.
/// An answer naming a record not asked for means the filter was ignored: an error, since it
/// cannot show what is missing.
pub(crate) async fn list_by_ids<R: ListResource>(
    ctx: &Context,
    ids: &[i64],
) -> Result<Listed<R::Item>> {
    let asked_at_ms = ctx.now_ms();
    let page = ctx
        .client
        .list::<R>()
        .filter_array("ids", ids.iter())
        .per_page(IDS_PER_REQUEST as u32)
        .page(1)
        .send_received()
        .await?;
    let asked: HashSet<i64> = ids.iter().copied().collect();
    let present: HashSet<i64> = page
        .items
        .iter()
        .map(|r| r.record.record_id())
        .chain(page.rejected.iter().filter_map(|r| r.id))
        .collect();
    if let Some(stranger) = present.iter().find(|id| !asked.contains(id)) {
        return Err(crate::error::Error::Unreliable(format!(
            "{} answered an ids[] filter with record {stranger} it was not asked for: the \
             filter was not applied, so its answer cannot show what is missing",
            R::RESOURCE.path
        )));
    }
    Ok(Listed {
        asked_at_ms,
        items: page.items,
        present,
    })
}

/// How far back a pass looks for records deleted here that SalesLoft may still have (a delete
/// delivery SalesLoft did not mean, an earlier pass that saw a short answer).
const RESTORE_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

/// One pass over resource `R` (see the module docs).
pub(crate) async fn reconcile<R: ListResource>(
    ctx: &Context,
    options: ReconcileOptions,
    report: &mut ReconcileReport,
) -> Result<()>
where
    R::Item: Entity,
{
    if !R::RESOURCE.ids_filter {
        let deletes = if R::RESOURCE.walkable() {
            "deletes of its records cannot be seen (SalesLoft announces none either)"
        } else {
            "deletes are seen by difference on each full listing"
        };
        report.skipped = Some(format!(
            "{} takes no ids[] filter: {deletes}",
            R::RESOURCE.path
        ));
        return Ok(());
    }
    restore::<R>(ctx, report).await?;
    let ids = ctx.store.live_ids::<R::Item>().await?;
    report.local = ids.len() as u64;
    let mut missing = Vec::new();
    for chunk in ids.chunks(IDS_PER_REQUEST) {
        let listed = list_by_ids::<R>(ctx, chunk).await?;
        report.requests += 1;
        report.cost += u64::from(page_cost(1));
        missing.extend(
            chunk
                .iter()
                .copied()
                .filter(|id| !listed.present.contains(id)),
        );
    }
    report.missing = missing.len() as u64;
    if missing.is_empty() {
        return Ok(());
    }
    let limit = (options.max_fraction.clamp(0.0, 1.0) * ids.len() as f64).floor() as usize;
    if missing.len() > limit && !options.force {
        let reason = format!(
            "{} of {} records are missing, more than the {:.0}% one pass may delete: a listing that \
             came back short would look like this; check, then run again with --force",
            missing.len(),
            ids.len(),
            options.max_fraction * 100.0
        );
        tracing::warn!(stream = %report.stream, missing = missing.len(), local = ids.len(), "reconcile refused to delete");
        report.refused = Some(reason);
        return Ok(());
    }
    for id in missing {
        if ctx.store.soft_delete::<R::Item>(id, None).await? {
            report.deleted += 1;
        }
    }
    Ok(())
}

/// Restore the records deleted here in the last 30 days that SalesLoft still lists: a delete
/// is undone by the next list that shows the record alive.
async fn restore<R: ListResource>(ctx: &Context, report: &mut ReconcileReport) -> Result<()>
where
    R::Item: Entity,
{
    let since = ctx.now_ms().saturating_sub(RESTORE_WINDOW_MS);
    let deleted = ctx.store.deleted_ids_since::<R::Item>(since).await?;
    for chunk in deleted.chunks(IDS_PER_REQUEST) {
        let listed = list_by_ids::<R>(ctx, chunk).await?;
        report.requests += 1;
        report.cost += u64::from(page_cost(1));
        if listed.items.is_empty() {
            continue;
        }
        let rows =
            salesloft_storage::PreparedRows::received(&listed.items).listed_at(listed.asked_at_ms);
        let stats = ctx.store.upsert_prepared(rows).await?;
        report.restored += stats.updated;
    }
    if report.restored > 0 {
        tracing::info!(stream = %report.stream, restored = report.restored, "restored records deleted here that SalesLoft still lists");
    }
    Ok(())
}
