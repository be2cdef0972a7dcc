//! A per-process cache for the lookups the services make over and over: users and cadences by
//! id, people by e-mail address (push and enrollment). Each lookup reads the local copy first and
//! asks SalesLoft (one `ids[]` or `email_addresses[]` list, cost 1) only when the copy does not
//! have the record, keeping what it brings back. Concurrent lookups of one key share one load;
//! found records live `time_to_live`, absent ones `missing_time_to_live`.
//!
//! The cache is advisory: the local copy stays the truth. A person looked up by address is
//! checked against the copy on every use (one local read, which a push makes anyway): if the
//! person no longer carries the address, or someone else now does, the entry is forgotten and
//! looked up again, so an address that moved resolves as the copy says whichever process
//! applied the change. Webhooks applied and syncs run in a process forget what they change in
//! that process's cache ([`Lookups::forget_pushed`], [`Lookups::forget_ids`]); other
//! processes need not hear of it, because of that check. Users and cadences by id are
//! content only (an id never moves) and can be up to `time_to_live` old where no webhook
//! reached this process. Each lookup counts `salesloft_cache_requests_total{cache, result =
//! hit | miss}` through the `metrics` facade, and each entry found stale
//! `salesloft_cache_stale_total{cache}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use salesloft_client::{
    Cadence, CadenceId, Cadences, ListResource, People, Person, PersonId, Received, Record,
    Resource, User, UserId, Users,
};
use salesloft_storage::Entity;
use serde::de::DeserializeOwned;

use crate::apply::stored_record;
use crate::context::Context;
use crate::error::{Error, Result};

/// How long lookups are kept and how many: the defaults, with a `with_*` setter per field
/// (`LookupConfig::default().with_max_entries(50_000)`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupConfig {
    /// How long a record found is kept (default 10 minutes).
    pub time_to_live: Duration,
    /// How long "no such record" is kept (default 60 s), so a record created meanwhile is
    /// found soon even without its webhook.
    pub missing_time_to_live: Duration,
    /// Entries kept per cache (default 10,000); the least used go first.
    pub max_entries: u64,
    /// Ask SalesLoft when the local copy does not have the record (default true); false
    /// answers from the local copy only and costs nothing.
    pub ask_salesloft: bool,
}

impl Default for LookupConfig {
    fn default() -> Self {
        Self {
            time_to_live: Duration::from_secs(600),
            missing_time_to_live: Duration::from_secs(60),
            max_entries: 10_000,
            ask_salesloft: true,
        }
    }
}

salesloft_client::with_setters!(LookupConfig {
    with_time_to_live => time_to_live: Duration,
    with_missing_time_to_live => missing_time_to_live: Duration,
    with_max_entries => max_entries: u64,
    with_ask_salesloft => ask_salesloft: bool,
});

/// Hits and misses of one cache since it was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// The cache: `users`, `cadences` or `people_by_email`.
    pub cache: &'static str,
    /// Lookups answered without a load of their own (kept, or sharing a concurrent load).
    pub hits: u64,
    /// Lookups that loaded (from the local copy, and from SalesLoft when it lacked the record).
    pub misses: u64,
    /// Entries held now (approximate: expired ones leave on the cache's next maintenance).
    pub entries: u64,
}

