//! Connecting a team with OAuth against the sandbox's authorize and token endpoints, through
//! the library (`ConnectFlow`), on SQLite and PostgreSQL: the first connect creates the team,
//! enqueues its sync and subscribes its webhooks at its own route; a replayed callback is
//! refused; once SalesLoft revokes the team's tokens its client is held, and connecting the
//! same SalesLoft team again reconnects it (new tokens, hold lifted, active), never a second
//! team.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

use std::sync::Arc;

use salesloft_runtime::Settings;
use salesloft_runtime::connect::{ConnectFlow, WebhookOutcome};
use salesloft_runtime::teams::team_client;
use salesloft_sandbox::{Sandbox, SandboxConfig, SandboxHandle, TeamSize};
use salesloft_storage::testing::TestDb;
use salesloft_storage::{SecretsKey, Store, TeamSlug, TeamState};

fn settings(sandbox: &SandboxHandle, db: &TestDb) -> Settings {
    let (_, encoded) = SecretsKey::generate("k1");
    let mut s = Settings::defaults().unwrap();
    s.api.base_url = sandbox.url();
    s.database.url = db.url().to_owned().into();
    s.secrets.key = Some(encoded);
    s.oauth.client_id = Some(salesloft_sandbox::DEFAULT_CLIENT_ID.into());
    s.oauth.client_secret = Some(salesloft_sandbox::DEFAULT_CLIENT_SECRET.to_owned().into());
    s.oauth.token_url = Some(sandbox.token_url());
    s.oauth.authorize_url = Some(
        format!("{}/oauth/authorize", sandbox.url())
            .parse()
            .unwrap(),
    );
    s.oauth.redirect_url = Some("http://127.0.0.1:9/connect/callback".parse().unwrap());
    s.webhooks.callback_url = Some("http://127.0.0.1:9/webhooks/salesloft".parse().unwrap());
    s.validate().unwrap();
    s
}

