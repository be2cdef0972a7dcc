//! The `salesloft` binary as a user runs it: real processes, bounded in time, in a directory of
//! their own that is removed afterwards.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on purpose when an expectation fails, and report what they measured

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
    let mut child = command(dir, args, env)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
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

/// An offline SalesLoft of `people` people served from this test process (its own runtime), the
/// environment that points `salesloft` at it with a SQLite copy in `dir`, and the runtime.
fn sandbox_team(
    people: usize,
) -> (
    tokio::runtime::Runtime,
    salesloft_sandbox::SandboxHandle,
    Vec<(String, String)>,
) {
    sandbox_team_with(
        salesloft_sandbox::TeamSize {
            people,
            users: 3,
            ..salesloft_sandbox::TeamSize::empty()
        },
        None,
    )
}

/// [`sandbox_team`] of any `team`, with SalesLoft's cost budget enforced at
/// `rate_limit_per_minute`.
fn sandbox_team_with(
    team: salesloft_sandbox::TeamSize,
    rate_limit_per_minute: Option<u32>,
) -> (
    tokio::runtime::Runtime,
    salesloft_sandbox::SandboxHandle,
    Vec<(String, String)>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt
        .block_on(salesloft_sandbox::Sandbox::start(
            salesloft_sandbox::SandboxConfig {
                rate_limit_per_minute,
                team,
                ..salesloft_sandbox::SandboxConfig::default()
            },
        ))
        .unwrap();
    let env = vec![
        ("SALESLOFT_API_KEY".to_owned(), sandbox.api_key().to_owned()),
        ("SALESLOFT_BASE_URL".to_owned(), sandbox.url().to_string()),
        (
            "SALESLOFT_DATABASE_URL".to_owned(),
            "sqlite://copy.db".to_owned(),
        ),
    ];
    (rt, sandbox, env)
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The columns of `stream`'s line in a table `salesloft` printed.
fn row<'a>(stdout: &'a str, stream: &str) -> Vec<&'a str> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(stream))
        .unwrap_or_else(|| panic!("a line for {stream}: {stdout}"))
        .split_whitespace()
        .collect()
}

