//! The lookup cache against the sandbox: the local copy first, then one SalesLoft list;
//! concurrent lookups of one key share one load; absences are remembered; a pushed change
//! invalidates; hits and misses are counted.

use salesloft_storage::on_both;
use std::time::{Duration, Instant};

use salesloft_client::{CadenceId, Person, UserId};
use salesloft_services::{CacheStats, LookupConfig, Lookups, Stream};
use salesloft_storage::testing::TestDb;

use crate::{Setup, setup};

fn team() -> salesloft_sandbox::SandboxConfig {
    salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            people: 40,
            accounts: 10,
            users: 3,
            cadences: 4,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    }
}

/// The first record of `kind` in the sandbox's snapshot.
fn first(s: &Setup, kind: &str) -> serde_json::Value {
    s.sandbox.snapshot()[kind][0].clone()
}

/// Requests the sandbox served to `path` so far.
fn requests_to(s: &Setup, path: &str) -> usize {
    s.sandbox
        .requests()
        .iter()
        .filter(|r| r.path.trim_end_matches(".json") == path)
        .count()
}

fn stats(lookups: &Lookups, cache: &str) -> CacheStats {
    lookups
        .stats()
        .into_iter()
        .find(|s| s.cache == cache)
        .unwrap()
}

async fn lookups_load_once_remember_absence_and_forget_on_webhooks(db: TestDb) {
    let s = setup(team(), db).await;
    let ctx = s.engine.context().clone();
    let lookups = Lookups::new(ctx.clone(), LookupConfig::default());
    let person = first(&s, "people");
    let email = person["email_address"].as_str().unwrap().to_owned();
    let id = person["id"].as_i64().unwrap();

    // 50 concurrent lookups of one address, not in the local copy: one request, one load.
    let shouted = email.to_uppercase();
    let found = futures_util::future::join_all((0..50).map(|i| {
        let lookups = lookups.clone();
        let key = if i % 2 == 0 {
            email.clone()
        } else {
            shouted.clone()
        };
        async move { lookups.person_by_email(&key).await.unwrap() }
    }))
    .await;
    assert!(
        found
            .iter()
            .all(|p| p.as_ref().map(|p| p.id.get()) == Some(id))
    );
    assert_eq!(
        requests_to(&s, "/v2/people"),
        1,
        "one request for 50 lookups"
    );
    let st = stats(&lookups, "people_by_email");
    assert_eq!((st.misses, st.hits), (1, 49), "{st:?}");
    // What SalesLoft sent is kept locally: a fresh cache finds it without a request.
    assert_eq!(s.store.count_live::<Person>().await.unwrap(), 1);
    let other = Lookups::new(ctx.clone(), LookupConfig::default());
    assert_eq!(
        other
            .person_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .id
            .get(),
        id
    );
    assert_eq!(requests_to(&s, "/v2/people"), 1, "the local copy answered");

    // An address nobody has: one request, then remembered as absent.
    let nobody = "nobody-here@example.invalid";
    assert!(lookups.person_by_email(nobody).await.unwrap().is_none());
    assert!(lookups.person_by_email(nobody).await.unwrap().is_none());
    assert_eq!(requests_to(&s, "/v2/people"), 2);
    // Without asking SalesLoft, a miss costs nothing.
    let local_only = Lookups::new(
        ctx.clone(),
        LookupConfig::default().with_ask_salesloft(false),
    );
    assert!(
        local_only
            .person_by_email("else@example.invalid")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(requests_to(&s, "/v2/people"), 2);

    // Users and cadences by id: loaded once, then kept.
    let user = first(&s, "users")["id"].as_i64().unwrap();
    let cadence = first(&s, "cadences")["id"].as_i64().unwrap();
    for _ in 0..3 {
        let u = lookups.user(UserId::from(user)).await.unwrap().unwrap();
        assert_eq!(u.id.get(), user);
        let c = lookups
            .cadence(CadenceId::from(cadence))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.id.get(), cadence);
    }
    assert_eq!(requests_to(&s, "/v2/users"), 1);
    assert_eq!(requests_to(&s, "/v2/cadences"), 1);
    assert_eq!(
        (
            stats(&lookups, "users").misses,
            stats(&lookups, "users").hits
        ),
        (1, 2)
    );
    assert!(
        lookups
            .user(UserId::from(999_999_999))
            .await
            .unwrap()
            .is_none()
    );

    // A webhook says the person's address changed: both the old entry and the new address
    // (kept as absent) are forgotten, and the new address is found.
    let mut changed = person.clone();
    changed["email_address"] = serde_json::Value::from(nobody);
    changed["updated_at"] = serde_json::Value::from(
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    );
    let body = serde_json::to_vec(&changed).unwrap();
    ctx.store
        .upsert_prepared(salesloft_storage::PreparedRows::received(&[
            salesloft_client::wire::parse_received::<Person>(&body).unwrap(),
        ]))
        .await
        .unwrap();
    lookups
        .forget_pushed(Stream::named("people").unwrap().resource(), &body)
        .await;
    let moved = lookups.person_by_email(nobody).await.unwrap();
    assert_eq!(moved.map(|p| p.id.get()), Some(id), "the new address");
    assert_eq!(requests_to(&s, "/v2/people"), 2, "read from the local copy");
    // The old address reloads (the local copy no longer has it there; SalesLoft still does).
    let before = stats(&lookups, "people_by_email").misses;
    lookups.person_by_email(&email).await.unwrap();
    assert_eq!(stats(&lookups, "people_by_email").misses, before + 1);

    // A user webhook forgets that user.
    let before = stats(&lookups, "users").misses;
    lookups
        .forget_pushed(
            Stream::named("users").unwrap().resource(),
            format!(r#"{{"id":{user}}}"#).as_bytes(),
        )
        .await;
    lookups.user(UserId::from(user)).await.unwrap();
    assert_eq!(stats(&lookups, "users").misses, before + 1);

    // Absences expire after their own time to live.
    let short = Lookups::new(
        ctx.clone(),
        LookupConfig::default().with_missing_time_to_live(Duration::from_millis(50)),
    );
    let gone = "gone@example.invalid";
    assert!(short.person_by_email(gone).await.unwrap().is_none());
    let asked = requests_to(&s, "/v2/people");
    let started = Instant::now();
    while requests_to(&s, "/v2/people") == asked {
        assert!(started.elapsed() < Duration::from_secs(10), "never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
        short.person_by_email(gone).await.unwrap();
    }
}

/// A load that fails is not kept, and every caller sharing it gets the error.
async fn a_failed_load_is_not_cached(db: TestDb) {
    let s = setup(team(), db).await;
    let lookups = Lookups::new(s.engine.context().clone(), LookupConfig::default());
    let user = first(&s, "users")["id"].as_i64().unwrap();
    // Every attempt the client's retry policy makes fails.
    s.sandbox.schedule_faults(std::iter::repeat_n(
        salesloft_sandbox::Fault::Status { status: 500 },
        10,
    ));
    let failed = lookups.user(UserId::from(user)).await;
    assert!(failed.is_err(), "{failed:?}");
    let u = lookups.user(UserId::from(user)).await.unwrap();
    assert_eq!(u.map(|u| u.id.get()), Some(user));
}

/// A sync that stores a new state of a cached person forgets that person's cached address in
/// the process that ran it: the next lookup loads again (from the local copy) instead of
/// answering from the cache, even right after the entry was cached.
async fn a_sync_forgets_the_people_it_stored(db: TestDb) {
    let s = setup(team(), db).await;
    let lookups = Lookups::new(s.engine.context().clone(), LookupConfig::default());
    let engine = salesloft_services::SyncEngine::new(s.engine.context().clone())
        .with_lookups(lookups.clone());
    let people = [Stream::named("people").unwrap()];
    let report = engine
        .sync(&people, salesloft_services::SyncOptions::default())
        .await;
    assert!(report.is_ok(), "{report:?}");
    let person = first(&s, "people");
    let email = person["email_address"].as_str().unwrap().to_owned();
    let id = person["id"].as_i64().unwrap();
    lookups.person_by_email(&email).await.unwrap().unwrap();
    let misses = stats(&lookups, "people_by_email").misses;

    // The person changes in SalesLoft (same address) and a sync stores the new state.
    s.sandbox.retime("people", &[id], Duration::ZERO);
    let report = engine
        .sync(&people, salesloft_services::SyncOptions::default())
        .await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.stream("people").unwrap().updated, 1, "{report:?}");

    lookups.person_by_email(&email).await.unwrap().unwrap();
    assert_eq!(
        stats(&lookups, "people_by_email").misses,
        misses + 1,
        "the sync forgot the person it stored"
    );
}

on_both!(
    sync_forgets_stored_people,
    a_sync_forgets_the_people_it_stored
);
on_both!(
    lookups_by_id_and_email,
    lookups_load_once_remember_absence_and_forget_on_webhooks
);
on_both!(failed_lookup_loads, a_failed_load_is_not_cached);