/// Users and cadences by id, people by e-mail, cached. Cheap to clone: clones share the caches.
#[derive(Clone)]
pub struct Lookups {
    ctx: Context,
    config: LookupConfig,
    users: Keyed<i64, User>,
    cadences: Keyed<i64, Cadence>,
    people_by_email: Keyed<String, Person>,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys of the e-mail cache are personal data: counts only.
        f.debug_struct("Lookups")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Lookups {
    /// Lookups through `ctx` (its store first, then its client).
    pub fn new(ctx: Context, config: LookupConfig) -> Self {
        Self {
            users: Keyed::new("users", &config),
            cadences: Keyed::new("cadences", &config),
            people_by_email: Keyed::new("people_by_email", &config),
            ctx,
            config,
        }
    }

    /// The user `id`, or `None` when neither the local copy nor SalesLoft has it.
    pub async fn user(&self, id: UserId) -> Result<Option<Arc<User>>> {
        let id = i64::from(id);
        self.users.get(id, || self.load_by_id::<Users>(id)).await
    }

    /// The cadence `id`, or `None` when neither the local copy nor SalesLoft has it.
    pub async fn cadence(&self, id: CadenceId) -> Result<Option<Arc<Cadence>>> {
        let id = i64::from(id);
        self.cadences
            .get(id, || self.load_by_id::<Cadences>(id))
            .await
    }

    /// The person whose e-mail address is `email` (compared case-insensitively) in the local
    /// copy now, or `None`. A cached answer is checked against the local copy first (one
    /// read): a person found who no longer carries the address, or an absence while the copy
    /// has someone with it, is forgotten and looked up again. So a key that moved to another
    /// person (or away) in SalesLoft resolves as the copy says, whichever process applied the
    /// change and whenever its cache was filled.
    pub async fn person_by_email(&self, email: &str) -> Result<Option<Arc<Person>>> {
        let key = email_key(email);
        if key.is_empty() {
            return Ok(None);
        }
        let load = || self.load_person_by_email(key.clone());
        let cached = self.people_by_email.get(key.clone(), load).await?;
        if self.person_still_has(&key, cached.as_deref()).await? {
            return Ok(cached);
        }
        self.people_by_email.cache.invalidate(&key).await;
        metrics::counter!("salesloft_cache_stale_total", "cache" => self.people_by_email.name)
            .increment(1);
        self.people_by_email.get(key.clone(), load).await
    }

    /// Whether the local copy agrees with a cached answer for the address `key`: the person
    /// found is live and carries it, or (for an absence) nobody live carries it.
    async fn person_still_has(&self, key: &str, cached: Option<&Person>) -> Result<bool> {
        let Some(person) = cached else {
            return Ok(self.ctx.store.live_person_by_email(key).await?.is_none());
        };
        let id = person.id.get();
        let Some((raw, _)) = self.ctx.store.raw_record::<Person>(id).await? else {
            return Ok(false);
        };
        let now: Person = stored_record(People::RESOURCE.name, id, &raw)?;
        Ok(now.email_address.as_deref().map(email_key).as_deref() == Some(key))
    }

    /// Forget the user `id` (it changed or was deleted).
    pub async fn forget_user(&self, id: UserId) {
        self.users.cache.invalidate(&i64::from(id)).await;
    }

    /// Forget the cadence `id`.
    pub async fn forget_cadence(&self, id: CadenceId) {
        self.cadences.cache.invalidate(&i64::from(id)).await;
    }

    /// Forget the person `id` under whatever address it was kept, and `email` (its address
    /// now, which may have been kept as absent).
    pub async fn forget_person(&self, id: PersonId, email: Option<&str>) {
        let cache = &self.people_by_email.cache;
        if let Some(email) = email {
            cache.invalidate(&email_key(email)).await;
        }
        let id = id.get();
        // A person whose address changed is kept under the old one: found by value. The
        // predicate runs on the next maintenance, which is run now.
        match cache.invalidate_entries_if(move |_, v| v.as_ref().is_some_and(|p| p.id.get() == id))
        {
            Ok(_) => cache.run_pending_tasks().await,
            Err(e) => tracing::warn!(error = %e, "forgetting a cached person failed"),
        }
    }

    /// Whether it caches records of the stream named `stream` (users, cadences, people).
    pub fn caches(&self, stream: &str) -> bool {
        [
            Users::RESOURCE.name,
            Cadences::RESOURCE.name,
            People::RESOURCE.name,
        ]
        .contains(&stream)
    }

    /// Forget the records `ids` of the stream named `stream` (a sync stored new states of
    /// them): users and cadences by id, people under any address they were kept (one pass over
    /// the cache for them all, none while it holds nobody).
    pub async fn forget_ids(&self, stream: &str, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        if stream == Users::RESOURCE.name {
            for id in ids {
                self.users.cache.invalidate(id).await;
            }
        } else if stream == Cadences::RESOURCE.name {
            for id in ids {
                self.cadences.cache.invalidate(id).await;
            }
        } else if stream == People::RESOURCE.name {
            let cache = &self.people_by_email.cache;
            // The count is kept by the cache's maintenance: bring it up to date first, or an
            // entry inserted since the last maintenance would be missed.
            cache.run_pending_tasks().await;
            if cache.entry_count() == 0 {
                return;
            }
            let ids: std::collections::HashSet<i64> = ids.iter().copied().collect();
            match cache.invalidate_entries_if(move |_, v| {
                v.as_ref().is_some_and(|p| ids.contains(&p.id.get()))
            }) {
                Ok(_) => cache.run_pending_tasks().await,
                Err(e) => tracing::warn!(error = %e, "forgetting cached people failed"),
            }
        }
    }

    /// Forget what a pushed record of `resource` (a webhook body) makes stale; other
    /// resources are not cached and cost nothing.
    pub async fn forget_pushed(&self, resource: &Resource, body: &[u8]) {
        #[derive(serde::Deserialize)]
        struct Peek {
            #[serde(default)]
            id: Option<serde_json::Value>,
            #[serde(default)]
            email_address: Option<serde_json::Value>,
        }
        let Ok(peek) = serde_json::from_slice::<Peek>(body) else {
            return;
        };
        let Some(id) = peek.id.as_ref().and_then(id_of) else {
            return;
        };
        let name = resource.name;
        if name == Users::RESOURCE.name {
            self.forget_user(UserId::from(id)).await;
        } else if name == Cadences::RESOURCE.name {
            self.forget_cadence(CadenceId::from(id)).await;
        } else if name == People::RESOURCE.name {
            let email = peek.email_address.as_ref().and_then(|e| e.as_str());
            self.forget_person(PersonId::from(id), email).await;
        }
    }

    /// Hits, misses and entries of each cache.
    pub fn stats(&self) -> Vec<CacheStats> {
        vec![
            self.users.stats(),
            self.cadences.stats(),
            self.people_by_email.stats(),
        ]
    }

    /// Run each cache's pending maintenance (expiry, eviction, invalidations); a ticker calls
    /// this so idle caches give their memory back.
    pub async fn run_pending_tasks(&self) {
        self.users.cache.run_pending_tasks().await;
        self.cadences.cache.run_pending_tasks().await;
        self.people_by_email.cache.run_pending_tasks().await;
    }

    /// `R`'s record `id`: the local copy's, else SalesLoft's (kept locally).
    async fn load_by_id<R: ListResource>(&self, id: i64) -> Result<Option<Arc<R::Item>>>
    where
        R::Item: Entity + DeserializeOwned,
        R::Id: From<i64>,
    {
        if let Some((raw, _)) = self.ctx.store.raw_record::<R::Item>(id).await? {
            return stored_record::<R::Item>(R::RESOURCE.name, id, &raw).map(|r| Some(Arc::new(r)));
        }
        if !self.config.ask_salesloft {
            return Ok(None);
        }
        let page = self
            .ctx
            .client
            .list::<R>()
            .ids([R::Id::from(id)])
            .send_received()
            .await?;
        self.keep(page.items, |r| r.record_id() == id).await
    }

    /// The person the local copy shows with the address `key`; when it shows nobody, what
    /// SalesLoft lists for it is kept first (newer states only), and the copy answers again.
    async fn load_person_by_email(&self, key: String) -> Result<Option<Arc<Person>>> {
        if let Some(found) = self.local_person_by_email(&key).await? {
            return Ok(Some(found));
        }
        if !self.config.ask_salesloft {
            return Ok(None);
        }
        let page = self
            .ctx
            .client
            .list::<People>()
            .email_addresses([key.as_str()])
            .send_received()
            .await?;
        if page.items.is_empty() {
            return Ok(None);
        }
        self.ctx.keep_received(&page.items).await?;
        self.local_person_by_email(&key).await
    }

    /// The live person with the address `key` in the local copy.
    async fn local_person_by_email(&self, key: &str) -> Result<Option<Arc<Person>>> {
        match self.ctx.store.live_person_by_email(key).await? {
            Some((id, raw)) => {
                stored_record::<Person>(People::RESOURCE.name, id, &raw).map(|r| Some(Arc::new(r)))
            }
            None => Ok(None),
        }
    }

    /// Keep what SalesLoft sent in the local copy (the monotonic upsert: never older over
    /// newer) and answer the lowest-id record that `wanted`.
    async fn keep<T: Entity>(
        &self,
        items: Vec<Received<T>>,
        wanted: impl Fn(&Received<T>) -> bool,
    ) -> Result<Option<Arc<T>>> {
        if items.is_empty() {
            return Ok(None);
        }
        self.ctx.keep_received(&items).await?;
        Ok(items
            .into_iter()
            .filter(|r| wanted(r))
            .min_by_key(Record::record_id)
            .map(|r| Arc::new(r.record)))
    }
}

/// An id sent as a number or as digits.
fn id_of(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How an e-mail address is keyed: trimmed, lower case.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One cache with its counts.
struct Keyed<K, T> {
    name: &'static str,
    cache: Cache<K, Option<Arc<T>>>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl<K, T> Clone for Keyed<K, T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            cache: self.cache.clone(),
            hits: self.hits.clone(),
            misses: self.misses.clone(),
        }
    }
}

