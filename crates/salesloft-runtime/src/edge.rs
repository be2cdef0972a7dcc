//! The HTTP edge every listener of the integration is served through ([`serve`]): the
//! server's public and operator ports and the worker's operations port. A public port meets
//! slow clients, floods and restarts, so what one client can hold is bounded:
//!
//! - **headers** must arrive within [`EdgeLimits::header_timeout`] (hyper's header timer)
//!   and fit in 64 KiB (431 beyond); the same timer closes a keep-alive connection that sends
//!   nothing;
//! - **a body** may pause at most [`EdgeLimits::body_timeout`] between two frames, and the
//!   **whole request** (body read and answer) has [`EdgeLimits::request_timeout`]: over
//!   either it is answered 408 (tower-http's timeout layers);
//! - **connections** are capped at [`EdgeLimits::max_connections`]. At the cap a new
//!   connection takes the slot of the one that has waited longest without a complete request
//!   (a slow or idle client), so a flood of half-open sockets cannot keep a real delivery
//!   out; when every slot is answering a complete request the newcomer gets 503. Running out
//!   of file descriptors frees a slot the same way instead of stalling the accept loop;
//! - **408, 413 and 503** answers close their connection;
//! - **shutdown** stops accepting, lets requests in flight finish for
//!   [`EdgeLimits::shutdown_grace`], then closes whatever is still open: SIGTERM ends the
//!   listener in bounded time whatever the clients do.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// What one listener lets a client hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeLimits {
    /// Time for a request's headers to arrive, and the most a keep-alive connection stays
    /// open with nothing sent.
    pub header_timeout: Duration,
    /// The longest pause between two pieces of a request body.
    pub body_timeout: Duration,
    /// Time for a whole request: its body read and its answer.
    pub request_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time requests in flight get to finish once shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for EdgeLimits {
    /// 10 s for headers, 10 s between body frames, 30 s per request, 512 connections, 10 s
    /// of grace: a slow SalesLoft delivery (a few KiB) still fits.
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Connections the kernel queues for `accept` (Linux caps it at `net.core.somaxconn`, 4,096
/// on current kernels): a burst of connects waits here instead of having its SYNs dropped,
/// which costs a client a one-second retransmit.
const BACKLOG: i32 = 4_096;

/// A listener on `addr` with an accept queue 4,096 deep, for [`serve`].
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// The most a request's head (request line and headers) may take.
const HEAD_BYTES: usize = 64 * 1024;

/// Serve `app` on `listener` within `limits` until `shutdown`, then for at most the grace.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    shutdown: CancellationToken,
) {
    let app = bounded(app, &limits);
    let connections = Arc::new(Connections::new(limits.max_connections));
    let tracker = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A request's head must fit in 64 KiB (431 beyond), and a connection buffers at most
        // that much, not hyper's default of about 400 KiB.
        .max_header_size(HEAD_BYTES)
        .max_buf_size(HEAD_BYTES)
        .keep_alive(true);
    let accept_errors = Throttle::default();
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                accept_failed(&connections, &e, &accept_errors).await;
                continue;
            }
        };
        match connections.admit() {
            Some(slot) => {
                let conn =
                    serve_connection(stream, app.clone(), http.clone(), slot, shutdown.clone());
                tracker.spawn(conn);
            }
            None => {
                tracker.spawn(refuse_busy(stream));
            }
        }
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(limits.shutdown_grace, tracker.wait())
        .await
        .is_err()
    {
        let open = connections.close_all();
        tracing::info!(
            open,
            "the shutdown grace is over: closing the connections still open"
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), tracker.wait()).await;
    }
}

/// `app` with the request timeouts and the closing of limit answers.
fn bounded(app: Router, limits: &EdgeLimits) -> Router {
    app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ))
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ))
    .layer(axum::middleware::map_response(close_after_limit))
}

/// A 408, 413 or 503 closes its connection: the client was too slow, sent too much, or the
/// server is full, and what is left of its request is not worth reading.
async fn close_after_limit<B>(mut response: Response<B>) -> Response<B> {
    let status = response.status();
    if matches!(
        status,
        StatusCode::REQUEST_TIMEOUT
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        metrics::counter!("salesloft_http_limit_answers_total", "status" => status.as_str().to_owned())
            .increment(1);
    }
    response
}

