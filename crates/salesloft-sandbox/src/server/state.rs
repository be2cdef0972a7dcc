//! What every handler shares: the world, the configuration, authentication, the cost window,
//! faults, counters, the request log, webhook delivery and the simulator.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::window::Window;
use crate::auth::AuthState;
use crate::config::SandboxConfig;
use crate::error::{ApiError, SandboxError};
use crate::faults::{Fault, Faults};
use crate::generate::TeamSize;
use crate::simulator::{self, Action, SimulatorConfig};
use crate::store::Kind;
use crate::webhooks::{DeliveryAttempt, Dispatcher};
use crate::world::{Event, World};

/// Counters a test can read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// API requests answered (any status).
    pub requests: u64,
    /// Cost charged to the team's budget.
    pub cost_spent: u64,
    /// 429s sent because the budget was spent.
    pub rate_limited: u64,
    /// Faults injected (of any kind).
    pub faults_injected: u64,
    /// List pages served.
    pub list_pages: u64,
    /// Records served in list pages.
    pub list_records: u64,
}

#[derive(Debug, Default)]
pub(crate) struct AtomicCounters {
    pub(crate) requests: AtomicU64,
    pub(crate) cost_spent: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) faults_injected: AtomicU64,
    pub(crate) list_pages: AtomicU64,
    pub(crate) list_records: AtomicU64,
}

impl AtomicCounters {
    fn snapshot(&self) -> Counters {
        Counters {
            requests: self.requests.load(Ordering::Relaxed),
            cost_spent: self.cost_spent.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            list_pages: self.list_pages.load(Ordering::Relaxed),
            list_records: self.list_records.load(Ordering::Relaxed),
        }
    }

    fn reset(&self) {
        for c in [
            &self.requests,
            &self.cost_spent,
            &self.rate_limited,
            &self.faults_injected,
            &self.list_pages,
            &self.list_records,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// One served request, as the request log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Status answered.
    pub status: u16,
    /// Cost charged.
    pub cost: u32,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

const LOG_CAPACITY: usize = 10_000;

/// Everything the handlers share. Lock order: `world` is never held while taking another
/// lock of this struct, and never held across an await; events are emitted after it is released.
pub(crate) struct Shared {
    pub(crate) world: RwLock<World>,
    pub(crate) config: Mutex<SandboxConfig>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) window: Mutex<Window>,
    pub(crate) counters: AtomicCounters,
    pub(crate) log: Mutex<VecDeque<LoggedRequest>>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) dispatcher: Dispatcher,
    simulator: Mutex<Option<(SimulatorConfig, oneshot::Sender<()>)>>,
    sim_rng: Mutex<fastrand::Rng>,
    /// Bumped (under the world's lock) when the simulator stops: a step of an older run does
    /// nothing, so no change lands after `stop_simulator` returns.
    sim_generation: std::sync::atomic::AtomicU64,
}

pub(crate) use salesloft_model::now_ms;

impl Shared {
    pub(crate) fn new(config: SandboxConfig) -> Result<Arc<Self>, SandboxError> {
        let world = World::generate(config.seed, config.team, config.offset()?, config.team_id)?;
        let auth = AuthState::new(
            &config.api_keys,
            &config.oauth_clients,
            config.token_ttl_secs as i64 * 1000,
            config.seed,
        );
        let dispatcher = Dispatcher::new(
            Duration::from_millis(config.webhook_retry_interval_ms),
            Duration::from_millis(config.webhook_timeout_ms),
        );
        Ok(Arc::new(Shared {
            world: RwLock::new(world),
            auth: Mutex::new(auth),
            window: Mutex::new(Window::new(config.rate_limit_per_minute)),
            counters: AtomicCounters::default(),
            log: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Faults::new(config.faults.clone())),
            dispatcher,
            simulator: Mutex::new(None),
            sim_rng: Mutex::new(fastrand::Rng::with_seed(config.seed ^ 0x51)),
            sim_generation: std::sync::atomic::AtomicU64::new(0),
            config: Mutex::new(config),
        }))
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().cloned().collect()
    }

