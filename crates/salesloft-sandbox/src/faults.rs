//! Injected faults: a fraction of requests, or a scheduled sequence, answered badly.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// One injected misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// Answer 429 as if the budget were spent.
    RateLimited,
    /// Answer with this status (500, 502, 503, ...) without acting.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// Act normally, but only after this many milliseconds.
    Slow {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Act, then break the connection before the body arrives.
    Drop,
    /// Act, then answer with this status (500, 502, 503, ...) instead of the result: a
    /// server that failed after the write took effect.
    ActThenStatus {
        /// The HTTP status.
        status: u16,
    },
    /// Act, then send half the body and break the connection.
    Truncate,
}

/// Random fault rates (each a fraction of API requests, 0.0 to 1.0) and the delay of slow ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Fraction answered 429.
    pub rate_limited: f64,
    /// Fraction answered 500.
    pub error_500: f64,
    /// Fraction answered 502.
    pub error_502: f64,
    /// Fraction answered 503.
    pub error_503: f64,
    /// Fraction delayed by `slow_ms`.
    pub slow: f64,
    /// Delay of slow answers, in milliseconds.
    pub slow_ms: u64,
    /// Fraction whose connection drops after the server acted.
    pub drop: f64,
    /// Fraction whose body is cut in half after the server acted.
    pub truncate: f64,
    /// Seed of the fault dice, so a run can be repeated.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate_limited: 0.0,
            error_500: 0.0,
            error_502: 0.0,
            error_503: 0.0,
            slow: 0.0,
            slow_ms: 2_000,
            drop: 0.0,
            truncate: 0.0,
            seed: 0,
        }
    }
}

/// The live fault state: configuration, schedule and dice.
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    schedule: VecDeque<Fault>,
    rng: fastrand::Rng,
}

impl Faults {
    /// Faults from `config`.
    pub fn new(config: FaultConfig) -> Self {
        let rng = fastrand::Rng::with_seed(config.seed);
        Self {
            config,
            schedule: VecDeque::new(),
            rng,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replace the configuration (and reseed the dice).
    pub fn set_config(&mut self, config: FaultConfig) {
        self.rng = fastrand::Rng::with_seed(config.seed);
        self.config = config;
    }

    /// Queue faults for the next API requests, one each, before any random ones.
    pub fn schedule(&mut self, faults: impl IntoIterator<Item = Fault>) {
        self.schedule.extend(faults);
    }

    /// Faults still queued.
    pub fn scheduled(&self) -> usize {
        self.schedule.len()
    }

    /// The fault for the next request, if any.
    pub fn next(&mut self) -> Option<Fault> {
        if let Some(f) = self.schedule.pop_front() {
            return Some(f);
        }
        let c = &self.config;
        let roll = self.rng.f64();
        let mut edge = 0.0;
        let table = [
            (c.rate_limited, Fault::RateLimited),
            (c.error_500, Fault::Status { status: 500 }),
            (c.error_502, Fault::Status { status: 502 }),
            (c.error_503, Fault::Status { status: 503 }),
            (c.slow, Fault::Slow { ms: c.slow_ms }),
            (c.drop, Fault::Drop),
            (c.truncate, Fault::Truncate),
        ];
        for (p, fault) in table {
            edge += p.max(0.0);
            if roll < edge {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_comes_first_then_rates_apply() {
        let mut f = Faults::new(FaultConfig {
            error_503: 0.5,
            seed: 9,
            ..Default::default()
        });
        f.schedule([Fault::Drop, Fault::RateLimited]);
        assert_eq!(f.next(), Some(Fault::Drop));
        assert_eq!(f.next(), Some(Fault::RateLimited));
        let hits = (0..10_000).filter(|_| f.next().is_some()).count();
        assert!((4_500..5_500).contains(&hits), "{hits}");
    }
}