#[test]
fn reconcile_deletes_what_salesloft_lost_and_refuses_a_truncated_looking_loss() {
    let dir = Scratch::new("reconcile");
    let (_rt, sandbox, env) = sandbox_team(1_000);
    let env = env_refs(&env);
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    let people_in_status = || row(&text(&run(&["status"]).stdout), "people")[1].to_owned();
    let sync = run(&["sync", "--stream", "people"]);
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    let ids: Vec<i64> = sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1_000);

    // 5% gone with no webhook: found and marked deleted, at cost 1 per 100 local records.
    assert_eq!(sandbox.delete_silently("people", &ids[..50]), 50);
    let out = run(&["reconcile", "--stream", "people"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert_eq!(
        row(&stdout, "people")[1..],
        ["1000", "50", "50", "10", "ok"]
    );
    assert_eq!(people_in_status(), "950");

    // 30% more gone: more than the 10% guard, so nothing is deleted and the exit says so...
    assert_eq!(sandbox.delete_silently("people", &ids[50..335]), 285);
    let out = run(&["reconcile", "--stream", "people"]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let cols = row(&stdout, "people");
    assert_eq!(cols[1..5], ["950", "285", "0", "10"], "{stdout}");
    assert_eq!(cols[5], "refused:", "{stdout}");
    assert!(text(&out.stderr).contains("not reconciled"));
    assert_eq!(people_in_status(), "950");
    // ...until the operator forces it.
    let out = run(&["reconcile", "--stream", "people", "--force"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert_eq!(
        row(&stdout, "people")[1..],
        ["950", "285", "285", "10", "ok"]
    );
    assert_eq!(people_in_status(), "665");
}

#[test]
fn status_counts_drifted_and_quarantined_records_and_names_the_fields() {
    let dir = Scratch::new("drift");
    let (_rt, sandbox, env) = sandbox_team(200);
    let env = env_refs(&env);
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    let stamp = "2024-01-20T17:00:00.000000-07:00";
    for (id, extra) in [
        (900_001, r#""title":42"#),
        (900_002, r#""custom_fields":[]"#),
    ] {
        let json = format!(
            r#"{{"id":{id},"created_at":"{stamp}","updated_at":"{stamp}","email_address":"secret{id}@example.com",{extra}}}"#
        );
        assert!(sandbox.put_raw("people", id, &json));
    }
    assert!(sandbox.put_raw("people", 900_003, r#"[1, 2]"#));

    let sync = run(&["sync", "--stream", "people"]);
    let stderr = text(&sync.stderr);
    assert!(sync.status.success(), "{stderr}");
    assert!(
        stderr.contains("title"),
        "the log names the field: {stderr}"
    );
    assert!(!stderr.contains("secret9000"), "never the value: {stderr}");
    let out = run(&["status"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let people = row(&stdout, "people");
    // stream, records, freshness, last success (3 words), cursor, drifted, quarantined.
    assert_eq!(people[1], "202", "{stdout}");
    assert_eq!(people[7..9], ["2", "1"], "{stdout}");
    let note = stdout
        .lines()
        .find(|l| l.starts_with("people: fields with unexpected types"))
        .unwrap_or_else(|| panic!("a drift note: {stdout}"));
    assert!(
        note.contains("title (1)") && note.contains("custom_fields (1)"),
        "{note}"
    );
}

/// `salesloft args` in `dir` with only `env` set (no SALESLOFT_* from the caller), stderr
/// piped.
fn command(dir: &Scratch, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesloft"));
    cmd.args(args).current_dir(&dir.0).stderr(Stdio::piped());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// `salesloft args` started in `dir` with only `env` set, not waited for.
fn spawn_salesloft(dir: &Scratch, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    command(dir, args, env)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Every calendar minute the sandbox's budget saw stayed within `per_minute`, none refused.
fn assert_within_budget(sandbox: &salesloft_sandbox::SandboxHandle, per_minute: u32, what: &str) {
    let minutes = sandbox.spend_by_minute();
    let peak = minutes.iter().map(|m| m.spent).max().unwrap_or(0);
    eprintln!("{what}: spend per calendar minute {minutes:?}, peak {peak}");
    assert!(
        minutes.iter().all(|m| m.refused == 0),
        "{what}: {minutes:?}"
    );
    assert!(peak <= per_minute, "{what}: peak {peak} > {per_minute}");
    assert_eq!(sandbox.counters().rate_limited, 0, "{what}: no 429s");
}

/// Many processes and a restart loop spend from one team budget, kept in the database: four
/// syncs at once, then a sync killed and restarted every half second for two minutes, against
/// a sandbox enforcing SalesLoft's 600 per minute. Each process alone would take a fresh
/// burst; together they would go over. PostgreSQL, the shared deployment.
#[test]
fn processes_and_restart_loops_share_one_team_budget_postgres() {
    let dir = Scratch::new("budget");
    let team = salesloft_sandbox::TeamSize {
        people: 15_000,
        accounts: 15_000,
        users: 3,
        emails: 15_000,
        calls: 15_000,
        ..salesloft_sandbox::TeamSize::empty()
    };
    let (rt, sandbox, mut env) = sandbox_team_with(team, Some(600));
    let concurrent = rt
        .block_on(salesloft_storage::testing::TestDb::postgres())
        .unwrap();
    let looped = rt
        .block_on(salesloft_storage::testing::TestDb::postgres())
        .unwrap();
    env.retain(|(k, _)| k != "SALESLOFT_DATABASE_URL");
    let with_db = |url: &str| {
        let mut env = env.clone();
        env.push(("SALESLOFT_DATABASE_URL".to_owned(), url.to_owned()));
        env
    };

    // Four syncs of 15,000 records each at once (one stream each, as separate workers would
    // take them): about 620 cost, more than a minute's budget.
    let env4 = with_db(concurrent.url());
    let refs = env_refs(&env4);
    let mut children: Vec<_> = ["people", "accounts", "emails", "calls"]
        .iter()
        .map(|stream| spawn_salesloft(&dir, &["sync", "--stream", stream], &refs))
        .collect();
    let started = Instant::now();
    for child in &mut children {
        while child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "four syncs ran longer than 5 minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_within_budget(&sandbox, 540, "four concurrent syncs");

    // A restart loop: killed (SIGKILL) half a second after each start, for two minutes.
    let envl = with_db(looped.url());
    let refs = env_refs(&envl);
    let started = Instant::now();
    let mut restarts = 0;
    while started.elapsed() < Duration::from_secs(120) {
        let mut child = spawn_salesloft(&dir, &["sync", "--stream", "people"], &refs);
        std::thread::sleep(Duration::from_millis(500));
        let _ = child.kill();
        let _ = child.wait();
        restarts += 1;
    }
    eprintln!("{restarts} restarts");
    assert!(restarts > 100, "{restarts}");
    assert_within_budget(&sandbox, 540, "four syncs, then a restart loop");
    drop((concurrent, looped));
    drop(sandbox);
    drop(rt);
}

/// Wait for every child, each bounded by `limit`, and return their outputs.
fn wait_all(children: Vec<std::process::Child>, limit: Duration) -> Vec<Output> {
    let started = Instant::now();
    let mut children = children;
    for child in &mut children {
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                panic!("a salesloft process ran longer than {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// Processes sharing one OAuth grant refresh it one at a time: two `salesloft me` started
/// together with no access token end with one refresh, one live refresh token and no
/// `invalid_grant`; a later run uses the stored access token without rotating anything; after
/// the server expires every access token, two more at once refresh once between them. With
/// the tokens in a SQLite database, in PostgreSQL, and in a token file.
#[test]
fn processes_sharing_an_oauth_grant_refresh_once_and_never_hit_invalid_grant() {
    let dir = Scratch::new("oauth");
    let (rt, sandbox, env) = sandbox_team(10);
    let pg = rt
        .block_on(salesloft_storage::testing::TestDb::postgres())
        .unwrap();
    let token_file = dir.0.join("tokens").join("oauth.json");
    let places: [(&str, Vec<(String, String)>); 3] = [
        (
            "sqlite",
            vec![("SALESLOFT_DATABASE_URL".into(), "sqlite://oauth.db".into())],
        ),
        (
            "postgres",
            vec![("SALESLOFT_DATABASE_URL".into(), pg.url().to_owned())],
        ),
        (
            "file",
            vec![
                (
                    "SALESLOFT_DATABASE_URL".into(),
                    "sqlite://file-case.db".into(),
                ),
                (
                    "SALESLOFT_OAUTH__TOKEN_FILE".into(),
                    token_file.display().to_string(),
                ),
            ],
        ),
    ];
    let app = salesloft_client::OAuthApp::new(
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
    )
    .with_token_url(sandbox.token_url());
    for (place, extra) in places {
        let before = sandbox.oauth_stats();
        // A user authorizes the app once; its refresh token goes into the configuration.
        let code = sandbox
            .authorization_code(salesloft_sandbox::DEFAULT_CLIENT_ID)
            .unwrap();
        let granted = rt
            .block_on(app.exchange_code(&code, "https://example.com/cb"))
            .unwrap();
        use secrecy::ExposeSecret;
        let refresh = granted.refresh_token.unwrap().expose_secret().to_owned();
        let mut oauth_env: Vec<(String, String)> = env
            .iter()
            .filter(|(k, _)| k != "SALESLOFT_API_KEY" && k != "SALESLOFT_DATABASE_URL")
            .cloned()
            .collect();
        oauth_env.extend([
            (
                "SALESLOFT_OAUTH_CLIENT_ID".to_owned(),
                salesloft_sandbox::DEFAULT_CLIENT_ID.to_owned(),
            ),
            (
                "SALESLOFT_OAUTH_CLIENT_SECRET".to_owned(),
                salesloft_sandbox::DEFAULT_CLIENT_SECRET.to_owned(),
            ),
            ("SALESLOFT_OAUTH_REFRESH_TOKEN".to_owned(), refresh),
            ("SALESLOFT_OAUTH__TOKEN_URL".to_owned(), sandbox.token_url()),
        ]);
        oauth_env.extend(extra);
        let refs = env_refs(&oauth_env);
        let migrated = salesloft(&dir, &["migrate"], &refs, Duration::from_secs(60));
        assert!(migrated.status.success(), "{}", text(&migrated.stderr));
        let pair = |what: &str| {
            let outs = wait_all(
                vec![
                    spawn_piped(&dir, &["me"], &refs),
                    spawn_piped(&dir, &["me"], &refs),
                ],
                Duration::from_secs(120),
            );
            for out in outs {
                assert!(
                    out.status.success(),
                    "{place} {what}: {}",
                    text(&out.stderr)
                );
            }
        };
        pair("first run");
        let first = sandbox.oauth_stats();
        eprintln!("{place}: after two processes at once {first:?}");
        assert_eq!(
            first.refreshes - before.refreshes,
            1,
            "{place}: one refresh"
        );
        assert_eq!(first.invalid_grants, 0, "{place}: no invalid_grant");
        assert_eq!(
            first.live_refresh_tokens,
            before.live_refresh_tokens + 1,
            "{place}: one valid token"
        );

        let again = salesloft(&dir, &["me"], &refs, Duration::from_secs(60));
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(
            sandbox.oauth_stats().refreshes,
            first.refreshes,
            "{place}: a later run uses the stored access token"
        );

        sandbox.expire_access_tokens();
        pair("after the access token expired");
        let second = sandbox.oauth_stats();
        eprintln!("{place}: after expiry and two more {second:?}");
        assert_eq!(second.refreshes - first.refreshes, 1, "{place}");
        assert_eq!(second.invalid_grants, 0, "{place}: no invalid_grant");
        assert_eq!(
            second.live_refresh_tokens,
            before.live_refresh_tokens + 1,
            "{place}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's alone");
    }
    drop(pg);
    drop(sandbox);
    drop(rt);
}

/// `salesloft args` started in `dir` with only `env` set, its output kept.
fn spawn_piped(dir: &Scratch, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    command(dir, args, env)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}
