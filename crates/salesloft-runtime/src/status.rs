//! [`StatusSnapshot`]: one look at the integration's state in the database (the streams with
//! their record counts and drift, jobs, credential holds, the webhook inbox), gathered by one
//! task per process on an interval ([`StatusWatch`]) and read by the status page, `/metrics`
//! and `salesloft status`: a scrape or a page view never counts every table itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use salesloft_client::CredentialHold;
use salesloft_services::{StatusReport, Stream, StreamStatus};
use salesloft_storage::{JobRecord, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use salesloft_webhooks::EventType;

/// The label of a delivery's type: documented types by name, anything else as `other` (a
/// sender cannot grow a metric without bound).
pub fn event_type_label(event_type: Option<&[u8]>) -> &'static str {
    event_type
        .and_then(|t| std::str::from_utf8(t).ok())
        .and_then(EventType::parse)
        .map_or("other", EventType::as_str)
}

/// How often a process gathers its snapshot (the status page refreshes as often).
pub const STATUS_EVERY: Duration = Duration::from_secs(10);

/// Dead jobs a snapshot lists (the newest).
const DEAD_JOBS: u32 = 20;

/// The integration's state as the database held it at `taken_at_ms`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StatusSnapshot {
    /// The team's slug (the `team` label of its `/metrics` series).
    pub team: String,
    /// When it was gathered (ms since the epoch).
    pub taken_at_ms: i64,
    /// Every stream, in registry order: records, freshness, cursor, drift, quarantine, error.
    pub streams: Vec<StreamStatus>,
    /// When a webhook of each stream was last applied (ms since the epoch), by stream name.
    pub last_webhook_at_ms: BTreeMap<&'static str, i64>,
    /// Jobs by kind and state: `(kind, state, count)`.
    pub jobs: Vec<(String, String, i64)>,
    /// The newest dead jobs, with their last errors.
    pub dead_jobs: Vec<JobRecord>,
    /// Credentials SalesLoft rejected, for which scheduled work waits.
    pub credential_holds: Vec<CredentialHold>,
    /// Deliveries kept in the webhook inbox, and their bodies' bytes.
    pub inbox: (i64, i64),
    /// Deliveries by event type and status: `(event_type, status, count)`.
    pub webhook_events: Vec<(String, String, i64)>,
}

impl StatusSnapshot {
    /// Read it from `store` now.
    pub async fn gather(store: &Store) -> Result<Self, salesloft_services::Error> {
        let streams = StatusReport::of_store(store.clone()).streams().await?;
        let mut last_webhook_at_ms: BTreeMap<&'static str, i64> = BTreeMap::new();
        for (event_type, at) in store.webhooks_last_processed().await? {
            if let Some((stream, _)) = Stream::of_event(&event_type) {
                let e = last_webhook_at_ms.entry(stream.name()).or_insert(at);
                *e = (*e).max(at);
            }
        }
        let team = store
            .team_by_id(store.team_id())
            .await?
            .map_or_else(|| store.team_id().to_string(), |t| t.slug.to_string());
        Ok(Self {
            team,
            taken_at_ms: store.now_ms(),
            streams,
            last_webhook_at_ms,
            jobs: store.job_counts_by_kind().await?,
            dead_jobs: store.jobs(Some("dead"), None, DEAD_JOBS).await?,
            credential_holds: store.credential_holds().await?,
            inbox: store.webhook_inbox_size().await?,
            webhook_events: store.webhook_counts().await?,
        })
    }

