//! The cost budget, 429s and injected faults.

use reqwest::Method;
use salesloft_client::{BudgetConfig, CostBudget, PersonInput};
use salesloft_sandbox::{Fault, FaultConfig, SandboxConfig};
use serde_json::json;

use crate::helpers::{client, get, sandbox, sandbox_with, send};

#[tokio::test]
async fn the_budget_runs_out_with_a_429_in_salesloft_shape() {
    let sb = sandbox_with(SandboxConfig {
        rate_limit_per_minute: Some(5),
        ..SandboxConfig::default()
    })
    .await;
    // Six requests inside one calendar minute: five spend the budget, the sixth is refused.
    // A minute boundary falling inside the burst resets the budget, so try again then (the
    // remaining counts show it); three tries cannot all straddle a boundary.
    for _attempt in 0..3 {
        let mut seen = Vec::new();
        for _ in 0..6 {
            let (status, headers, body) = get(&sb, "/v2/people?per_page=1").await;
            let remaining: u32 = headers["x-ratelimit-remaining-minute"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            seen.push((status, remaining, body));
        }
        let statuses: Vec<u16> = seen.iter().map(|s| s.0).collect();
        let remaining: Vec<u32> = seen.iter().map(|s| s.1).collect();
        if statuses == [200, 200, 200, 200, 200, 429] && remaining == [4, 3, 2, 1, 0, 0] {
            assert_eq!(seen[5].2, json!({"error": "Rate limit exceeded"}));
            assert!(sb.counters().rate_limited >= 1);
            return;
        }
        // Wait out the current minute's budget before the next try.
        tokio::time::sleep(std::time::Duration::from_millis(
            61_000 - (chrono::Utc::now().timestamp_millis() % 60_000) as u64,
        ))
        .await;
    }
    panic!("never saw five answers then a 429 within one minute");
}

#[tokio::test]
async fn retry_after_is_sent_only_when_configured() {
    let sb = sandbox_with(SandboxConfig {
        rate_limit_per_minute: Some(1),
        send_retry_after: true,
        ..SandboxConfig::default()
    })
    .await;
    sb.schedule_faults([Fault::RateLimited]);
    let (status, headers, _) = get(&sb, "/v2/users").await;
    assert_eq!(status, 429);
    let secs: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    let plain = sandbox().await;
    plain.schedule_faults([Fault::RateLimited]);
    let (status, headers, _) = get(&plain, "/v2/users").await;
    assert_eq!(status, 429);
    assert!(
        headers.get("retry-after").is_none(),
        "SalesLoft documents no Retry-After"
    );
}

#[tokio::test]
async fn the_client_limiter_keeps_below_the_sandbox_budget() {
    let sb = sandbox_with(SandboxConfig {
        rate_limit_per_minute: Some(15),
        ..SandboxConfig::default()
    })
    .await;
    // 16 requests against a budget of 15 per minute, from a client configured with the same
    // 15: it spends one at once and 14 a minute after that, and learns what is left from
    // `x-ratelimit-remaining-minute`, keeping its reserve of 2 (10%, rounded up), so no
    // calendar minute sees more than 13 and none meets a 429.
    let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key(sb.api_key()))
        .base_url(sb.url())
        .limiter(std::sync::Arc::new(CostBudget::new(
            BudgetConfig::per_minute(15),
        )))
        .build()
        .unwrap();
    for _ in 0..16 {
        client.people().list().per_page(1).send().await.unwrap();
    }
    assert_eq!(sb.counters().rate_limited, 0);
    assert_eq!(sb.counters().requests, 16);
    let minutes = sb.spend_by_minute();
    assert!(
        (2..=3).contains(&minutes.len()),
        "spread over the minutes: {minutes:?}"
    );
    assert!(minutes.iter().all(|m| m.spent <= 13), "{minutes:?}");
}

#[tokio::test]
async fn injected_5xx_and_truncated_bodies_are_retried_by_the_client() {
    let sb = sandbox().await;
    sb.schedule_faults([
        Fault::Status { status: 503 },
        Fault::Truncate,
        Fault::RateLimited,
        Fault::Status { status: 502 },
    ]);
    let client = client(&sb);
    let page = client.people().list().per_page(10).send().await.unwrap();
    assert_eq!(page.items.len(), 10);
    let c = sb.counters();
    assert_eq!(c.faults_injected, 4);
    assert_eq!(c.requests, 5);
    let log = sb.requests();
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 4);
}