/// The status a request body that could not be read answers: 408 when it paused too long
/// (its error, or one it was caused by, is the body timeout's), else `otherwise` (axum's
/// rejection status: 413 over the route's limit, 400 cut off).
pub fn body_error_status(
    error: &(dyn std::error::Error + 'static),
    otherwise: StatusCode,
) -> StatusCode {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return StatusCode::REQUEST_TIMEOUT;
        }
        cause = e.source();
    }
    otherwise
}

/// Serve one connection until it ends, is evicted, or shutdown's grace runs out.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    http: hyper::server::conn::http1::Builder,
    slot: SlotGuard,
    shutdown: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let state = slot.slot.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let state = state.clone();
        state.request_started(request.body().is_end_stream());
        let request = request.map(|inner| TrackedBody {
            inner,
            slot: state.clone(),
        });
        let answered = app.clone().oneshot(request);
        async move {
            let response = answered.await;
            state.request_answered();
            response
        }
    });
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let closed = slot.slot.closed.clone();
    tokio::select! {
        _ = conn.as_mut() => return,
        () = closed.cancelled() => return,
        () = shutdown.cancelled() => {}
    }
    // Finish the request in flight (an idle connection closes at once); the listener's
    // grace closes the rest.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn => {}
        () = closed.cancelled() => {}
    }
}

/// Answer 503 to a connection over the cap, when no slot could be freed.
async fn refuse_busy(mut stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
        content-length: 21\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections\n";
    metrics::counter!("salesloft_http_connections_refused_total").increment(1);
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
}

/// Accepting failed. A connection's own failure is nothing to act on; running out of file
/// descriptors (or memory) frees the slot of the longest-waiting idle connection and tries
/// again shortly, instead of spinning or stalling.
async fn accept_failed(connections: &Connections, error: &std::io::Error, log: &Throttle) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    metrics::counter!("salesloft_http_accept_errors_total").increment(1);
    let freed = connections.evict_longest_waiting();
    if log.ready() {
        tracing::warn!(error = %error, open = connections.open(), freed, "accepting a connection failed (at most one such line a minute)");
    }
    let pause = if freed { 1 } else { 50 };
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// True at most once a minute: for log lines a client could otherwise repeat at will.
#[derive(Debug, Default)]
pub struct Throttle {
    last_ms: AtomicU64,
}

impl Throttle {
    /// Whether a minute passed since it last said yes (and it says yes the first time).
    pub fn ready(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < 60_000 {
            return false;
        }
        self.last_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
}

/// The open connections, each with the state eviction reads.
#[derive(Debug)]
struct Connections {
    open: Mutex<HashMap<u64, Arc<Slot>>>,
    max: usize,
    next_id: AtomicU64,
    epoch: Instant,
}

/// One connection's state.
#[derive(Debug)]
struct Slot {
    id: u64,
    epoch: Instant,
    /// Milliseconds since the epoch at which it began waiting: accepted, or its last answer.
    waiting_since_ms: AtomicU64,
    /// A whole request has arrived and is being answered: never evicted.
    answering: AtomicBool,
    /// Cancelled to close it (evicted, or the grace is over).
    closed: CancellationToken,
}

impl Slot {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn request_started(&self, body_complete: bool) {
        self.answering.store(body_complete, Ordering::Relaxed);
    }

    fn body_complete(&self) {
        self.answering.store(true, Ordering::Relaxed);
    }

    fn request_answered(&self) {
        self.waiting_since_ms
            .store(self.now_ms(), Ordering::Relaxed);
        self.answering.store(false, Ordering::Relaxed);
    }
}

/// Removes its slot from the open connections when the connection's task ends.
struct SlotGuard {
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.connections.remove(self.slot.id);
    }
}

impl Connections {
    fn new(max: usize) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            max: max.max(1),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open(&self) -> usize {
        self.lock().len()
    }

