//! Spending SalesLoft's per-team cost budget (600 per minute by default) without hitting 429s.
//!
//! Every request costs: 1 by default, more for deep pages (see [`page_cost`]), or whatever the
//! endpoint last reported in `x-ratelimit-endpoint-cost`. The client asks its [`CostLimiter`] for
//! that cost before sending, reports the response's headers afterwards, and reports 429s. The
//! budget is shared by every integration of the team, so the default [`CostBudget`] leaves
//! headroom and also obeys what `x-ratelimit-remaining-minute` says is left.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::failure::BoxError;
use crate::hold::{CredentialHold, HoldCheck, Holds};

/// The cost SalesLoft charges for fetching list page `page` (pages are 1-based):
/// 1 up to page 100, 3 for 101-150, 8 for 151-250, 10 for 251-500 and 30 beyond.
pub const fn page_cost(page: u32) -> u32 {
    match page {
        0..=100 => 1,
        101..=150 => 3,
        151..=250 => 8,
        251..=500 => 10,
        _ => 30,
    }
}

/// What the server said about one response, for a [`CostLimiter`] to learn from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The cost acquired before sending.
    pub estimated_cost: u32,
    /// `x-ratelimit-endpoint-cost`: what the request really cost.
    pub actual_cost: Option<u32>,
    /// `x-ratelimit-remaining-minute`: what is left of the team's budget this minute.
    pub remaining: Option<u32>,
    /// `Retry-After`, when present (SalesLoft does not document one; honoured if sent).
    pub retry_after: Option<Duration>,
    /// The server's `Date`, to find the minute boundary on the server's clock.
    pub server_date: Option<SystemTime>,
}

/// Decides when a request may be sent. Implementations may keep their state in process
/// ([`CostBudget`]) or somewhere several processes share (a database row), so every method is
/// async and fallible.
#[async_trait::async_trait]
pub trait CostLimiter: Send + Sync + fmt::Debug {
    /// Wait until `cost` may be spent, then spend it.
    async fn acquire(&self, cost: u32) -> Result<(), BoxError>;
    /// Learn from a response's rate-limit headers (any status, 429 included).
    async fn observe(&self, observation: &Observation) -> Result<(), BoxError>;
    /// The server answered 429: hold everything until its window reopens.
    async fn on_rate_limited(&self, observation: &Observation) -> Result<(), BoxError>;

    /// Whether a request with `credential` may be sent (see [`CredentialHold`]); a due probe
    /// is taken, the next one `probe_every` later. The default never holds anything.
    async fn check_credential(
        &self,
        _credential: &str,
        _probe_every: Duration,
    ) -> Result<HoldCheck, BoxError> {
        Ok(HoldCheck::Clear)
    }

    /// SalesLoft rejected a credential: hold it (keeping the first rejection's time).
    async fn hold_credential(&self, _hold: &CredentialHold) -> Result<(), BoxError> {
        Ok(())
    }

    /// A request with `credential` was accepted: lift its hold, if it had one.
    async fn release_credential(&self, _credential: &str) -> Result<(), BoxError> {
        Ok(())
    }
}

/// A limiter that never waits: for a sandbox with rate limiting off, or a caller that limits
/// elsewhere. 429s are still retried by the client's retry policy.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

