//! The public edge as an attacker and a bad network treat it, against real `salesloft-server`
//! processes: a flood of slow sockets under the usual 1,024 open-file limit, requests that
//! stall in their headers or body, SIGTERM with half-sent requests open, and a log pipe that
//! breaks.

#![allow(clippy::unwrap_used, clippy::print_stderr)] // tests panic on failure and report what they measured

mod common;

use common::{
    Running, free_port, metric, post_delivery, scrape, server_command,
    server_command_with_file_limit, stored_deliveries, wait_for_ok,
};

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use salesloft_storage::testing::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "edge-test-callback-token";

/// A signed `person_updated` delivery of person `id`.
fn delivery(id: usize) -> (Vec<u8>, String) {
    let body = format!(r#"{{"id": {id}, "updated_at": "2030-01-01T00:00:00Z"}}"#).into_bytes();
    let signature = salesloft_sandbox::sign_webhook(TOKEN, &body);
    (body, signature)
}

/// This process's soft open-file limit (Linux).
fn own_file_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A `salesloft-server` on `db` verifying with [`TOKEN`], with `settings` (variables) and
/// its stderr to `stderr`, once it answers `/health`: the process, its public port and its
/// operator port.
async fn edge_server(db: &TestDb, settings: &[(&str, &str)], stderr: Stdio) -> (Running, u16, u16) {
    let (public, operator) = (free_port(), free_port());
    let mut server = Running(
        server_command(public, operator)
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
            .envs(settings.iter().copied())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    // A piped stderr is the log reader that goes away: closed before the server has
    // written a line, so a start that logs more than a pipe holds cannot block on it.
    drop(server.0.stderr.take());
    wait_for_ok(
        &format!("http://127.0.0.1:{public}/health"),
        Duration::from_secs(30),
    )
    .await;
    (server, public, operator)
}

/// Read what the server sends until it closes the connection (bounded by `limit`).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut seen)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&seen).into_owned()),
        Err(_) => None,
    }
}

