//! Two-way people sync against the sandbox: conflicts decided per field policy, no echo loop
//! over repeated push-pull cycles, a create whose answer was lost or failed after acting is
//! not repeated, a 422 is parked and reported, and the change feed read while SalesLoft
//! changes under it ends equal to the local copy.

use salesloft_storage::on_both;
use std::collections::BTreeMap;

use chrono::{Duration as Span, Utc};
use salesloft_client::{PersonId, PersonInput};
use salesloft_sandbox::{Fault, SandboxConfig, SimulatorConfig, TeamSize};
use salesloft_services::{
    ChangeCursor, ChangeKind, FieldPolicies, FieldPolicy, LocalPerson, LookupConfig, Lookups,
    PeopleSync, PushOptions, Stream, SyncOptions,
};
use salesloft_storage::testing::TestDb;
use serde_json::{Value, json};

use crate::{Setup, setup};

fn team() -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        team: TeamSize {
            users: 3,
            accounts: 10,
            people: 60,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    }
}

async fn sync_people(s: &Setup) {
    let report = s
        .engine
        .sync(&[Stream::named("people").unwrap()], SyncOptions::default())
        .await;
    assert!(report.is_ok(), "{report:?}");
}

/// The sandbox's people by id.
fn sandbox_people(s: &Setup) -> BTreeMap<i64, Value> {
    s.sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p.clone()))
        .collect()
}

fn local(fields: Value, changed_at: chrono::DateTime<Utc>) -> LocalPerson {
    LocalPerson::new(fields.as_object().unwrap().clone(), changed_at)
}

/// Someone in SalesLoft edits `id`'s title (not through the toolkit's push).
async fn edit_in_salesloft(s: &Setup, id: i64, title: &str) {
    let input = PersonInput {
        title: Some(title.to_owned()),
        ..PersonInput::default()
    };
    s.engine
        .context()
        .client
        .people()
        .update(PersonId::from(id), &input)
        .await
        .unwrap();
}

fn only_title(policy: FieldPolicy) -> FieldPolicies {
    FieldPolicies {
        fields: [("title".to_owned(), policy)].into_iter().collect(),
        default: FieldPolicy::None,
    }
}