    /// A slot for a new connection: free, or taken from the connection that has waited
    /// longest without a complete request; `None` when every slot is answering one.
    fn admit(self: &Arc<Self>) -> Option<SlotGuard> {
        let mut open = self.lock();
        if open.len() >= self.max && !Self::evict_from(&mut open) {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            epoch: self.epoch,
            waiting_since_ms: AtomicU64::new(0),
            answering: AtomicBool::new(false),
            closed: CancellationToken::new(),
        });
        slot.waiting_since_ms
            .store(slot.now_ms(), Ordering::Relaxed);
        open.insert(id, slot.clone());
        metrics::gauge!("salesloft_http_connections").set(open.len() as f64);
        Some(SlotGuard {
            slot,
            connections: self.clone(),
        })
    }

    /// Close the connection that has waited longest without a complete request; whether
    /// there was one.
    fn evict_longest_waiting(&self) -> bool {
        Self::evict_from(&mut self.lock())
    }

    fn evict_from(open: &mut HashMap<u64, Arc<Slot>>) -> bool {
        let victim = open
            .values()
            .filter(|s| !s.answering.load(Ordering::Relaxed))
            .min_by_key(|s| s.waiting_since_ms.load(Ordering::Relaxed))
            .map(|s| s.id);
        let Some(slot) = victim.and_then(|id| open.remove(&id)) else {
            return false;
        };
        slot.closed.cancel();
        metrics::counter!("salesloft_http_connections_evicted_total").increment(1);
        true
    }

    fn remove(&self, id: u64) {
        let mut open = self.lock();
        open.remove(&id);
        metrics::gauge!("salesloft_http_connections").set(open.len() as f64);
    }

    /// Close every open connection; how many there were.
    fn close_all(&self) -> usize {
        let open = self.lock();
        for slot in open.values() {
            slot.closed.cancel();
        }
        open.len()
    }
}

/// A request body that marks its connection as answering once it has been read whole.
struct TrackedBody {
    inner: Incoming,
    slot: Arc<Slot>,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() || self.inner.is_end_stream() {
            self.slot.body_complete();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(connections: &Arc<Connections>) -> SlotGuard {
        connections.admit().expect("a slot")
    }

    #[test]
    fn at_the_cap_the_longest_waiting_idle_connection_gives_its_slot() {
        let connections = Arc::new(Connections::new(3));
        let oldest = slot(&connections);
        let answering = slot(&connections);
        let newer = slot(&connections);
        // The oldest is answering a complete request; a newer one waits since later.
        answering.slot.waiting_since_ms.store(0, Ordering::Relaxed);
        answering.slot.request_started(true);
        oldest.slot.waiting_since_ms.store(5, Ordering::Relaxed);
        newer.slot.waiting_since_ms.store(9, Ordering::Relaxed);
        let fourth = connections
            .admit()
            .expect("a slot taken from a waiting one");
        assert!(
            oldest.slot.closed.is_cancelled(),
            "the longest waiting is closed"
        );
        assert!(!answering.slot.closed.is_cancelled(), "never one answering");
        assert!(!newer.slot.closed.is_cancelled());
        assert_eq!(connections.open(), 3);
        drop(oldest);
        assert_eq!(connections.open(), 3, "its removal was counted at eviction");
        drop(fourth);
        assert_eq!(connections.open(), 2);
    }

    #[test]
    fn when_every_slot_is_answering_a_newcomer_is_refused() {
        let connections = Arc::new(Connections::new(2));
        let a = slot(&connections);
        let b = slot(&connections);
        a.slot.request_started(false);
        a.slot.body_complete();
        b.slot.request_started(true);
        assert!(connections.admit().is_none());
        b.slot.request_answered();
        assert!(connections.admit().is_some(), "answered, it waits again");
    }

    #[test]
    fn a_body_still_arriving_is_evictable() {
        let connections = Arc::new(Connections::new(1));
        let a = slot(&connections);
        a.slot.request_started(false);
        assert!(connections.admit().is_some());
        assert!(a.slot.closed.is_cancelled());
    }

    /// A body whose next frame never comes.
    struct Silent;

    impl Body for Silent {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn body_errors_answer_by_cause() {
        let silent = tower_http::timeout::TimeoutBody::new(Duration::from_millis(1), Silent);
        let e = axum::body::to_bytes(axum::body::Body::new(silent), 1024)
            .await
            .unwrap_err();
        assert_eq!(
            body_error_status(&e, StatusCode::BAD_REQUEST),
            StatusCode::REQUEST_TIMEOUT
        );
        let e = axum::body::to_bytes(axum::body::Body::from(vec![0u8; 2048]), 1024)
            .await
            .unwrap_err();
        assert_eq!(
            body_error_status(&e, StatusCode::PAYLOAD_TOO_LARGE),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[test]
    fn the_throttle_says_yes_once_a_minute() {
        let t = Throttle::default();
        assert!(t.ready());
        assert!(!t.ready());
        t.last_ms.store(1, Ordering::Relaxed);
        assert!(t.ready(), "a minute after the last yes");
    }
}
