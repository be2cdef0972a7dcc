//! The status page in a real headless Chromium (Debian's `chromium` and `chromedriver`, which
//! `.ci/run` installs), driven over WebDriver: a `salesloft-server --with-worker` process on
//! SQLite beside the sandbox, its operator routes behind `server.admin_token`. The page sends a
//! browser to the login form, shows nothing before the login, and after it loads without
//! console errors, shows every stream, renders its charts, and follows a change made in the
//! sandbox.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod browser;
mod common;

use browser::Browser;
use common::{Running, free_port, server_command};

use std::time::{Duration, Instant};

const TOKEN: &str = "status-page-test-token";
const ADMIN_TOKEN: &str = "status-page-admin-token-0123456789";

/// The records column of `stream`'s row in the page's DOM.
fn records_of(dom: &str, stream: &str) -> Option<u64> {
    let row = dom.split(&format!("data-stream=\"{stream}\"")).nth(1)?;
    let cell = row.split("<td class=\"n\">").nth(1)?;
    cell.split('<').next()?.trim().parse().ok()
}

/// The SVG of `section`'s first chart in the DOM.
fn chart<'a>(dom: &'a str, section: &str) -> &'a str {
    dom.split(&format!("<section id=\"{section}\">"))
        .nth(1)
        .and_then(|s| s.split("<svg").nth(1))
        .and_then(|s| s.split("</svg>").next())
        .unwrap_or_else(|| panic!("a chart in {section}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_behind_its_login_renders_in_chromium_and_follows_the_sandbox() {
    let browser = Browser::start().await;
    // The console check catches what it should: a page that logs an error is caught.
    browser
        .visit("data:text/html,<script>console.error('probe')</script>")
        .await;
    let console = browser.console().await;
    assert!(
        console.iter().any(|l| l.contains("probe")),
        "Chromium's console is read: {console:?}"
    );

    let sandbox = salesloft_sandbox::Sandbox::start(salesloft_sandbox::SandboxConfig {
        rate_limit_per_minute: Some(600),
        webhook_retry_interval_ms: 500,
        team: salesloft_sandbox::TeamSize::scaled(300),
        ..salesloft_sandbox::SandboxConfig::default()
    })
    .await
    .unwrap();
    let db = salesloft_storage::testing::TestDb::sqlite_unmigrated()
        .await
        .unwrap();
    let (port, ops_port) = (free_port(), free_port());
    let _server = Running(
        server_command(port, ops_port)
            .arg("--with-worker")
            .env("SALESLOFT_API_KEY", sandbox.api_key())
            .env("SALESLOFT_BASE_URL", sandbox.url())
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
            .env("SALESLOFT_SERVER__ADMIN_TOKEN", ADMIN_TOKEN)
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{ops_port}/");
    common::wait_for_ok(&format!("{url}ready"), Duration::from_secs(30)).await;
    let client =
        salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
            .base_url(sandbox.url())
            .build()
            .unwrap();
    for event_type in ["person_created", "person_updated"] {
        let input = salesloft_client::WebhookSubscriptionInput {
            callback_url: format!("http://127.0.0.1:{port}/webhooks/salesloft"),
            callback_token: secrecy::SecretString::from(TOKEN.to_owned()),
            event_type: event_type.to_owned(),
        };
        client.webhook_subscriptions().create(&input).await.unwrap();
    }
    let people = sandbox.counts()["people"] as u64;

    // Without the login: scrapers get 401, a browser the login form and nothing else.
    let http = reqwest::Client::new();
    for path in ["", "metrics", "?day=2026-01-01"] {
        let status = http
            .get(format!("{url}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 401, "/{path} without the token");
    }
    let scraped = http
        .get(format!("{url}metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status().as_u16(), 200, "a scraper with the token");
    let login = browser.visit(&url).await;
    assert!(
        browser.location().await.contains("/login"),
        "sent to the login form"
    );
    assert!(login.contains("name=\"token\""), "{login}");
    assert!(
        !login.contains("data-stream"),
        "nothing of the page before the login"
    );
    browser.type_into("#token", "not-the-admin-token").await;
    browser.click("#login").await;
    browser
        .dom_when("a wrong token refused", |d| {
            d.contains("not the admin token")
        })
        .await;
    browser.type_into("#token", ADMIN_TOKEN).await;
    browser.click("#login").await;
    browser
        .dom_when("logged in", |d| d.contains("data-stream"))
        .await;
    let console = browser.console().await;
    assert!(
        console.iter().all(|l| l.contains("401")),
        "only the refused login was an error: {console:?}"
    );

    // Until the backfill shows on the page (bounded).
    let started = Instant::now();
    let dom = loop {
        let dom = browser.visit(&url).await;
        let console = browser.console().await;
        assert!(console.is_empty(), "console messages: {console:?}");
        if records_of(&dom, "people") == Some(people) {
            break dom;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the page never showed the backfill: {dom}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for stream in salesloft_services::Stream::all() {
        assert!(
            dom.contains(&format!("data-stream=\"{}\"", stream.name())),
            "{} on the page",
            stream.name()
        );
    }
    assert!(
        chart(&dom, "budget").contains("<rect"),
        "the backfill's spend is on the budget chart"
    );
    assert!(chart(&dom, "engagement").contains("<polyline"));
    assert!(!dom.contains(sandbox.api_key()), "no key on the page");
    assert!(!dom.contains(TOKEN), "no token on the page");
    assert!(!dom.contains(ADMIN_TOKEN), "no admin token on the page");

    // A change in SalesLoft: a new person, delivered by webhook, shows on the next load.
    let input = salesloft_client::PersonInput {
        email_address: Some("browser@example.com".into()),
        last_name: Some("Browser".into()),
        ..Default::default()
    };
    client.people().create(&input).await.unwrap();
    let started = Instant::now();
    loop {
        let dom = browser.visit(&url).await;
        let console = browser.console().await;
        assert!(console.is_empty(), "console messages: {console:?}");
        if records_of(&dom, "people") == Some(people + 1) {
            assert!(
                chart(&dom, "webhooks").contains("<rect"),
                "the delivery is on the webhook chart"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the page never showed the new person"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("the page followed the change after {:?}", started.elapsed());
    let shot = std::env::temp_dir().join("salesloft-status-page.png");
    let png = browser.screenshot().await;
    std::fs::write(&shot, &png).unwrap();
    assert!(
        png.len() > 10_000,
        "a screenshot of the page: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());
}
