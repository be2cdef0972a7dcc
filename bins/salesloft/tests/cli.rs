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
    let child = command(dir, args, env)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_all(vec![child], limit).pop().unwrap()
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
        ["1000", "50", "50", "0", "10", "ok"]
    );
    assert_eq!(people_in_status(), "950");

    // 30% more gone: more than the 10% guard, so nothing is deleted and the exit says so
    // (the 50 deleted before are asked about again, one list: none came back)...
    assert_eq!(sandbox.delete_silently("people", &ids[50..335]), 285);
    let out = run(&["reconcile", "--stream", "people"]);
    let stdout = text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let cols = row(&stdout, "people");
    assert_eq!(cols[1..6], ["950", "285", "0", "0", "11"], "{stdout}");
    assert_eq!(cols[6], "refused:", "{stdout}");
    assert!(text(&out.stderr).contains("not reconciled"));
    assert_eq!(people_in_status(), "950");
    // ...until the operator forces it.
    let out = run(&["reconcile", "--stream", "people", "--force"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert_eq!(
        row(&stdout, "people")[1..],
        ["950", "285", "285", "0", "11", "ok"]
    );
    assert_eq!(people_in_status(), "665");
    // A list SalesLoft cannot be asked by id about: skipped, said so, not a failure.
    let out = run(&["reconcile", "--stream", "activity_histories"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let cols = row(&stdout, "activity_histories");
    assert_eq!(
        cols[1..7],
        ["0", "0", "0", "0", "0", "skipped:"],
        "{stdout}"
    );
    assert!(stdout.contains("takes no ids[] filter"), "{stdout}");
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
    processes_and_restart_loops_share_one_team_budget("postgres");
}

/// The same on the embedded default: four processes and the restart loop on one SQLite file.
#[test]
fn processes_and_restart_loops_share_one_team_budget_sqlite() {
    processes_and_restart_loops_share_one_team_budget("sqlite");
}

fn processes_and_restart_loops_share_one_team_budget(engine: &str) {
    let dir = Scratch::new(&format!("budget-{engine}"));
    let team = salesloft_sandbox::TeamSize {
        people: 15_000,
        accounts: 15_000,
        users: 3,
        emails: 15_000,
        calls: 15_000,
        ..salesloft_sandbox::TeamSize::empty()
    };
    let (rt, sandbox, mut env) = sandbox_team_with(team, Some(600));
    let databases = match engine {
        "postgres" => Some((
            rt.block_on(salesloft_storage::testing::TestDb::postgres())
                .unwrap(),
            rt.block_on(salesloft_storage::testing::TestDb::postgres())
                .unwrap(),
        )),
        _ => None,
    };
    let (concurrent_url, looped_url) = match &databases {
        Some((c, l)) => (c.url().to_owned(), l.url().to_owned()),
        None => ("sqlite://concurrent.db".into(), "sqlite://looped.db".into()),
    };
    env.retain(|(k, _)| k != "SALESLOFT_DATABASE_URL");
    let with_db = |url: &str| {
        let mut env = env.clone();
        env.push(("SALESLOFT_DATABASE_URL".to_owned(), url.to_owned()));
        env
    };

    // Four syncs of 15,000 records each at once (one stream each, as separate workers would
    // take them): about 620 cost, more than a minute's budget.
    let env4 = with_db(&concurrent_url);
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
    assert_within_budget(&sandbox, 540, &format!("{engine}: four concurrent syncs"));

    // A restart loop: killed (SIGKILL) half a second after each start, for two minutes.
    let envl = with_db(&looped_url);
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
    assert_within_budget(
        &sandbox,
        540,
        &format!("{engine}: four syncs, then a restart loop"),
    );
    drop(databases);
    drop(sandbox);
    drop(rt);
}

/// Wait for every child, all within `limit`, reading their pipes as they run (a full pipe
/// would stall a chatty process), and return their outputs. A child still running at the
/// limit is killed and the test fails.
fn wait_all(children: Vec<std::process::Child>, limit: Duration) -> Vec<Output> {
    let pids: Vec<u32> = children.iter().map(std::process::Child::id).collect();
    let (tx, rx) = std::sync::mpsc::channel();
    for (i, child) in children.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send((i, child.wait_with_output()));
        });
    }
    drop(tx);
    let deadline = Instant::now() + limit;
    let mut outputs: Vec<Option<Output>> = pids.iter().map(|_| None).collect();
    for _ in 0..pids.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((i, out)) => outputs[i] = Some(out.unwrap()),
            Err(_) => {
                for (pid, out) in pids.iter().zip(&outputs) {
                    if out.is_none() {
                        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                    }
                }
                panic!("a salesloft process ran longer than {limit:?}");
            }
        }
    }
    outputs.into_iter().map(Option::unwrap).collect()
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

