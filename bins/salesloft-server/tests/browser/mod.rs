//! A headless Chromium (Debian's `chromium` and `chromedriver`, which `.ci/run` installs)
//! driven over WebDriver, for the tests of the server's pages.

#![allow(dead_code)] // each test binary uses its own part of the helpers

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, Running, free_port};

/// A program's path: the variable `var`, else `name` on the PATH. Missing, the test fails (it
/// is never skipped silently).
fn program(var: &str, name: &str, package: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| name.into());
    // An absolute path (chromedriver wants one for the browser).
    let path = if path.contains('/') {
        path
    } else {
        std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .map(|dir| std::path::Path::new(dir).join(&path))
            .find(|p| p.is_file())
            .map_or(path, |p| p.display().to_string())
    };
    let found = Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{name} is not installed ({path}): `apt-get install {package}` (CI does), set {var}, \
         or leave the browser tests out with `--skip in_chromium`"
    );
    path
}

/// A headless Chromium session over WebDriver (chromedriver's HTTP API), closed on drop.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    profile: std::path::PathBuf,
    _driver: Running,
}

impl Browser {
    pub async fn start() -> Browser {
        let chromium = program("SALESLOFT_TEST_CHROMIUM", "chromium", "chromium");
        let driver_path = program(
            "SALESLOFT_TEST_CHROMEDRIVER",
            "chromedriver",
            "chromium-driver",
        );
        let port = free_port();
        let driver = Running(
            Command::new(driver_path)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        common::eventually("chromedriver", Duration::from_secs(20), || async {
            http.get(format!("{base}/status")).send().await.is_ok()
        })
        .await;
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "salesloft-chromium-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": {"browser": "ALL"},
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--window-size=1200,2400",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                },
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Browser {
            http,
            session: format!("{base}/session/{session}"),
            profile,
            _driver: driver,
        }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// Load `url`; the DOM once loaded.
    pub async fn visit(&self, url: &str) -> String {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
        self.dom().await
    }

    /// The DOM once `done` holds of it (a navigation a click started may still be loading),
    /// at most 10 s.
    pub async fn dom_when(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let dom = self.dom().await;
            if done(&dom) {
                return dom;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{what}: not within 10 s: {dom}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn dom(&self) -> String {
        self.call(reqwest::Method::GET, "/source", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The address of the page shown.
    pub async fn location(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Console messages logged since the last call.
    pub async fn console(&self) -> Vec<String> {
        self.call(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"].to_string())
            .collect()
    }

    pub async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    /// A PNG of the page shown.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let encoded = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session ends Chromium; the driver is killed after.
        let (http, session) = (self.http.clone(), self.session.clone());
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(async { http.delete(session).send().await }))
        })
        .join();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