#[tokio::test]
async fn a_dropped_create_was_still_done_so_the_client_does_not_repeat_it() {
    let sb = sandbox().await;
    sb.schedule_faults([Fault::Drop]);
    let client = client(&sb);
    let err = client
        .people()
        .create(&PersonInput {
            email_address: Some("dropped@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, salesloft_client::Error::Transport { .. }),
        "{err}"
    );
    // The server acted: the person exists, once.
    let found = client
        .people()
        .list()
        .email_addresses(["dropped@example.com"])
        .send()
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
}

#[tokio::test]
async fn random_fault_rates_apply_to_a_fraction_of_requests() {
    let sb = sandbox().await;
    sb.set_faults(FaultConfig {
        error_500: 0.3,
        seed: 4,
        ..FaultConfig::default()
    });
    let mut errors = 0;
    for _ in 0..100 {
        let (status, _, _) = get(&sb, "/v2/users").await;
        if status == 500 {
            errors += 1;
        }
    }
    assert!((15..=45).contains(&errors), "{errors}");
    // The control API changes them too.
    let (status, _) = send(
        &sb,
        Method::PUT,
        "/__sandbox/faults",
        json!({"error_500": 0.0}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&sb, "/v2/users").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn slow_answers_trip_client_timeouts() {
    let sb = sandbox().await;
    sb.schedule_faults([Fault::Slow { ms: 800 }]);
    let client = salesloft_client::Client::builder(salesloft_client::Auth::api_key(sb.api_key()))
        .base_url(sb.url())
        .limiter(std::sync::Arc::new(salesloft_client::Unlimited))
        .timeout(std::time::Duration::from_millis(200))
        .retry(salesloft_client::RetryPolicy {
            initial_backoff: std::time::Duration::from_millis(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    client
        .me()
        .await
        .expect("retried after the slow answer timed out");
    assert_eq!(sb.counters().faults_injected, 1);
}

#[tokio::test]
async fn the_control_api_seeds_mutates_and_reports() {
    let sb = sandbox().await;
    let (status, body) = send(&sb, Method::POST, "/__sandbox/seed", json!({"seed": 9, "team": {"people": 50, "accounts": 5, "users": 3, "cadences": 2, "memberships": 10, "emails": 20, "calls": 5, "notes": 2}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["people"], 50);
    let (status, body) = send(
        &sb,
        Method::POST,
        "/__sandbox/mutate",
        json!({"action": "send_email", "count": 5}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["events"].as_i64().unwrap() >= 5);
    let (_, _, counters) = get(&sb, "/__sandbox/counters").await;
    assert!(counters["requests"].is_u64());
    let (_, _, naive) = get(&sb, "/__sandbox/naive_cost?kind=people&per_page=10").await;
    assert_eq!(naive["pages"], 5);
    assert_eq!(naive["cost"], 5);
    let (_, _, log) = get(&sb, "/__sandbox/requests").await;
    assert!(
        log.as_array().unwrap().is_empty(),
        "control calls are not API requests"
    );
}

#[tokio::test]
async fn the_control_api_makes_tie_groups_late_commits_silent_deletes_and_raw_records() {
    let sb = sandbox().await;
    let (status, group) = send(
        &sb,
        Method::POST,
        "/__sandbox/tie_group",
        json!({"count": 7}),
    )
    .await;
    assert_eq!(status, 200, "{group}");
    let ids: Vec<i64> = group["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 7);
    let at_us = group["at_us"].as_i64().unwrap();
    let stamp = |id: i64| {
        let snapshot = sb.snapshot();
        let person = snapshot["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .cloned();
        person.map(|p| {
            chrono::DateTime::parse_from_rfc3339(p["updated_at"].as_str().unwrap())
                .unwrap()
                .timestamp_micros()
        })
    };
    assert!(
        ids.iter().all(|&id| stamp(id) == Some(at_us)),
        "one instant"
    );

    // A late commit: one person 5 s behind the present.
    let (status, late) = send(
        &sb,
        Method::POST,
        "/__sandbox/retime",
        json!({"kind": "people", "ids": [ids[0]], "behind_ms": 5000}),
    )
    .await;
    assert_eq!(status, 200, "{late}");
    let late_us = late["at_us"].as_i64().unwrap();
    assert_eq!(stamp(ids[0]), Some(late_us));
    assert!(late_us < at_us + 1_000_000, "behind the group's instant");

    let (status, gone) = send(
        &sb,
        Method::POST,
        "/__sandbox/delete_silently",
        json!({"kind": "people", "ids": [ids[1], -5]}),
    )
    .await;
    assert_eq!((status, gone["deleted"].as_u64()), (200, Some(1)));
    assert_eq!(stamp(ids[1]), None);
    assert!(sb.deliveries().is_empty(), "no webhook for a silent delete");

    // A record stored byte for byte, served exactly so.
    let text = r#"{"id":990001,"created_at":"2024-01-20T17:00:00.000000-07:00","updated_at":"2024-01-20T17:00:00.000000-07:00","title":42}"#;
    let r = reqwest::Client::new()
        .put(format!("{}/__sandbox/records/people/990001", sb.url()))
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let served = reqwest::Client::new()
        .get(format!("{}/v2/people?ids[]=990001", sb.url()))
        .bearer_auth(sb.api_key())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(served.contains(text), "{served}");

    for (path, body) in [
        ("/__sandbox/retime", json!({"kind": "nobody", "ids": [1]})),
        (
            "/__sandbox/delete_silently",
            json!({"kind": "nobody", "ids": [1]}),
        ),
        ("/__sandbox/tie_group", json!({})),
    ] {
        let (status, answer) = send(&sb, Method::POST, path, body).await;
        assert_eq!(status, 400, "{path}: {answer}");
    }
    let r = reqwest::Client::new()
        .put(format!(
            "{}/__sandbox/records/people/not-a-number",
            sb.url()
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