#[async_trait::async_trait]
impl CostLimiter for Unlimited {
    async fn acquire(&self, _cost: u32) -> Result<(), BoxError> {
        Ok(())
    }
    async fn observe(&self, _observation: &Observation) -> Result<(), BoxError> {
        Ok(())
    }
    async fn on_rate_limited(&self, _observation: &Observation) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Settings of a [`CostBudget`] (and of the storage crate's shared budget).
///
/// ```
/// use salesloft_model::BudgetConfig;
/// // A sandbox or a team granted 60 a minute: spend up to 54, keep 6 for the others.
/// let small = BudgetConfig::per_minute(60);
/// assert_eq!((small.burst(), small.refill_per_minute(), small.reserve()), (6, 54, 6));
/// let custom = BudgetConfig::per_minute(300).with_burst(20).with_reserve_percent(5);
/// assert_eq!(custom.reserve(), 15);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// The most this process spends in any calendar minute. Default 540 of SalesLoft's 600,
    /// leaving 60 for the team's other integrations.
    pub per_minute: u32,
    /// How much of `per_minute` may go out at once; the rest refills evenly over the minute.
    /// Default 60; at most a tenth of `per_minute` takes effect ([`BudgetConfig::burst`]).
    pub burst: u32,
    /// The share of `per_minute`, in percent, left unspent when the server's
    /// `x-ratelimit-remaining-minute` runs low, for the team's other integrations: default
    /// 10 (54 of 540, 6 of 60); at most 50 takes effect ([`BudgetConfig::reserve`]).
    pub reserve_percent: u8,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            per_minute: 540,
            burst: 60,
            reserve_percent: 10,
        }
    }
}

impl BudgetConfig {
    /// A budget of `per_minute` with the default burst and reserve share.
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute,
            ..Self::default()
        }
    }

    /// The same budget spending at most `burst` at once.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// The same budget keeping `percent` of `per_minute` in reserve.
    pub fn with_reserve_percent(mut self, percent: u8) -> Self {
        self.reserve_percent = percent;
        self
    }

    /// The burst that takes effect: `burst`, between 1 and a tenth of `per_minute`. A bucket
    /// kept busy spends what refills each minute (`per_minute` less the burst), so a larger
    /// burst would leave a busy minute short (a burst as large as the budget: one request a
    /// minute after the first); at most a tenth keeps it at 90% or more, which is what the
    /// reserve leaves anyway.
    pub fn burst(&self) -> u32 {
        self.burst.clamp(1, (self.per_minute / 10).max(1))
    }

    /// What refills per minute: `per_minute` less the burst, at least 1.
    pub fn refill_per_minute(&self) -> u32 {
        self.per_minute.saturating_sub(self.burst()).max(1)
    }

    /// The cost left unspent when the server's remaining budget runs low: `reserve_percent`
    /// (at most 50) of `per_minute`, rounded up.
    pub fn reserve(&self) -> u32 {
        let percent = u64::from(self.reserve_percent.min(50));
        let reserve = (u64::from(self.per_minute) * percent).div_ceil(100);
        u32::try_from(reserve).unwrap_or(u32::MAX)
    }
}

/// The in-process [`CostLimiter`]: a token bucket holding `burst` that refills
/// `per_minute - burst` per minute, so no calendar minute sees more than `per_minute`; it
/// shrinks to what the server says is left (less the reserve), and a 429 or an exhausted server
/// budget holds every request until the next minute boundary.
pub struct CostBudget {
    config: BudgetConfig,
    state: Mutex<Bucket>,
    holds: Mutex<Holds>,
}

impl fmt::Debug for CostBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CostBudget")
            .field("config", &self.config)
            .field("available", &self.available())
            .finish()
    }
}

impl Default for CostBudget {
    fn default() -> Self {
        Self::new(BudgetConfig::default())
    }
}

impl CostBudget {
    /// A budget with `config`, starting full.
    pub fn new(config: BudgetConfig) -> Self {
        let now = now_ms();
        Self {
            config,
            state: Mutex::new(Bucket::new(config, now)),
            holds: Mutex::new(Holds::default()),
        }
    }

    /// The settings.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Cost that could be spent right now without waiting (negative while in debt).
    pub fn available(&self) -> f64 {
        let now = now_ms();
        self.with_bucket(|b| {
            b.refill(now);
            if b.blocked_until_ms > now {
                0.0
            } else {
                b.tokens
            }
        })
    }

    /// Spend `cost` now if it is available; otherwise how long to wait before trying again.
    pub fn try_acquire(&self, cost: u32) -> Result<(), Duration> {
        let now = now_ms();
        self.with_bucket(|b| b.try_take(cost, now))
    }

    /// The credentials this budget holds (SalesLoft rejected them).
    pub fn credential_holds(&self) -> Vec<CredentialHold> {
        self.with_holds(|h| h.all())
    }

