//! The `salesloft` binary as a user runs it: real processes, bounded in time, in a directory of
//! their own that is removed afterwards.

#![allow(clippy::unwrap_used)] // tests panic on purpose when an expectation fails

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("salesloft-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run `salesloft args` in `dir` with only `env` set (no SALESLOFT_* from the caller), killed
/// after `limit`.
fn salesloft(dir: &Scratch, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft"));
    cmd.args(args)
        .current_dir(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("salesloft {args:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_demo_syncs_verifies_and_status_reads_the_copy() {
    let dir = Scratch::new("demo");
    let out = salesloft(
        &dir,
        &["demo", "--people", "300", "--db", "demo.db"],
        &[],
        Duration::from_secs(120),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("local copy equals the source: yes"),
        "{stdout}"
    );
    // Off a terminal: no bars or escape sequences, a log line per finished stream.
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    for stream in ["users", "people", "emails", "notes"] {
        assert!(
            stderr.contains(&format!("sync stream done stream={stream} ")),
            "{stream}: {stderr}"
        );
        assert_eq!(
            stdout
                .lines()
                .filter(|l| l.split_whitespace().next() == Some(stream))
                .count(),
            1,
            "{stream} once in the summary: {stdout}"
        );
    }

    let status = salesloft(
        &dir,
        &["status"],
        &[("SALESLOFT_DATABASE_URL", "sqlite://demo.db")],
        Duration::from_secs(30),
    );
    let stdout = text(&status.stdout);
    assert!(
        status.status.success(),
        "{stdout}\n{}",
        text(&status.stderr)
    );
    let people = stdout.lines().find(|l| l.starts_with("people ")).unwrap();
    let cols: Vec<&str> = people.split_whitespace().collect();
    assert_eq!(cols[1], "300", "{people}");
    let fresh: u64 = cols[2]
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("freshness in seconds: {people}"));
    assert!(fresh < 60, "synced moments ago: {people}");
}

#[test]
fn a_bad_setting_names_its_key_and_range() {
    let dir = Scratch::new("config");
    let out = salesloft(
        &dir,
        &["status"],
        &[("SALESLOFT_BUDGET__PER_MINUTE", "900")],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("budget.per_minute")
            && stderr.contains("1..=600")
            && stderr.contains("900"),
        "{stderr}"
    );
}

#[test]
fn lists_that_cannot_be_walked_are_refused_before_any_request() {
    let dir = Scratch::new("walk");
    // Nothing listens on port 9: a request would fail with a connection error instead.
    let out = salesloft(
        &dir,
        &["walk", "users"],
        &[
            ("SALESLOFT_API_KEY", "ak_test"),
            ("SALESLOFT_BASE_URL", "http://127.0.0.1:9"),
        ],
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("users cannot be walked"), "{stderr}");
    let unknown = salesloft(&dir, &["list", "nobody"], &[], Duration::from_secs(30));
    assert!(
        text(&unknown.stderr).contains("notes"),
        "names the resources"
    );
}
