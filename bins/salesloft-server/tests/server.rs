//! `salesloft-server --with-worker` as a newcomer runs it: a real process on SQLite beside
//! the sandbox, which delivers real signed webhooks to it.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod common;

use common::{eventually, free_port, scrape, server_command, stored_deliveries};

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use salesloft_storage::testing::fetch_texts;

const TOKEN: &str = "server-test-callback-token";
/// A token the server finds only in its database.
const DB_TOKEN: &str = "token-kept-in-the-database";

struct Server {
    child: Child,
    url: String,
    /// Where its operator routes are (the status page, `/metrics`, `/ready`).
    ops_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(
    sandbox: &salesloft_sandbox::SandboxHandle,
    db_url: &str,
    with_worker: bool,
) -> Server {
    let (port, ops_port) = (free_port(), free_port());
    let mut cmd = server_command(port, ops_port);
    if with_worker {
        cmd.arg("--with-worker");
    }
    let child = cmd
        .env("SALESLOFT_API_KEY", sandbox.api_key())
        .env("SALESLOFT_BASE_URL", sandbox.url())
        .env("SALESLOFT_DATABASE_URL", db_url)
        .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
        .env("RUST_LOG", "info")
        .spawn()
        .unwrap();
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        ops_url: format!("http://127.0.0.1:{ops_port}"),
    }
}

