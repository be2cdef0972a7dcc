//! [`SharedBudget`]: salesloft-client's `CostLimiter` kept in the `api_budget` row, so several
//! processes on one PostgreSQL together never spend more than the team's budget.
//!
//! The arithmetic is the client's `CostBudget` (a bucket holding the burst that refills
//! `per_minute` less the burst per minute, shrunk by the server's remaining budget less a
//! reserve, a share of `per_minute`,
//! blocked to the next minute boundary on exhaustion or a 429), done in one conditional
//! `UPDATE` per request so that the row lock serialises every process.

use std::time::Duration;

use salesloft_model::{
    BoxError, BudgetConfig, CostLimiter, CredentialHold, HoldCheck, Observation, next_minute_ms,
};

use crate::error::{Context, Result};
use crate::store::{Store, on_reader, on_writer};

/// How long per-minute spend is kept.
const SPEND_KEPT_MS: i64 = 7 * 24 * 3_600_000;

/// One calendar minute of a budget's spend.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MinuteSpend {
    /// The minute's start, ms since the epoch.
    pub minute_ms: i64,
    /// Cost spent.
    pub cost: f64,
    /// Requests answered (429s included).
    pub requests: i64,
    /// Requests answered 429.
    pub rate_limited: i64,
}

/// A cost budget shared through the database.
#[derive(Debug, Clone)]
pub struct SharedBudget {
    store: Store,
    key: String,
    config: BudgetConfig,
}

/// The bucket after refilling to `$1` (now): `min(capacity, tokens + elapsed * refill)`.
const REFILLED: &str = "(CASE WHEN $1 <= updated_at_ms THEN tokens \
    WHEN tokens + ($1 - updated_at_ms) * refill_per_ms > capacity THEN capacity \
    ELSE tokens + ($1 - updated_at_ms) * refill_per_ms END)";
const LATEST: &str = "(CASE WHEN $1 > updated_at_ms THEN $1 ELSE updated_at_ms END)";

impl SharedBudget {
    /// The budget named `key`, created with `config` if new. Every process of the team must
    /// use the same key: name it with `salesloft_client::budget_key` (or `Auth::budget_key`),
    /// as the toolkit's binaries do, to spend from the budget they spend from.
    pub async fn new(store: Store, key: impl Into<String>, config: BudgetConfig) -> Result<Self> {
        let key = key.into();
        let burst = f64::from(config.burst());
        let refill = f64::from(config.refill_per_minute()) / 60_000.0;
        let now = store.now_ms();
        on_writer!(&store, |pool| {
            sqlx::query(
                "INSERT INTO api_budget (budget_key, capacity, refill_per_ms, tokens, updated_at_ms, reserve) \
                 VALUES ($1, $2, $3, $2, $4, $5) ON CONFLICT (budget_key) DO UPDATE SET \
                 capacity = excluded.capacity, refill_per_ms = excluded.refill_per_ms, reserve = excluded.reserve",
            )
            .bind(&key)
            .bind(burst)
            .bind(refill)
            .bind(now)
            .bind(f64::from(config.reserve()))
            .execute(pool)
            .await
            .context("creating the budget row")?;
            sqlx::query("DELETE FROM api_spend WHERE budget_key = $1 AND minute_ms < $2")
                .bind(&key)
                .bind(now.saturating_sub(SPEND_KEPT_MS))
                .execute(pool)
                .await
                .context("pruning old spend")?;
        });
        Ok(Self { store, key, config })
    }

    /// Count one answered request (`cost` spent) or one 429 in the current minute's row.
    async fn record_spend(&self, cost: f64, rate_limited: bool) -> Result<()> {
        let now = self.store.now_ms();
        let minute = now - now.rem_euclid(60_000);
        let limited = i64::from(rate_limited);
        on_writer!(&self.store, |pool| {
            sqlx::query(
                "INSERT INTO api_spend (budget_key, minute_ms, cost, requests, rate_limited) \
                 VALUES ($1, $2, $3, 1, $4) ON CONFLICT (budget_key, minute_ms) DO UPDATE SET \
                 cost = api_spend.cost + excluded.cost, requests = api_spend.requests + 1, \
                 rate_limited = api_spend.rate_limited + excluded.rate_limited",
            )
            .bind(&self.key)
            .bind(minute)
            .bind(cost)
            .bind(limited)
            .execute(pool)
            .await
            .context("counting spend")?;
        });
        Ok(())
    }

    /// What this budget spent per minute since `since_ms`: (minute start ms, cost, requests,
    /// 429s), oldest first; minutes with no request are left out.
    pub async fn spend_since(&self, since_ms: i64) -> Result<Vec<MinuteSpend>> {
        let rows: Vec<(i64, f64, i64, i64)> = on_reader!(&self.store, |pool| {
            sqlx::query_as(
                "SELECT minute_ms, cost, requests, rate_limited FROM api_spend \
                 WHERE budget_key = $1 AND minute_ms >= $2 ORDER BY minute_ms",
            )
            .bind(&self.key)
            .bind(since_ms)
            .fetch_all(pool)
            .await
            .context("reading spend")?
        });
        Ok(rows
            .into_iter()
            .map(|(minute_ms, cost, requests, rate_limited)| MinuteSpend {
                minute_ms,
                cost,
                requests,
                rate_limited,
            })
            .collect())
    }

