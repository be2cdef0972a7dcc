//! [`Inbox`]: verify a delivery, store it durably with its processing job, answer.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use salesloft_storage::{Delivery, NewJob, Recorded, Store};
use tokio::sync::{mpsc, oneshot};

use crate::processor::PROCESS_KIND;
use crate::verify::{SignatureError, Verifier};

/// How an [`Inbox`] stores deliveries: the defaults, with a `with_*` setter per field
/// (`InboxConfig::default().with_queue("webhooks".into()).with_max_attempts(5)`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InboxConfig {
    /// The largest body accepted (SalesLoft's records are a few KiB); default 1 MiB.
    pub max_body_bytes: usize,
    /// The most deliveries stored in one transaction; default 256.
    pub max_batch: usize,
    /// Transactions in flight at once; default 2 (one commits while the next is written;
    /// SQLite's one writer takes them in turn).
    pub writers: usize,
    /// The queue processing jobs go to; default `default`.
    pub queue: String,
    /// Processing attempts before a delivery is kept as failed; default 10.
    pub max_attempts: i32,
    /// How long a delivery waits for the database before it is answered 503 (SalesLoft
    /// waits for an answer, and retries a failure); default 5 s. A delivery answered 503
    /// may still commit afterwards; its retry is then a duplicate, answered 2xx.
    pub store_timeout: std::time::Duration,
}

salesloft_model::with_setters!(InboxConfig {
    with_max_body_bytes => max_body_bytes: usize,
    with_max_batch => max_batch: usize,
    with_writers => writers: usize,
    with_queue => queue: String,
    with_max_attempts => max_attempts: i32,
    with_store_timeout => store_timeout: std::time::Duration,
});

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_batch: 256,
            writers: 2,
            queue: "default".into(),
            max_attempts: 10,
            store_timeout: std::time::Duration::from_secs(5),
        }
    }
}

/// A delivery the inbox took: answer 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Stored under this inbox id, with its processing job.
    Stored(i64),
    /// The same delivery (type and body) was stored before; nothing was added.
    Duplicate,
}

/// A delivery the inbox refused; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is larger than [`InboxConfig::max_body_bytes`] (answer 413).
    #[error("the body is {size} bytes, more than the {limit} accepted")]
    TooLarge {
        /// The body's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The signature is missing or wrong (answer 401).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// No `x-salesloft-event` header, or not text (answer 400).
    #[error("the x-salesloft-event header is missing or not text")]
    NoEventType,
    /// The database could not take the delivery (answer 503: SalesLoft retries).
    #[error("the database cannot store the delivery now")]
    Unavailable(#[source] StoreFailure),
}

/// Why the inbox could not store a delivery.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreFailure {
    /// The task that writes deliveries has stopped (the inbox is shutting down).
    #[error("the inbox writer has stopped")]
    WriterStopped,
    /// The database did not take the delivery in time.
    #[error("the database did not take the delivery within {0:?}")]
    TimedOut(std::time::Duration),
    /// Storing the batch the delivery was in failed (every delivery of it gets this error).
    #[error("storing the batch failed")]
    Storage(#[source] Arc<salesloft_storage::Error>),
}

impl Refusal {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::TooLarge { .. } => 413,
            Refusal::Signature(_) => 401,
            Refusal::NoEventType => 400,
            Refusal::Unavailable(_) => 503,
        }
    }
}

/// A verified delivery on its way to the writer.
struct Pending {
    event_type: String,
    body: Bytes,
    resource_id: Option<i64>,
    resource_updated_at_us: Option<i64>,
    answer: oneshot::Sender<Result<Receipt, StoreFailure>>,
}