/// A sandbox team of `people` under SalesLoft's real budget, retrying failed deliveries
/// `retry_ms` apart.
async fn sandbox(people: usize, retry_ms: u64) -> salesloft_sandbox::SandboxHandle {
    salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: Some(600),
        webhook_retry_interval_ms: retry_ms,
        team: salesloft_sandbox::TeamSize {
            people,
            accounts: people / 4,
            users: 3,
            ..salesloft_sandbox::TeamSize::empty()
        },
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// Subscribe `server` to `events` in the sandbox, signed with `token`.
async fn subscribe(
    sandbox: &salesloft_sandbox::SandboxHandle,
    server: &Server,
    token: &str,
    events: &[&str],
) {
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    for event_type in events {
        client
            .webhook_subscriptions()
            .create(&salesloft_client::WebhookSubscriptionInput {
                callback_url: format!("{}/webhooks/salesloft", server.url),
                callback_token: secrecy::SecretString::from(token.to_owned()),
                event_type: (*event_type).to_owned(),
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_webhooks_reach_the_local_copy_through_a_running_server() {
    let sandbox = sandbox(200, 15_000).await;
    let db = salesloft_storage::testing::TestDb::sqlite_unmigrated()
        .await
        .unwrap();
    let mut server = start_server(&sandbox, db.url(), true);
    let http = reqwest::Client::new();
    let get = |url: &str| {
        let req = http.get(url);
        async move { req.send().await.ok().map(|r| r.status().as_u16()) }
    };
    eventually("healthy", Duration::from_secs(30), || async {
        get(&format!("{}/health", server.url)).await == Some(200)
    })
    .await;
    eventually("ready (migrated)", Duration::from_secs(30), || async {
        get(&format!("{}/ready", server.ops_url)).await == Some(200)
    })
    .await;
    for operator_route in ["/", "/metrics", "/ready"] {
        assert_eq!(
            get(&format!("{}{operator_route}", server.url)).await,
            Some(404),
            "{operator_route} is not on the public port"
        );
    }

    // Subscribe the server to person and account changes, as `salesloft webhooks subscribe`
    // will.
    subscribe(
        &sandbox,
        &server,
        TOKEN,
        &["person_updated", "person_created", "person_deleted"],
    )
    .await;
    // Let the first sync finish, so what changes next can only arrive by webhook first.
    eventually(
        "the first sync of people",
        Duration::from_secs(60),
        || async {
            fetch_texts(&db.store, "SELECT CAST(COUNT(*) AS TEXT) FROM people")
                .await
                .map(|r| r[0].as_deref() == Some("200"))
                .unwrap_or(false)
        },
    )
    .await;

    // Change people in the sandbox: each change is delivered, stored, processed and applied.
    let changed = sandbox
        .mutate(Some(salesloft_sandbox::Action::EditPerson), 20)
        .unwrap();
    assert!(changed >= 20, "{changed} events");
    let local_titles_match = || async {
        let snapshot = sandbox.snapshot();
        let want: std::collections::BTreeMap<i64, String> = snapshot["people"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_i64().unwrap(), p["title"].to_string()))
            .collect();
        let rows = fetch_texts(
            &db.store,
            "SELECT raw FROM people WHERE deleted_at_ms IS NULL",
        )
        .await
        .unwrap_or_default();
        let have: std::collections::BTreeMap<i64, String> = rows
            .iter()
            .flatten()
            .filter_map(|raw| serde_json::from_str::<serde_json::Value>(raw).ok())
            .map(|p| (p["id"].as_i64().unwrap_or_default(), p["title"].to_string()))
            .collect();
        want == have
    };
    // Faster than the 5 s debounce of the sync it pulls forward: the webhooks did it.
    let took = eventually(
        "the changed people in the local copy",
        Duration::from_secs(30),
        local_titles_match,
    )
    .await;
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let processed = fetch_texts(
        &db.store,
        "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events WHERE status = 'processed'",
    )
    .await
    .unwrap();
    assert_eq!(
        processed[0].as_deref(),
        Some("20"),
        "every delivery processed"
    );
    assert!(
        sandbox
            .deliveries()
            .iter()
            .all(|d| d.status == Some(200) && d.attempt == 1),
        "every delivery answered 200 at once"
    );

    // Refusals, with nothing stored.
    let post = |body: Vec<u8>, signature: Option<String>| {
        let mut req = http
            .post(format!("{}/webhooks/salesloft", server.url))
            .header("x-salesloft-event", "person_updated")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-salesloft-signature", s);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let body = br#"{"id": 1, "updated_at": "2030-01-01T00:00:00Z"}"#.to_vec();
    assert_eq!(post(body.clone(), None).await, 401);
    assert_eq!(post(body.clone(), Some("00".repeat(20))).await, 401);
    let huge = vec![b' '; 2 << 20];
    let signed = salesloft_sandbox::sign_webhook(TOKEN, &huge);
    assert_eq!(post(huge, Some(signed)).await, 413);
    assert_eq!(
        stored_deliveries(&db.store).await,
        20,
        "nothing refused was stored"
    );

    // Metrics: deliveries by type and outcome, jobs, records per stream, the worker's caches.
    // Records, jobs and the inbox come from the status snapshot, gathered every 10 s: the
    // sync's 200 people show by the next one.
    let gathered = Instant::now();
    let metrics = loop {
        let metrics = scrape(&http, &server.ops_url, None).await;
        if metrics.contains(r#"salesloft_records{team="default",stream="people"} 200"#)
            && metrics.contains(r#"salesloft_webhook_inbox_rows{team="default"} 20"#)
            || gathered.elapsed() > Duration::from_secs(30)
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for want in [
        r#"salesloft_webhook_received_total{event_type="person_updated",outcome="stored"} 20"#,
        r#"salesloft_webhook_received_total{event_type="person_updated",outcome="bad_signature"} 2"#,
        r#"salesloft_records{team="default",stream="people"} 200"#,
        "salesloft_jobs{",
        "salesloft_webhook_store_seconds_bucket",
        r#"salesloft_requests_total{endpoint="people.list",status="200"}"#,
        r#"salesloft_cost_total{endpoint="people.list"}"#,
        "salesloft_remaining_minute ",
        "salesloft_budget_available ",
        r#"salesloft_sync_lag_seconds{team="default",stream="people"}"#,
        r#"salesloft_cache_requests_total{cache="people_by_email",result="hit"}"#,
        r#"salesloft_webhook_inbox_rows{team="default"} 20"#,
        r#"salesloft_webhook_inbox_bytes{team="default"} "#,
        "salesloft_http_connections ",
    ] {
        assert!(metrics.contains(want), "{want} missing from:\n{metrics}");
    }

    // The review's replay: a person's signed body, captured, sent again as person_deleted
    // and as account_deleted. Both are answered 200 (the signature is SalesLoft's) and
    // delete nothing: SalesLoft still lists the person, and the body is no account.
    let raw = fetch_texts(
        &db.store,
        "SELECT raw FROM people WHERE deleted_at_ms IS NULL ORDER BY id LIMIT 1",
    )
    .await
    .unwrap();
    let captured = raw[0].clone().unwrap().into_bytes();
    let id = serde_json::from_slice::<serde_json::Value>(&captured).unwrap()["id"]
        .as_i64()
        .unwrap();
    let signature = salesloft_sandbox::sign_webhook(TOKEN, &captured);
    for event in ["person_updated", "person_deleted", "account_deleted"] {
        let status = http
            .post(format!("{}/webhooks/salesloft", server.url))
            .header("x-salesloft-event", event)
            .header("x-salesloft-signature", &signature)
            .body(captured.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 200, "{event}");
    }
    let settled = |event: &'static str| {
        let store = db.store.clone();
        async move {
            fetch_texts(
                &store,
                &format!(
                    "SELECT status FROM webhook_events WHERE event_type = '{event}' ORDER BY id DESC LIMIT 1"
                ),
            )
            .await
            .ok()
            .and_then(|r| r.first().cloned().flatten())
            .filter(|s| s != "pending")
        }
    };
    eventually("the replays processed", Duration::from_secs(30), || async {
        settled("person_deleted").await.is_some() && settled("account_deleted").await.is_some()
    })
    .await;
    assert_eq!(
        settled("person_deleted").await.as_deref(),
        Some("processed")
    );
    assert_eq!(settled("account_deleted").await.as_deref(), Some("failed"));
    let live = fetch_texts(
        &db.store,
        &format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE id = {id} AND deleted_at_ms IS NULL"
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        live[0].as_deref(),
        Some("1"),
        "the replayed person is still live"
    );
    let accounts = fetch_texts(
        &db.store,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM accounts WHERE id = {id} AND deleted_at_ms IS NOT NULL"),
    )
    .await
    .unwrap();
    assert_eq!(accounts[0].as_deref(), Some("0"), "no account tombstone");

    // A real deletion in SalesLoft still arrives as a tombstone within seconds.
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    let doomed = salesloft_client::PersonId::from(id);
    client.people().delete(doomed).await.unwrap();
    let took = eventually("the deletion as a tombstone", Duration::from_secs(30), || async {
        fetch_texts(
            &db.store,
            &format!("SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE id = {id} AND deleted_at_ms IS NOT NULL"),
        )
        .await
        .is_ok_and(|r| r[0].as_deref() == Some("1"))
    })
    .await;
    assert!(took < Duration::from_secs(5), "took {took:?}");

    // SIGTERM: exits 0 within the grace.
    let asked = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(asked.elapsed() < Duration::from_secs(10), "did not stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
}

/// A TCP proxy to PostgreSQL that the test can cut: open connections are dropped and new
/// ones refused until it is restored, as when the database goes away.
struct Proxy {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*watch.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut down = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

/// The database goes away while SalesLoft delivers: deliveries meanwhile get 503 with
/// nothing half-stored, and once it is back the sandbox's retries are stored: nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_during_a_database_outage_get_503_and_their_retries_lose_nothing() {
    let sandbox = sandbox(50, 3_000).await;
    let db = salesloft_storage::testing::TestDb::postgres()
        .await
        .unwrap();
    let mut url = url::Url::parse(db.url()).unwrap();
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(
        url.host_str().unwrap().to_owned(),
        url.port().unwrap_or(5432),
    ))
    .unwrap()
    .next()
    .unwrap();
    // This server verifies with a token only the database keeps, as `salesloft webhooks
    // subscribe` leaves it.
    db.store
        .save_subscription(&salesloft_storage::StoredSubscription {
            id: 0,
            event_type: "person_updated".into(),
            callback_url: "kept-by-the-toolkit".into(),
            callback_token: secrecy::SecretString::from(DB_TOKEN.to_owned()),
        })
        .await
        .unwrap();
    let proxy = Proxy::start(target).await;
    url.set_port(Some(proxy.port)).unwrap();
    let db_url = url.to_string();
    let server = start_server(&sandbox, &db_url, false);
    let http = reqwest::Client::new();
    let ready = || {
        let req = http.get(format!("{}/ready", server.ops_url));
        async move { req.send().await.ok().map(|r| r.status().as_u16()) }
    };
    eventually("ready", Duration::from_secs(30), || async {
        ready().await == Some(200)
    })
    .await;
    subscribe(&sandbox, &server, DB_TOKEN, &["person_updated"]).await;
    let stored = || stored_deliveries(&db.store);
    // A delivery is told apart by its signature (an HMAC of its body); it is settled once
    // an attempt was answered 2xx. Attempts are logged when answered, so a delivery still
    // waiting for its first answer is not in the log yet: count against what `mutate` caused.
    let settled = || {
        let deliveries = sandbox.deliveries();
        let mut all = std::collections::BTreeSet::new();
        let mut ok = std::collections::BTreeSet::new();
        for d in &deliveries {
            all.insert(d.signature.clone());
            if d.status.is_some_and(|s| (200..300).contains(&s)) {
                ok.insert(d.signature.clone());
            }
        }
        (all.len(), ok.len())
    };
    let first = sandbox
        .mutate(Some(salesloft_sandbox::Action::EditPerson), 10)
        .unwrap();
    eventually(
        "the first deliveries stored",
        Duration::from_secs(30),
        || async { settled() == (first, first) && stored().await == first },
    )
    .await;

    // The database goes away; deliveries meanwhile are answered 503.
    proxy.cut();
    let during = sandbox
        .mutate(Some(salesloft_sandbox::Action::EditPerson), 10)
        .unwrap();
    eventually(
        "503s while the database is away",
        Duration::from_secs(30),
        || async { sandbox.deliveries().iter().any(|d| d.status == Some(503)) },
    )
    .await;
    assert_eq!(ready().await, Some(503), "not ready without its database");
    proxy.restore();

    // The retries arrive and are stored; every delivery is stored once, each with its job.
    let total = first + during;
    eventually(
        "every delivery stored after the outage",
        Duration::from_secs(60),
        || async { settled() == (total, total) && stored().await == total },
    )
    .await;
    let deliveries = sandbox.deliveries();
    let failed_for_good = deliveries
        .iter()
        .filter(|d| d.attempt == salesloft_sandbox::WEBHOOK_ATTEMPTS && d.status != Some(200))
        .count();
    assert_eq!(failed_for_good, 0, "no delivery ran out of retries");
    // Every stored delivery is in exactly one processing job.
    let payloads = fetch_texts(&db.store, "SELECT payload FROM jobs WHERE kind = 'webhook'")
        .await
        .unwrap();
    let mut ids: Vec<i64> = payloads
        .iter()
        .flatten()
        .flat_map(|p| {
            serde_json::from_str::<serde_json::Value>(p).unwrap()["inbox_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let listed = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (listed, ids.len()),
        (total, total),
        "each delivery in one job"
    );
    eprintln!(
        "{total} deliveries, {} answered 503 during the outage, none lost",
        deliveries.iter().filter(|d| d.status == Some(503)).count()
    );
}