/// Everything `salesloft args` printed (stdout and stderr) with `RUST_LOG=trace`.
fn traced(dir: &Scratch, args: &[&str], env: &[(String, String)]) -> (bool, String) {
    let mut env = env.to_vec();
    env.push(("RUST_LOG".into(), "trace".into()));
    let out = salesloft(dir, args, &env_refs(&env), Duration::from_secs(120));
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// The texts of `sql`'s first column in the SQLite copy at `dir/name`.
fn sqlite_texts(rt: &tokio::runtime::Runtime, dir: &Scratch, name: &str, sql: &str) -> Vec<String> {
    let url = format!("sqlite://{}", dir.0.join(name).display());
    rt.block_on(async {
        let store = salesloft_storage::Store::connect(&url).await.unwrap();
        let texts = salesloft_storage::testing::fetch_texts(&store, sql)
            .await
            .unwrap();
        store.close().await;
        texts.into_iter().flatten().collect()
    })
}

/// No secret reaches what the command prints or what it stores as an error, even at trace
/// level: an API-key sync, OAuth syncs that refresh (ahead of expiry and after a 401), a
/// token endpoint that refuses the client secret, one that cannot be reached, and database
/// URLs with passwords in every spelling, all with `RUST_LOG=trace`.
#[test]
fn no_secret_is_printed_or_stored_at_trace_level() {
    let dir = Scratch::new("secrets");
    let (rt, sandbox, env) = sandbox_team(120);
    let mut printed = Vec::new();
    let mut secrets = vec![
        sandbox.api_key().to_owned(),
        salesloft_sandbox::DEFAULT_CLIENT_SECRET.to_owned(),
    ];
    let mut base: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "SALESLOFT_API_KEY" && k != "SALESLOFT_DATABASE_URL")
        .cloned()
        .collect();
    // Webhook callback tokens are configured in every run.
    base.push((
        "SALESLOFT_WEBHOOKS__CALLBACK_TOKENS".into(),
        "callback-token-that-must-not-leak,second-callback-secret".into(),
    ));
    secrets.extend([
        "callback-token-that-must-not-leak".to_owned(),
        "second-callback-secret".to_owned(),
    ]);
    let with = |extra: &[(&str, &str)]| {
        let mut e = base.clone();
        e.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        e
    };

    // An API-key sync.
    let (ok, out) = traced(
        &dir,
        &["sync"],
        &with(&[
            ("SALESLOFT_API_KEY", sandbox.api_key()),
            ("SALESLOFT_DATABASE_URL", "sqlite://key.db"),
        ]),
    );
    assert!(ok, "{out}");
    assert!(out.contains("TRACE"), "trace logging is on");
    printed.push(out);

    // OAuth: a first sync refreshes, a second after every access token expired refreshes on
    // the 401. Every token the sandbox issued is a secret.
    let app = salesloft_client::OAuthApp::new(
        salesloft_sandbox::DEFAULT_CLIENT_ID,
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
    )
    .with_token_url(sandbox.token_url());
    let authorize = || {
        use secrecy::ExposeSecret;
        let code = sandbox
            .authorization_code(salesloft_sandbox::DEFAULT_CLIENT_ID)
            .unwrap();
        let t = rt
            .block_on(app.exchange_code(&code, "https://example.com/cb"))
            .unwrap();
        (
            t.access_token.expose_secret().to_owned(),
            t.refresh_token.unwrap().expose_secret().to_owned(),
        )
    };
    let (access, refresh) = authorize();
    secrets.extend([access, refresh.clone()]);
    let token_url = sandbox.token_url();
    let oauth = |secret: &str, refresh: &str, token_url: &str, db: &str| {
        with(&[
            (
                "SALESLOFT_OAUTH_CLIENT_ID",
                salesloft_sandbox::DEFAULT_CLIENT_ID,
            ),
            ("SALESLOFT_OAUTH_CLIENT_SECRET", secret),
            ("SALESLOFT_OAUTH_REFRESH_TOKEN", refresh),
            ("SALESLOFT_OAUTH__TOKEN_URL", token_url),
            ("SALESLOFT_DATABASE_URL", db),
        ])
    };
    let good = oauth(
        salesloft_sandbox::DEFAULT_CLIENT_SECRET,
        &refresh,
        &token_url,
        "sqlite://oauth.db",
    );
    let (ok, out) = traced(&dir, &["sync"], &good);
    assert!(ok, "{out}");
    printed.push(out);
    sandbox.expire_access_tokens();
    let (ok, out) = traced(&dir, &["sync", "--full"], &good);
    assert!(ok, "{out}");
    printed.push(out);
    assert_eq!(sandbox.oauth_stats().refreshes, 2, "both paths ran");
    secrets.extend(sqlite_texts(
        &rt,
        &dir,
        "oauth.db",
        "SELECT access_token FROM oauth_tokens UNION ALL SELECT refresh_token FROM oauth_tokens",
    ));

    // A token endpoint that refuses the client secret, and one nobody answers at.
    let (_, refresh) = authorize();
    secrets.extend([
        "client-secret-that-must-not-leak".to_owned(),
        refresh.clone(),
    ]);
    for (i, (secret, url)) in [
        ("client-secret-that-must-not-leak", token_url.as_str()),
        (
            salesloft_sandbox::DEFAULT_CLIENT_SECRET,
            "http://127.0.0.1:1/oauth/token?client_secret=in-a-url-that-must-not-leak",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let db = format!("sqlite://refused-{i}.db");
        let (ok, out) = traced(&dir, &["sync"], &oauth(secret, &refresh, url, &db));
        assert!(!ok, "the sync fails: {out}");
        printed.push(out);
        let errors = sqlite_texts(
            &rt,
            &dir,
            &format!("refused-{i}.db"),
            "SELECT last_error FROM sync_state",
        );
        assert!(!errors.is_empty(), "the failure is stored");
        printed.extend(errors);
    }
    secrets.push("in-a-url-that-must-not-leak".to_owned());

    // Database URLs with passwords, in every spelling.
    for url in [
        "postgres://leaky:pw-that-must-not-leak@127.0.0.1:1/salesloft",
        "Postgres://leaky:pw-that-must-not-leak@127.0.0.1:1/salesloft",
        "postgresql://leaky:pw@that/must-not-leak@127.0.0.1:1/salesloft",
        "postgres://leaky@127.0.0.1:1/salesloft?password=pw-that-must-not-leak",
    ] {
        let (ok, out) = traced(
            &dir,
            &["sync"],
            &with(&[
                ("SALESLOFT_API_KEY", sandbox.api_key()),
                ("SALESLOFT_DATABASE_URL", url),
            ]),
        );
        assert!(!ok, "{url}: {out}");
        printed.push(out);
    }
    secrets.extend([
        "pw-that-must-not-leak".to_owned(),
        "pw@that/must-not-leak".to_owned(),
    ]);

    // A configuration error beside every secret.
    let (ok, out) = traced(
        &dir,
        &["sync"],
        &with(&[
            ("SALESLOFT_API_KEY", sandbox.api_key()),
            (
                "SALESLOFT_DATABASE_URL",
                "postgres://leaky:pw-that-must-not-leak@127.0.0.1:1/x",
            ),
            ("SALESLOFT_API__TIMEOUT_SECS", "0"),
        ]),
    );
    assert!(!ok && out.contains("timeout_secs"), "{out}");
    printed.push(out);

    for secret in &secrets {
        assert!(secret.len() >= 8, "a secret long enough to search for");
        for text in &printed {
            assert!(
                !text.contains(secret.as_str()),
                "a secret was printed or stored: …{}…",
                text.find(secret.as_str())
                    .map(|at| &text[at.saturating_sub(200)..at])
                    .unwrap_or_default()
            );
        }
    }
    let total: usize = printed.iter().map(String::len).sum();
    eprintln!(
        "searched {} secrets in {} outputs and stored errors ({total} bytes)",
        secrets.len(),
        printed.len()
    );
    drop(sandbox);
    drop(rt);
}

/// Two `salesloft sync` on one new SQLite file at once (the embedded default, as a user
/// starting two terminals would): both migrate, both sync, neither fails a checkpoint, the copy
/// is exact record by record, and the database file is its owner's alone.
#[test]
fn two_syncs_on_one_sqlite_file_both_finish_and_the_copy_is_exact() {
    let dir = Scratch::new("two-sqlite");
    let team = salesloft_sandbox::TeamSize {
        people: 4_000,
        accounts: 2_000,
        users: 3,
        emails: 2_000,
        ..salesloft_sandbox::TeamSize::empty()
    };
    let (rt, sandbox, env) = sandbox_team_with(team, None);
    let env = env_refs(&env);
    let outs = wait_all(
        vec![
            spawn_piped(&dir, &["sync"], &env),
            spawn_piped(&dir, &["sync"], &env),
        ],
        Duration::from_secs(300),
    );
    for out in &outs {
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let path = dir.0.join("copy.db");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the database is its owner's alone");
    }
    let diffs = rt.block_on(async {
        let store = salesloft_storage::Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let client =
            salesloft_client::Client::builder(salesloft_client::Auth::api_key(sandbox.api_key()))
                .base_url(sandbox.url())
                .limiter(std::sync::Arc::new(salesloft_client::Unlimited))
                .build()
                .unwrap();
        let ctx = salesloft_services::Context::new(client, store.clone());
        let diffs = salesloft_services::Verifier::new(ctx)
            .compare(&sandbox.snapshot_bytes(), salesloft_services::Stream::all())
            .await
            .unwrap();
        store.close().await;
        diffs
    });
    for d in &diffs {
        assert!(d.is_equal(), "{d:?}");
    }
    drop(sandbox);
    drop(rt);
}

/// `salesloft jobs` lists, shows, retries and cancels the jobs the workers run.
#[test]
fn operators_list_show_retry_and_cancel_jobs() {
    let dir = Scratch::new("jobs");
    let env = [("SALESLOFT_DATABASE_URL", "sqlite://jobs.db")];
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    assert!(run(&["migrate"]).status.success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("sqlite://{}", dir.0.join("jobs.db").display());
    let id = rt.block_on(async {
        let store = salesloft_storage::Store::connect(&url).await.unwrap();
        let mut job =
            salesloft_storage::NewJob::new("sync", serde_json::json!({"stream": "people"}));
        job.max_attempts = 1;
        store.enqueue(&job).await.unwrap();
        let claimed = store
            .claim("default", 1, "test", Duration::from_secs(60))
            .await
            .unwrap();
        store
            .fail(&claimed[0], "HTTP 503 three times", false)
            .await
            .unwrap();
        store.close().await;
        claimed[0].id
    });
    let id_text = id.to_string();
    let listed = run(&["jobs", "list", "--state", "dead"]);
    let out = text(&listed.stdout);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(out.contains(&id_text) && out.contains("HTTP 503"), "{out}");
    let shown = text(&run(&["jobs", "show", &id_text]).stdout);
    assert!(
        shown.contains(r#"{"stream":"people"}"#)
            && shown.contains("1 of 1")
            && shown.contains("attempt 1 at ")
            && shown.contains(": HTTP 503 three times"),
        "{shown}"
    );
    let retried = run(&["jobs", "retry", &id_text]);
    assert!(retried.status.success(), "{}", text(&retried.stderr));
    assert!(text(&run(&["jobs", "list", "--state", "available"]).stdout).contains(&id_text));
    assert!(
        !run(&["jobs", "retry", &id_text]).status.success(),
        "not dead any more"
    );
    assert!(run(&["jobs", "cancel", &id_text]).status.success());
    assert!(text(&run(&["jobs", "show", &id_text]).stdout).contains("cancelled"));
    let missing = run(&["jobs", "show", "987654"]);
    assert!(!missing.status.success() && text(&missing.stderr).contains("no job 987654"));
}

/// `salesloft webhooks subscribe` creates one subscription per event type with a token kept
/// in the database (never printed), creates nothing when run again, and `unsubscribe`
/// removes them in SalesLoft and locally.
#[test]
fn webhooks_subscribe_is_idempotent_and_keeps_its_token_in_the_database() {
    let (rt, sandbox, env) = sandbox_team(5);
    let dir = Scratch::new("webhooks");
    let env = env_refs(&env);
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    let url = "https://hooks.example.com/webhooks/salesloft";
    let first = run(&["webhooks", "subscribe", "--url", url]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let all = salesloft_webhooks::EventType::all().count();
    assert!(
        text(&first.stdout).contains(&format!("{all} subscriptions created, 0 already there")),
        "{}",
        text(&first.stdout)
    );
    let again = run(&["webhooks", "subscribe", "--url", url]);
    assert!(
        text(&again.stdout).contains(&format!("0 subscriptions created, {all} already there")),
        "{}",
        text(&again.stdout)
    );
    let tokens = sqlite_texts(
        &rt,
        &dir,
        "copy.db",
        "SELECT DISTINCT callback_token FROM webhook_subscriptions",
    );
    assert_eq!(tokens.len(), 1, "one token per URL");
    assert_eq!(tokens[0].len(), 64);
    let listed = run(&["webhooks", "list"]);
    let out = text(&listed.stdout);
    assert!(
        out.contains("person_updated") && out.contains("kept"),
        "{out}"
    );
    for output in [&first, &again, &listed] {
        assert!(
            !text(&output.stdout).contains(&tokens[0])
                && !text(&output.stderr).contains(&tokens[0]),
            "the token is never printed"
        );
    }
    // SalesLoft signs with the kept token.
    let body = br#"{"id": 1}"#;
    assert_eq!(
        salesloft_sandbox::sign_webhook(&tokens[0], body),
        salesloft_webhooks::sign(&secrecy::SecretString::from(tokens[0].clone()), body)
    );
    let removed = run(&["webhooks", "unsubscribe"]);
    assert!(
        text(&removed.stdout).contains(&format!("{all} subscriptions removed")),
        "{}",
        text(&removed.stdout)
    );
    assert!(sqlite_texts(&rt, &dir, "copy.db", "SELECT id FROM webhook_subscriptions").is_empty());
    drop(sandbox);
}

#[test]
fn people_push_changes_and_parked_from_the_command_line() {
    let dir = Scratch::new("people");
    let (_rt, sandbox, env) = sandbox_team(50);
    let env = env_refs(&env);
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    let sync = run(&["sync", "--stream", "people"]);
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    let head = run(&["people", "changes", "--since", "now"]);
    assert!(head.status.success(), "{}", text(&head.stderr));
    assert_eq!(text(&head.stdout), "", "nothing after now");
    let cursor = text(&head.stderr)
        .split("--since ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let ids: Vec<i64> = sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let jsonl = format!(
        "{}\n{}\n\n{}\n",
        serde_json::json!({"id": ids[0], "title": "From the CLI", "changed_at": later}),
        serde_json::json!({"email_address": "cli@local.example", "first_name": "Cli", "last_name": "User"}),
        serde_json::json!({"id": ids[1], "job_seniority": "wizard", "changed_at": later}),
    );
    std::fs::write(dir.0.join("people.jsonl"), jsonl).unwrap();
    let push = run(&["people", "push", "--file", "people.jsonl"]);
    let stdout = text(&push.stdout);
    // One record parked: the others are written, and the exit code says not all were.
    assert_eq!(
        push.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&push.stderr)
    );
    assert!(
        text(&push.stderr).contains("1 of 3 records not written"),
        "{}",
        text(&push.stderr)
    );
    assert!(
        stdout.contains(
            "3 records: 1 created, 1 updated, 0 unchanged, 1 parked, 0 failed, 0 to retry; 3 writes"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("parked: id:{}: job_seniority", ids[1])),
        "{stdout}"
    );
    // The same file again writes only the refused record.
    let again = run(&["people", "push", "--file", "people.jsonl"]);
    assert_eq!(again.status.code(), Some(1));
    let stdout = text(&again.stdout);
    assert!(
        stdout.contains("0 created, 0 updated, 2 unchanged, 1 parked"),
        "{stdout}"
    );
    assert!(stdout.contains("; 1 writes"), "{stdout}");
    let parked = run(&["people", "parked"]);
    let stdout = text(&parked.stdout);
    assert!(
        stdout.contains(&format!("id:{}  refused 2x", ids[1]))
            && stdout.contains(": job_seniority "),
        "{stdout}"
    );

    // CSV, with a blank cell (the title stays under local_unless_blank).
    std::fs::write(
        dir.0.join("people.csv"),
        format!("id,title,last_name,changed_at\n{},,Csv,{later}\n", ids[2]),
    )
    .unwrap();
    let csv = run(&["people", "push", "--file", "people.csv"]);
    assert!(csv.status.success(), "all written: exit 0");
    let stdout = text(&csv.stdout);
    assert!(
        stdout.contains("1 records: 0 created, 1 updated"),
        "{stdout}\n{}",
        text(&csv.stderr)
    );
    let person = sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_i64() == Some(ids[2]))
        .cloned()
        .unwrap();
    assert_eq!(person["last_name"], "Csv");
    assert!(person["title"].is_string(), "a blank cell writes nothing");

    // Files refused before any write, exit code 2, the place of the fault named: an id that
    // is not one, a header naming a field twice, a bad record after a cell spanning lines.
    let before = sandbox.snapshot()["people"].clone();
    for (name, content, wanted) in [
        (
            "bad-id.jsonl",
            format!(
                "{}\n{}\n",
                serde_json::json!({"id": ids[3], "title": "Never written", "changed_at": later}),
                serde_json::json!({"id": "not-a-number", "email_address": "x@local.example"}),
            ),
            "line 2: id is not a SalesLoft person id".to_owned(),
        ),
        (
            "twice.csv",
            format!("id,first_name,first_name\n{},A,B\n", ids[3]),
            "column first_name appears twice".to_owned(),
        ),
        (
            "colliding.csv",
            format!("id,custom_fields,custom_fields.tier\n{},,gold\n", ids[3]),
            "custom_fields and custom_fields.tier both set custom fields".to_owned(),
        ),
        (
            "multiline.csv",
            format!(
                "title,id\n\"Two\nlines\",{}\n\"Three\nmore\nlines\",abc\n",
                ids[3]
            ),
            "record 2 (line 4): id is not a number".to_owned(),
        ),
    ] {
        std::fs::write(dir.0.join(name), content).unwrap();
        let refused = run(&["people", "push", "--file", name]);
        assert_eq!(refused.status.code(), Some(2), "{name}");
        let stderr = text(&refused.stderr);
        assert!(
            stderr.contains(&wanted) && stderr.contains("nothing was written"),
            "{name}: {stderr}"
        );
    }
    assert_eq!(
        sandbox.snapshot()["people"],
        before,
        "nothing was written for a refused file"
    );

    // The feed after the pushes and a sync: our writes are echoes; a SalesLoft edit is not.
    let mut edited = sandbox.snapshot()["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_i64() == Some(ids[10]))
        .cloned()
        .unwrap();
    edited["title"] = serde_json::json!("Edited in SalesLoft");
    edited["updated_at"] = serde_json::json!(chrono::Utc::now().to_rfc3339());
    assert!(sandbox.put_raw("people", ids[10], &edited.to_string()));
    let sync = run(&["sync", "--stream", "people"]);
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    let changes = run(&["people", "changes", "--since", &cursor]);
    let (stdout, stderr) = (text(&changes.stdout), text(&changes.stderr));
    assert!(changes.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["kind"], "updated", "{stdout}");
    assert_eq!(lines[0]["id"], ids[10], "{stdout}");
    assert_eq!(
        lines[0]["person"]["title"], "Edited in SalesLoft",
        "{stdout}"
    );
    assert!(
        stderr.contains("1 changes (3 echoes of the toolkit's own writes left out)"),
        "{stderr}"
    );
}

#[test]
fn cadences_enroll_and_the_engagement_report_from_the_command_line() {
    let dir = Scratch::new("cadences");
    let (_rt, sandbox, env) = sandbox_team_with(
        salesloft_sandbox::TeamSize {
            people: 80,
            users: 3,
            accounts: 10,
            cadences: 2,
            memberships: 20,
            emails: 200,
            calls: 100,
            ..salesloft_sandbox::TeamSize::empty()
        },
        None,
    );
    let env = env_refs(&env);
    let run = |args: &[&str]| salesloft(&dir, args, &env, Duration::from_secs(60));
    let sync = run(&["sync"]);
    assert!(sync.status.success(), "{}", text(&sync.stderr));
    let snapshot = sandbox.snapshot();
    let cadence = snapshot["cadences"][0]["id"].as_i64().unwrap().to_string();
    let people: Vec<String> = snapshot["people"]
        .as_array()
        .unwrap()
        .iter()
        .take(30)
        .map(|p| p["id"].as_i64().unwrap().to_string())
        .collect();
    std::fs::write(dir.0.join("people.txt"), people.join("\n")).unwrap();
    let list = run(&["cadences", "list"]);
    assert!(
        text(&list.stdout).contains("2 cadences"),
        "{}",
        text(&list.stdout)
    );
    let enroll_all = || {
        run(&[
            "cadences",
            "enroll",
            "--cadence",
            &cadence,
            "--people-file",
            "people.txt",
        ])
    };
    let enroll = enroll_all();
    let stdout = text(&enroll.stdout);
    assert!(
        enroll.status.success(),
        "{stdout}\n{}",
        text(&enroll.stderr)
    );
    let enrolled: usize = stdout
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(enrolled > 0, "{stdout}");
    let again = enroll_all();
    let stdout = text(&again.stdout);
    assert!(stdout.contains(": 0 enrolled"), "{stdout}");
    assert!(stdout.contains("; 0 writes"), "{stdout}");
    let show = run(&["cadences", "show", &cadence]);
    assert!(
        text(&show.stdout).contains("people on it"),
        "{}",
        text(&show.stdout)
    );

    let report = run(&[
        "report",
        "engagement",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--format",
        "csv",
    ]);
    let stdout = text(&report.stdout);
    assert!(
        report.status.success(),
        "{stdout}\n{}",
        text(&report.stderr)
    );
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "day,user_id,cadence_id,emails_sent,emails_delivered,emails_bounced,emails_opened,emails_clicked,emails_replied,calls,calls_connected,call_seconds,successes,other_steps,integration_steps,activities,tasks_completed"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty());
    let calls: u64 = rows
        .iter()
        .map(|r| r.split(',').nth(9).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(calls as usize, snapshot["calls"].as_array().unwrap().len());
    // Activities are e-mails sent, calls, other and integration steps, row by row.
    for row in &rows {
        let n: Vec<i64> = row.split(',').skip(3).map(|v| v.parse().unwrap()).collect();
        assert_eq!(n[12], n[0] + n[6] + n[10] + n[11], "{row}");
    }
}

/// `GET path` from 127.0.0.1:`port` with a bare HTTP/1.0 request: the body, if it answered.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

#[test]
fn up_shows_a_live_status_page_within_a_minute_and_stops_on_ctrl_c() {
    let dir = Scratch::new("up");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let mut child = command(
        &dir,
        &["up", "--people", "300", "--port", &port.to_string()],
        &[],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // The page, with the backfilled people, within a minute of starting.
    loop {
        let people = http_get(port, "/").and_then(|page| {
            let row = page.split("data-stream=\"people\"").nth(1)?.to_owned();
            row.split("<td class=\"n\">")
                .nth(1)?
                .split('<')
                .next()?
                .parse::<u64>()
                .ok()
        });
        if people == Some(300) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("no status page with 300 people within a minute (last: {people:?})");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!("status page live after {:?}", started.elapsed());
    assert_eq!(http_get(port, "/ready").as_deref(), Some("ready\n"));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("salesloft up did not stop within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// Two teams from the command line: the configured key's (the default team) and one added
/// with `teams add`; `--team` points every command at one, and neither sees the other's
/// records; its webhooks go to its own route; paused, then removed with its rows.
#[test]
fn teams_are_added_listed_scoped_paused_and_removed_from_the_command_line() {
    use secrecy::ExposeSecret;
    let (rt, _a, env) = sandbox_team(5);
    let b = rt
        .block_on(salesloft_sandbox::Sandbox::start(
            salesloft_sandbox::SandboxConfig {
                team: salesloft_sandbox::TeamSize {
                    people: 7,
                    users: 2,
                    ..salesloft_sandbox::TeamSize::empty()
                },
                seed: 9,
                ..salesloft_sandbox::SandboxConfig::default()
            },
        ))
        .unwrap();
    let dir = Scratch::new("teams");
    let secrets_key = salesloft_storage::SecretsKey::generate("k1").1;
    let (b_url, b_key) = (b.url().to_string(), b.api_key().to_owned());
    let mut env = env_refs(&env);
    env.extend([
        ("SALESLOFT_SECRETS__KEY", secrets_key.expose_secret()),
        ("B_KEY", b_key.as_str()),
    ]);
    let run = |args: &[&str]| {
        let out = salesloft(&dir, args, &env, Duration::from_secs(60));
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, out, err) = run(&[
        "teams",
        "add",
        "b",
        "--base-url",
        &b_url,
        "--api-key-env",
        "B_KEY",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("team b connected"), "{out}");
    // Where team b differs from the deployment, checked as the deployment's settings are.
    let (ok, _, err) = run(&["teams", "set", "b", "--budget-per-minute", "700"]);
    assert!(!ok && err.contains("budget.per_minute"), "{err}");
    let (ok, out, err) = run(&[
        "teams",
        "set",
        "b",
        "--budget-per-minute",
        "300",
        "--time-zone",
        "Europe/Paris",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(r#""budget_per_minute":300"#) && out.contains("Europe/Paris"),
        "{out}"
    );
    let (ok, _, err) = run(&["--team", "b", "sync"]);
    assert!(ok, "{err}");
    let (_, status_b, _) = run(&["--team", "b", "status"]);
    assert_eq!(row(&status_b, "people")[1], "7", "{status_b}");
    let (_, status_a, _) = run(&["status"]);
    assert_eq!(
        row(&status_a, "people")[1],
        "0",
        "the default team synced nothing yet"
    );
    let (ok, _, err) = run(&["sync", "--stream", "people"]);
    assert!(ok, "{err}");
    let (_, status_a, _) = run(&["status"]);
    assert_eq!(row(&status_a, "people")[1], "5", "{status_a}");
    let (_, status_b, _) = run(&["--team", "b", "status"]);
    assert_eq!(row(&status_b, "people")[1], "7", "{status_b}");

    // Team b's own field policies and sync interval: a push to b follows b's policies.
    let (ok, _, err) = run(&["teams", "set", "b", "--field-policy", "title=always"]);
    assert!(!ok && err.contains("not a policy"), "{err}");
    let (ok, _, err) = run(&["teams", "set", "b", "--sync-every-secs", "5"]);
    assert!(!ok && err.contains("jobs.sync_every_secs"), "{err}");
    let (ok, out, err) = run(&[
        "teams",
        "set",
        "b",
        "--sync-every-secs",
        "60",
        "--field-policy",
        "title=none",
        "--default-policy",
        "none",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains(r#""sync_every_secs":60"#)
            && out.contains(r#""field_policies":{"title":"none"}"#)
            && out.contains(r#""default_policy":"none""#)
            && out.contains(r#""budget_per_minute":300"#),
        "what was set before stays: {out}"
    );
    let b_person = b.snapshot()["people"][0]["id"].as_i64().unwrap();
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    std::fs::write(
        dir.0.join("b.jsonl"),
        format!(
            "{}\n",
            serde_json::json!({"id": b_person, "title": "Set for b", "changed_at": later})
        ),
    )
    .unwrap();
    let (ok, out, err) = run(&["--team", "b", "people", "push", "--file", "b.jsonl"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 updated, 1 unchanged"),
        "b syncs no title: {out}"
    );
    let (ok, _, err) = run(&["teams", "set", "b", "--field-policy", "title=local_wins"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["--team", "b", "people", "push", "--file", "b.jsonl"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 created, 1 updated"),
        "now b's title is the local one: {out}"
    );

    let (ok, out, err) = run(&[
        "--team",
        "b",
        "webhooks",
        "subscribe",
        "--url",
        "https://hooks.example.com/webhooks/salesloft",
        "--event",
        "person_updated",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("https://hooks.example.com/webhooks/salesloft/b:"),
        "{out}"
    );

    let (ok, listed, _) = run(&["teams", "list"]);
    assert!(ok);
    assert!(row(&listed, "b").contains(&"active"), "{listed}");
    assert!(row(&listed, "default").len() > 3, "{listed}");
    let (ok, _, _) = run(&["teams", "pause", "b"]);
    assert!(ok);
    let (_, listed, _) = run(&["teams", "list"]);
    assert!(row(&listed, "b").contains(&"paused"), "{listed}");

    let (ok, _, err) = run(&["--team", "nobody", "status"]);
    assert!(
        !ok && err.contains("no team named nobody") && err.contains("b, default"),
        "{err}"
    );
    let (ok, _, err) = run(&["teams", "remove", "b"]);
    assert!(!ok && err.contains("--purge"), "{err}");
    let (ok, out, err) = run(&["teams", "remove", "b", "--purge"]);
    assert!(ok, "{err}");
    assert!(out.contains("team b removed"), "{out}");
    let (_, listed, _) = run(&["teams", "list"]);
    assert!(!listed.contains("\nb "), "{listed}");
    let (_, status_a, _) = run(&["status"]);
    assert_eq!(
        row(&status_a, "people")[1],
        "5",
        "the other team's rows stay"
    );
}