/// Verifies deliveries and stores each durably, with its processing job, before answering.
/// Concurrent deliveries are committed together (one transaction for everything waiting), so
/// a burst costs a few commits, not one each. Cheap to clone; the writer stops when the last
/// clone is dropped, after storing what it was given.
#[derive(Clone)]
pub struct Inbox {
    verifier: Arc<RwLock<Arc<Verifier>>>,
    writer: mpsc::Sender<Pending>,
    max_body_bytes: usize,
    store_timeout: std::time::Duration,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("verifier", &self.verifier())
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Inbox {
    /// An inbox storing into `store`, accepting what `verifier` accepts. Spawns its writer on
    /// the current tokio runtime.
    pub fn new(store: Store, verifier: Verifier, config: InboxConfig) -> Self {
        let max_batch = config.max_batch.max(1);
        let (writer, requests) = mpsc::channel(max_batch.saturating_mul(4));
        let mut template = NewJob::new(PROCESS_KIND, serde_json::Value::Null);
        template.queue = config.queue;
        template.max_attempts = config.max_attempts;
        // Ahead of scheduled syncs: a delivery is what makes the copy fresh within seconds.
        template.priority = 10;
        tokio::spawn(write_deliveries(
            store,
            template,
            requests,
            max_batch,
            config.writers,
        ));
        Self {
            verifier: Arc::new(RwLock::new(Arc::new(verifier))),
            writer,
            max_body_bytes: config.max_body_bytes,
            store_timeout: config.store_timeout,
        }
    }

    /// The largest body it accepts ([`InboxConfig::max_body_bytes`]).
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The verifier in use.
    pub fn verifier(&self) -> Arc<Verifier> {
        match self.verifier.read() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Accept what `verifier` accepts from now on (tokens rotated, a subscription added).
    pub fn set_verifier(&self, verifier: Verifier) {
        let verifier = Arc::new(verifier);
        match self.verifier.write() {
            Ok(mut v) => *v = verifier,
            Err(poisoned) => *poisoned.into_inner() = verifier,
        }
    }

    /// Take one delivery as an HTTP handler has it (its headers and raw body) and say what to
    /// answer: 200 once stored (or a duplicate), else the refusal's status (401, 413, 400,
    /// 503). The status is the `http` crate's, which axum, hyper and most Rust servers share:
    ///
    /// ```no_run
    /// use axum::{Router, extract::State, http::{HeaderMap, StatusCode}, routing::post};
    /// use salesloft_webhooks::Inbox;
    ///
    /// async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: bytes::Bytes) -> StatusCode {
    ///     inbox.answer(&headers, body).await
    /// }
    /// # fn app(inbox: Inbox) -> Router {
    /// Router::new().route("/hooks/salesloft", post(receive)).with_state(inbox)
    /// # }
    /// ```
    pub async fn answer(&self, headers: &http::HeaderMap, body: Bytes) -> http::StatusCode {
        let header = |name: &str| headers.get(name).map(|v| v.as_bytes());
        let event = header("x-salesloft-event");
        match self
            .receive(event, header("x-salesloft-signature"), body)
            .await
        {
            Ok(_) => http::StatusCode::OK,
            Err(refusal) => http::StatusCode::from_u16(refusal.status())
                .unwrap_or(http::StatusCode::BAD_REQUEST),
        }
    }

    /// Take one delivery: its `x-salesloft-event` and `x-salesloft-signature` header values
    /// and its raw body. The signature is checked before anything reads the body; the answer
    /// comes once the delivery and its job are committed. A body that is not the JSON
    /// expected is stored all the same (the signature says SalesLoft sent it) and reported as
    /// failed by its processor; an event type nobody handles is stored and skipped.
    pub async fn receive(
        &self,
        event_type: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: Bytes,
    ) -> Result<Receipt, Refusal> {
        if body.len() > self.max_body_bytes {
            return Err(Refusal::TooLarge {
                size: body.len(),
                limit: self.max_body_bytes,
            });
        }
        self.verifier().verify(signature, &body)?;
        let event_type = event_type
            .and_then(|t| std::str::from_utf8(t).ok())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(Refusal::NoEventType)?;
        let (resource_id, resource_updated_at_us) = peek(&body);
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            event_type: event_type.to_owned(),
            body,
            resource_id,
            resource_updated_at_us,
            answer,
        };
        let stored = async {
            self.writer
                .send(pending)
                .await
                .map_err(|_| Refusal::Unavailable(StoreFailure::WriterStopped))?;
            match answered.await {
                Ok(Ok(receipt)) => Ok(receipt),
                Ok(Err(e)) => Err(Refusal::Unavailable(e)),
                Err(_) => Err(Refusal::Unavailable(StoreFailure::WriterStopped)),
            }
        };
        match tokio::time::timeout(self.store_timeout, stored).await {
            Ok(result) => result,
            Err(_) => Err(Refusal::Unavailable(StoreFailure::TimedOut(
                self.store_timeout,
            ))),
        }
    }
}

/// The record's id and `updated_at` (µs), when the body is an object that has them.
fn peek(body: &[u8]) -> (Option<i64>, Option<i64>) {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        updated_at: Option<serde_json::Value>,
    }
    let Ok(peek) = serde_json::from_slice::<Peek>(body) else {
        return (None, None);
    };
    let id = match &peek.id {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let updated_at = peek
        .updated_at
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(micros_of);
    (id, updated_at)
}

/// An RFC 3339 instant in µs since the epoch, read by the client's timestamp model.
fn micros_of(text: &str) -> Option<i64> {
    let quoted = serde_json::Value::String(text.to_owned());
    serde_json::from_value::<salesloft_model::Timestamp>(quoted)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The writer: everything waiting goes into one transaction, with up to `writers`
/// transactions in flight (on PostgreSQL one commits while the next batch is written).
async fn write_deliveries(
    store: Store,
    template: NewJob,
    mut requests: mpsc::Receiver<Pending>,
    max_batch: usize,
    writers: usize,
) {
    let writers = writers.max(1);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(writers));
    let template = Arc::new(template);
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
        if requests.recv_many(&mut batch, max_batch).await == 0 {
            break;
        }
        let (store, template) = (store.clone(), template.clone());
        tokio::spawn(async move {
            write_batch(&store, &template, batch).await;
            drop(permit);
        });
    }
    // Closed: wait for the batches still being written.
    let _ = in_flight.acquire_many(writers as u32).await;
}

/// Store one batch and answer each of its senders.
async fn write_batch(store: &Store, template: &NewJob, mut batch: Vec<Pending>) {
    let deliveries: Vec<Delivery<'_>> = batch
        .iter()
        .map(|p| Delivery {
            event_type: &p.event_type,
            body: &p.body,
            resource_id: p.resource_id,
            resource_updated_at_us: p.resource_updated_at_us,
        })
        .collect();
    let result = store.record_webhooks(&deliveries, Some(template)).await;
    drop(deliveries);
    match result {
        Ok(recorded) => {
            for (pending, recorded) in batch.drain(..).zip(recorded) {
                let receipt = match recorded {
                    Recorded::New(id) => Receipt::Stored(id),
                    Recorded::Duplicate => Receipt::Duplicate,
                };
                let _ = pending.answer.send(Ok(receipt));
            }
        }
        Err(e) => {
            tracing::warn!(error.message = %e, error.cause_chain = %salesloft_services::error_chain(&e), deliveries = batch.len(), "storing webhooks failed; answering 503");
            let failure = StoreFailure::Storage(Arc::new(e));
            for pending in batch.drain(..) {
                let _ = pending.answer.send(Err(failure.clone()));
            }
        }
    }
}
