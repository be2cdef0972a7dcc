//! The incremental walk against a fake that pages and filters like SalesLoft.

use std::collections::BTreeMap;
use std::sync::Arc;

use salesloft_client::{CadenceId, Client, WalkCursor};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::helpers::{
    FakePeople, FakePeopleResponder, RecordingLimiter, client, client_with, server,
};

const T: i64 = 1_709_797_560_302_715; // 2024-03-07T02:46:00.302715-05:00

async fn mount(server: &MockServer, fake: &Arc<FakePeople>) {
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(FakePeopleResponder(fake.clone()))
        .mount(server)
        .await;
}

/// Walk to the end from `cursor`, returning every id yielded (with repeats) and the cursor
/// after each page.
async fn walk_all(client: &Client, cursor: WalkCursor) -> (Vec<i64>, Vec<WalkCursor>) {
    let mut walk = client.people().list().walk(cursor);
    let mut ids = Vec::new();
    let mut cursors = Vec::new();
    while let Some(page) = walk.next_page().await.expect("page") {
        ids.extend(page.items.iter().map(|p| p.record.id.0));
        cursors.push(page.cursor.clone());
    }
    (ids, cursors)
}

/// `n` people (ids 1..=n), each updated a millisecond after the one before, from `T`.
fn spaced(n: i64) -> Vec<(i64, i64)> {
    (0..n).map(|i| (i + 1, T + i * 1_000)).collect()
}

fn assert_each_once(ids: &[i64], expected: impl IntoIterator<Item = i64>) {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(*id).or_default() += 1;
    }
    let dupes: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "yielded twice: {dupes:?}");
    let expected: Vec<i64> = expected.into_iter().collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|i| !counts.contains_key(i))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(counts.len(), expected.len(), "unexpected extra records");
}

#[tokio::test]
async fn a_walk_over_250_records_sharing_one_timestamp_loses_and_repeats_nothing() {
    let server = server().await;
    // 30 before, 250 tied at T (ids deliberately not in insertion order), 40 after.
    let mut records: Vec<(i64, i64)> = (0..30).map(|i| (10_000 + i, T - 1_000 + i)).collect();
    records.extend((0..250).map(|i| ((i * 7919) % 1000 + 1, T)));
    records.extend((0..40).map(|i| (20_000 + i, T + 1 + i)));
    let expected: Vec<i64> = records.iter().map(|r| r.0).collect();
    let fake = FakePeople::new(records);
    mount(&server, &fake).await;
    let limiter = Arc::new(RecordingLimiter::default());
    let client = client_with(&server, limiter.clone());

    let (ids, cursors) = walk_all(&client, WalkCursor::start()).await;
    assert_each_once(&ids, expected);
    // 320 records: page 1, page 1 at T (finding the group larger than a page), the group as a
    // window of its own (pages 1 to 3, its first read again for a count), page 1 after it.
    assert_eq!(
        fake.requests(),
        6,
        "pages: {:?}",
        fake.pages_requested.lock().unwrap()
    );
    assert!(
        limiter.acquired.lock().unwrap().iter().all(|c| *c == 1),
        "every request costs 1"
    );
    let last = cursors.last().expect("cursor");
    assert_eq!(last.updated_at_us, Some(T + 40));
    assert_eq!(last.page, 1);
}

