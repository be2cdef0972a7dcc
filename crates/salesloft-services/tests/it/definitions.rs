//! The definition lists (stages, tiers, dispositions, sentiments, custom fields): kept with the
//! strategy their list allows, and deletes seen by difference on a complete full listing,
//! confirmed by `ids[]` where the list takes it.

use salesloft_sandbox::{SandboxConfig, TeamSize};
use salesloft_services::{Stream, SyncOptions, SyncReport, Verifier};
use salesloft_storage::on_both;
use salesloft_storage::testing::TestDb;

use crate::{Setup, setup};

const DEFINITIONS: [&str; 6] = [
    "account_stages",
    "account_tiers",
    "person_stages",
    "call_dispositions",
    "call_sentiments",
    "custom_fields",
];

fn streams() -> Vec<Stream> {
    DEFINITIONS
        .iter()
        .map(|n| Stream::named(n).unwrap())
        .collect()
}

fn definitions_team() -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        team: TeamSize {
            users: 3,
            definitions: true,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    }
}

/// The definition streams of the copy equal to the sandbox's, record by record.
async fn assert_equal(s: &Setup) {
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), &streams())
        .await
        .unwrap();
    assert!(diffs.iter().all(|d| d.is_equal()), "{diffs:?}");
}

async fn sync(s: &Setup) -> SyncReport {
    let report = s.engine.sync(&streams(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    report
}

/// The first id of `kind` in the sandbox's snapshot.
fn first_id(s: &Setup, kind: &str) -> i64 {
    s.sandbox.snapshot()[kind][0]["id"].as_i64().unwrap()
}

async fn definition_lists_see_deletes_by_difference(db: TestDb) {
    let s = setup(definitions_team(), db).await;
    let first = sync(&s).await;
    for name in DEFINITIONS {
        let r = first.stream(name).unwrap();
        assert!(r.inserted > 0 && r.cost == 1, "{r:?}");
    }
    assert_equal(&s).await;

    // Nothing changed: one request each, nothing deleted.
    let idle = sync(&s).await;
    assert_eq!(idle.cost(), 6, "{idle:?}");
    assert!(idle.streams.iter().all(|r| r.deleted == 0), "{idle:?}");

    // A custom field (its list takes ids[]) and a disposition (it does not) deleted with no
    // webhook; the account stage's list is walked, so its delete waits for a reconcile.
    let field = first_id(&s, "custom_fields");
    let disposition = first_id(&s, "call_dispositions");
    assert_eq!(s.sandbox.delete_silently("custom_fields", &[field]), 1);
    assert_eq!(
        s.sandbox
            .delete_silently("call_dispositions", &[disposition]),
        1
    );
    let after = sync(&s).await;
    let fields = after.stream("custom_fields").unwrap();
    assert_eq!(
        (fields.deleted, fields.cost),
        (1, 2),
        "confirmed by one ids[] request: {fields:?}"
    );
    let dispositions = after.stream("call_dispositions").unwrap();
    assert_eq!(
        (dispositions.deleted, dispositions.cost),
        (1, 1),
        "one page, one answer: {dispositions:?}"
    );
    assert_equal(&s).await;

    // Every sentiment gone: an empty answer that counts no records is believed.
    let sentiments: Vec<i64> = s.sandbox.snapshot()["call_sentiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    s.sandbox.delete_silently("call_sentiments", &sentiments);
    let emptied = sync(&s).await;
    assert_eq!(
        emptied.stream("call_sentiments").unwrap().deleted,
        sentiments.len() as u64
    );
    assert_equal(&s).await;
}
on_both!(
    definitions_deleted,
    definition_lists_see_deletes_by_difference
);

/// A record deleted here by a listing comes back when a later listing shows it again (the
/// listing is newer than the delete), and a second run after that changes nothing.
async fn a_definition_listed_again_is_restored(db: TestDb) {
    let s = setup(definitions_team(), db).await;
    sync(&s).await;
    let snapshot = s.sandbox.snapshot();
    let field = snapshot["custom_fields"][0].clone();
    let id = field["id"].as_i64().unwrap();
    s.sandbox.delete_silently("custom_fields", &[id]);
    assert_eq!(sync(&s).await.stream("custom_fields").unwrap().deleted, 1);
    assert!(s.sandbox.put_raw("custom_fields", id, &field.to_string()));
    let back = sync(&s).await;
    let r = back.stream("custom_fields").unwrap();
    assert_eq!((r.updated, r.deleted), (1, 0), "{r:?}");
    assert_equal(&s).await;
    let again = sync(&s).await;
    let r = again.stream("custom_fields").unwrap();
    assert_eq!((r.inserted, r.updated, r.deleted), (0, 0, 0), "{r:?}");
}
on_both!(definition_restored, a_definition_listed_again_is_restored);
