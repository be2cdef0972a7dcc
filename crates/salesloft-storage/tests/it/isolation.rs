//! Isolation between teams: every public read through one team's handle while another team
//! holds data in every team-owned table finds none of its rows, and two teams may hold
//! records of the same id.

use std::sync::Arc;
use std::time::Duration;

use salesloft_client::{CadenceMembership, Call, Email, OAuthTokens, Person};
use salesloft_model::CredentialHold;
use salesloft_model::wire::Rejected;
use salesloft_storage::{
    DbTokenStore, Delivery, FeedPosition, InboxOutcome, Keyring, LocalDays, NewJob, NewTeam,
    OffsetSpans, OwnWrite, PreparedRows, SecretsKey, Store, StoredSubscription, TeamCredentials,
    TeamSlug,
};
use serde_json::json;

use crate::helpers::{TestDb, on_both};

const T0: i64 = 1_715_900_000_000_000;

fn at(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap()
        .to_rfc3339()
}

/// People `ids` as received, with a field of a drifted type.
fn people(ids: &[i64], tag: &str) -> PreparedRows<Person> {
    let received: Vec<_> = ids
        .iter()
        .map(|id| salesloft_model::wire::parse_received(person(*id, tag).as_bytes()).unwrap())
        .collect();
    PreparedRows::received(&received)
}

fn person(id: i64, tag: &str) -> String {
    json!({
        "id": id, "created_at": at(T0), "updated_at": at(T0 + id),
        "email_address": format!("p{id}@example.com"), "title": tag, "crm_id": format!("crm-{id}"),
        "do_not_contact": true, "owner": {"id": 7}, "account": {"id": 9},
        "drifting": {"kept": tag}, "first_name": 5
    })
    .to_string()
}

fn email(id: i64) -> Email {
    serde_json::from_value(json!({
        "id": id, "created_at": at(T0), "updated_at": at(T0 + id), "sent_at": at(T0),
        "status": "sent", "user": {"id": 1}, "recipient": {"id": 1}
    }))
    .unwrap()
}

fn call(id: i64) -> Call {
    serde_json::from_value(json!({
        "id": id, "created_at": at(T0), "updated_at": at(T0 + id), "duration": 60,
        "disposition": "Connected", "user": {"id": 1}, "called_person": {"id": 1}
    }))
    .unwrap()
}

fn membership(id: i64) -> CadenceMembership {
    serde_json::from_value(json!({
        "id": id, "created_at": at(T0), "updated_at": at(T0 + id), "added_at": at(T0),
        "person": {"id": 1}, "cadence": {"id": 40}, "user": {"id": 1},
        "current_state": "staged", "currently_on_cadence": true
    }))
    .unwrap()
}

/// Fill every team-owned table through `store` (one team's handle); the inbox delivery's id.
async fn fill(store: &Store, tag: &str) -> (i64, i64) {
    store.upsert_prepared(people(&[1, 2], tag)).await.unwrap();
    store.soft_delete::<Person>(2, None).await.unwrap();
    store.upsert(&[email(1)]).await.unwrap();
    store.upsert(&[call(1)]).await.unwrap();
    store.upsert(&[membership(1)]).await.unwrap();
    let written = people(&[3], tag);
    let write = OwnWrite {
        version_us: T0 + 3,
        content_hash: format!("hash-{tag}"),
    };
    store.upsert_written(written, &[(3, write)]).await.unwrap();
    store
        .park_write("people", &format!("key-{tag}"), "{}", "[]")
        .await
        .unwrap();
    let state = store.sync_state("people").await.unwrap();
    store
        .checkpoint(&state, people(&[4], tag), &json!({"tag": tag}), true)
        .await
        .unwrap();
    store.sync_failed("people", tag).await.unwrap();
    let rejected = Rejected {
        raw: format!("{{\"id\": 8, \"tag\": \"{tag}\"}}"),
        id: Some(8),
        error: "id: not a record".into(),
    };
    store.quarantine("people", &[rejected]).await.unwrap();
    let days = LocalDays {
        zones: Vec::new(),
        fallback: OffsetSpans(Vec::new()),
    };
    store
        .recompute_engagement(&days, None, &["Connected".to_owned()])
        .await
        .unwrap();
    store
        .set_engagement_state(store.now_ms(), tag)
        .await
        .unwrap();
    let body = format!("{{\"id\": 1, \"tag\": \"{tag}\"}}");
    let deliveries = [
        Delivery {
            event_type: "person_updated",
            body: body.as_bytes(),
            resource_id: Some(1),
            resource_updated_at_us: Some(T0),
        },
        Delivery {
            event_type: "person_created",
            body: body.as_bytes(),
            resource_id: Some(1),
            resource_updated_at_us: Some(T0),
        },
    ];
    let process = NewJob::new("webhook", json!({}));
    let recorded = store
        .record_webhooks(&deliveries, Some(&process))
        .await
        .unwrap();
    let ids: Vec<i64> = recorded
        .iter()
        .filter_map(|r| match r {
            salesloft_storage::Recorded::New(id) => Some(*id),
            salesloft_storage::Recorded::Duplicate => None,
        })
        .collect();
    store
        .finish_webhook(ids[0], InboxOutcome::Processed, None)
        .await
        .unwrap();
    let job = store
        .enqueue(&NewJob::new("sync:people", json!({"tag": tag})).unique("sync:people"))
        .await
        .unwrap();
    store
        .save_subscription(&StoredSubscription {
            id: 77,
            event_type: "person_updated".into(),
            callback_url: format!("https://example.com/{tag}"),
            callback_token: format!("token-{tag}").into(),
        })
        .await
        .unwrap();
    store
        .hold_credential(&CredentialHold {
            credential: format!("cred-{tag}"),
            since_ms: 1,
            request: "GET /v2/people".into(),
            status: Some(401),
            message: None,
            probe_at_ms: i64::MAX,
        })
        .await
        .unwrap();
    DbTokenStore::new(store.clone(), "salesloft")
        .save(&OAuthTokens::new(format!("at-{tag}"), None, None))
        .await
        .unwrap();
    let lease = store
        .try_lease("sync:people", Duration::from_secs(600))
        .await
        .unwrap();
    std::mem::forget(lease);
    let job = match job {
        salesloft_storage::Enqueued::Created(id) | salesloft_storage::Enqueued::Existing(id) => id,
    };
    (ids[1], job)
}

