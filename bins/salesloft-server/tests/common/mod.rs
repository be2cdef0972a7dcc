//! What the server's process tests share.

#![allow(dead_code, clippy::print_stderr)] // each test binary uses part of it

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use salesloft_storage::testing::{eventually, free_port};

/// `salesloft-server` with none of this environment's `SALESLOFT_*` variables, its public
/// routes on `public` and its operator routes on `operator` (both 127.0.0.1).
pub fn server_command(public: u16, operator: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft-server"));
    server_environment(&mut cmd, public, operator);
    cmd
}

/// `salesloft-server` run by `sh` under an open-file limit of `files` (as a service manager
/// that sets none leaves it), otherwise as [`server_command`].
pub fn server_command_with_file_limit(files: u32, public: u16, operator: u16) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\""))
        .arg(env!("CARGO_BIN_EXE_salesloft-server"));
    server_environment(&mut cmd, public, operator);
    cmd
}

fn server_environment(cmd: &mut Command, public: u16, operator: u16) {
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    cmd.env("SALESLOFT_SERVER__BIND", format!("127.0.0.1:{public}"))
        .env(
            "SALESLOFT_SERVER__OPS_BIND",
            format!("127.0.0.1:{operator}"),
        )
        .env("SALESLOFT_JOBS__SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

/// A child process killed (and reaped) when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Send SIGTERM and wait, at most `limit`, for the exit; its status and how long it took.
    pub async fn terminate(&mut self, limit: Duration) -> (std::process::ExitStatus, Duration) {
        let asked = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return (status, asked.elapsed());
            }
            assert!(
                asked.elapsed() < limit,
                "still running {limit:?} after SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Wait until `url` answers 200 (bounded).
pub async fn wait_for_ok(url: &str, limit: Duration) {
    // Each attempt bounded too: a server that accepted the connection but never answers
    // (its runtime blocked) fails the wait instead of hanging it.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    eventually(url, limit, || async {
        http.get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().as_u16() == 200)
    })
    .await;
}

/// POST `body` to `base`'s webhook route as `event_type`, signed with `signature`: the
/// status, or the client's error.
pub async fn post_delivery(
    http: &reqwest::Client,
    base: &str,
    event_type: &str,
    signature: &str,
    body: impl Into<reqwest::Body>,
) -> Result<u16, reqwest::Error> {
    http.post(format!("{base}/webhooks/salesloft"))
        .header("x-salesloft-event", event_type)
        .header("x-salesloft-signature", signature)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
}

/// The text of `ops_url`'s `/metrics` (with the admin token, when given).
pub async fn scrape(http: &reqwest::Client, ops_url: &str, admin_token: Option<&str>) -> String {
    let mut request = http.get(format!("{ops_url}/metrics"));
    if let Some(token) = admin_token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().text().await.unwrap()
}

/// The value of the unlabelled metric `name` in `metrics`, 0 when absent.
pub fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// How many deliveries the inbox of `store` holds.
pub async fn stored_deliveries(store: &salesloft_storage::Store) -> usize {
    salesloft_storage::testing::fetch_texts(
        store,
        "SELECT CAST(COUNT(*) AS TEXT) FROM webhook_events",
    )
    .await
    .unwrap()[0]
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap()
}