/// What the browser does at SalesLoft: follow the authorize URL, which redirects back to the
/// callback with `code` and `state`.
async fn authorize(url: &url::Url) -> (String, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(url.clone()).send().await.unwrap();
    assert_eq!(
        answer.status().as_u16(),
        302,
        "the sandbox approves at once"
    );
    let back = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(back.path(), "/connect/callback");
    let get = |k: &str| {
        back.query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (get("code"), get("state"))
}

async fn connect_reconnect(db: TestDb) {
    let sandbox = Sandbox::start(SandboxConfig {
        team: TeamSize {
            people: 20,
            ..TeamSize::empty()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let settings = settings(&sandbox, &db);
    let store: Store = db
        .store
        .clone()
        .with_keyring(Arc::new(settings.keyring().unwrap().unwrap()));
    let flow = ConnectFlow::from_settings(&settings).unwrap().unwrap();

    // The first connect creates the team under the slug asked for.
    let acme = TeamSlug::parse("acme").unwrap();
    let begun = flow.begin(&store, Some(&acme)).await.unwrap();
    let (code, state) = authorize(&begun.authorize_url).await;
    assert_eq!(state, begun.state, "the state went there and back");
    let connected = flow.finish(&store, &settings, &state, &code).await.unwrap();
    assert!(!connected.reconnected);
    assert_eq!(connected.team.slug, acme);
    assert_eq!(connected.team.name.as_deref(), Some("Sandbox Team"));
    let team = connected.team.clone();
    let team_store = store.team(team.id);
    let WebhookOutcome::Subscribed { url, created, .. } = &connected.webhooks else {
        panic!("subscribed: {:?}", connected.webhooks);
    };
    assert_eq!(url, "http://127.0.0.1:9/webhooks/salesloft/acme");
    let kept = team_store.subscriptions().await.unwrap();
    assert_eq!(kept.len(), *created);
    assert!(*created > 5 && kept.iter().all(|s| s.callback_url == *url));
    let queued = team_store.job_counts().await.unwrap();
    assert!(
        queued
            .iter()
            .any(|(state, n)| state == "available" && *n > 0),
        "its sync is queued: {queued:?}"
    );

    // A replayed callback (same state, same code) is refused and changes nothing.
    let replay = flow.finish(&store, &settings, &state, &code).await;
    let why = replay.unwrap_err().to_string();
    assert!(why.contains("used already"), "{why}");

    // The user withdraws the app's access: the team's requests are refused and its
    // credential is held (no further request but a probe).
    sandbox.revoke_tokens();
    let client = team_client(&store, &settings, &team).await.unwrap();
    assert!(client.team().await.is_err());
    assert_eq!(team_store.credential_holds().await.unwrap().len(), 1);
    store
        .set_team_state(&acme, TeamState::CredentialsRejected)
        .await
        .unwrap();

    // Connecting the same SalesLoft team again, under no slug, reconnects `acme`.
    let begun = flow.begin(&store, None).await.unwrap();
    let (code, state) = authorize(&begun.authorize_url).await;
    let again = flow.finish(&store, &settings, &state, &code).await.unwrap();
    assert!(again.reconnected);
    assert_eq!(again.team.id, team.id);
    assert_eq!(again.team.state, TeamState::Active);
    assert!(team_store.credential_holds().await.unwrap().is_empty());
    assert_eq!(
        again.webhooks,
        WebhookOutcome::Subscribed {
            url: url.clone(),
            created: 0,
            existing: *created,
        }
    );
    let slugs: Vec<String> = store
        .teams()
        .await
        .unwrap()
        .iter()
        .map(|t| t.slug.to_string())
        .collect();
    assert_eq!(slugs, ["acme", "default"], "no second team");
    // Its new tokens work, from a client built now.
    let client = team_client(&store, &settings, &again.team).await.unwrap();
    assert_eq!(
        client.team().await.unwrap().id.0,
        salesloft_sandbox::TEAM_ID
    );
}

salesloft_storage::on_both!(connect_and_reconnect, connect_reconnect);

/// The connect routes over HTTP when SalesLoft does not send `state` back: the state kept in
/// the browser's cookie is the one taken, once; without the cookie nothing is connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_state_in_the_redirect_the_cookie_carries_it_once() {
    let sandbox = Sandbox::start(SandboxConfig {
        oauth_returns_state: false,
        team: TeamSize::empty(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let db = TestDb::sqlite().await.unwrap();
    let mut settings = settings(&sandbox, &db);
    settings.webhooks.callback_url = None;
    let store = db
        .store
        .clone()
        .with_keyring(Arc::new(settings.keyring().unwrap().unwrap()));
    let inbox = salesloft_webhooks::Inbox::new(
        store.clone(),
        salesloft_webhooks::Verifier::new(std::iter::empty::<&secrecy::SecretString>()),
        salesloft_webhooks::InboxConfig::default(),
    );
    let state = salesloft_runtime::server::AppState::new(store.clone(), inbox, None)
        .with_settings(Arc::new(settings));
    let routes = salesloft_runtime::server::operator_router(
        state,
        &salesloft_runtime::admin::AdminAuth::new(None),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ops = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes).await });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let started = http
        .post(format!("{ops}/connect/start"))
        .form(&[("slug", "globex")])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 303);
    let cookie = started.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age=600"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let authorize = url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    let answer = http.get(authorize).send().await.unwrap();
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        !back.contains("state="),
        "this SalesLoft sends no state: {back}"
    );
    let callback = back.replace("http://127.0.0.1:9", &ops);

    let get = |with_cookie: bool| {
        let mut request = http.get(&callback);
        if with_cookie {
            request = request.header("cookie", &cookie);
        }
        async move {
            let answer = request.send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, page) = get(false).await;
    assert_eq!(status, 400, "no cookie, no connect: {page}");
    let (status, page) = get(true).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Connected globex"), "{page}");
    assert!(page.contains("webhooks.callback_url is unset"), "{page}");
    let (status, page) = get(true).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("used already"), "{page}");
    assert_eq!(store.teams().await.unwrap().len(), 2);
}