#[tokio::test]
async fn a_walk_resumed_from_any_checkpoint_ends_exactly_equal() {
    let server = server().await;
    let mut records: Vec<(i64, i64)> = (0..120).map(|i| (i + 1, T - 500 + i)).collect();
    records.extend((0..250).map(|i| (1_000 + i, T)));
    records.extend((0..130).map(|i| (5_000 + i, T + 10 + i / 3)));
    let expected: Vec<i64> = records.iter().map(|r| r.0).collect();
    let fake = FakePeople::new(records);
    mount(&server, &fake).await;
    let client = client(&server);

    let (_, cursors) = walk_all(&client, WalkCursor::start()).await;
    assert!(cursors.len() >= 5);
    // Kill the walk after each page in turn; a new walk from the persisted cursor must
    // yield exactly the rest.
    for stop_after in 1..cursors.len() {
        let mut walk = client.people().list().walk(WalkCursor::start());
        let mut ids = Vec::new();
        for _ in 0..stop_after {
            let page = walk.next_page().await.expect("page").expect("not done");
            ids.extend(page.items.iter().map(|p| p.record.id.0));
        }
        let saved = serde_json::to_string(walk.cursor()).expect("cursor serialises");
        drop(walk);
        let restored: WalkCursor = serde_json::from_str(&saved).expect("cursor restores");
        let (rest, _) = walk_all(&client, restored).await;
        ids.extend(rest);
        assert_each_once(&ids, expected.iter().copied());
    }
}

#[tokio::test]
async fn distinct_timestamps_cost_one_request_per_99_records() {
    let server = server().await;
    let n = 1_000i64;
    let records: Vec<(i64, i64)> = spaced(n);
    let fake = FakePeople::new(records);
    mount(&server, &fake).await;
    let (ids, _) = walk_all(&client(&server), WalkCursor::start()).await;
    assert_each_once(&ids, 1..=n);
    // Each page after the first repeats the one record at its cursor instant.
    let bound = (n as usize - 1).div_ceil(99) + 1;
    assert!(fake.requests() <= bound, "{} > {bound}", fake.requests());
    assert!(fake.pages_requested.lock().unwrap().iter().all(|p| *p == 1));
}

#[tokio::test]
async fn a_caught_up_walk_picks_up_only_later_changes() {
    let server = server().await;
    let fake = FakePeople::new((0..150).map(|i| (i + 1, T + i)).collect());
    mount(&server, &fake).await;
    let client = client(&server);
    let (_, cursors) = walk_all(&client, WalkCursor::start()).await;
    let caught_up = cursors.last().expect("cursor").clone();
    {
        let mut records = fake.records.lock().unwrap();
        records.iter_mut().find(|r| r.0 == 7).expect("record").1 = T + 10_000; // edited
        records.push((999, T + 20_000)); // created
    }
    let (ids, _) = walk_all(&client, caught_up).await;
    assert_eq!(ids, [7, 999]);
}

