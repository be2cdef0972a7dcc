//! Enrollment against the sandbox: people on the cadence already and do-not-contact ones are
//! skipped at no cost, unknown ones confirmed with one list, one write per enrollment; a rerun
//! writes nothing; a write whose answer was lost is looked up, not repeated; removal.

use salesloft_client::{CadenceId, PersonId};
use salesloft_sandbox::Fault;
use salesloft_services::{CadenceManager, EnrollOptions, Stream, SyncOptions};
use salesloft_storage::on_both;
use salesloft_storage::testing::TestDb;

use crate::setup;

fn team() -> salesloft_sandbox::SandboxConfig {
    salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: None,
        team: salesloft_sandbox::TeamSize {
            users: 3,
            accounts: 20,
            people: 400,
            cadences: 4,
            memberships: 300,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    }
}

/// People currently on `cadence` in the sandbox.
fn on_cadence(snapshot: &serde_json::Value, cadence: i64) -> Vec<i64> {
    let mut ids: Vec<i64> = snapshot["cadence_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["cadence"]["id"].as_i64() == Some(cadence))
        .filter(|m| m["currently_on_cadence"].as_bool() == Some(true))
        .filter_map(|m| m["person"]["id"].as_i64())
        .collect();
    ids.sort_unstable();
    ids
}

async fn enrollment_skips_what_it_can_and_writes_once_each(db: TestDb) {
    let s = setup(team(), db).await;
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let manager = CadenceManager::new(s.engine.context().clone());
    let snapshot = s.sandbox.snapshot();
    let cadence = snapshot["cadences"][0]["id"].as_i64().unwrap();
    let before = on_cadence(&snapshot, cadence);
    assert!(!before.is_empty(), "the team has members on the cadence");
    let people: Vec<i64> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let dnc: Vec<i64> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["do_not_contact"].as_bool() == Some(true))
        .map(|p| p["id"].as_i64().unwrap())
        .filter(|id| !before.contains(id))
        .collect();
    let unknown = [9_000_000_001, 9_000_000_002];
    let mut asked: Vec<PersonId> = people.iter().copied().map(PersonId::from).collect();
    asked.extend(unknown.map(PersonId::from));
    asked.push(PersonId::from(people[0])); // asked twice, counted once

    let cadence_id = CadenceId::from(cadence);
    let first = manager
        .enroll(cadence_id, &asked, &EnrollOptions::default(), None)
        .await
        .unwrap();
    eprintln!(
        "enrolled {}, on already {}, do-not-contact {}, unknown {}, writes {}, lists {}",
        first.enrolled.len(),
        first.already_on.len(),
        first.do_not_contact.len(),
        first.not_found.len(),
        first.writes,
        first.lists
    );
    assert_eq!(first.requested, people.len() + unknown.len());
    assert_eq!(first.already_on.len(), before.len());
    assert_eq!(first.do_not_contact, dnc);
    assert_eq!(first.not_found, unknown);
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert_eq!(
        first.enrolled.len(),
        people.len() - before.len() - dnc.len()
    );
    assert_eq!(first.writes, first.enrolled.len() as u64, "one write each");
    assert_eq!(first.lists, 1, "the unknown ids in one ids[] list");
    let mut want: Vec<i64> = before.iter().chain(&first.enrolled).copied().collect();
    want.sort_unstable();
    assert_eq!(on_cadence(&s.sandbox.snapshot(), cadence), want);

    // Again: nothing to write; only the unknown ids are confirmed once more.
    let again = manager
        .enroll(cadence_id, &asked, &EnrollOptions::default(), None)
        .await
        .unwrap();
    assert_eq!((again.writes, again.lists), (0, 1), "{again:?}");
    assert!(again.enrolled.is_empty());
    assert!(again.writes + again.lists <= (first.writes + first.lists) / 100);

    // A write that took effect but whose answer was lost is looked up, not repeated.
    let other = CadenceId::from(snapshot["cadences"][1]["id"].as_i64().unwrap());
    let newcomer = people
        .iter()
        .copied()
        .find(|p| {
            !dnc.contains(p)
                && !on_cadence(&s.sandbox.snapshot(), other.get()).contains(p)
                && !snapshot["people"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|q| q["id"].as_i64() == Some(*p) && q["do_not_contact"] == true)
        })
        .unwrap();
    s.sandbox.schedule_faults([Fault::Drop]);
    let lost = manager
        .enroll(
            other,
            &[PersonId::from(newcomer)],
            &EnrollOptions::default(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(lost.enrolled, [newcomer], "{lost:?}");
    assert_eq!(
        (lost.writes, lost.lists),
        (1, 1),
        "looked up, not written again"
    );
    assert!(on_cadence(&s.sandbox.snapshot(), other.get()).contains(&newcomer));

    // Removal: one delete each, then nothing to do.
    let leaving: Vec<PersonId> = first.enrolled[..3]
        .iter()
        .copied()
        .map(PersonId::from)
        .collect();
    let removed = manager.remove(cadence_id, &leaving, None).await.unwrap();
    assert_eq!(
        (removed.removed.len(), removed.writes),
        (3, 3),
        "{removed:?}"
    );
    let now_on = on_cadence(&s.sandbox.snapshot(), cadence);
    assert!(leaving.iter().all(|p| !now_on.contains(&p.get())));
    let twice = manager.remove(cadence_id, &leaving, None).await.unwrap();
    assert_eq!((twice.not_on.len(), twice.writes), (3, 0), "{twice:?}");

    // The local copy answers list and show.
    let cadences = manager.list().await.unwrap();
    assert_eq!(
        cadences.len(),
        snapshot["cadences"].as_array().unwrap().len()
    );
    let detail = manager.show(cadence_id).await.unwrap().unwrap();
    assert_eq!(detail.people_on, now_on.len());
}

on_both!(
    cadence_enrollment,
    enrollment_skips_what_it_can_and_writes_once_each
);

async fn enrollment_while_salesloft_changes_enrolls_each_person_once(db: TestDb) {
    let s = setup(team(), db).await;
    let report = s.engine.sync(Stream::all(), SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let manager = CadenceManager::new(s.engine.context().clone());
    let snapshot = s.sandbox.snapshot();
    let cadence = snapshot["cadences"][2]["id"].as_i64().unwrap();
    let people: Vec<PersonId> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["do_not_contact"].as_bool() != Some(true))
        .map(|p| PersonId::from(p["id"].as_i64().unwrap()))
        .collect();
    // People edited, memberships advancing, people deleted, while the enrollment runs, with
    // one in twenty writes failing after it acted.
    s.sandbox
        .start_simulator(salesloft_sandbox::SimulatorConfig {
            events_per_second: 300.0,
            ..salesloft_sandbox::SimulatorConfig::default()
        });
    s.sandbox.set_faults(salesloft_sandbox::FaultConfig {
        drop: 0.05,
        seed: 11,
        ..salesloft_sandbox::FaultConfig::default()
    });
    let first = manager
        .enroll(
            CadenceId::from(cadence),
            &people,
            &EnrollOptions::default(),
            None,
        )
        .await
        .unwrap();
    s.sandbox
        .set_faults(salesloft_sandbox::FaultConfig::default());
    s.sandbox.stop_simulator();
    let live: std::collections::BTreeSet<i64> = s.sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    // Everyone asked is accounted for once: enrolled, on the cadence already, or failed.
    let mut accounted: Vec<i64> = first
        .enrolled
        .iter()
        .chain(&first.already_on)
        .copied()
        .chain(first.failed.iter().map(|(p, _)| *p))
        .collect();
    accounted.sort_unstable();
    let mut asked: Vec<i64> = people.iter().map(|p| p.get()).collect();
    asked.sort_unstable();
    assert_eq!(accounted, asked, "{first:?}");
    // Each one enrolled has a membership of the cadence in SalesLoft (the simulator may have
    // moved it on since).
    let members: std::collections::BTreeSet<i64> = s.sandbox.snapshot()["cadence_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["cadence"]["id"].as_i64() == Some(cadence))
        .filter_map(|m| m["person"]["id"].as_i64())
        .collect();
    for p in &first.enrolled {
        assert!(
            members.contains(p),
            "person {p} has no membership: {first:?}"
        );
    }
    // Only people deleted meanwhile failed: nobody was enrolled twice (a second write for
    // someone on the cadence would have been refused with a 422 and reported failed).
    for (p, _) in &first.failed {
        assert!(
            !live.contains(p),
            "only people deleted meanwhile fail: {first:?}"
        );
    }
    assert!(
        s.sandbox.counters().faults_injected > 0,
        "faults were injected"
    );
    eprintln!(
        "enrolled {} while the team changed: {} writes, {} lists, {} failed",
        first.enrolled.len(),
        first.writes,
        first.lists,
        first.failed.len()
    );
    // Run again once things settled: nothing left to write.
    let again = manager
        .enroll(
            CadenceId::from(cadence),
            &people,
            &EnrollOptions::default(),
            None,
        )
        .await
        .unwrap();
    assert!(again.enrolled.is_empty(), "{again:?}");
    assert_eq!(again.writes, again.failed.len() as u64, "{again:?}");
}

on_both!(
    enrollment_under_changes,
    enrollment_while_salesloft_changes_enrolls_each_person_once
);