    /// Take `cost` now if available; otherwise how long to wait.
    pub async fn try_acquire(&self, cost: u32) -> Result<Option<Duration>> {
        let now = self.store.now_ms();
        let capacity_guard = format!(
            "UPDATE api_budget SET tokens = {REFILLED} - $2, updated_at_ms = {LATEST} \
             WHERE budget_key = $3 AND blocked_until_ms <= $1 \
             AND {REFILLED} >= (CASE WHEN $2 > capacity THEN capacity ELSE $2 END)"
        );
        let taken = on_writer!(&self.store, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(capacity_guard))
                .bind(now)
                .bind(f64::from(cost))
                .bind(&self.key)
                .execute(pool)
                .await
                .context("spending budget")?
                .rows_affected()
        });
        if taken == 1 {
            return Ok(None);
        }
        let state: Option<(f64, f64, f64, i64)> = on_writer!(&self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {REFILLED}, capacity, refill_per_ms, blocked_until_ms FROM api_budget WHERE budget_key = $2"
            )))
            .bind(now)
            .bind(&self.key)
            .fetch_optional(pool)
            .await
            .context("reading budget")?
        });
        let Some((tokens, capacity, refill, blocked)) = state else {
            return Ok(Some(Duration::from_millis(100)));
        };
        if blocked > now {
            return Ok(Some(Duration::from_millis((blocked - now) as u64)));
        }
        let needed = f64::from(cost).min(capacity);
        let ms = ((needed - tokens) / refill.max(1e-9)).ceil().max(1.0);
        Ok(Some(Duration::from_millis(ms as u64)))
    }

    /// Cost that could be spent now (negative while in debt).
    pub async fn available(&self) -> Result<f64> {
        let now = self.store.now_ms();
        let (tokens, blocked): (f64, i64) = on_writer!(&self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {REFILLED}, blocked_until_ms FROM api_budget WHERE budget_key = $2"
            )))
            .bind(now)
            .bind(&self.key)
            .fetch_one(pool)
            .await
            .context("reading budget")?
        });
        Ok(if blocked > now { 0.0 } else { tokens })
    }

    /// The settings.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    async fn block_until(&self, until_ms: i64) -> Result<()> {
        on_writer!(&self.store, |pool| {
            sqlx::query(
                "UPDATE api_budget SET blocked_until_ms = CASE WHEN blocked_until_ms > $1 THEN blocked_until_ms ELSE $1 END, \
                 tokens = CASE WHEN tokens > 0 THEN 0 ELSE tokens END WHERE budget_key = $2",
            )
            .bind(until_ms)
            .bind(&self.key)
            .execute(pool)
            .await
            .context("blocking the budget")?;
        });
        Ok(())
    }
}

#[async_trait::async_trait]
impl CostLimiter for SharedBudget {
    async fn acquire(&self, cost: u32) -> Result<(), BoxError> {
        loop {
            match self.try_acquire(cost).await? {
                None => return Ok(()),
                // Jitter spreads the processes that all woke for the same refill.
                Some(wait) => {
                    tokio::time::sleep(wait + Duration::from_millis(fastrand::u64(0..20))).await
                }
            }
        }
    }

    async fn observe(&self, o: &Observation) -> Result<(), BoxError> {
        let now = self.store.now_ms();
        self.record_spend(f64::from(o.actual_cost.unwrap_or(o.estimated_cost)), false)
            .await?;
        let debit = o
            .actual_cost
            .map_or(0.0, |a| f64::from(a) - f64::from(o.estimated_cost));
        if debit != 0.0 {
            on_writer!(&self.store, |pool| {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE api_budget SET tokens = CASE WHEN {REFILLED} - $2 > capacity THEN capacity \
                     ELSE {REFILLED} - $2 END, updated_at_ms = {LATEST} WHERE budget_key = $3"
                )))
                    .bind(now)
                    .bind(debit)
                    .bind(&self.key)
                    .execute(pool)
                    .await
                    .context("settling a cost")?;
            });
        }
        if let Some(remaining) = o.remaining {
            let allowed = f64::from(remaining) - f64::from(self.config.reserve());
            if allowed <= 0.0 {
                self.block_until(next_minute_ms(now, o.server_date) + 1_000)
                    .await?;
            } else {
                on_writer!(&self.store, |pool| {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE api_budget SET tokens = CASE WHEN {REFILLED} > $2 THEN $2 ELSE {REFILLED} END, \
                         updated_at_ms = {LATEST} WHERE budget_key = $3"
                    )))
                    .bind(now)
                    .bind(allowed)
                    .bind(&self.key)
                    .execute(pool)
                    .await
                    .context("shrinking the budget")?;
                });
            }
        }
        Ok(())
    }

    async fn on_rate_limited(&self, o: &Observation) -> Result<(), BoxError> {
        let now = self.store.now_ms();
        self.record_spend(0.0, true).await?;
        let until = match o.retry_after {
            Some(d) => now + d.as_millis() as i64,
            None => next_minute_ms(now, o.server_date) + 1_000 + fastrand::i64(0..1_000),
        };
        self.block_until(until).await?;
        Ok(())
    }

    async fn check_credential(
        &self,
        credential: &str,
        probe_every: Duration,
    ) -> Result<HoldCheck, BoxError> {
        Ok(self.store.check_credential(credential, probe_every).await?)
    }

    async fn hold_credential(&self, hold: &CredentialHold) -> Result<(), BoxError> {
        Ok(self.store.hold_credential(hold).await?)
    }

    async fn release_credential(&self, credential: &str) -> Result<(), BoxError> {
        self.store.release_credential(credential).await?;
        Ok(())
    }
}
