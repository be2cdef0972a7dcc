//! Two SalesLoft teams of one sandbox (one API address, as SalesLoft's) changing under one
//! worker pool, their simulators running, each subscribed to its webhooks at its own route:
//! once they stop, each team's copy equals its own team record by record (deletions
//! included). Then one team's key is revoked: its credential is held and its
//! SalesLoft hears nothing more from the workers, while the other team goes on, exact. On
//! SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

use std::sync::Arc;
use std::time::{Duration, Instant};

use salesloft_client::{Account, Person};
use salesloft_runtime::teams::{
    TeamConnection, TeamOverrides, connect_team, team_client, team_webhook_url,
};
use salesloft_runtime::{App, Roles, Settings};
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, SimulatorConfig, TeamSize};
use salesloft_storage::testing::TestDb;
use salesloft_storage::{Entity, SecretsKey, Store, TeamCredentials, TeamId, TeamSlug};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn team(team_id: i64, key: &str, people: usize) -> SandboxConfig {
    SandboxConfig {
        team_id,
        seed: team_id as u64,
        api_keys: vec![key.to_owned()],
        team: TeamSize {
            people,
            accounts: people / 4,
            users: 3,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    }
}

/// Whether `store`'s copy of `T` (`kind` in the sandbox's snapshot) is `sandbox`'s, record
/// by record.
async fn same<T: Entity>(store: &Store, sandbox: &SandboxHandle, kind: &str) -> bool {
    let theirs: Vec<Value> = sandbox.snapshot()[kind]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ours: Vec<Value> = store
        .raw_records::<T>()
        .await
        .unwrap()
        .iter()
        .map(|(_, raw)| serde_json::from_str(raw).unwrap())
        .collect();
    let by_id = |v: &Vec<Value>| {
        let mut v = v.clone();
        v.sort_by_key(|r| r["id"].as_i64());
        v
    };
    !theirs.is_empty() && by_id(&theirs) == by_id(&ours)
}

/// Whether the team's people sync last succeeded at `at_ms` or later.
async fn synced_since(store: &Store, at_ms: i64) -> bool {
    store
        .sync_states()
        .await
        .unwrap()
        .iter()
        .any(|s| s.stream == "people" && s.last_success_at_ms.is_some_and(|t| t >= at_ms))
}

async fn exact(store: &Store, sandbox: &SandboxHandle) -> bool {
    same::<Person>(store, sandbox, "people").await
        && same::<Account>(store, sandbox, "accounts").await
}

async fn until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn live_teams(db: TestDb) {
    let sandbox = Sandbox::start_teams(vec![
        team(16, "ak_live_team_a_0123456789abcdef", 120),
        team(17, "ak_live_team_b_0123456789abcdef", 80),
    ])
    .await
    .unwrap();
    let (a, b) = (&sandbox[0], &sandbox[1]);
    let (_, secrets_key) = SecretsKey::generate("k1");
    let mut settings = Settings::defaults().unwrap();
    settings.api.key = Some(a.api_key().to_owned().into());
    settings.api.base_url = a.url();
    settings.database.url = db.url().to_owned().into();
    settings.secrets.key = Some(secrets_key);
    settings.jobs.sync_every_secs = 10;
    settings.validate().unwrap();
    let store = db
        .store
        .clone()
        .with_keyring(Arc::new(settings.keyring().unwrap().unwrap()));
    let team_b = connect_team(
        &store,
        &settings,
        TeamConnection {
            slug: TeamSlug::parse("b").unwrap(),
            base_url: None,
            credentials: TeamCredentials::ApiKey(b.api_key().to_owned().into()),
            overrides: TeamOverrides::default(),
        },
    )
    .await
    .unwrap();
    assert_eq!(team_b.salesloft_team_id, Some(17), "one address, two teams");
    let (store_a, store_b) = (store.team(TeamId::DEFAULT), store.team(team_b.id));

    // Each team subscribed at its own route: deletions reach the copies as webhooks (hints
    // each checked against SalesLoft), changes between syncs too.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hooks = format!(
        "http://{}/webhooks/salesloft",
        listener.local_addr().unwrap()
    );
    for team in store.teams().await.unwrap() {
        let client = team_client(&store, &settings, &team).await.unwrap();
        let url = team_webhook_url(&hooks, &team);
        salesloft_webhooks::subscribe_all(&client, &store.team(team.id), &url, &[])
            .await
            .unwrap();
    }
    let shutdown = CancellationToken::new();
    let app = App::build(settings, Roles::ALL)
        .await
        .unwrap()
        .with_listener(listener);
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    for (i, s) in [a, b].into_iter().enumerate() {
        s.start_simulator(SimulatorConfig {
            events_per_second: 20.0,
            seed: i as u64 + 1,
            bulk_updates: false,
        });
    }
    // Both teams change while their syncs run: until each team's people sync has succeeded
    // again 10 s into the changes (a scheduled round under change, after the backfill).
    let changing = store.now_ms();
    until(
        "a sync round under change",
        Duration::from_secs(60),
        async || {
            synced_since(&store_a, changing + 10_000).await
                && synced_since(&store_b, changing + 10_000).await
        },
    )
    .await;
    for s in [a, b] {
        s.stop_simulator();
    }
    until("both copies exact", Duration::from_secs(60), async || {
        exact(&store_a, a).await && exact(&store_b, b).await
    })
    .await;

    // Team b's key is revoked: its credential is held; team a goes on.
    b.revoke_api_keys();
    until("b's credential held", Duration::from_secs(60), async || {
        !store_b.credential_holds().await.unwrap().is_empty()
    })
    .await;
    let heard = b.counters().requests;
    a.mutate(None, 30).unwrap();
    until("a exact again", Duration::from_secs(60), async || {
        exact(&store_a, a).await
    })
    .await;
    let since = b.counters().requests - heard;
    assert!(
        since <= 1,
        "b's SalesLoft heard {since} requests after the hold"
    );
    let held = store_b.jobs(Some("available"), None, 100).await.unwrap();
    assert!(
        held.iter().any(|j| j.held_by.is_some()),
        "b's work came due and waits for its credentials: {held:?}"
    );

    shutdown.cancel();
    running.await.unwrap().unwrap();
}

salesloft_storage::on_both!(live_teams, live_teams);
