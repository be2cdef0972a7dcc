//! Credentials SalesLoft rejected: held for every process, one probe per period, and the jobs
//! that wait for them.

use std::time::Duration;

use salesloft_client::{CredentialHold, HoldCheck};
use salesloft_storage::{NewJob, now_ms};
use serde_json::json;

use crate::helpers::{TestDb, another_pool, on_both};

const LEASE: Duration = Duration::from_secs(60);

fn rejected(credential: &str, since_ms: i64, probe_at_ms: i64) -> CredentialHold {
    CredentialHold {
        credential: credential.into(),
        since_ms,
        request: "GET /v2/people".into(),
        status: Some(401),
        message: Some("Invalid key".into()),
        probe_at_ms,
    }
}

async fn a_held_credential_is_held_everywhere_and_probed_once(db: &TestDb) {
    let other = another_pool(db).await;
    let every = Duration::from_secs(900);
    assert_eq!(
        db.store.check_credential("key:a", every).await.unwrap(),
        HoldCheck::Clear
    );
    let now = now_ms();
    db.store
        .hold_credential(&rejected("key:a", now, now + 60_000))
        .await
        .unwrap();
    assert!(matches!(
        other.check_credential("key:a", every).await.unwrap(),
        HoldCheck::Held(h) if h.request == "GET /v2/people" && h.status == Some(401)
    ));
    assert_eq!(
        other.check_credential("key:b", every).await.unwrap(),
        HoldCheck::Clear,
        "another credential is not held"
    );
    // The probe is due: of many processes asking at once, exactly one gets it.
    db.store
        .hold_credential(&rejected("key:a", now + 5, now - 1))
        .await
        .unwrap();
    let mut asking = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = if i % 2 == 0 {
            db.store.clone()
        } else {
            other.clone()
        };
        asking.spawn(async move { store.check_credential("key:a", every).await.unwrap() });
    }
    let checks = asking.join_all().await;
    let probes = checks
        .iter()
        .filter(|c| matches!(c, HoldCheck::Probe(_)))
        .count();
    assert_eq!(probes, 1, "{checks:?}");
    let holds = db.store.credential_holds().await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        holds[0].since_ms, now,
        "a renewed hold keeps its first rejection"
    );
    assert!(
        holds[0].probe_at_ms >= now + 899_000,
        "the next probe is a period away"
    );
    other.release_credential("key:a").await.unwrap();
    assert_eq!(
        db.store.check_credential("key:a", every).await.unwrap(),
        HoldCheck::Clear
    );
}
on_both!(
    held_everywhere,
    &a_held_credential_is_held_everywhere_and_probed_once
);

async fn a_held_job_waits_for_its_credential_not_for_its_schedule(db: &TestDb) {
    let job = NewJob::new("sync", json!({"stream": "people"})).unique("sync:people");
    db.store.enqueue(&job).await.unwrap();
    let claimed = db.store.claim("default", 10, "w1", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let probe_at = now_ms() + 600_000;
    db.store
        .hold_job(&claimed[0], "key:a", probe_at, "credentials rejected")
        .await
        .unwrap();
    let record = db.store.job(claimed[0].id).await.unwrap().unwrap();
    assert_eq!(record.held_by.as_deref(), Some("key:a"));
    assert_eq!(record.attempt, 0, "holding spends no attempt");
    assert_eq!(record.run_at_ms, probe_at);
    // The schedule's next enqueue finds it and leaves it held.
    let mut due_now = job.clone();
    due_now.run_at_ms = Some(now_ms());
    db.store.enqueue(&due_now).await.unwrap();
    assert_eq!(
        db.store
            .job(claimed[0].id)
            .await
            .unwrap()
            .unwrap()
            .run_at_ms,
        probe_at
    );
    assert!(
        db.store
            .claim("default", 10, "w1", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    // A process with another credential takes over the jobs the old one held.
    db.store
        .hold_credential(&rejected("key:a", now_ms(), probe_at))
        .await
        .unwrap();
    assert_eq!(db.store.take_over_holds("key:a").await.unwrap(), 0);
    assert_eq!(db.store.credential_holds().await.unwrap().len(), 1);
    assert_eq!(db.store.take_over_holds("key:b").await.unwrap(), 1);
    assert!(db.store.credential_holds().await.unwrap().is_empty());
    let claimed = db.store.claim("default", 10, "w1", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1, "due at once");
    db.store
        .hold_job(
            &claimed[0],
            "key:a",
            now_ms() + 600_000,
            "credentials rejected",
        )
        .await
        .unwrap();
    // The probe was accepted: the hold is lifted and the job runs now.
    db.store
        .hold_credential(&rejected("key:a", now_ms(), now_ms()))
        .await
        .unwrap();
    assert_eq!(db.store.release_credential("key:a").await.unwrap(), 1);
    let claimed = db.store.claim("default", 10, "w1", LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        db.store.job(claimed[0].id).await.unwrap().unwrap().held_by,
        None
    );
    db.store
        .hold_job(
            &claimed[0],
            "key:a",
            now_ms() + 600_000,
            "credentials rejected",
        )
        .await
        .unwrap();
    assert_eq!(db.store.release_all_credentials().await.unwrap(), 1);
}
on_both!(
    held_jobs,
    &a_held_job_waits_for_its_credential_not_for_its_schedule
);
