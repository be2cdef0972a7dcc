//! Tasks created once per caller's key: sent again after a lost answer, after a rerun, they
//! never make a second task, and the copy holds each one as SalesLoft does.

use salesloft_client::{PersonId, TaskInput, UserId};
use salesloft_sandbox::{Fault, SandboxConfig, TeamSize};
use salesloft_services::{Stream, SyncOptions, TaskWriter, Verifier};
use salesloft_storage::on_both;
use salesloft_storage::testing::TestDb;

use crate::{Setup, setup};

fn team() -> SandboxConfig {
    SandboxConfig {
        rate_limit_per_minute: None,
        team: TeamSize {
            users: 3,
            people: 60,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    }
}

fn task_count(s: &Setup) -> usize {
    s.sandbox.snapshot()["tasks"].as_array().unwrap().len()
}

async fn assert_tasks_equal(s: &Setup) {
    let tasks = Stream::named("tasks").unwrap();
    let diffs = Verifier::new(s.engine.context().clone())
        .compare(&s.sandbox.snapshot_bytes(), &[tasks])
        .await
        .unwrap();
    assert!(diffs.iter().all(|d| d.is_equal()), "{diffs:?}");
}

async fn a_task_is_created_once_whatever_happens_to_the_answer(db: TestDb) {
    let s = setup(team(), db).await;
    let tasks = Stream::named("tasks").unwrap();
    let report = s.engine.sync(&[tasks], SyncOptions::default()).await;
    assert!(report.is_ok(), "{report:?}");
    let snapshot = s.sandbox.snapshot();
    let person = PersonId(snapshot["people"][0]["id"].as_i64().unwrap());
    let user = UserId(snapshot["users"][0]["id"].as_i64().unwrap());
    let input = || TaskInput::new("Call back", person, user, "call", "2026-12-10");
    let writer = TaskWriter::new(s.engine.context().clone());
    let before = task_count(&s);

    let made = writer.create("crm-task:1", input()).await.unwrap();
    assert!(!made.recovered && made.writes == 1, "{made:?}");
    // The same key again (a rerun, another process): the task SalesLoft made, no second one.
    let again = writer.create("crm-task:1", input()).await.unwrap();
    assert_eq!(again.task.id, made.task.id);
    assert_eq!(task_count(&s), before + 1);

    // The answer lost after SalesLoft acted: found by its key, not sent again.
    for (n, fault) in [Fault::ActThenStatus { status: 500 }, Fault::Drop]
        .into_iter()
        .enumerate()
    {
        s.sandbox.schedule_faults([fault]);
        let created = writer
            .create(&format!("crm-task:lost{n}"), input())
            .await
            .unwrap();
        assert!(created.recovered, "{fault:?}: {created:?}");
        assert_eq!(created.writes, 1, "{fault:?}: looked up, not sent again");
        assert_eq!(task_count(&s), before + 2 + n, "{fault:?}: one task");
    }
    // A server error before acting: sent again, one task.
    s.sandbox.schedule_faults([Fault::Status { status: 503 }]);
    let retried = writer.create("crm-task:503", input()).await.unwrap();
    assert_eq!(retried.writes, 2, "{retried:?}");
    assert_eq!(task_count(&s), before + 4);
    // Each is in the copy as SalesLoft holds it.
    assert_tasks_equal(&s).await;
    // A refused task is an error that names the field, and nothing is stored.
    let mut bad = input();
    bad.task_type = "meeting".into();
    let err = writer.create("crm-task:bad", bad).await.unwrap_err();
    let text = salesloft_services::error_chain(&err);
    assert!(text.contains("task_type"), "{text}");
    assert_eq!(task_count(&s), before + 4);
}
on_both!(
    task_created_once,
    a_task_is_created_once_whatever_happens_to_the_answer
);