    /// Set the process's gauges from it (`salesloft_jobs`, `salesloft_records`,
    /// `salesloft_sync_lag_seconds` as of `now_ms`, the inbox, the webhook events, the
    /// credential holds, and `salesloft_status_age_seconds`, how old the snapshot is), each
    /// labelled with its team's slug (`team="default"` for a deployment of one team).
    pub fn export_gauges(&self, now_ms: i64) {
        let seconds = |ms: i64| ms.max(0) as f64 / 1_000.0;
        let team = self.team.clone();
        metrics::gauge!("salesloft_status_age_seconds", "team" => team.clone())
            .set(seconds(now_ms.saturating_sub(self.taken_at_ms)));
        for (kind, state, n) in &self.jobs {
            metrics::gauge!("salesloft_jobs", "team" => team.clone(), "kind" => kind.clone(), "state" => state.clone())
                .set(*n as f64);
        }
        metrics::gauge!("salesloft_credentials_rejected", "team" => team.clone())
            .set(self.credential_holds.len() as f64);
        let since = self.credential_holds.iter().map(|h| h.since_ms).min();
        metrics::gauge!("salesloft_credentials_rejected_since_seconds", "team" => team.clone())
            .set(since.map_or(0.0, seconds));
        metrics::gauge!("salesloft_webhook_inbox_rows", "team" => team.clone())
            .set(self.inbox.0 as f64);
        metrics::gauge!("salesloft_webhook_inbox_bytes", "team" => team.clone())
            .set(self.inbox.1 as f64);
        for (event_type, status, n) in &self.webhook_events {
            let label = event_type_label(Some(event_type.as_bytes()));
            metrics::gauge!("salesloft_webhook_events", "team" => team.clone(), "event_type" => label, "status" => status.clone())
                .set(*n as f64);
        }
        for s in &self.streams {
            let stream = s.stream.name();
            metrics::gauge!("salesloft_records", "team" => team.clone(), "stream" => stream)
                .set(s.records as f64);
            if let Some(at) = s.last_success_at_ms {
                metrics::gauge!("salesloft_sync_lag_seconds", "team" => team.clone(), "stream" => stream)
                    .set(seconds(now_ms.saturating_sub(at)));
            }
        }
    }
}

/// The latest [`StatusSnapshot`] of a store, gathered by one task every [`STATUS_EVERY`]
/// until its stop token is cancelled; a failed gathering keeps the last snapshot (whose age
/// `/metrics` exports). Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusWatch {
    store: Store,
    latest: watch::Receiver<Option<Arc<StatusSnapshot>>>,
}

impl StatusWatch {
    /// Gather `store`'s snapshot now and every `every` until `stop`.
    pub fn spawn(store: Store, every: Duration, stop: CancellationToken) -> Self {
        let (tx, latest) = watch::channel(None);
        let gathering = store.clone();
        tokio::spawn(async move {
            loop {
                match StatusSnapshot::gather(&gathering).await {
                    Ok(snapshot) => {
                        tx.send_replace(Some(Arc::new(snapshot)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %salesloft_services::error_chain(&e), "gathering the status snapshot failed; keeping the last one")
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        });
        Self { store, latest }
    }

    /// The latest snapshot, or one gathered now when none has been yet (a process's first
    /// moments).
    pub async fn snapshot(&self) -> Result<Arc<StatusSnapshot>, salesloft_services::Error> {
        let latest = self.latest.borrow().clone();
        match latest {
            Some(snapshot) => Ok(snapshot),
            None => Ok(Arc::new(StatusSnapshot::gather(&self.store).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_types_share_one_label() {
        assert_eq!(event_type_label(Some(b"person_updated")), "person_updated");
        assert_eq!(event_type_label(Some(b"made_up_123")), "other");
        assert_eq!(event_type_label(Some(&[0xff])), "other");
        assert_eq!(event_type_label(None), "other");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_task_gathers_and_readers_share_its_snapshot() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let stop = CancellationToken::new();
        let watch = StatusWatch::spawn(store.clone(), Duration::from_secs(3600), stop.clone());
        let first = watch.snapshot().await.unwrap();
        assert_eq!(first.streams.len(), Stream::all().len());
        // Readers between two gatherings get the same snapshot, not a fresh read.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while watch.latest.borrow().is_none() {
            assert!(std::time::Instant::now() < deadline, "never gathered");
            tokio::task::yield_now().await;
        }
        let a = watch.snapshot().await.unwrap();
        let b = watch.snapshot().await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one snapshot between gatherings");
        stop.cancel();
        store.close().await;
    }
}
