//! [`StatusReport`]: where each stream of the local copy stands, for people and dashboards.

use std::time::Duration;

use std::sync::Arc;

use salesloft_client::{Timestamp, WalkCursor};
use salesloft_storage::Store;
use serde::Serialize;

use crate::context::{Clock, Context, SystemClock};
use crate::error::Result;
use crate::streams::Stream;

/// One stream's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamStatus {
    /// The stream.
    pub stream: Stream,
    /// Records in the local copy (soft-deleted ones left out).
    pub records: i64,
    /// When a run last finished without error (ms since the epoch).
    pub last_success_at_ms: Option<i64>,
    /// How long ago that was: how fresh the local copy of this stream is. `None` before the
    /// first success.
    pub freshness: Option<Duration>,
    /// The newest SalesLoft `updated_at` the local copy has read up to (UTC).
    pub cursor_at: Option<Timestamp>,
    /// Whether the first full read (the backfill) has finished.
    pub backfill_done: bool,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
    /// Live records stored with fields of a type the models do not read.
    pub drifted: i64,
    /// Those fields' names with how many records each, most frequent first.
    pub drifted_fields: Vec<(String, i64)>,
    /// Items of the stream kept in the quarantine (not records the local copy can store).
    pub quarantined: i64,
}

/// Reads every stream's state from a store. It needs no SalesLoft credentials: only the store
/// and a clock.
#[derive(Debug, Clone)]
pub struct StatusReport {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl StatusReport {
    /// A report on `ctx`'s store, timed by its clock.
    pub fn new(ctx: &Context) -> Self {
        Self {
            store: ctx.store.clone(),
            clock: ctx.clock.clone(),
        }
    }

    /// A report on `store`, timed by the system clock (for tools that hold no client).
    pub fn of_store(store: Store) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Every stream, in registry order (streams never synced show no success and no cursor).
    pub async fn streams(&self) -> Result<Vec<StreamStatus>> {
        let store = &self.store;
        let states = store.sync_states().await?;
        let quarantine = store.quarantine_counts().await?;
        let now_ms = self.clock.now().timestamp_millis();
        let mut out = Vec::new();
        for stream in Stream::all() {
            let state = states.iter().find(|s| s.stream == stream.name());
            let cursor = match state {
                Some(s) => s.cursor::<WalkCursor>()?,
                None => None,
            };
            let last_success_at_ms = state.and_then(|s| s.last_success_at_ms);
            let (drifted, drifted_fields) = stream.drift(store).await?;
            out.push(StreamStatus {
                stream: *stream,
                records: stream.count_live(store).await?,
                last_success_at_ms,
                freshness: last_success_at_ms.map(|at| {
                    Duration::from_millis(u64::try_from(now_ms.saturating_sub(at)).unwrap_or(0))
                }),
                cursor_at: cursor.and_then(|c| c.updated_at()),
                backfill_done: state.is_some_and(|s| s.backfill_done),
                last_error: state.and_then(|s| s.last_error.clone()),
                drifted,
                drifted_fields,
                quarantined: quarantine
                    .iter()
                    .find(|(s, _)| s == stream.name())
                    .map_or(0, |(_, n)| *n),
            });
        }
        Ok(out)
    }
}
