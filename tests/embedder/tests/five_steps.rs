//! The five things an embedder does, run by the embedder service against the sandbox, on
//! SQLite and on PostgreSQL: with nothing but the published libraries, each must work.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on purpose

use std::sync::atomic::Ordering;
use std::time::Duration;

use embedder::{Service, client_only, feed_and_push, local_copy, webhooks, worker};
use salesloft_client::{BudgetConfig, Person};
use salesloft_jobs::CancellationToken;
use salesloft_sandbox::{Action, Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_services::{ChangeKind, LocalPerson};
use salesloft_storage::testing::{TestDb, eventually};
use salesloft_storage::{NewJob, on_both};

const LIMIT: Duration = Duration::from_secs(60);

async fn the_five_steps_work_from_the_libraries_alone(db: TestDb) {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize::scaled(300),
        webhook_retry_interval_ms: 500,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let service = Service::connect(
        &sandbox.url(),
        sandbox.api_key(),
        db.store.clone(),
        BudgetConfig::default(),
    )
    .await
    .unwrap();
    let people = i64::try_from(sandbox.counts()["people"]).unwrap();

    // 1. The client alone.
    let (page, again) = client_only::first_people(&service.client).await.unwrap();
    assert_eq!(page.len(), 25);
    assert_eq!(again.map(|p| p.id), Some(page[0].id));

    // 2. The local copy: a backfill, then a run that finds nothing new at cost 1 per stream.
    let ctx = service.context();
    let first = local_copy::sync_people_and_accounts(&ctx).await.unwrap();
    assert!(first.streams.iter().all(|s| s.inserted > 0), "{first:?}");
    let second = local_copy::sync_people_and_accounts(&ctx).await.unwrap();
    assert!(second.streams.iter().all(|s| s.cost == 1), "{second:?}");
    assert_eq!(service.store.count_live::<Person>().await.unwrap(), people);

    // 3. Webhooks in the service's own router: subscribed, verified, stored.
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let inbox = webhooks::subscribe(&service, &public_url, stop.clone())
        .await
        .unwrap();
    let serving = tokio::spawn(serve(listener, webhooks::router(inbox), stop.clone()));
    let forged = post_unsigned(&public_url).await;
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
    sandbox.mutate(Some(Action::EditPerson), 5).unwrap();
    eventually("five deliveries stored", LIMIT, || {
        deliveries(&service, &["pending", "processed"], 5)
    })
    .await;

    // 4. The worker: built-in jobs (the webhook job among them) and one of the service's own.
    let count = worker::CountPeople::new(service.store.clone());
    let counted = count.counted.clone();
    let runner = worker::runner(&service, count, Duration::from_secs(3600)).unwrap();
    let worker_stop = stop.clone();
    let running = tokio::spawn(async move { runner.run(worker_stop).await });
    eventually("the deliveries applied", LIMIT, || {
        deliveries(&service, &["processed"], 5)
    })
    .await;
    let own = NewJob::new("embedder_count_people", serde_json::json!({}));
    service.store.enqueue(&own).await.unwrap();
    eventually("the service's own job ran", LIMIT, || async {
        counted.load(Ordering::SeqCst) == people
    })
    .await;
    stop.cancel();
    tokio::time::timeout(LIMIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    serving.await.unwrap();

    // 5. The change feed from the start, and a local change pushed back once.
    feed_then_push(&service, &sandbox, people).await;
    sandbox.shutdown().await.unwrap();
}
on_both!(five_steps, the_five_steps_work_from_the_libraries_alone);

async fn feed_then_push(service: &Service, sandbox: &SandboxHandle, people: i64) {
    let ctx = service.context();
    let all = feed_and_push::changes(&ctx, "start", 10_000).await.unwrap();
    assert_eq!(all.changes.len(), usize::try_from(people).unwrap());
    let cursor = all.next.to_string();
    let first = all.changes[0].person.clone().unwrap();
    let mut fields = serde_json::Map::new();
    fields.insert("id".into(), first["id"].clone());
    fields.insert("title".into(), "Head of Embedding".into());
    let mine = [LocalPerson::new(fields, chrono::Utc::now())];
    let pushed = feed_and_push::push(&ctx, &mine).await.unwrap();
    assert_eq!((pushed.updated.len(), pushed.writes), (1, 1), "{pushed:?}");
    let again = feed_and_push::push(&ctx, &mine).await.unwrap();
    assert_eq!(again.writes, 0, "nothing left to write: {again:?}");
    local_copy::sync_people_and_accounts(&ctx).await.unwrap();
    let echo = feed_and_push::changes(&ctx, &cursor, 100).await.unwrap();
    assert!(echo.changes.is_empty() && echo.echoes == 1, "{echo:?}");
    sandbox.mutate(Some(Action::EditPerson), 3).unwrap();
    local_copy::sync_people_and_accounts(&ctx).await.unwrap();
    let edited = feed_and_push::changes(&ctx, &echo.next.to_string(), 100)
        .await
        .unwrap();
    assert_eq!(edited.changes.len(), 3, "{edited:?}");
    assert!(edited.changes.iter().all(|c| c.kind == ChangeKind::Updated));
}

/// Whether at least `n` deliveries are in one of `states`.
async fn deliveries(service: &Service, states: &[&str], n: i64) -> bool {
    let counts = service.store.webhook_counts().await.unwrap();
    let found: i64 = counts
        .iter()
        .filter(|(_, state, _)| states.contains(&state.as_str()))
        .map(|(_, _, count)| count)
        .sum();
    found >= n
}

async fn serve(listener: tokio::net::TcpListener, app: axum::Router, stop: CancellationToken) {
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .unwrap();
}

/// POST a delivery with no signature to the service's webhook route; the response's text.
async fn post_unsigned(public_url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = public_url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = r#"{"id":1}"#;
    let request = format!(
        "POST {} HTTP/1.1\r\nhost: {addr}\r\nx-salesloft-event: person_updated\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        webhooks::PATH,
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    response
}