/// Every public read of a team's handle, by name, as text. `inbox_id` and `job_id` are
/// another team's: a read by id must not find them.
async fn reads(store: &Store, inbox_id: i64, job_id: i64) -> Vec<(&'static str, String)> {
    let tokens = store.callback_tokens().await.unwrap();
    let tokens: Vec<String> = tokens
        .iter()
        .map(|t| secrecy::ExposeSecret::expose_secret(t).to_owned())
        .collect();
    let oauth = DbTokenStore::new(store.clone(), "salesloft")
        .load()
        .await
        .unwrap();
    let oauth = oauth.map(|t| secrecy::ExposeSecret::expose_secret(&t.access_token).to_owned());
    let subscriptions: Vec<String> = store
        .subscriptions()
        .await
        .unwrap()
        .iter()
        .map(|s| format!("{} {}", s.id, s.callback_url))
        .collect();
    vec![
        (
            "count_live",
            format!("{:?}", store.count_live::<Person>().await.unwrap()),
        ),
        (
            "raw_records",
            format!("{:?}", store.raw_records::<Person>().await.unwrap()),
        ),
        (
            "live_ids",
            format!("{:?}", store.live_ids::<Person>().await.unwrap()),
        ),
        (
            "live_among",
            format!(
                "{:?}",
                store
                    .live_among::<Person>(&[1, 2, 3, 4])
                    .await
                    .unwrap()
                    .into_iter()
                    .collect::<std::collections::BTreeSet<_>>()
            ),
        ),
        (
            "raw_record",
            format!("{:?}", store.raw_record::<Person>(1).await.unwrap()),
        ),
        (
            "drift",
            format!("{:?}", store.drift::<Person>().await.unwrap()),
        ),
        (
            "deleted_ids_since",
            format!("{:?}", store.deleted_ids_since::<Person>(0).await.unwrap()),
        ),
        (
            "memberships_of_cadence",
            format!("{:?}", store.memberships_of_cadence(40).await.unwrap()),
        ),
        (
            "people_do_not_contact",
            format!("{:?}", store.people_do_not_contact(&[1, 3]).await.unwrap()),
        ),
        (
            "live_person_by_email",
            format!(
                "{:?}",
                store.live_person_by_email("p1@example.com").await.unwrap()
            ),
        ),
        (
            "live_person_by_crm_id",
            format!("{:?}", store.live_person_by_crm_id("crm-1").await.unwrap()),
        ),
        (
            "count_live emails",
            format!("{:?}", store.count_live::<Email>().await.unwrap()),
        ),
        (
            "count_live calls",
            format!("{:?}", store.count_live::<Call>().await.unwrap()),
        ),
        (
            "changes_since",
            format!(
                "{:?}",
                store
                    .changes_since::<Person>(FeedPosition::START, 100)
                    .await
                    .unwrap()
            ),
        ),
        (
            "feed_head",
            format!("{:?}", store.feed_head::<Person>().await.unwrap()),
        ),
        (
            "parked_writes",
            format!("{:?}", store.parked_writes("people").await.unwrap()),
        ),
        (
            "sync_states",
            format!("{:?}", store.sync_states().await.unwrap()),
        ),
        (
            "quarantined",
            format!("{:?}", store.quarantined("people").await.unwrap()),
        ),
        (
            "quarantine_counts",
            format!("{:?}", store.quarantine_counts().await.unwrap()),
        ),
        (
            "engagement_rows",
            format!(
                "{:?}",
                store
                    .engagement_rows("2000-01-01", "2100-01-01")
                    .await
                    .unwrap()
            ),
        ),
        (
            "activity_span",
            format!("{:?}", store.activity_span().await.unwrap()),
        ),
        (
            "activities_written_since",
            format!("{:?}", store.activities_written_since(0).await.unwrap()),
        ),
        (
            "engagement_state",
            format!("{:?}", store.engagement_state().await.unwrap().map(|s| s.1)),
        ),
        (
            "webhook_event",
            format!(
                "{:?}",
                store.webhook_event(inbox_id).await.unwrap().map(|e| e.id)
            ),
        ),
        (
            "webhook_counts",
            format!("{:?}", store.webhook_counts().await.unwrap()),
        ),
        (
            "webhook_inbox_size",
            format!("{:?}", store.webhook_inbox_size().await.unwrap()),
        ),
        (
            "webhook_minutes",
            format!("{:?}", store.webhook_minutes(0).await.unwrap()),
        ),
        (
            "webhooks_last_processed",
            format!("{:?}", store.webhooks_last_processed().await.unwrap().len()),
        ),
        (
            "pending_webhooks",
            format!(
                "{:?}",
                store
                    .pending_webhooks(100)
                    .await
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect::<Vec<_>>()
            ),
        ),
        (
            "job",
            format!("{:?}", store.job(job_id).await.unwrap().map(|j| j.id)),
        ),
        (
            "jobs",
            format!(
                "{:?}",
                store
                    .jobs(None, None, 100)
                    .await
                    .unwrap()
                    .iter()
                    .map(|j| j.id)
                    .collect::<Vec<_>>()
            ),
        ),
        (
            "job_counts",
            format!("{:?}", store.job_counts().await.unwrap()),
        ),
        (
            "job_counts_by_kind",
            format!("{:?}", store.job_counts_by_kind().await.unwrap()),
        ),
        ("subscriptions", format!("{subscriptions:?}")),
        ("callback_tokens", format!("{tokens:?}")),
        (
            "credential_holds",
            format!(
                "{:?}",
                store
                    .credential_holds()
                    .await
                    .unwrap()
                    .iter()
                    .map(|h| h.credential.clone())
                    .collect::<Vec<_>>()
            ),
        ),
        ("oauth_tokens", format!("{oauth:?}")),
    ]
}