impl<K, T> Keyed<K, T>
where
    K: std::hash::Hash + Eq + Send + Sync + Clone + 'static,
    T: Send + Sync + 'static,
{
    fn new(name: &'static str, config: &LookupConfig) -> Self {
        let cache = Cache::builder()
            .name(name)
            .max_capacity(config.max_entries)
            .expire_after(TimeToLive {
                found: config.time_to_live,
                missing: config.missing_time_to_live,
            })
            .support_invalidation_closures()
            .build();
        // Present on /metrics from the start, at zero.
        for result in ["hit", "miss"] {
            metrics::counter!("salesloft_cache_requests_total", "cache" => name, "result" => result)
                .increment(0);
        }
        Self {
            name,
            cache,
            hits: Arc::default(),
            misses: Arc::default(),
        }
    }

    /// The entry for `key`, loading it with `load` when absent; concurrent callers of one key
    /// share one load, and a failed load is not kept.
    async fn get<F, Fut>(&self, key: K, load: F) -> Result<Option<Arc<T>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<Arc<T>>>>,
    {
        let entry = self
            .cache
            .entry(key)
            .or_try_insert_with(load())
            .await
            .map_err(|source| Error::Lookup {
                cache: self.name,
                source,
            })?;
        let (counter, result) = if entry.is_fresh() {
            (&self.misses, "miss")
        } else {
            (&self.hits, "hit")
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("salesloft_cache_requests_total", "cache" => self.name, "result" => result)
            .increment(1);
        Ok(entry.into_value())
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            cache: self.name,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
        }
    }
}

/// Found records and absences expire after their own time to live.
struct TimeToLive {
    found: Duration,
    missing: Duration,
}

impl<K, T> Expiry<K, Option<Arc<T>>> for TimeToLive {
    fn expire_after_create(
        &self,
        _key: &K,
        value: &Option<Arc<T>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(if value.is_some() {
            self.found
        } else {
            self.missing
        })
    }
}
