//! What the server's process tests share.

#![allow(dead_code, clippy::print_stderr)] // each test binary uses part of it

use std::time::{Duration, Instant};

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until `done` holds (checked every 25 ms), at most `limit`; how long it took.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let took = started.elapsed();
    eprintln!("{what}: after {took:?}");
    took
}
