//! Connecting SalesLoft teams in a real headless Chromium (see `browser/`): a
//! `salesloft-server --with-worker` process on SQLite, configured with an OAuth app and no
//! credentials of its own, its operator routes behind `server.admin_token`; the sandbox's
//! authorize page (on `localhost`, another site than the server's `127.0.0.1`, so the trip
//! back is a cross-site redirect, as from SalesLoft) approves at once. After the login,
//! `/connect` connects a team: it syncs, its webhooks are subscribed at its own route and
//! deliver; a replayed callback is refused; connecting the same SalesLoft team again
//! reconnects it, never a second team.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod browser;
mod common;

use std::time::{Duration, Instant};

use browser::Browser;
use common::{Running, free_port, server_command};
use secrecy::ExposeSecret;

const ADMIN_TOKEN: &str = "connect-test-admin-token-0123456789";

/// The records column of the people row of a team page's DOM.
fn people_on(dom: &str) -> Option<u64> {
    let row = dom.split("data-stream=\"people\"").nth(1)?;
    let cell = row.split("<td class=\"n\">").nth(1)?;
    cell.split('<').next()?.trim().parse().ok()
}

/// Load `url` until the page's people count is `want` (at most `limit`).
async fn until_people(browser: &Browser, url: &str, want: u64, limit: Duration) {
    let started = Instant::now();
    loop {
        let dom = browser.visit(url).await;
        if people_on(&dom) == Some(want) {
            eprintln!("{want} people on {url} after {:?}", started.elapsed());
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{url} never showed {want} people: {dom}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Log in through the form `/connect` sends a browser to.
async fn log_in(browser: &Browser, ops: &str) {
    browser.visit(&format!("{ops}/connect")).await;
    assert!(
        browser.location().await.contains("/login"),
        "sent to the login form"
    );
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#login").await;
    browser
        .dom_when("the connect page after the login", |d| {
            d.contains("id=\"connect-team\"")
        })
        .await;
}

/// Connect a team from `/connect`, naming it `slug` (empty: SalesLoft's name); the DOM of the
/// page the callback shows.
async fn connect(browser: &Browser, ops: &str, slug: &str) -> String {
    browser.visit(&format!("{ops}/connect")).await;
    if !slug.is_empty() {
        browser.type_into("#slug", slug).await;
    }
    browser.click("#connect-team").await;
    browser
        .dom_when("back from SalesLoft", |d| {
            d.contains("id=\"connected\"") || d.contains("id=\"refused\"")
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_connected_in_chromium_syncs_and_connecting_it_again_reconnects_it() {
    let browser = Browser::start().await;
    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        webhook_retry_interval_ms: 500,
        team: salesloft_sandbox::TeamSize::scaled(100),
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let elsewhere = sandbox.url().replace("127.0.0.1", "localhost");
    let db = salesloft_storage::testing::TestDb::sqlite_unmigrated()
        .await
        .unwrap();
    let (_, secrets_key) = salesloft_storage::SecretsKey::generate("k1");
    let (port, ops_port) = (free_port(), free_port());
    let ops = format!("http://127.0.0.1:{ops_port}");
    let hooks = format!("http://127.0.0.1:{port}/webhooks/salesloft");
    let _server = Running(
        server_command(port, ops_port)
            .arg("--with-worker")
            .env("SALESLOFT_BASE_URL", sandbox.url())
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_SECRETS__KEY", secrets_key.expose_secret())
            .env(
                "SALESLOFT_OAUTH_CLIENT_ID",
                salesloft_sandbox::DEFAULT_CLIENT_ID,
            )
            .env(
                "SALESLOFT_OAUTH_CLIENT_SECRET",
                salesloft_sandbox::DEFAULT_CLIENT_SECRET,
            )
            .env("SALESLOFT_TOKEN_URL", sandbox.token_url())
            .env(
                "SALESLOFT_OAUTH__AUTHORIZE_URL",
                format!("{elsewhere}/oauth/authorize"),
            )
            .env(
                "SALESLOFT_OAUTH__REDIRECT_URL",
                format!("{ops}/connect/callback"),
            )
            .env("SALESLOFT_WEBHOOKS__CALLBACK_URL", &hooks)
            .env("SALESLOFT_SERVER__ADMIN_TOKEN", ADMIN_TOKEN)
            .spawn()
            .unwrap(),
    );
    common::wait_for_ok(&format!("{ops}/ready"), Duration::from_secs(30)).await;
    let http = reqwest::Client::new();
    for path in ["/connect", "/teams/acme"] {
        let status = http
            .get(format!("{ops}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 401, "{path} without the login");
    }
    let start = http
        .post(format!("{ops}/connect/start"))
        .form(&[("slug", "sneaky")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(start.as_u16(), 401, "no connect begins without the login");

    log_in(&browser, &ops).await;
    let dom = connect(&browser, &ops, "acme").await;
    assert!(dom.contains("Connected acme"), "{dom}");
    assert!(dom.contains("Sandbox Team"), "{dom}");
    assert!(
        dom.contains(&format!("subscribed at {hooks}/acme")),
        "its webhooks at its own route: {dom}"
    );
    let callback = browser.location().await;
    assert!(
        callback.starts_with(&format!("{ops}/connect/callback?")),
        "{callback}"
    );
    assert!(!dom.contains(sandbox.api_key()) && !dom.contains("access_token"));

    // The callback's address again (a replay, from history or a log): refused, nothing made.
    let replayed = browser.visit(&callback).await;
    assert!(replayed.contains("id=\"refused\""), "{replayed}");

    // Its backfill runs at once; its page (a same-site link, with the login) follows it.
    let people = sandbox.counts()["people"] as u64;
    let team_page = format!("{ops}/teams/acme");
    until_people(&browser, &team_page, people, Duration::from_secs(120)).await;

    // A change in SalesLoft is delivered to the team's own route and lands in its copy.
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    let input = salesloft_client::PersonInput {
        email_address: Some("connected@example.com".into()),
        last_name: Some("Connected".into()),
        ..Default::default()
    };
    client.people().create(&input).await.unwrap();
    until_people(&browser, &team_page, people + 1, Duration::from_secs(60)).await;
    assert!(
        sandbox
            .deliveries()
            .iter()
            .any(|d| d.url == format!("{hooks}/acme") && d.status == Some(200)),
        "delivered to /webhooks/salesloft/acme"
    );

    // The same SalesLoft team again, under no name: a reconnect of acme, not a second team.
    let dom = connect(&browser, &ops, "").await;
    assert!(dom.contains("Reconnected acme"), "{dom}");
    let list = browser.visit(&format!("{ops}/connect")).await;
    assert_eq!(
        list.matches("data-team=").count(),
        2,
        "acme and default: {list}"
    );
    assert!(list.contains("data-team=\"acme\""), "{list}");
    let console = browser.console().await;
    assert!(
        console
            .iter()
            .all(|l| l.contains("400") || l.contains("401")),
        "only the replay was refused: {console:?}"
    );
}
