//! [`Clock`]: where "now" comes from, one seam for every crate: the system clock in
//! production, a fixed or stepped one in tests.

use std::fmt;

use chrono::{DateTime, Utc};

/// Where the current time comes from: the system clock in production, a fixed or stepped one in
/// tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;

    /// Now, in milliseconds since the epoch (the toolkit's own bookkeeping instants).
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
