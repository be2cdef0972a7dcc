//! The status page in a real headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs): a `salesloft-server --with-worker` process on SQLite beside the sandbox. The page
//! loads without console errors, shows every stream, its charts render, and it follows a change
//! made in the sandbox.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod common;

use common::free_port;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "status-page-test-token";

/// Chromium's path: `SALESLOFT_TEST_CHROMIUM`, else `chromium` on the PATH. Missing, the test
/// fails (it is never skipped silently).
fn chromium() -> String {
    let path = std::env::var("SALESLOFT_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "Chromium is not installed ({path}): `apt-get install chromium` (CI does), set \
         SALESLOFT_TEST_CHROMIUM, or leave this test out with `--skip status_page`"
    );
    path
}

/// What a headless Chromium made of `url`: the DOM after load, and the console messages it
/// logged. With `screenshot`, also a PNG of the page there.
fn browse(url: &str, screenshot: Option<&std::path::Path>) -> (String, Vec<String>) {
    let mut cmd = Command::new("timeout");
    cmd.arg("60")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
            "--window-size=1200,2400",
        ])
        .arg(format!(
            "--user-data-dir={}",
            std::env::temp_dir()
                .join(format!("salesloft-chromium-{}", std::process::id()))
                .display()
        ));
    match screenshot {
        Some(path) => cmd.arg(format!("--screenshot={}", path.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).output().unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

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
async fn the_status_page_renders_in_chromium_and_follows_the_sandbox() {
    // The console check catches what it should: a page that logs an error is caught.
    let (_, console) = browse(
        "data:text/html,<script>console.error('probe')</script>",
        None,
    );
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
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-server"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .arg("--with-worker")
        .env("SALESLOFT_API_KEY", sandbox.api_key())
        .env("SALESLOFT_BASE_URL", sandbox.url())
        .env("SALESLOFT_DATABASE_URL", db.url())
        .env("SALESLOFT_SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
        .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _kill = Kill(&mut child);
    let url = format!("http://127.0.0.1:{port}/");
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
    // Until the backfill shows on the page (bounded).
    let started = Instant::now();
    let dom = loop {
        let (dom, console) = browse(&url, None);
        assert!(console.is_empty(), "console messages: {console:?}");
        if records_of(&dom, "people") == Some(people) {
            break dom;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the page never showed the backfill: {dom}"
        );
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

    // A change in SalesLoft: a new person, delivered by webhook, shows on the next load.
    let input = salesloft_client::PersonInput {
        email_address: Some("browser@example.com".into()),
        last_name: Some("Browser".into()),
        ..Default::default()
    };
    client.people().create(&input).await.unwrap();
    let started = Instant::now();
    loop {
        let (dom, console) = browse(&url, None);
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
    }
    eprintln!("the page followed the change after {:?}", started.elapsed());
    let shot = std::env::temp_dir().join("salesloft-status-page.png");
    browse(&url, Some(&shot));
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(size > 10_000, "a screenshot of the page: {size} bytes");
    eprintln!("screenshot: {} ({size} bytes)", shot.display());
}
