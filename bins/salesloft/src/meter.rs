//! [`Metered`]: a cost limiter that counts what a command spent, for its summary line.

use std::sync::atomic::{AtomicU64, Ordering};

use salesloft_client::{BoxError, CostLimiter, Observation};

/// Wraps a limiter and counts requests and cost.
#[derive(Debug)]
pub struct Metered<L> {
    inner: L,
    spent: AtomicU64,
    requests: AtomicU64,
}

impl<L: CostLimiter> Metered<L> {
    /// Count what goes through `inner`.
    pub fn new(inner: L) -> Self {
        Self {
            inner,
            spent: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// `requests: N, cost spent: C`.
    pub fn summary(&self) -> String {
        format!(
            "requests: {}, cost spent: {}",
            self.requests.load(Ordering::Relaxed),
            self.spent.load(Ordering::Relaxed)
        )
    }
}

#[async_trait::async_trait]
impl<L: CostLimiter> CostLimiter for Metered<L> {
    async fn acquire(&self, cost: u32) -> Result<(), BoxError> {
        self.inner.acquire(cost).await
    }
    async fn observe(&self, o: &Observation) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.spent.fetch_add(
            u64::from(o.actual_cost.unwrap_or(o.estimated_cost)),
            Ordering::Relaxed,
        );
        self.inner.observe(o).await
    }
    async fn on_rate_limited(&self, o: &Observation) -> Result<(), BoxError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.on_rate_limited(o).await
    }
}
