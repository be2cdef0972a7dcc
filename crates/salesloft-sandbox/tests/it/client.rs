//! salesloft-client lists, pages and walks the sandbox end to end.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use salesloft_client::{Enrollment, PersonInput, WalkCursor};
use salesloft_sandbox::{Action, SandboxConfig, TeamSize};

use crate::helpers::{client, sandbox, sandbox_with};

fn snapshot_ids(snap: &serde_json::Value, kind: &str) -> BTreeSet<i64> {
    snap[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_client_walks_every_person_once_through_tie_groups() {
    let sb = sandbox().await;
    let client = client(&sb);
    let mut walk = client.people().list().walk(WalkCursor::start());
    let mut seen = Vec::new();
    while let Some(page) = walk.next_page().await.unwrap() {
        seen.extend(page.items.iter().map(|p| p.record.id.0));
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no person twice");
    assert_eq!(
        unique,
        snapshot_ids(&sb.snapshot(), "people"),
        "no person lost"
    );
    // 1000 people with tie groups of 250, 120 and 40: about one request per 99 people, and
    // for each group larger than a page (read as a window of its own, so that a change inside
    // it cannot shift a record past the walk) at most two more.
    assert!(
        walk.requests() <= 11 + 2 * 2,
        "{} requests",
        walk.requests()
    );
    assert_eq!(
        sb.counters().cost_spent,
        walk.requests(),
        "every walk request costs 1"
    );
}

#[tokio::test]
async fn a_caught_up_walk_sees_exactly_the_changes() {
    let sb = sandbox().await;
    let client = client(&sb);
    let mut walk = client.people().list().walk(WalkCursor::start());
    while walk.next_page().await.unwrap().is_some() {}
    let cursor = walk.cursor().clone();
    sb.mutate(Some(Action::EditPerson), 30).unwrap();
    let after = sb.snapshot();
    let changed: BTreeSet<i64> = after["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            let t =
                chrono::DateTime::parse_from_rfc3339(p["updated_at"].as_str().unwrap()).unwrap();
            Some(t.timestamp_micros()) > cursor.updated_at_us
        })
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let mut walk = client.people().list().walk(cursor);
    let mut got = BTreeSet::new();
    while let Some(page) = walk.next_page().await.unwrap() {
        got.extend(page.items.iter().map(|p| p.record.id.0));
    }
    assert!(!changed.is_empty());
    assert_eq!(got, changed);
}

#[tokio::test]
async fn streams_and_pages_cover_every_list() {
    let sb = sandbox().await;
    let client = client(&sb);
    let snap = sb.snapshot();
    let accounts: Vec<_> = client
        .accounts()
        .list()
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        accounts.iter().map(|a| a.id.0).collect::<BTreeSet<_>>(),
        snapshot_ids(&snap, "accounts")
    );
    let users: Vec<_> = client.users().list().stream().try_collect().await.unwrap();
    assert_eq!(users.len(), 10);
    let steps: Vec<_> = client
        .steps()
        .list()
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(steps.len(), snap["steps"].as_array().unwrap().len());
    let mut walk = client.emails().list().walk(WalkCursor::start());
    let mut emails = 0;
    while let Some(p) = walk.next_page().await.unwrap() {
        emails += p.items.len();
    }
    assert_eq!(emails, snap["emails"].as_array().unwrap().len());
    let calls: Vec<_> = client
        .calls()
        .list()
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(calls.len(), snap["calls"].as_array().unwrap().len());
    let notes: Vec<_> = client
        .notes()
        .list()
        .per_page(100)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(notes.len(), snap["notes"].as_array().unwrap().len());
    let me = client.me().await.unwrap();
    assert_eq!(me.team_admin, Some(true));
    assert_eq!(
        client.team().await.unwrap().id.0,
        salesloft_sandbox::TEAM_ID
    );
}

#[tokio::test]
async fn the_client_writes_through_the_sandbox_rules() {
    let sb = sandbox().await;
    let client = client(&sb);
    let p = client
        .people()
        .create(&PersonInput {
            email_address: Some("walk@example.com".into()),
            first_name: Some("Walk".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let err = client
        .people()
        .create(&PersonInput {
            email_address: Some("walk@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.field_errors().unwrap()["email_address"],
        ["has already been taken"]
    );
    let m = client
        .cadence_memberships()
        .create(&Enrollment::new(p.id, salesloft_client::CadenceId(1000)))
        .await
        .unwrap();
    assert_eq!(m.currently_on_cadence, Some(true));
    let again = client.people().get(p.id).await.unwrap();
    assert_eq!(again.cadences.len(), 1);
    client.cadence_memberships().delete(m.id).await.unwrap();
    client.cadence_memberships().delete(m.id).await.unwrap();
    client.people().delete(p.id).await.unwrap();
    assert!(client.people().get(p.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_deep_page_costs_what_the_table_says() {
    let sb = sandbox_with(SandboxConfig {
        team: TeamSize {
            people: 150 * 10,
            ..TeamSize::empty()
        },
        rate_limit_per_minute: Some(600),
        ..SandboxConfig::default()
    })
    .await;
    let client = client(&sb);
    client
        .people()
        .list()
        .per_page(10)
        .page(101)
        .send()
        .await
        .unwrap();
    client
        .people()
        .list()
        .per_page(10)
        .page(151)
        .send()
        .await
        .unwrap();
    assert_eq!(sb.counters().cost_spent, 3 + 8);
}