#[tokio::test]
async fn a_walk_keeps_the_callers_other_filters() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/cadence_memberships"))
        .and(wiremock::matchers::query_param("cadence_id", "42"))
        .and(wiremock::matchers::query_param("sort_by", "updated_at"))
        .and(wiremock::matchers::query_param("sort_direction", "ASC"))
        .and(wiremock::matchers::query_param("per_page", "100"))
        .and(wiremock::matchers::query_param("page", "1"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(crate::helpers::envelope(
                vec![serde_json::json!({
                    "id": 98765, "added_at": "2024-05-15T10:30:00.000000-04:00",
                    "created_at": "2024-05-15T10:30:00.000000-04:00",
                    "updated_at": "2024-05-15T10:30:02.481516-04:00",
                    "person_deleted": false, "currently_on_cadence": true, "current_state": "staged",
                    "cadence": {"_href": "https://api.salesloft.com/v2/cadences/42", "id": 42},
                    "person": {"id": 164510523}, "user": {"id": 51550}, "latest_action": null,
                    "counts": {"views": 0, "clicks": 0, "replies": 0, "calls": 0, "sent_emails": 0, "bounces": 0}
                })],
                1,
                100,
                None,
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut walk = client
        .cadence_memberships()
        .list()
        .cadence_id(CadenceId(42))
        .walk(WalkCursor::start());
    let page = walk.next_page().await.expect("page").expect("one page");
    assert_eq!(page.items.len(), 1);
    assert!(page.is_last);
    assert!(walk.next_page().await.expect("done").is_none());
}

#[tokio::test]
async fn a_server_that_ignores_the_filter_is_caught_not_trusted() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_json(crate::helpers::envelope(
                vec![
                    crate::helpers::person(1, T),
                    crate::helpers::person(2, T - 5),
                ],
                1,
                100,
                None,
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut walk = client.people().list().walk(WalkCursor::start());
    let err = walk.next_page().await.expect_err("out of order");
    assert!(
        matches!(err, salesloft_client::Error::Protocol { .. }),
        "{err}"
    );
    assert_eq!(
        walk.cursor(),
        &WalkCursor::start(),
        "cursor unchanged on error"
    );
}

/// Walk with pages of `per_page` (so a window spans `100 * per_page` records), returning every
/// (id, updated_at) yielded and the walk's requests, calling `between(page_number)` after each
/// page.
async fn walk_versions(
    client: &Client,
    per_page: u32,
    mut between: impl FnMut(usize),
) -> (Vec<(i64, i64)>, u64) {
    let mut walk = client
        .people()
        .list()
        .per_page(per_page)
        .walk(WalkCursor::start());
    let mut seen = Vec::new();
    let mut n = 0;
    let mut requests = 0u64;
    while let Some(page) = walk.next_page().await.expect("page") {
        requests += u64::from(page.requests);
        seen.extend(
            page.items
                .iter()
                .map(|p| (p.record.id.0, p.record.updated_at.timestamp_micros())),
        );
        n += 1;
        between(n);
    }
    assert_eq!(requests, walk.requests(), "pages report every request");
    (seen, requests)
}

#[tokio::test]
async fn a_backfill_bigger_than_a_window_costs_n_over_the_page_size_plus_three() {
    let server = server().await;
    let n = 5_000i64;
    let fake = FakePeople::new(spaced(n));
    mount(&server, &fake).await;
    let (seen, _) = walk_versions(&client(&server), 10, |_| {}).await;
    assert_each_once(&seen.iter().map(|v| v.0).collect::<Vec<_>>(), 1..=n);
    // 500 pages of 10, one probe for the window's ceiling, the first page before it (which
    // finds how much is waiting) and one at the end for what changed meanwhile.
    let bound = (n as usize).div_ceil(10) + 3;
    assert!(fake.requests() <= bound, "{} > {bound}", fake.requests());
    let pages = fake.pages_requested.lock().unwrap().clone();
    assert!(pages.iter().any(|p| *p > 1), "windows page by number");
    assert!(
        pages.iter().all(|p| *p <= 100),
        "never past the cost-1 pages"
    );
}

#[tokio::test]
async fn records_updated_or_deleted_inside_a_window_are_never_lost() {
    let server = server().await;
    let n = 5_000i64;
    let fake = FakePeople::new(spaced(n));
    mount(&server, &fake).await;
    let mut clock = T + n * 1_000;
    let (seen, requests) = walk_versions(&client(&server), 10, |page| {
        let mut records = fake.records.lock().unwrap();
        let mut touch = |id: i64, records: &mut Vec<(i64, i64)>| {
            clock += 1;
            if let Some(r) = records.iter_mut().find(|r| r.0 == id) {
                r.1 = clock;
            }
        };
        match page {
            // Already read: it leaves the window, and everything after it moves up a place.
            3 => touch(5, &mut records),
            // Not read yet: it leaves the window too.
            40 => touch(4_000, &mut records),
            // Deleted ahead of the walk.
            120 => records.retain(|r| r.0 != 2_500),
            // Several at once, behind the walk, inside the second window.
            150 => {
                for id in [1_001, 1_002, 1_003, 1_400] {
                    touch(id, &mut records);
                }
            }
            _ => {}
        }
    })
    .await;
    let finals = fake.records.lock().unwrap().clone();
    let lost: Vec<_> = finals.iter().filter(|v| !seen.contains(v)).collect();
    assert!(lost.is_empty(), "final versions never yielded: {lost:?}");
    // Each change costs at most a dropped page and a new window's probe.
    assert!(
        requests <= (n as u64).div_ceil(10) + 3 + 4 * 3,
        "{requests} requests"
    );
}

#[tokio::test]
async fn tie_groups_larger_than_a_page_lose_nothing_while_members_change_between_pages() {
    for group in [150i64, 250, 1_000] {
        for seed in 1..=12u64 {
            let server = server().await;
            // 120 spaced before, the tie group at T + 1s, 150 spaced after.
            let at = T + 1_000_000;
            let mut records: Vec<(i64, i64)> = (0..120).map(|i| (i + 1, T + i)).collect();
            records.extend((0..group).map(|i| (1_000 + (i * 7_919) % 10_000, at)));
            records.extend((0..150).map(|i| (50_000 + i, at + 10 + i)));
            let fake = FakePeople::new(records);
            mount(&server, &fake).await;
            let mut dice = fastrand::Rng::with_seed(seed * 7_777 + group as u64);
            let mut clock = at + 1_000_000;
            // The records as the walk's last page found them (changes after it are the next
            // walk's).
            let mut at_last_page = Vec::new();
            let (seen, requests) = walk_versions(&client(&server), 100, |_| {
                let mut records = fake.records.lock().unwrap();
                at_last_page = records.clone();
                // Between page reads: members of the group are updated (they leave it for
                // a later instant) or deleted, read ones and unread ones alike.
                for _ in 0..dice.usize(..4) {
                    let members: Vec<usize> = records
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.1 == at)
                        .map(|(i, _)| i)
                        .collect();
                    if members.is_empty() {
                        break;
                    }
                    let i = members[dice.usize(..members.len())];
                    if dice.usize(..3) == 0 {
                        records.remove(i);
                    } else {
                        clock += 1;
                        records[i].1 = clock;
                    }
                }
            })
            .await;
            let lost: Vec<_> = at_last_page.iter().filter(|v| !seen.contains(v)).collect();
            assert!(
                lost.is_empty(),
                "group {group}, seed {seed}: final versions never yielded: {lost:?}"
            );
            let floor = (120 + group as u64 + 150).div_ceil(100);
            assert!(
                requests <= floor + 2 * (group as u64).div_ceil(100) + 8,
                "group {group}, seed {seed}: {requests} requests, pages {:?}",
                fake.pages_requested.lock().unwrap()
            );
        }
    }
}

#[tokio::test]
async fn a_server_without_counts_gets_the_plain_walk() {
    let server = server().await;
    let n = 3_000i64;
    let fake = FakePeople::without_counts(spaced(n));
    mount(&server, &fake).await;
    let (seen, _) = walk_versions(&client(&server), 10, |_| {}).await;
    assert_each_once(&seen.iter().map(|v| v.0).collect::<Vec<_>>(), 1..=n);
    assert!(fake.pages_requested.lock().unwrap().iter().all(|p| *p == 1));
}

#[tokio::test]
async fn a_walk_resumed_inside_a_window_ends_exactly_equal() {
    let server = server().await;
    let mut records: Vec<(i64, i64)> = (0..1_500).map(|i| (i + 1, T + i * 1_000)).collect();
    records.extend((0..35).map(|i| (10_000 + i, T + 700_000))); // a tie group across pages
    let expected: Vec<i64> = records.iter().map(|r| r.0).collect();
    let fake = FakePeople::new(records);
    mount(&server, &fake).await;
    let client = client(&server);
    for stop_after in [1, 2, 5, 50, 69, 70, 71, 99, 100, 101, 120] {
        let mut walk = client
            .people()
            .list()
            .per_page(10)
            .walk(WalkCursor::start());
        let mut ids = Vec::new();
        for _ in 0..stop_after {
            let page = walk.next_page().await.expect("page").expect("not done");
            ids.extend(page.items.iter().map(|p| p.record.id.0));
        }
        let saved = serde_json::to_string(walk.cursor()).expect("cursor serialises");
        drop(walk);
        let restored: WalkCursor = serde_json::from_str(&saved).expect("cursor restores");
        let mut walk = client.people().list().per_page(10).walk(restored);
        while let Some(page) = walk.next_page().await.expect("page") {
            ids.extend(page.items.iter().map(|p| p.record.id.0));
        }
        assert_each_once(&ids, expected.iter().copied());
    }
}
