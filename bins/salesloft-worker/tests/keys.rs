//! Two-way push resolves people by what the local copy says now, not by what a worker's cache
//! remembered: a `salesloft-worker` process runs the pushes (as `salesloft people push
//! --enqueue` queues them) against the sandbox, on SQLite and on PostgreSQL, while a person's
//! address or CRM id moves in SalesLoft and reaches the local copy through the worker's own
//! sync, or through a sync or a webhook applied by another process (this test's). A push keyed
//! by the old value must never touch that person: it creates a new one.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

use salesloft_storage::on_both;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use salesloft_client::{Auth, Client, Person, PersonId, PersonInput, Unlimited};
use salesloft_services::{Context, LocalPerson, Stream, SyncEngine, SyncOptions};
use salesloft_storage::testing::{TestDb, fetch_texts};
use serde_json::{Value, json};

/// The worker process, killed when dropped.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct World {
    sandbox: salesloft_sandbox::SandboxHandle,
    db: TestDb,
    /// This test's own access to SalesLoft and the copy: another process than the worker's.
    ctx: Context,
    _worker: Worker,
}

/// A team of 30 people and a worker syncing every `sync_every_secs` (its first sync at start),
/// once the copy holds every person.
async fn world(db: TestDb, sync_every_secs: u64) -> World {
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            people: 30,
            accounts: 5,
            users: 2,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-worker"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    let worker = Worker(
        cmd.env("SALESLOFT_API_KEY", sandbox.api_key())
            .env("SALESLOFT_BASE_URL", sandbox.url())
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env(
                "SALESLOFT_JOBS__SYNC_EVERY_SECS",
                sync_every_secs.to_string(),
            )
            .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = Client::builder(Auth::api_key(sandbox.api_key()))
        .base_url(sandbox.url())
        .limiter(Arc::new(Unlimited))
        .build()
        .unwrap();
    let ctx = Context::new(client, db.store.clone());
    let w = World {
        sandbox,
        db,
        ctx,
        _worker: worker,
    };
    w.until("the first sync", || async { w.people_here().await == 30 })
        .await;
    w
}