async fn slow_socket_flood(db: TestDb) {
    const SOCKETS: usize = 1_100;
    assert!(
        own_file_limit() > 1_500,
        "this test opens {SOCKETS} sockets: raise the open-file limit (ulimit -n 4096)"
    );
    let (public, operator) = (free_port(), free_port());
    let _server = Running(
        server_command_with_file_limit(1_024, public, operator)
            .env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{public}");
    wait_for_ok(&format!("{base}/health"), Duration::from_secs(30)).await;

    // The attacker: 1,100 sockets, each sending half a request's headers and then a byte a
    // second, reconnecting whenever the server closes one.
    let stop = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicUsize::new(0));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{public}").parse().unwrap();
    let mut attackers = Vec::new();
    for _ in 0..SOCKETS {
        let (stop, connected) = (stop.clone(), connected.clone());
        attackers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut socket) = TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                connected.fetch_add(1, Ordering::Relaxed);
                let head = b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\nx-slow: ";
                if socket.write_all(head).await.is_err() {
                    continue;
                }
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if socket.write_all(b"a").await.is_err() {
                        break;
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    while connected.load(Ordering::Relaxed) < SOCKETS {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "only {} sockets connected",
            connected.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{SOCKETS} slow sockets open after {:?}", started.elapsed());

    // Meanwhile SalesLoft delivers, each on a new connection: every delivery answered 200
    // within a second, for longer than the header timeout.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    let until = Instant::now() + Duration::from_secs(12);
    while Instant::now() < until {
        let (body, signature) = delivery(answered + 1);
        let sent = Instant::now();
        let status = post_delivery(&http, &base, "person_updated", &signature, body).await;
        let took = sent.elapsed();
        assert_eq!(
            status.as_ref().ok(),
            Some(&200),
            "delivery {answered} during the flood: {status:?} after {took:?}"
        );
        assert!(
            took < Duration::from_secs(1),
            "delivery {answered} took {took:?}"
        );
        slowest = slowest.max(took);
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reconnects = connected.load(Ordering::Relaxed) - SOCKETS;
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.abort();
    }
    eprintln!(
        "{answered} deliveries during the flood, the slowest in {slowest:?}; the attacker was \
         disconnected and reconnected {reconnects} times"
    );
    assert!(
        reconnects > 0,
        "the server closed slow sockets to make room"
    );
    assert_eq!(stored_deliveries(&db.store).await, answered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_slow_sockets_keeps_no_delivery_out_sqlite() {
    slow_socket_flood(TestDb::sqlite_unmigrated().await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_slow_sockets_keeps_no_delivery_out_postgres() {
    slow_socket_flood(TestDb::postgres().await.unwrap()).await;
}

/// Headers that never finish close the connection at the header timeout (and so does a
/// silent one); a body that pauses too long, or a request that takes too long in all, is
/// answered 408 and its connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_requests_are_cut_off_with_408() {
    let db = TestDb::sqlite_unmigrated().await.unwrap();
    let (_server, public, _) = edge_server(
        &db,
        &[
            ("SALESLOFT_SERVER__HEADER_TIMEOUT_SECS", "1"),
            ("SALESLOFT_SERVER__BODY_TIMEOUT_SECS", "1"),
            ("SALESLOFT_SERVER__REQUEST_TIMEOUT_SECS", "3"),
        ],
        Stdio::null(),
    )
    .await;
    let connect = || TcpStream::connect(("127.0.0.1", public));

    let mut silent = connect().await.unwrap();
    let mut half_headers = connect().await.unwrap();
    half_headers
        .write_all(b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    for (what, socket) in [("silent", &mut silent), ("half headers", &mut half_headers)] {
        let started = Instant::now();
        let seen = read_until_closed(socket, Duration::from_secs(5)).await;
        assert!(seen.is_some(), "{what}: still open after 5 s");
        eprintln!("{what}: closed after {:?}", started.elapsed());
    }

    // A head larger than 64 KiB: 431, not held in memory.
    let mut huge_head = connect().await.unwrap();
    let header = format!(
        "POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let _ = huge_head.write_all(header.as_bytes()).await;
    let answer = read_until_closed(&mut huge_head, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    // A body that stops after 10 of 100 bytes.
    let mut paused = connect().await.unwrap();
    paused
        .write_all(b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\nx-salesloft-event: person_updated\r\ncontent-length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let answer = read_until_closed(&mut paused, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );

    // A body trickling a byte every half second never pauses long enough, but the request's
    // deadline ends it.
    let mut trickle = connect().await.unwrap();
    trickle
        .write_all(b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\nx-salesloft-event: person_updated\r\ncontent-length: 100\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    while started.elapsed() < Duration::from_secs(8) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if trickle.write_all(b"x").await.is_err() {
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), trickle.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..n]);
            if n == 0 {
                break;
            }
        }
    }
    let rest = read_until_closed(&mut trickle, Duration::from_secs(3))
        .await
        .unwrap_or_default();
    let answer = format!("{}{rest}", String::from_utf8_lossy(&answer));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    eprintln!("trickled body: 408 after {:?}", started.elapsed());
    assert_eq!(
        stored_deliveries(&db.store).await,
        0,
        "nothing cut off was stored"
    );
}

/// SIGTERM ends the process within the grace however clients hold their requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_half_sent_requests_exits_within_the_grace() {
    let db = TestDb::sqlite_unmigrated().await.unwrap();
    let (mut server, public, operator) = edge_server(
        &db,
        &[
            // Nothing times out on its own before the test is over.
            ("SALESLOFT_SERVER__HEADER_TIMEOUT_SECS", "300"),
            ("SALESLOFT_SERVER__BODY_TIMEOUT_SECS", "300"),
            ("SALESLOFT_SERVER__REQUEST_TIMEOUT_SECS", "600"),
            ("SALESLOFT_SERVER__SHUTDOWN_GRACE_SECS", "2"),
        ],
        Stdio::null(),
    )
    .await;
    let mut half_headers = TcpStream::connect(("127.0.0.1", public)).await.unwrap();
    half_headers
        .write_all(b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut half_body = TcpStream::connect(("127.0.0.1", public)).await.unwrap();
    half_body
        .write_all(b"POST /webhooks/salesloft HTTP/1.1\r\nhost: x\r\nx-salesloft-event: person_updated\r\ncontent-length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let mut half_on_operator = TcpStream::connect(("127.0.0.1", operator)).await.unwrap();
    half_on_operator.write_all(b"GET /metr").await.unwrap();
    // Both are in the server's hands (it answers another request meanwhile).
    wait_for_ok(
        &format!("http://127.0.0.1:{public}/health"),
        Duration::from_secs(5),
    )
    .await;
    let (status, took) = server.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "took {took:?} with a 2 s grace"
    );
    eprintln!("exited {status:?} {took:?} after SIGTERM with half-sent requests open");
}

/// With its log pipe broken, the server still answers (401 for a bad signature), counts the
/// lines it dropped, and stops on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_log_pipe_stops_nothing() {
    let db = TestDb::sqlite_unmigrated().await.unwrap();
    let (mut server, public, operator) =
        edge_server(&db, &[("RUST_LOG", "debug")], Stdio::piped()).await;
    // The log reader went away as the server started (`edge_server`).
    assert!(server.0.stderr.is_none());
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{public}");
    for _ in 0..3 {
        let status = post_delivery(&http, &base, "person_updated", &"00".repeat(20), "{}").await;
        assert_eq!(status.ok(), Some(401));
    }
    let metrics = scrape(&http, &format!("http://127.0.0.1:{operator}"), None).await;
    let dropped = metric(&metrics, "salesloft_log_lines_dropped_total");
    assert!(dropped > 0.0, "dropped lines are counted:\n{metrics}");
    let (status, took) = server.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    eprintln!("{dropped} log lines dropped; exited {status:?} {took:?} after SIGTERM");
}

/// On SQLite a delivery is on disk before it is answered 200: the inbox's commit syncs the
/// write-ahead log (synchronous=FULL for it), which a power loss cannot take back. Counted
/// with strace (`.ci/run` installs it): at least one fsync or fdatasync per delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_are_synced_to_disk_before_the_200() {
    const DELIVERIES: usize = 20;
    let strace = std::process::Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        strace,
        "strace is not installed: `apt-get install strace` (CI does), or leave this test out \
         with `--skip synced_to_disk`"
    );
    let db = TestDb::sqlite_unmigrated().await.unwrap();
    let (public, operator) = (free_port(), free_port());
    let trace = std::env::temp_dir().join(format!("salesloft-fsync-{}.txt", std::process::id()));
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_salesloft-server"));
    let template = server_command(public, operator);
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let mut server = Running(
        cmd.env("SALESLOFT_DATABASE_URL", db.url())
            .env("SALESLOFT_WEBHOOKS__CALLBACK_TOKENS", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{public}");
    wait_for_ok(&format!("{base}/health"), Duration::from_secs(60)).await;
    let syncs = || {
        std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
            .count()
    };
    let before = syncs();
    let http = reqwest::Client::new();
    for i in 0..DELIVERIES {
        let (body, signature) = delivery(10_000 + i);
        let status = post_delivery(&http, &base, "person_updated", &signature, body).await;
        assert_eq!(status.ok(), Some(200));
    }
    let during = syncs() - before;
    // SIGTERM to the server itself (strace's child); strace ends with it.
    let strace_pid = server.0.id();
    let children =
        std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children"))
            .unwrap_or_default();
    for child in children.split_whitespace() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", child])
            .status();
    }
    let started = std::time::Instant::now();
    while server.0.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_file(&trace);
    eprintln!("{DELIVERIES} deliveries, each answered after its commit: {during} syncs to disk");
    assert!(
        during >= DELIVERIES,
        "{during} syncs for {DELIVERIES} deliveries: an answered delivery may not be on disk"
    );
}

/// Anyone can send refused deliveries, so they are counted in `/metrics` and logged as one
/// summary line a minute, never a line each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_deliveries_are_counted_and_summarised_not_logged_each() {
    let db = TestDb::sqlite_unmigrated().await.unwrap();
    let log = std::env::temp_dir().join(format!("salesloft-refusals-{}.log", std::process::id()));
    let (mut server, public, operator) = edge_server(
        &db,
        &[("RUST_LOG", "info")],
        std::fs::File::create(&log).unwrap().into(),
    )
    .await;
    let base = format!("http://127.0.0.1:{public}");
    let http = reqwest::Client::new();
    for i in 0..50 {
        let (body, _) = delivery(i);
        let status = post_delivery(&http, &base, "person_updated", &"00".repeat(20), body).await;
        assert_eq!(status.ok(), Some(401));
    }
    let metrics = scrape(&http, &format!("http://127.0.0.1:{operator}"), None).await;
    assert!(
        metrics.contains(
            r#"salesloft_webhook_received_total{event_type="person_updated",outcome="bad_signature"} 50"#
        ),
        "{metrics}"
    );
    let (status, _) = server.terminate(Duration::from_secs(15)).await;
    assert!(status.success());
    let logged = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let summaries: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("webhook deliveries refused"))
        .collect();
    assert_eq!(summaries.len(), 1, "one summary line: {summaries:?}");
    assert!(summaries[0].contains("bad_signature=1"), "{}", summaries[0]);
    assert!(
        !logged.contains("webhook refused"),
        "no line per refusal:\n{logged}"
    );
}

/// Settings that would expose the server are refused at start, with why: a short callback
/// token, operator routes off loopback without the admin token.
#[test]
fn the_server_refuses_to_start_exposed() {
    for (var, value, wanted, code) in [
        (
            "SALESLOFT_WEBHOOKS__CALLBACK_TOKENS",
            "short-token".to_owned(),
            "webhooks.callback_tokens",
            Some(2),
        ),
        (
            "SALESLOFT_SERVER__OPS_BIND",
            format!("0.0.0.0:{}", free_port()),
            "server.admin_token",
            Some(1),
        ),
    ] {
        let out = server_command(free_port(), free_port())
            .env("SALESLOFT_DATABASE_URL", "sqlite::memory:")
            .env(var, value)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), code, "{var}: {stderr}");
        assert!(stderr.contains(wanted), "{var}: {stderr}");
    }
}