async fn add(store: &Store, slug: &str, salesloft_team_id: i64) -> Store {
    let team = store
        .add_team(&NewTeam {
            slug: TeamSlug::parse(slug).unwrap(),
            base_url: "https://api.salesloft.com".into(),
            salesloft_team_id: Some(salesloft_team_id),
            name: None,
            credentials: TeamCredentials::ApiKey(format!("ak_{slug}").into()),
            settings: json!({}),
        })
        .await
        .unwrap();
    store.team(team.id)
}

async fn a_team_reads_none_of_another_teams_rows(db: &TestDb) {
    let (key, _) = SecretsKey::generate("k1");
    let store = db.store.clone().with_keyring(Arc::new(Keyring::new(key)));
    let a = add(&store, "a", 101).await;
    let b = add(&store, "b", 102).await;
    let empty = reads(&a, 0, 0).await;

    let (b_inbox, b_job) = fill(&b, "b").await;
    let b_full = reads(&b, b_inbox, b_job).await;
    // Each read finds team B's rows through B's handle: the comparison below can fail.
    for ((name, nothing), (_, full)) in empty.iter().zip(&b_full) {
        assert_ne!(nothing, full, "{name}: the test data must reach this read");
    }
    // Through A's handle, with B's rows in every table, every read finds nothing.
    let a_seen = reads(&a, b_inbox, b_job).await;
    for ((name, nothing), (_, seen)) in empty.iter().zip(&a_seen) {
        assert_eq!(
            nothing, seen,
            "{name} through team A's handle shows team B's rows"
        );
    }
    // A claims none of B's jobs, and takes a lease B holds under the same name.
    assert!(
        a.claim("default", 10, "w", Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        a.try_lease("sync:people", Duration::from_secs(60))
            .await
            .unwrap()
            .is_some()
    );

    // A stores records of the same ids (keys include the team), and B's rows stay B's.
    let (a_inbox, a_job) = fill(&a, "a").await;
    assert_eq!(reads(&b, b_inbox, b_job).await, b_full);
    assert_ne!(reads(&a, a_inbox, a_job).await, b_full);
    // Deployment-wide reads see both teams; the default team saw nothing of either.
    assert_eq!(store.teams().await.unwrap().len(), 3);
    assert_eq!(reads(&db.store, 0, 0).await, empty);

    // Removing team B deletes every row it owns, in small batches, and nothing of A's.
    let a_full = reads(&a, a_inbox, a_job).await;
    assert!(store.team_holds_rows(b.team_id()).await.unwrap());
    let b_slug = TeamSlug::parse("b").unwrap();
    assert!(store.remove_team(&b_slug, 3).await.unwrap() > 20);
    assert!(!store.team_holds_rows(b.team_id()).await.unwrap());
    assert!(store.team_by_slug(&b_slug).await.unwrap().is_none());
    assert_eq!(reads(&b, b_inbox, b_job).await, empty);
    assert_eq!(reads(&a, a_inbox, a_job).await, a_full);
    let default = TeamSlug::parse("default").unwrap();
    assert!(store.remove_team(&default, 3).await.is_err());
}
on_both!(isolation, &a_team_reads_none_of_another_teams_rows);
