//! Two SalesLoft teams in one deployment, in one process: the configured one (the default
//! team) and one connected from code with its own key; one worker pool syncs both, each copy
//! equals its own sandbox, and each team's webhook route verifies with that team's tokens
//! only. On SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

use std::sync::Arc;
use std::time::{Duration, Instant};

use salesloft_client::Person;
use salesloft_runtime::teams::{TeamConnection, TeamOverrides, connect_team};
use salesloft_runtime::{App, Roles, Settings};
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_storage::testing::TestDb;
use salesloft_storage::{SecretsKey, StoredSubscription, TeamCredentials, TeamId, TeamSlug};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

async fn sandbox(people: usize, seed: u64) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        team: TeamSize {
            people,
            ..TeamSize::empty()
        },
        seed,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// The process's Prometheus recorder (one per process, shared by its tests).
fn metrics() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| salesloft_runtime::ops::install_metrics_recorder().unwrap())
        .clone()
}

async fn post(url: &str, token: &str, body: &str) -> u16 {
    let signature =
        salesloft_webhooks::sign(&SecretString::from(token.to_owned()), body.as_bytes());
    reqwest::Client::new()
        .post(url)
        .header("x-salesloft-event", "person_updated")
        .header("x-salesloft-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn two_teams_share_one_worker_pool_and_keep_apart(db: TestDb) {
    let (a, b) = (sandbox(120, 1).await, sandbox(80, 2).await);
    let (key, encoded) = SecretsKey::generate("k1");
    drop(key);
    let mut settings = Settings::defaults().unwrap();
    settings.api.key = Some(a.api_key().to_owned().into());
    settings.api.base_url = a.url();
    settings.database.url = db.url().to_owned().into();
    settings.secrets.key = Some(encoded);
    settings.validate().unwrap();
    let store = db
        .store
        .clone()
        .with_keyring(Arc::new(settings.keyring().unwrap().unwrap()));

    // Team b, connected from code with its own key: SalesLoft says which team it is.
    let team_b = connect_team(
        &store,
        &settings,
        TeamConnection {
            slug: TeamSlug::parse("b").unwrap(),
            base_url: Some(b.url()),
            credentials: TeamCredentials::ApiKey(b.api_key().to_owned().into()),
            overrides: TeamOverrides::default(),
        },
    )
    .await
    .unwrap();
    assert!(team_b.salesloft_team_id.is_some());
    // A key SalesLoft refuses is refused before anything is stored.
    let refused = connect_team(
        &store,
        &settings,
        TeamConnection {
            slug: TeamSlug::parse("c").unwrap(),
            base_url: Some(b.url()),
            credentials: TeamCredentials::ApiKey("wrong".to_owned().into()),
            overrides: TeamOverrides::default(),
        },
    )
    .await;
    assert!(refused.is_err());
    assert!(
        store
            .team_by_slug(&TeamSlug::parse("c").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    for (team, token) in [(TeamId::DEFAULT, "token-a"), (team_b.id, "token-b")] {
        store
            .team(team)
            .save_subscription(&StoredSubscription {
                id: 1,
                event_type: "person_updated".into(),
                callback_url: "http://localhost/hooks".into(),
                callback_token: token.to_owned().into(),
            })
            .await
            .unwrap();
    }

    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "http://{}/webhooks/salesloft",
        listener.local_addr().unwrap()
    );
    let app = App::build(settings, Roles::ALL)
        .await
        .unwrap()
        .with_listener(listener)
        .with_metrics(metrics());
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));

    // One worker pool syncs both teams, each from its own SalesLoft.
    let (store_a, store_b) = (store.team(TeamId::DEFAULT), store.team(team_b.id));
    let started = Instant::now();
    loop {
        let na = store_a.count_live::<Person>().await.unwrap();
        let nb = store_b.count_live::<Person>().await.unwrap();
        if (na, nb) == (120, 80) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "copies at {na} and {nb} people after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ids_a = store_a.live_ids::<Person>().await.unwrap();
    let ids_b = store_b.live_ids::<Person>().await.unwrap();
    assert_eq!(ids_a.len(), 120);
    assert_eq!(ids_b.len(), 80);

    // Webhooks: each team's route takes its own team's signature only.
    let body = r#"{"id": 999999, "updated_at": "2030-01-01T00:00:00Z"}"#;
    assert_eq!(post(&format!("{base}/b"), "token-a", body).await, 401);
    assert_eq!(post(&format!("{base}/nobody"), "token-b", body).await, 404);
    assert_eq!(post(&base, "token-b", body).await, 401);
    let before_a = store_a.webhook_inbox_size().await.unwrap().0;
    assert_eq!(post(&format!("{base}/b"), "token-b", body).await, 200);
    assert_eq!(post(&base, "token-a", body).await, 200);
    assert_eq!(post(&format!("{base}/default"), "token-a", "{}").await, 200);
    assert_eq!(store_b.webhook_inbox_size().await.unwrap().0, 1);
    assert_eq!(store_a.webhook_inbox_size().await.unwrap().0, before_a + 2);

    // The status page: every team at a glance at `/`, each team's own page below it.
    let root = base.trim_end_matches("/webhooks/salesloft").to_owned();
    let get = |path: String| async move {
        let answer = reqwest::get(path).await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    };
    let (status, overview) = get(format!("{root}/")).await;
    assert_eq!(status, 200);
    assert!(
        overview.contains("data-team=\"b\"") && overview.contains("data-team=\"default\""),
        "{overview}"
    );
    let (status, page_b) = get(format!("{root}/teams/b")).await;
    assert_eq!(status, 200);
    let people_row = page_b
        .split("<tr data-stream=\"people\">")
        .nth(1)
        .unwrap_or_default();
    assert!(
        people_row.starts_with("<td>people</td><td class=\"n\">80<"),
        "{page_b}"
    );
    assert_eq!(get(format!("{root}/teams/nobody")).await.0, 404);
    // `/metrics` labels each team's series with its slug (the process's own team from its
    // status watch, gathered every 10 s; the others' when scraped).
    let scraped = Instant::now();
    let metrics = loop {
        let (status, metrics) = get(format!("{root}/metrics")).await;
        assert_eq!(status, 200);
        if metrics.contains(r#"salesloft_records{team="default",stream="people"} 120"#)
            || scraped.elapsed() > Duration::from_secs(30)
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    for want in [
        r#"salesloft_records{team="b",stream="people"} 80"#,
        r#"salesloft_records{team="default",stream="people"} 120"#,
        r#"salesloft_webhook_inbox_rows{team="b"} 1"#,
    ] {
        assert!(metrics.contains(want), "{want} missing from:\n{metrics}");
    }

    shutdown.cancel();
    running.await.unwrap().unwrap();
}

salesloft_storage::on_both!(two_teams, two_teams_share_one_worker_pool_and_keep_apart);