impl World {
    async fn until<F, Fut>(&self, what: &str, done: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while !done().await {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{what}: not within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn people_here(&self) -> i64 {
        fetch_texts(
            &self.db.store,
            "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE deleted_at_ms IS NULL",
        )
        .await
        .map(|r| r[0].as_deref().unwrap_or("0").parse().unwrap_or(0))
        .unwrap_or(0)
    }

    /// The local copy's field `field` of person `id`.
    async fn here(&self, id: i64, field: &str) -> Value {
        let (raw, _) = self
            .db
            .store
            .raw_record::<Person>(id)
            .await
            .unwrap()
            .unwrap();
        serde_json::from_str::<Value>(&raw).unwrap()[field].clone()
    }

    /// SalesLoft's people.
    fn people(&self) -> Vec<Value> {
        self.sandbox.snapshot()["people"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn person(&self, id: i64) -> Value {
        self.people()
            .into_iter()
            .find(|p| p["id"].as_i64() == Some(id))
            .unwrap()
    }

    /// Queue one push of `fields` for the worker and wait for it to complete.
    async fn push(&self, fields: Value) {
        let later = chrono::Utc::now() + chrono::Duration::hours(1);
        let record = LocalPerson::new(fields.as_object().unwrap().clone(), later);
        let job = salesloft_jobs::Registry::job::<salesloft_services::jobs::PushJob>(
            &salesloft_services::jobs::PushPayload::of(&[record]),
        )
        .unwrap();
        let id = match self.db.store.enqueue(&job).await.unwrap() {
            salesloft_storage::Enqueued::Created(id)
            | salesloft_storage::Enqueued::Existing(id) => id,
        };
        self.until("the push job", || async {
            self.db
                .store
                .job(id)
                .await
                .unwrap()
                .is_some_and(|j| j.state == "completed")
        })
        .await;
    }

    /// Change person `id` in SalesLoft.
    async fn change(&self, id: i64, input: PersonInput) {
        self.ctx
            .client
            .people()
            .update(PersonId::from(id), &input)
            .await
            .unwrap();
    }

    /// Sync people from this process (not the worker's).
    async fn sync_here(&self) {
        let report = SyncEngine::new(self.ctx.clone())
            .sync(&[Stream::named("people").unwrap()], SyncOptions::default())
            .await;
        assert!(report.is_ok(), "{report:?}");
    }

    /// Apply person `id`'s state in SalesLoft as its `person_updated` webhook, from this
    /// process (not the worker's).
    async fn webhook_here(&self, id: i64) {
        let body = serde_json::to_vec(&self.person(id)).unwrap();
        let inbox_id = self
            .db
            .store
            .record_webhook("person_updated", &body, Some(id), None)
            .await
            .unwrap()
            .unwrap();
        let processed = salesloft_webhooks::Processor::new(self.ctx.clone())
            .process(inbox_id)
            .await
            .unwrap();
        assert!(
            matches!(processed, salesloft_webhooks::Processed::Applied { .. }),
            "{processed:?}"
        );
    }
}

/// What brings the moved key into the local copy.
#[derive(Debug, Clone, Copy)]
enum Moved {
    /// The worker's own scheduled sync (every 10 s).
    TheWorkersSync,
    /// A sync run by another process.
    SyncElsewhere,
    /// A webhook applied by another process.
    WebhookElsewhere,
}

/// A push keyed by person B's address caches it in the worker; B's address changes in
/// SalesLoft and the change reaches the copy; a push keyed by the old address creates a new
/// person and leaves B alone.
async fn an_address_that_moved_never_reaches_its_old_person(db: TestDb, moved: Moved) {
    let sync_every = match moved {
        Moved::TheWorkersSync => 10,
        _ => 86_400,
    };
    let w = world(db, sync_every).await;
    let b = w.people()[0].clone();
    let id = b["id"].as_i64().unwrap();
    let old = b["email_address"].as_str().unwrap().to_owned();
    let title = b["title"].clone();
    // A push keyed by the address with B's own values: nothing to write, the address cached.
    w.push(json!({"email_address": old, "title": title})).await;
    assert_eq!(w.person(id)["title"], title, "nothing written");

    // In SalesLoft, B's address changes; the change reaches the copy.
    let new = format!("moved.{id}@example.com");
    w.change(
        id,
        PersonInput {
            email_address: Some(new.clone()),
            ..PersonInput::default()
        },
    )
    .await;
    match moved {
        Moved::TheWorkersSync => {}
        Moved::SyncElsewhere => w.sync_here().await,
        Moved::WebhookElsewhere => w.webhook_here(id).await,
    }
    w.until("the new address in the copy", || async {
        w.here(id, "email_address").await == json!(new)
    })
    .await;

    // A push keyed by the old address: nobody has it now, so a new person is created.
    w.push(json!({"email_address": old, "title": "Pushed to the old address", "last_name": "New"}))
        .await;
    let after = w.person(id);
    assert_eq!(
        after["email_address"],
        json!(new),
        "{moved:?}: B keeps its new address"
    );
    assert_eq!(after["title"], title, "{moved:?}: B is untouched");
    let holders: Vec<Value> = w
        .people()
        .into_iter()
        .filter(|p| p["email_address"].as_str() == Some(old.as_str()))
        .collect();
    assert_eq!(
        holders.len(),
        1,
        "{moved:?}: one new person has the old address"
    );
    assert_ne!(holders[0]["id"].as_i64(), Some(id));
    assert_eq!(holders[0]["title"], "Pushed to the old address");
}

/// A push keyed by a CRM id; the CRM id moves off person B in SalesLoft; a push keyed by the
/// old CRM id creates a new person (an upsert on it) and leaves B alone.
async fn a_crm_id_that_moved_never_reaches_its_old_person(db: TestDb) {
    let w = world(db, 86_400).await;
    let b = w.people()[1].clone();
    let id = b["id"].as_i64().unwrap();
    let crm = format!("CRM-{id}");
    w.change(
        id,
        PersonInput {
            crm_id: Some(crm.clone()),
            ..PersonInput::default()
        },
    )
    .await;
    w.sync_here().await;
    let title = w.person(id)["title"].clone();
    w.push(json!({"crm_id": crm, "title": title})).await;

    w.change(
        id,
        PersonInput {
            crm_id: Some(format!("CRM-{id}-moved")),
            ..PersonInput::default()
        },
    )
    .await;
    w.sync_here().await;

    w.push(json!({
        "crm_id": crm,
        "title": "Pushed to the old CRM id",
        "last_name": "New",
        "email_address": format!("crm.{id}@example.com"),
    }))
    .await;
    let after = w.person(id);
    assert_eq!(
        after["crm_id"],
        json!(format!("CRM-{id}-moved")),
        "B keeps its new CRM id"
    );
    assert_eq!(after["title"], title, "B is untouched");
    let holders: Vec<Value> = w
        .people()
        .into_iter()
        .filter(|p| p["crm_id"].as_str() == Some(crm.as_str()))
        .collect();
    assert_eq!(holders.len(), 1, "one new person has the old CRM id");
    assert_ne!(holders[0]["id"].as_i64(), Some(id));
}

on_both!(moved_by_the_workers_sync, |db| {
    an_address_that_moved_never_reaches_its_old_person(db, Moved::TheWorkersSync)
});
on_both!(moved_by_a_sync_elsewhere, |db| {
    an_address_that_moved_never_reaches_its_old_person(db, Moved::SyncElsewhere)
});
on_both!(moved_by_a_webhook_elsewhere, |db| {
    an_address_that_moved_never_reaches_its_old_person(db, Moved::WebhookElsewhere)
});
on_both!(
    crm_id_moved,
    a_crm_id_that_moved_never_reaches_its_old_person
);