    fn with_holds<T>(&self, f: impl FnOnce(&mut Holds) -> T) -> T {
        // A panic while holding the lock leaves a map that is still usable.
        let mut guard = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    fn with_bucket<T>(&self, f: impl FnOnce(&mut Bucket) -> T) -> T {
        // A panic while holding the lock leaves arithmetic state that is still usable.
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[async_trait::async_trait]
impl CostLimiter for CostBudget {
    async fn acquire(&self, cost: u32) -> Result<(), BoxError> {
        loop {
            match self.try_acquire(cost) {
                Ok(()) => return Ok(()),
                Err(wait) => {
                    tracing::debug!(
                        cost,
                        wait_ms = wait.as_millis() as u64,
                        "waiting for SalesLoft budget"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn observe(&self, observation: &Observation) -> Result<(), BoxError> {
        let now = now_ms();
        self.with_bucket(|b| b.observe(observation, now));
        Ok(())
    }

    async fn on_rate_limited(&self, observation: &Observation) -> Result<(), BoxError> {
        let now = now_ms();
        let jitter = fastrand::i64(0..1000);
        self.with_bucket(|b| b.rate_limited(observation, now, jitter));
        Ok(())
    }

    async fn check_credential(
        &self,
        credential: &str,
        probe_every: Duration,
    ) -> Result<HoldCheck, BoxError> {
        let every = i64::try_from(probe_every.as_millis()).unwrap_or(i64::MAX);
        Ok(self.with_holds(|h| h.check(credential, now_ms(), every)))
    }

    async fn hold_credential(&self, hold: &CredentialHold) -> Result<(), BoxError> {
        self.with_holds(|h| h.hold(hold));
        Ok(())
    }

    async fn release_credential(&self, credential: &str) -> Result<(), BoxError> {
        self.with_holds(|h| h.release(credential));
        Ok(())
    }
}

/// The bucket arithmetic, on explicit millisecond clocks so it can be tested exactly.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    capacity: f64,
    refill_per_ms: f64,
    reserve: f64,
    tokens: f64,
    updated_ms: i64,
    blocked_until_ms: i64,
}

impl Bucket {
    pub(crate) fn new(config: BudgetConfig, now_ms: i64) -> Self {
        let burst = f64::from(config.burst());
        Self {
            capacity: burst,
            refill_per_ms: f64::from(config.refill_per_minute()) / 60_000.0,
            reserve: f64::from(config.reserve()),
            tokens: burst,
            updated_ms: now_ms,
            blocked_until_ms: 0,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        if now_ms > self.updated_ms {
            let gained = (now_ms - self.updated_ms) as f64 * self.refill_per_ms;
            self.tokens = (self.tokens + gained).min(self.capacity);
            self.updated_ms = now_ms;
        }
    }

    pub(crate) fn try_take(&mut self, cost: u32, now_ms: i64) -> Result<(), Duration> {
        self.refill(now_ms);
        if self.blocked_until_ms > now_ms {
            return Err(Duration::from_millis(
                (self.blocked_until_ms - now_ms) as u64,
            ));
        }
        // A request dearer than the whole burst (a deep page costs 30) waits for a full
        // bucket and then runs into debt, instead of waiting forever.
        let needed = f64::from(cost).min(self.capacity);
        if self.tokens + 1e-9 >= needed {
            self.tokens -= f64::from(cost);
            Ok(())
        } else {
            let ms = ((needed - self.tokens) / self.refill_per_ms)
                .ceil()
                .max(1.0);
            Err(Duration::from_millis(ms as u64))
        }
    }

    pub(crate) fn observe(&mut self, o: &Observation, now_ms: i64) {
        self.refill(now_ms);
        if let Some(actual) = o.actual_cost {
            // Settle the difference between what we guessed and what it cost; a refund never
            // lifts the bucket past its capacity.
            self.tokens -= f64::from(actual) - f64::from(o.estimated_cost);
            self.tokens = self.tokens.min(self.capacity);
        }
        if let Some(remaining) = o.remaining {
            let allowed = f64::from(remaining) - self.reserve;
            if allowed <= 0.0 {
                self.tokens = self.tokens.min(0.0);
                self.blocked_until_ms = self
                    .blocked_until_ms
                    .max(next_minute_ms(now_ms, o.server_date) + 1_000);
            } else {
                self.tokens = self.tokens.min(allowed);
            }
        }
    }

    pub(crate) fn rate_limited(&mut self, o: &Observation, now_ms: i64, jitter_ms: i64) {
        self.refill(now_ms);
        self.tokens = self.tokens.min(0.0);
        let until = match o.retry_after {
            Some(d) => now_ms + d.as_millis() as i64,
            None => next_minute_ms(now_ms, o.server_date) + 1_000 + jitter_ms,
        };
        self.blocked_until_ms = self.blocked_until_ms.max(until);
    }
}

/// Local time (ms since the epoch) of the next calendar-minute boundary, read on the server's
/// clock when its `Date` is known (its minute is the one that counts), converted back to local
/// time. For [`CostLimiter`] implementations that hold requests until SalesLoft's window
/// reopens.
pub fn next_minute_ms(now_ms: i64, server_date: Option<SystemTime>) -> i64 {
    let server_now = server_date
        .and_then(|d| d.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .filter(|s| (s - now_ms).abs() < 300_000)
        .unwrap_or(now_ms);
    let into_minute = server_now.rem_euclid(60_000);
    now_ms + (60_000 - into_minute)
}

/// Milliseconds since the epoch by the system clock: the one clock of the toolkit's records.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000; // a minute boundary

    #[test]
    fn page_costs_follow_the_documented_table() {
        let table = [
            (1, 1),
            (100, 1),
            (101, 3),
            (150, 3),
            (151, 8),
            (250, 8),
            (251, 10),
            (500, 10),
            (501, 30),
            (10_000, 30),
        ];
        for (page, cost) in table {
            assert_eq!(page_cost(page), cost, "page {page}");
        }
    }

    #[test]
    fn no_calendar_minute_sees_more_than_per_minute() {
        let cfg = BudgetConfig::default();
        let mut b = Bucket::new(cfg, T0);
        // Spend greedily, 1 ms at a time, for three minutes; count per calendar minute.
        let mut spent = [0u32; 3];
        let mut t = T0;
        while t < T0 + 180_000 {
            while b.try_take(1, t).is_ok() {
                spent[((t - T0) / 60_000) as usize] += 1;
            }
            t += 1;
        }
        for s in spent {
            assert!(s <= cfg.per_minute, "{spent:?}");
            assert!(s >= cfg.refill_per_minute() - 1, "{spent:?}");
        }
    }

    /// Spend cost 1 greedily for three minutes against a server granting `granted` a minute,
    /// each answer reporting what is left; what was spent in each calendar minute.
    fn spent_per_minute_against(config: BudgetConfig, granted: u32) -> [u32; 3] {
        let mut b = Bucket::new(config, T0);
        let mut spent = [0u32; 3];
        let mut t = T0;
        while t < T0 + 180_000 {
            let minute = ((t - T0) / 60_000) as usize;
            while b.try_take(1, t).is_ok() {
                spent[minute] += 1;
                let remaining = granted.saturating_sub(spent[minute]);
                let seen = Observation {
                    estimated_cost: 1,
                    actual_cost: Some(1),
                    remaining: Some(remaining),
                    ..Default::default()
                };
                b.observe(&seen, t);
            }
            t += 10;
        }
        spent
    }

    #[test]
    fn a_small_budget_spends_all_but_its_reserve_every_minute() {
        for (per_minute, reserve) in [(60, 6), (30, 3), (10, 1), (540, 54)] {
            let config = BudgetConfig::per_minute(per_minute);
            assert_eq!(config.reserve(), reserve);
            let spent = spent_per_minute_against(config, per_minute);
            for s in spent {
                assert!(
                    s <= per_minute - reserve && s + 2 >= per_minute - reserve,
                    "{per_minute}/min: {spent:?}"
                );
            }
        }
        // A burst as large as the budget still refills: a tenth of it takes effect.
        let spent = spent_per_minute_against(BudgetConfig::per_minute(60).with_burst(60), 60);
        assert!(spent.iter().all(|s| (52..=54).contains(s)), "{spent:?}");
    }

    #[test]
    fn waits_are_computed_not_guessed() {
        let mut b = Bucket::new(BudgetConfig::per_minute(120), T0); // burst 12, 108/min refill
        for _ in 0..12 {
            assert!(b.try_take(1, T0).is_ok());
        }
        let wait = b.try_take(1, T0).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_millis(556),
            "60 000 ms / 108, rounded up"
        );
        assert!(b.try_take(1, T0 + 556).is_ok());
    }

    #[test]
    fn remaining_header_shrinks_the_bucket_and_blocks_when_low() {
        let mut b = Bucket::new(BudgetConfig::default(), T0 + 10_000);
        b.observe(
            &Observation {
                estimated_cost: 1,
                actual_cost: Some(1),
                remaining: Some(59),
                ..Default::default()
            },
            T0 + 10_000,
        );
        for _ in 0..5 {
            assert!(b.try_take(1, T0 + 10_000).is_ok());
        }
        assert!(b.try_take(1, T0 + 10_000).is_err());
        b.observe(
            &Observation {
                estimated_cost: 1,
                actual_cost: Some(1),
                remaining: Some(54),
                ..Default::default()
            },
            T0 + 10_000,
        );
        let wait = b.try_take(1, T0 + 10_000).unwrap_err();
        assert_eq!(wait, Duration::from_millis(51_000), "to the boundary + 1 s");
    }

    #[test]
    fn overestimates_are_refunded_up_to_the_capacity_only() {
        let mut b = Bucket::new(BudgetConfig::default(), T0); // burst 54
        assert!(b.try_take(1, T0).is_ok());
        // Guessed 30 (a deep page's cost kept for the endpoint), charged 1: the refund fills
        // the bucket but never past its capacity, or a minute could spend more than its share.
        b.observe(
            &Observation {
                estimated_cost: 30,
                actual_cost: Some(1),
                ..Default::default()
            },
            T0,
        );
        assert!(
            b.tokens <= b.capacity + 1e-9,
            "{} > {}",
            b.tokens,
            b.capacity
        );
    }

    #[test]
    fn underestimates_are_settled() {
        let mut b = Bucket::new(BudgetConfig::default(), T0);
        assert!(b.try_take(1, T0).is_ok());
        b.observe(
            &Observation {
                estimated_cost: 1,
                actual_cost: Some(10),
                ..Default::default()
            },
            T0,
        );
        assert!((b.tokens - 44.0).abs() < 1e-9, "54 - 1 - 9: {}", b.tokens);
    }

    #[test]
    fn a_429_blocks_to_the_server_minute_or_retry_after() {
        let mut b = Bucket::new(BudgetConfig::default(), T0 + 30_000);
        let server = UNIX_EPOCH + Duration::from_millis((T0 + 40_000) as u64); // server 10 s ahead
        b.rate_limited(
            &Observation {
                server_date: Some(server),
                ..Default::default()
            },
            T0 + 30_000,
            0,
        );
        assert_eq!(
            b.try_take(1, T0 + 30_000).unwrap_err(),
            Duration::from_millis(21_000)
        );
        let mut b = Bucket::new(BudgetConfig::default(), T0);
        b.rate_limited(
            &Observation {
                retry_after: Some(Duration::from_secs(2)),
                ..Default::default()
            },
            T0,
            0,
        );
        assert_eq!(b.try_take(1, T0).unwrap_err(), Duration::from_secs(2));
    }

    #[test]
    fn deep_pages_dearer_than_the_burst_still_go() {
        let mut b = Bucket::new(BudgetConfig::default(), T0); // burst 54
        assert!(b.try_take(30, T0).is_ok());
        assert!(b.try_take(24, T0).is_ok());
        assert!(b.try_take(30, T0).is_err());
        assert!(
            b.try_take(100, T0 + 3_600_000).is_ok(),
            "full bucket lets it through"
        );
    }
}
