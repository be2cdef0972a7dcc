//! The embedding example runs: an axum app of its own with the webhook and operator routes
//! nested in it and the worker beside it, against the sandbox, until its first people sync,
//! then its routes answer and it stops with exit 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_embed_example_serves_its_routes_beside_the_worker_and_stops() {
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join(format!("embed{}", std::env::consts::EXE_SUFFIX));
    assert!(
        example.exists(),
        "{} is missing: run the tests with `cargo test` (which builds examples)",
        example.display()
    );
    let mut cmd = Command::new(example);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SALESLOFT_")) {
        cmd.env_remove(k);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(150) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the example did not stop within 150 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(status.success(), "{status}: {out}");
    for line in [
        "GET /hello: 200",
        "GET /salesloft/health: 200",
        "GET /ops/ready: 200",
        "stopped",
    ] {
        assert!(out.contains(line), "{line:?} missing from {out}");
    }
    assert!(out.contains("the worker synced 200 people"), "{out}");
}