    pub(crate) fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.dispatcher.attempts()
    }

    pub(crate) fn snapshot(&self) -> Vec<u8> {
        read(&self.world).snapshot()
    }

    /// Regenerate the world from `seed` and `team`; forget logs and counters.
    pub(crate) fn reseed(&self, seed: u64, team: TeamSize) -> Result<(), SandboxError> {
        let (offset, team_id) = {
            let c = lock(&self.config);
            (c.offset()?, c.team_id)
        };
        let world = World::generate(seed, team, offset, team_id)?;
        *write(&self.world) = world;
        {
            let mut c = lock(&self.config);
            c.seed = seed;
            c.team = team;
        }
        self.counters.reset();
        lock(&self.log).clear();
        self.dispatcher.clear();
        Ok(())
    }

    pub(crate) fn set_rate_limit(&self, per_minute: Option<u32>) {
        lock(&self.window).per_minute = per_minute;
        lock(&self.config).rate_limit_per_minute = per_minute;
    }

    pub(crate) fn expire_tokens(&self) {
        lock(&self.auth).expire_access_tokens();
    }

    pub(crate) fn revoke_tokens(&self) {
        lock(&self.auth).revoke_all();
    }

    pub(crate) fn revoke_api_keys(&self) {
        lock(&self.auth).revoke_api_keys();
    }

    pub(crate) fn issue_code(&self, client_id: &str) -> Option<String> {
        lock(&self.auth).issue_code(client_id).ok()
    }

    pub(crate) fn oauth_stats(&self) -> crate::auth::OAuthStats {
        lock(&self.auth).stats()
    }

    /// Give `count` people (from a random one on, in id order) one new `updated_at`: a tie
    /// group, as a bulk update makes. Their ids and the instant (µs). No webhooks.
    pub(crate) fn tie_group(&self, count: usize) -> (Vec<i64>, i64) {
        let mut world = write(&self.world);
        let mut rng = fastrand::Rng::new();
        let first = world
            .collection(Kind::PEOPLE)
            .random_id(&mut rng)
            .unwrap_or(0);
        let mut ids = world.ids_from(Kind::PEOPLE, first, count);
        if ids.len() < count {
            ids = world.ids_from(Kind::PEOPLE, i64::MIN, count);
        }
        let at = world.now();
        // Retiming existing records cannot fail but on a corrupt record; skip those.
        let _ = world.retime(Kind::PEOPLE, &ids, at);
        (ids, at.timestamp_micros())
    }

    /// Give the records `ids` of `kind` one `updated_at`, `behind` before now; the instant
    /// (µs). No webhooks; unknown kinds and ids are left alone.
    pub(crate) fn retime(&self, kind: Option<Kind>, ids: &[i64], behind: Duration) -> i64 {
        let mut world = write(&self.world);
        let now = world.now();
        let at =
            now - chrono::Duration::from_std(behind).unwrap_or_else(|_| chrono::Duration::zero());
        if let Some(kind) = kind {
            let _ = world.retime(kind, ids, at);
        }
        at.timestamp_micros()
    }

    /// Delete the records `ids` of `kind` with no webhook; how many existed.
    pub(crate) fn delete_silently(&self, kind: Kind, ids: &[i64]) -> usize {
        write(&self.world).remove_silently(kind, ids)
    }

    /// Store `json` as the record `id` of `kind`, byte for byte.
    pub(crate) fn put_raw(&self, kind: Kind, id: i64, json: bytes::Bytes) {
        write(&self.world).put_raw(kind, id, json);
    }

    /// Apply `count` simulator actions now (a random mix when `action` is `None`).
    pub(crate) fn mutate(&self, action: Option<Action>, count: usize) -> Result<usize, ApiError> {
        self.apply_actions(action, count, false, None)
    }

    /// Apply `count` actions (`action`, or a random mix with or without bulk updates); when
    /// `generation` is given, only if the simulator of that generation is still running.
    fn apply_actions(
        &self,
        action: Option<Action>,
        count: usize,
        bulk_updates: bool,
        generation: Option<u64>,
    ) -> Result<usize, ApiError> {
        let mut events = Vec::new();
        {
            let mut rng = lock(&self.sim_rng);
            let mut world = write(&self.world);
            let current = self
                .sim_generation
                .load(std::sync::atomic::Ordering::SeqCst);
            if generation.is_some_and(|g| g != current) {
                return Ok(0);
            }
            for _ in 0..count {
                let a = action.unwrap_or_else(|| simulator::pick_with(&mut rng, bulk_updates));
                events.extend(simulator::apply(&mut world, a, &mut rng)?);
            }
        }
        let n = events.len();
        self.emit(events);
        Ok(n)
    }

    pub(crate) fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let subs: Vec<_> = read(&self.world).subscriptions.values().cloned().collect();
        if !subs.is_empty() {
            self.dispatcher.dispatch(&subs, events);
        }
    }

    /// Start (or restart) the live simulator.
    pub(crate) fn start_simulator(self: &Arc<Self>, config: SimulatorConfig) {
        self.stop_simulator();
        let (tx, mut rx) = oneshot::channel();
        *lock(&self.simulator) = Some((config, tx));
        *lock(&self.sim_rng) = fastrand::Rng::with_seed(config.seed);
        let this = Arc::clone(self);
        let rate = config.events_per_second.max(0.001);
        // Ticks of at least 5 ms, each applying the actions due by then: hundreds of changes
        // a second without a timer per change.
        let period = Duration::from_secs_f64((1.0 / rate).max(0.005));
        let generation = self
            .sim_generation
            .load(std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let mut done = 0u64;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    _ = tick.tick() => {
                        let due = (started.elapsed().as_secs_f64() * rate) as u64;
                        let n = due.saturating_sub(done).max(1);
                        done = done.saturating_add(n);
                        let n = usize::try_from(n).unwrap_or(usize::MAX);
                        if let Err(e) = this.apply_actions(None, n, config.bulk_updates, Some(generation)) {
                            tracing::warn!(error = ?e, "simulator step failed");
                        }
                    }
                }
            }
        });
    }

    /// Stop the simulator; once this returns, it changes nothing more.
    pub(crate) fn stop_simulator(&self) {
        {
            let _world = write(&self.world);
            self.sim_generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        if let Some((_, tx)) = lock(&self.simulator).take() {
            let _ = tx.send(());
        }
    }

    pub(crate) fn simulator_state(&self) -> Value {
        match &*lock(&self.simulator) {
            Some((c, _)) => {
                json!({"running": true, "events_per_second": c.events_per_second, "seed": c.seed})
            }
            None => json!({"running": false}),
        }
    }

    pub(crate) fn log_request(&self, entry: LoggedRequest) {
        let mut log = lock(&self.log);
        if log.len() >= LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}