async fn conflicting_edits_are_decided_by_each_fields_policy(db: TestDb) {
    let s = setup(team(), db).await;
    sync_people(&s).await;
    let ids: Vec<i64> = sandbox_people(&s).keys().copied().collect();
    let (older, newer) = (Utc::now() - Span::hours(1), Utc::now() + Span::hours(1));
    // (policy, SalesLoft's title, the local title, local changed later?, the title after)
    let cases = [
        (FieldPolicy::SalesloftWins, "SL", "Local", true, "SL"),
        (FieldPolicy::LocalWins, "SL", "Local", false, "Local"),
        (FieldPolicy::SalesloftUnlessBlank, "SL", "Local", true, "SL"),
        (
            FieldPolicy::SalesloftUnlessBlank,
            "",
            "Local",
            false,
            "Local",
        ),
        (FieldPolicy::LocalUnlessBlank, "SL", "", true, "SL"),
        (FieldPolicy::LocalUnlessBlank, "SL", "Local", false, "Local"),
        (FieldPolicy::NewestWins, "SL", "Local", true, "Local"),
        (FieldPolicy::NewestWins, "SL", "Local", false, "SL"),
        (FieldPolicy::None, "SL", "Local", true, "SL"),
    ];
    for (n, (policy, theirs, ours, local_newer, want)) in cases.into_iter().enumerate() {
        let id = ids[n];
        edit_in_salesloft(&s, id, theirs).await;
        sync_people(&s).await;
        let sync = PeopleSync::new(s.engine.context().clone(), only_title(policy));
        let at = if local_newer { newer } else { older };
        let record = local(
            json!({"id": id, "title": ours, "first_name": "ignored"}),
            at,
        );
        let report = sync
            .push(std::slice::from_ref(&record), &PushOptions::default(), None)
            .await
            .unwrap();
        let title = sandbox_people(&s)[&id]["title"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert_eq!(title, want, "{policy:?} {theirs:?} vs {ours:?}: {report:?}");
        let wrote = title != theirs;
        assert_eq!(report.writes, u64::from(wrote), "{policy:?}: {report:?}");
        assert_eq!(report.unchanged, usize::from(!wrote), "{report:?}");
        // The same record again costs nothing: the local copy holds the write's answer.
        let again = sync
            .push(&[record], &PushOptions::default(), None)
            .await
            .unwrap();
        assert_eq!(
            (again.writes, again.unchanged),
            (0, 1),
            "{policy:?}: {again:?}"
        );
    }
}
on_both!(
    conflicts,
    conflicting_edits_are_decided_by_each_fields_policy
);

async fn pushing_pulling_and_pushing_again_writes_nothing(db: TestDb) {
    let s = setup(team(), db).await;
    sync_people(&s).await;
    let ctx = s.engine.context().clone();
    let sync = PeopleSync::new(ctx.clone(), FieldPolicies::people_defaults());
    // The local system: its people by e-mail, fields and when it changed them.
    let mut system: BTreeMap<String, LocalPerson> = BTreeMap::new();
    let t0 = Utc::now();
    for (id, p) in sandbox_people(&s).into_iter().take(20) {
        let email = p["email_address"].as_str().unwrap().to_owned();
        system.insert(
            email.clone(),
            local(
                json!({"id": id, "email_address": email, "title": format!("Title {id}")}),
                t0,
            ),
        );
    }
    for n in 0..5 {
        let email = format!("new{n}@local.example");
        system.insert(
            email.clone(),
            local(
                json!({"email_address": email, "first_name": "New", "last_name": format!("Person {n}")}),
                t0,
            ),
        );
    }
    let mut cursor = sync.head().await.unwrap();
    let records: Vec<LocalPerson> = system.values().cloned().collect();
    let first = sync
        .push(&records, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(
        (first.updated.len(), first.created.len()),
        (20, 5),
        "{first:?}"
    );
    assert_eq!(first.writes, 25);
    // New people are known by id from now on, as a local system would keep them.
    for id in &first.created {
        let p = &sandbox_people(&s)[id];
        let email = p["email_address"].as_str().unwrap();
        system
            .get_mut(email)
            .unwrap()
            .fields
            .insert("id".into(), json!(id));
    }

    for cycle in 0..3 {
        // Pull: the poll brings the writes back (and the webhooks would).
        sync_people(&s).await;
        // A webhook bringing a write back a second later, its content unchanged (SalesLoft
        // touched the record after answering): known by its content.
        for (_, p) in sandbox_people(&s)
            .iter()
            .filter(|(id, _)| first.created.contains(id))
        {
            let mut later = p.clone();
            let at = chrono::DateTime::parse_from_rfc3339(p["updated_at"].as_str().unwrap())
                .unwrap()
                + Span::seconds(1);
            later["updated_at"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, false));
            let applied = Stream::named("people")
                .unwrap()
                .apply_pushed(&ctx, &serde_json::to_vec(&later).unwrap(), false)
                .await
                .unwrap();
            if cycle == 0 {
                assert_eq!(applied, salesloft_services::Applied::Updated);
            }
        }
        let feed = sync.changes(cursor, 1_000).await.unwrap();
        if cycle == 0 {
            assert!(feed.changes.is_empty(), "only echoes so far: {feed:?}");
            assert_eq!(feed.echoes, 25, "{feed:?}");
        }
        // What did change in SalesLoft goes into the local system, as changed now.
        for change in &feed.changes {
            let person = change.person.as_ref().unwrap();
            if let Some(email) = person["email_address"].as_str()
                && let Some(rec) = system.get_mut(email)
            {
                rec.fields.insert("title".into(), person["title"].clone());
                rec.changed_at = Utc::now();
            }
        }
        cursor = feed.next;
        // Push again: nothing to write.
        let records: Vec<LocalPerson> = system.values().cloned().collect();
        let again = sync
            .push(&records, &PushOptions::default(), None)
            .await
            .unwrap();
        assert_eq!(again.writes, 0, "cycle {cycle}: {again:?}");
        assert_eq!(again.unchanged, 25, "cycle {cycle}: {again:?}");
        // Meanwhile SalesLoft changes: one of ours and others.
        let ours = first.updated[cycle];
        edit_in_salesloft(&s, ours, &format!("Edited in SalesLoft {cycle}")).await;
        s.sandbox
            .mutate(Some(salesloft_sandbox::Action::EditPerson), 5)
            .unwrap();
        sync_people(&s).await;
        let feed = sync.changes(cursor, 1_000).await.unwrap();
        assert!(
            feed.changes
                .iter()
                .any(|c| c.id == ours && c.kind == ChangeKind::Updated),
            "a SalesLoft edit is a change, not an echo: {feed:?}"
        );
        assert_eq!(feed.echoes, 0, "{feed:?}");
    }
    // The feed from the start reports every person once, the new ones as added.
    let all = sync.changes(ChangeCursor::START, 10_000).await.unwrap();
    let live = sandbox_people(&s).len();
    assert!(
        all.changes.len() + all.echoes as usize >= live,
        "{}",
        all.changes.len()
    );
    assert!(!all.more);
}
on_both!(
    no_echo_loop,
    pushing_pulling_and_pushing_again_writes_nothing
);

async fn a_create_that_took_effect_is_not_repeated(db: TestDb) {
    let s = setup(team(), db).await;
    sync_people(&s).await;
    let ctx = s.engine.context().clone();
    let lookups = Lookups::new(ctx.clone(), LookupConfig::default());
    let sync = PeopleSync::new(ctx, FieldPolicies::people_defaults()).with_lookups(lookups.clone());
    for (n, fault) in [Fault::ActThenStatus { status: 500 }, Fault::Drop]
        .into_iter()
        .enumerate()
    {
        let email = format!("once{n}@local.example");
        // With a field whose policy looks at SalesLoft's value (newest_wins by default), a
        // new person is looked up, then created (not upserted).
        let record = local(
            json!({"email_address": email, "first_name": "Once", "last_name": "Only", "job_seniority": "manager"}),
            Utc::now(),
        );
        // Nobody has the address (the push's lookup is answered from the cache now), and the
        // create acts, then fails: a 500 after the write, or a connection lost with the answer.
        assert!(lookups.person_by_email(&email).await.unwrap().is_none());
        s.sandbox.schedule_faults([fault]);
        let report = sync
            .push(std::slice::from_ref(&record), &PushOptions::default(), None)
            .await
            .unwrap();
        let with_email: Vec<i64> = sandbox_people(&s)
            .values()
            .filter(|p| p["email_address"].as_str() == Some(email.as_str()))
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        assert_eq!(with_email.len(), 1, "{fault:?}: created once: {report:?}");
        assert_eq!(report.created, with_email, "{fault:?}: {report:?}");
        assert_eq!(
            report.recovered, 1,
            "{fault:?}: looked up after the failure"
        );
        assert_eq!(report.writes, 1, "{fault:?}: not written twice");
        let again = sync
            .push(&[record], &PushOptions::default(), None)
            .await
            .unwrap();
        assert_eq!((again.writes, again.unchanged), (0, 1), "{again:?}");
    }
}
on_both!(
    create_not_repeated,
    a_create_that_took_effect_is_not_repeated
);

/// Requests the sandbox logged since `from` (its index in the log): method and path.
fn requests_since(s: &Setup, from: usize) -> Vec<(String, String)> {
    s.sandbox.requests()[from..]
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

async fn under_local_policies_a_new_person_is_one_upsert_and_never_two(db: TestDb) {
    let s = setup(team(), db).await;
    sync_people(&s).await;
    let local_first = FieldPolicies {
        fields: BTreeMap::new(),
        default: FieldPolicy::LocalUnlessBlank,
    };
    let sync = PeopleSync::new(s.engine.context().clone(), local_first);
    let person = |email: &str| {
        local(
            json!({"email_address": email, "first_name": "Up", "title": "Upserted"}),
            Utc::now(),
        )
    };
    // New people: one upsert each, no read first.
    let from = s.sandbox.requests().len();
    let records: Vec<LocalPerson> = (0..5)
        .map(|i| person(&format!("up{i}@local.example")))
        .collect();
    let report = sync
        .push(&records, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((report.created.len(), report.writes), (5, 5), "{report:?}");
    let sent = requests_since(&s, from);
    assert!(
        sent.iter()
            .all(|(m, p)| m == "POST" && p.starts_with("/v2/person_upserts")),
        "{sent:?}"
    );
    // Someone SalesLoft has and the copy does not yet: the upsert updates them, once.
    let (_, made) = (
        (),
        s.engine
            .context()
            .client
            .people()
            .create(&PersonInput {
                email_address: Some("there@local.example".into()),
                first_name: Some("Before".into()),
                ..PersonInput::default()
            })
            .await
            .unwrap(),
    );
    let report = sync
        .push(
            &[person("there@local.example")],
            &PushOptions::default(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(report.updated, [made.id.get()], "{report:?}");
    assert_eq!(sandbox_people(&s)[&made.id.get()]["first_name"], "Up");
    // A lost answer after the upsert acted: sent again, it updates the same person.
    for (n, fault) in [Fault::ActThenStatus { status: 500 }, Fault::Drop]
        .into_iter()
        .enumerate()
    {
        let email = format!("lost{n}@local.example");
        let from = s.sandbox.requests().len();
        s.sandbox.schedule_faults([fault]);
        let report = sync
            .push(&[person(&email)], &PushOptions::default(), None)
            .await
            .unwrap();
        let with_email = sandbox_people(&s)
            .values()
            .filter(|p| p["email_address"].as_str() == Some(email.as_str()))
            .count();
        assert_eq!(with_email, 1, "{fault:?}: one person: {report:?}");
        // An upsert is safe to send again: the client did, and it updated the person the
        // first attempt made (so the report counts an update).
        let sent = requests_since(&s, from);
        assert_eq!(sent.len(), 2, "{fault:?}: {sent:?}");
        assert_eq!(report.updated.len(), 1, "{fault:?}: {report:?}");
        assert!(
            report.failed.is_empty() && report.retryable.is_empty(),
            "{report:?}"
        );
    }
    // A field under a policy that looks at SalesLoft's value or time first (the defaults'
    // newest_wins for job_seniority): the person is read first.
    let defaults = PeopleSync::new(s.engine.context().clone(), FieldPolicies::people_defaults());
    let from = s.sandbox.requests().len();
    let seniority = local(
        json!({"email_address": "read@local.example", "job_seniority": "manager"}),
        Utc::now(),
    );
    defaults
        .push(&[seniority], &PushOptions::default(), None)
        .await
        .unwrap();
    let sent = requests_since(&s, from);
    assert!(
        sent.iter()
            .any(|(m, p)| m == "GET" && p.starts_with("/v2/people")),
        "a read before the write: {sent:?}"
    );
}
on_both!(
    one_upsert_each,
    under_local_policies_a_new_person_is_one_upsert_and_never_two
);

async fn a_refused_record_is_parked_and_the_others_go_on(db: TestDb) {
    let s = setup(team(), db).await;
    sync_people(&s).await;
    let sync = PeopleSync::new(s.engine.context().clone(), FieldPolicies::people_defaults());
    let people = sandbox_people(&s);
    let mut ids = people.keys().copied();
    let (bad, good) = (ids.next().unwrap(), ids.next().unwrap());
    let now = Utc::now() + Span::hours(1);
    let records = [
        local(json!({"id": bad, "job_seniority": "wizard"}), now),
        local(
            json!({"email_address": "not-an-address", "last_name": "X"}),
            now,
        ),
        local(json!({"id": good, "title": "Still pushed"}), now),
    ];
    let report = sync
        .push(&records, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(report.updated, [good], "{report:?}");
    assert_eq!(report.parked.len(), 2, "{report:?}");
    assert_eq!(report.parked[0].key, format!("id:{bad}"));
    assert!(
        report.parked[0].errors.contains_key("job_seniority"),
        "{report:?}"
    );
    assert!(
        report.parked[1].errors.contains_key("email_address"),
        "{report:?}"
    );
    let parked = s.store.parked_writes("people").await.unwrap();
    assert_eq!(parked.len(), 2);
    assert!(
        parked[0].errors.contains("job_seniority") || parked[1].errors.contains("job_seniority")
    );
    assert_eq!(sandbox_people(&s)[&good]["title"], "Still pushed");
    // Fixed and pushed again: written, and no longer parked.
    let fixed = [local(json!({"id": bad, "job_seniority": "manager"}), now)];
    let report = sync
        .push(&fixed, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(report.updated, [bad], "{report:?}");
    assert_eq!(s.store.parked_writes("people").await.unwrap().len(), 1);
    // A failure that may pass (503s past every retry) is reported to retry, not parked; the
    // same record later goes through.
    let attempts = PushOptions::default().max_attempts;
    s.sandbox.schedule_faults(std::iter::repeat_n(
        Fault::Status { status: 503 },
        10 * attempts as usize,
    ));
    let later = [local(json!({"id": good, "title": "Pushed later"}), now)];
    let report = sync
        .push(&later, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(report.retryable.len(), 1, "{report:?}");
    let reason = salesloft_client::error_chain(&report.retryable[0].1);
    assert!(reason.contains("503"), "{report:?}");
    assert_eq!(
        report.retryable[0].1.kind(),
        salesloft_client::FailureKind::Transient
    );
    assert!(
        report.parked.is_empty() && report.updated.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.writes, u64::from(attempts));
    let report = sync
        .push(&later, &PushOptions::default(), None)
        .await
        .unwrap();
    assert_eq!(report.updated, [good], "{report:?}");
}
on_both!(parked, a_refused_record_is_parked_and_the_others_go_on);

async fn a_feed_read_while_salesloft_changes_ends_equal_to_the_copy(db: TestDb) {
    let mut config = team();
    config.team.people = 1_000;
    let s = setup(config, db).await;
    let sync = PeopleSync::new(s.engine.context().clone(), FieldPolicies::people_defaults());
    s.sandbox.start_simulator(SimulatorConfig {
        events_per_second: 400.0,
        bulk_updates: true,
        ..SimulatorConfig::default()
    });
    // A reader follows the feed in small pages while syncs commit under it.
    let mut mirror: BTreeMap<i64, Option<Value>> = BTreeMap::new();
    let mut cursor = ChangeCursor::START;
    let mut read = 0usize;
    // Until a good part of the team changed after the reader first saw it (bounded).
    for round in 0.. {
        if read > 1_300 && round >= 5 {
            break;
        }
        assert!(
            round < 400,
            "the simulator changed too little: {read} changes read"
        );
        let (_, _) = tokio::join!(sync_people(&s), async {
            for _ in 0..5 {
                let batch = sync.changes(cursor, 7).await.unwrap();
                read += batch.changes.len();
                for c in batch.changes {
                    let state = (c.kind != ChangeKind::Deleted).then(|| c.person.unwrap());
                    mirror.insert(c.id, state);
                }
                cursor = batch.next;
                tokio::task::yield_now().await;
            }
        });
    }
    s.sandbox.stop_simulator();
    sync_people(&s).await;
    let read_meanwhile = mirror.len();
    loop {
        let batch = sync.changes(cursor, 50).await.unwrap();
        read += batch.changes.len();
        for c in batch.changes {
            let state = (c.kind != ChangeKind::Deleted).then(|| c.person.unwrap());
            mirror.insert(c.id, state);
        }
        cursor = batch.next;
        if !batch.more {
            break;
        }
    }
    let copy: BTreeMap<i64, Value> = Stream::named("people")
        .unwrap()
        .raw_records(&s.store)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, raw)| (id, serde_json::from_str(&raw).unwrap()))
        .collect();
    let live: BTreeMap<i64, Value> = mirror
        .into_iter()
        .filter_map(|(id, v)| v.map(|v| (id, v)))
        .collect();
    eprintln!(
        "feed under changes: {read} changes read ({read_meanwhile} people while syncing), {} people at the end, {} in the copy",
        live.len(),
        copy.len()
    );
    assert!(
        read > copy.len() + 300,
        "people changed while the feed was read: {read} changes"
    );
    assert_eq!(live.len(), copy.len());
    assert!(live == copy, "the reader's mirror equals the local copy");
    assert_eq!(sync.changes(cursor, 10).await.unwrap().changes.len(), 0);
}
on_both!(
    feed_under_changes,
    a_feed_read_while_salesloft_changes_ends_equal_to_the_copy
);
