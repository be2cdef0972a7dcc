//! The REST surface: envelope, paging, sorting, filters, rules, errors.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{get, ids, sandbox, send};

#[tokio::test]
async fn lists_use_the_real_envelope_and_paging() {
    let sb = sandbox().await;
    let (status, headers, body) = get(&sb, "/v2/people.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        25,
        "default per_page"
    );
    let paging = &body["metadata"]["paging"];
    assert_eq!(paging["per_page"], 25);
    assert_eq!(paging["current_page"], 1);
    assert_eq!(paging["next_page"], 2);
    assert_eq!(paging["prev_page"], json!(null));
    assert!(paging.get("total_count").is_none());
    assert_eq!(
        body["metadata"]["sorting"],
        json!({"sort_by": "updated_at", "sort_direction": "DESC NULLS LAST"})
    );
    assert_eq!(headers["x-ratelimit-endpoint-cost"], "1");
    assert!(headers.contains_key("x-ratelimit-remaining-minute"));

    let (_, _, body) = get(&sb, "/v2/people?per_page=500&include_paging_counts=true").await;
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        100,
        "per_page is capped at 100"
    );
    assert_eq!(body["metadata"]["paging"]["total_count"], 1000);
    assert_eq!(body["metadata"]["paging"]["total_pages"], 10);

    let (_, _, body) = get(&sb, "/v2/people?per_page=100&page=11").await;
    assert!(
        body["data"].as_array().unwrap().is_empty(),
        "past the end is empty, not an error"
    );
    assert_eq!(body["metadata"]["paging"]["next_page"], json!(null));
}

#[tokio::test]
async fn sorting_is_stable_and_ties_break_by_id() {
    let sb = sandbox().await;
    let (_, _, a) = get(
        &sb,
        "/v2/people?sort_by=updated_at&sort_direction=ASC&per_page=100",
    )
    .await;
    let (_, _, b) = get(
        &sb,
        "/v2/people?sort_by=updated_at&sort_direction=asc&per_page=100",
    )
    .await;
    assert_eq!(ids(&a), ids(&b));
    let keys: Vec<(String, i64)> = a["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t =
                chrono::DateTime::parse_from_rfc3339(p["updated_at"].as_str().unwrap()).unwrap();
            (
                format!("{:020}", t.timestamp_micros()),
                p["id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(
        a["metadata"]["sorting"]["sort_direction"],
        "ASC NULLS FIRST"
    );
    let (status, _, body) = get(&sb, "/v2/people?sort_by=shoe_size").await;
    assert_eq!(status, 422);
    assert!(body["errors"]["sort_by"].is_array());
}

#[tokio::test]
async fn ids_filters_take_both_array_forms_and_skip_unknown_ids() {
    let sb = sandbox().await;
    let (_, _, all) = get(&sb, "/v2/people?per_page=3").await;
    let wanted = ids(&all);
    let q1 = wanted
        .iter()
        .map(|i| format!("ids[]={i}"))
        .collect::<Vec<_>>()
        .join("&");
    let q2 = format!("ids={},{},{},999", wanted[0], wanted[1], wanted[2]);
    for q in [q1, q2] {
        let (_, _, body) = get(&sb, &format!("/v2/people?{q}")).await;
        let mut got = ids(&body);
        got.sort();
        let mut want = wanted.clone();
        want.sort();
        assert_eq!(got, want, "{q}");
    }
}

#[tokio::test]
async fn time_filters_compare_instants_across_offsets() {
    let sb = sandbox().await;
    let (_, _, page) = get(
        &sb,
        "/v2/people?sort_by=updated_at&sort_direction=ASC&per_page=100&page=3",
    )
    .await;
    let pivot = page["data"][50]["updated_at"].as_str().unwrap().to_owned();
    let t = chrono::DateTime::parse_from_rfc3339(&pivot).unwrap();
    let utc = t
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let plus2 = t
        .with_timezone(&chrono::FixedOffset::east_opt(7200).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%.6f%:z")
        .to_string();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut counts = Vec::new();
    for form in [pivot.clone(), utc, plus2] {
        let (_, _, body) = get(
            &sb,
            &format!(
                "/v2/people?updated_at[gte]={}&per_page=1&include_paging_counts=1",
                enc(&form)
            ),
        )
        .await;
        counts.push(body["metadata"]["paging"]["total_count"].as_i64().unwrap());
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "{counts:?}");
    let (_, _, gt) = get(
        &sb,
        &format!(
            "/v2/people?updated_at[gt]={}&per_page=1&include_paging_counts=1",
            enc(&pivot)
        ),
    )
    .await;
    let (_, _, lte) = get(
        &sb,
        &format!(
            "/v2/people?updated_at[lte]={}&per_page=1&include_paging_counts=1",
            enc(&pivot)
        ),
    )
    .await;
    let total = gt["metadata"]["paging"]["total_count"].as_i64().unwrap()
        + lte["metadata"]["paging"]["total_count"].as_i64().unwrap();
    assert_eq!(total, 1000, "gt and lte partition the people");
    assert_eq!(
        gt["metadata"]["filtering"]["updated_at"]["gt"],
        pivot.as_str()
    );
    let (status, _, _) = get(&sb, "/v2/people?updated_at[gte]=not-a-time").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn per_resource_filters_work() {
    let sb = sandbox().await;
    let (_, _, one) = get(&sb, "/v2/people?per_page=1").await;
    let email = one["data"][0]["email_address"]
        .as_str()
        .unwrap()
        .to_uppercase();
    let (_, _, found) = get(&sb, &format!("/v2/people?email_addresses[]={email}")).await;
    assert_eq!(ids(&found), ids(&one), "e-mail matches ignore case");

    let (_, _, ms) = get(&sb, "/v2/cadence_memberships?cadence_id=1000&per_page=100").await;
    assert!(
        ms["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["cadence"]["id"] == 1000)
    );
    let (_, _, on) = get(
        &sb,
        "/v2/cadence_memberships?currently_on_cadence=true&per_page=100",
    )
    .await;
    assert!(
        on["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["currently_on_cadence"] == true)
    );
    let (_, _, steps) = get(&sb, "/v2/steps?cadence_id=1001").await;
    assert!(!ids(&steps).is_empty());
    assert!(
        steps["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["cadence"]["id"] == 1001)
    );
    let (_, _, emails) = get(&sb, "/v2/activities/emails?bounced=true&per_page=100").await;
    assert!(
        emails["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["bounced"] == true)
    );
}

#[tokio::test]
async fn users_are_paged_only_when_page_is_given() {
    let sb = sandbox().await;
    let (_, _, all) = get(&sb, "/v2/users?per_page=2").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 10);
    assert!(all["metadata"].get("paging").is_none());
    assert_eq!(all["metadata"]["sorting"]["sort_by"], "id");
    let (_, _, paged) = get(&sb, "/v2/users?per_page=2&page=1").await;
    assert_eq!(paged["data"].as_array().unwrap().len(), 2);
    assert_eq!(paged["metadata"]["paging"]["next_page"], 2);
    assert!(paged["data"][0]["role"]["id"].is_string());
}

#[tokio::test]
async fn writes_follow_salesloft_rules() {
    let sb = sandbox().await;
    let (status, created) = send(
        &sb,
        Method::POST,
        "/v2/people.json",
        json!({"email_address": "new@example.com", "first_name": "New"}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_i64().unwrap();
    assert_eq!(created["data"]["display_name"], "New");
    let (status, dup) = send(
        &sb,
        Method::POST,
        "/v2/people",
        json!({"email_address": "NEW@example.com"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(dup["errors"]["email_address"][0], "has already been taken");
    let (status, blank) = send(&sb, Method::POST, "/v2/people", json!({"first_name": "x"})).await;
    assert_eq!(
        (status, blank["errors"]["email_address"].is_array()),
        (422, true)
    );

    // Enrollment: once per cadence; do-not-contact refused; removal keeps the record.
    let enroll =
        |person: i64| format!("/v2/cadence_memberships?person_id={person}&cadence_id=1002");
    let (status, m1) = send(&sb, Method::POST, &enroll(id), json!({})).await;
    assert_eq!(status, 200, "{m1}");
    let mid = m1["data"]["id"].as_i64().unwrap();
    let (status, again) = send(&sb, Method::POST, &enroll(id), json!({})).await;
    assert_eq!(status, 422, "{again}");
    let (status, _) = send(
        &sb,
        Method::DELETE,
        &format!("/v2/cadence_memberships/{mid}"),
        json!(null),
    )
    .await;
    assert_eq!(status, 204);
    let (status, m2) = send(
        &sb,
        Method::POST,
        "/v2/cadence_memberships",
        json!({"person_id": id, "cadence_id": 1002}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        m2["data"]["id"].as_i64(),
        Some(mid),
        "re-adding reuses the membership"
    );
    let (status, _) = send(
        &sb,
        Method::PUT,
        &format!("/v2/people/{id}"),
        json!({"do_not_contact": true}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, m) = get(&sb, &format!("/v2/cadence_memberships/{mid}")).await;
    assert_eq!(
        m["data"]["currently_on_cadence"], false,
        "do-not-contact removes from cadences"
    );
    let (status, refused) = send(&sb, Method::POST, &enroll(id), json!({})).await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["errors"]["person"].is_array());

    // Deletes are 204 and idempotent; the record is gone.
    for _ in 0..2 {
        let (status, body) = send(
            &sb,
            Method::DELETE,
            &format!("/v2/people/{id}"),
            json!(null),
        )
        .await;
        assert_eq!((status, body), (204, json!(null)));
    }
    let (status, _, body) = get(&sb, &format!("/v2/people/{id}")).await;
    assert_eq!((status, body), (404, json!({"error": "Not Found"})));
}

#[tokio::test]
async fn writes_accept_form_bodies_too() {
    let sb = sandbox().await;
    let r = reqwest::Client::new()
        .post(format!("{}/v2/accounts.json", sb.url()))
        .bearer_auth(sb.api_key())
        .form(&[
            ("name", "Formed"),
            ("domain", "formed.example.com"),
            ("tags[]", "a"),
            ("tags[]", "b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["data"]["tags"], json!(["a", "b"]));
    let (status, dup) = send(
        &sb,
        Method::POST,
        "/v2/accounts",
        json!({"name": "x", "domain": "FORMED.example.com"}),
    )
    .await;
    assert_eq!(status, 422, "{dup}");
}

#[tokio::test]
async fn errors_come_in_salesloft_shapes() {
    let sb = sandbox().await;
    let r = reqwest::Client::new()
        .get(format!("{}/v2/people", sb.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("No Bearer Token"));
    let r = reqwest::Client::new()
        .get(format!("{}/v2/people", sb.url()))
        .bearer_auth("ak_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, _, body) = get(&sb, "/v2/people/1").await;
    assert_eq!((status, body), (404, json!({"error": "Not Found"})));
}

#[tokio::test]
async fn cadence_imports_create_cadences_with_steps() {
    let sb = sandbox().await;
    let (status, body) = send(
        &sb,
        Method::POST,
        "/v2/cadence_imports",
        json!({
            "settings": {"name": "Q3 outbound", "cadence_function": "outbound"},
            "sharing_settings": {"team_cadence": false, "shared": true},
            "cadence_content": {"step_groups": [{"day": 1, "steps": [
                {"enabled": true, "name": "Intro", "type": "Email"},
                {"enabled": true, "name": "Call", "type": "Phone"}]}]}
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["cadence"]["id"].as_i64().unwrap();
    let (_, _, steps) = get(&sb, &format!("/v2/steps?cadence_id={id}")).await;
    assert_eq!(steps["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        steps["data"][0]["type"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref()
            .map(|t| t == "email" || t == "phone"),
        Some(true)
    );
}

#[tokio::test]
async fn the_snapshot_holds_every_record() {
    let sb = sandbox().await;
    let snap = sb.snapshot();
    assert_eq!(snap["people"].as_array().unwrap().len(), 1000);
    assert_eq!(snap["users"].as_array().unwrap().len(), 10);
    assert!(snap["emails"].as_array().unwrap().len() > 100);
    let (_, _, state) = get(&sb, "/__sandbox/state").await;
    assert_eq!(state["people"], snap["people"]);
}

#[tokio::test]
async fn upserts_follow_the_documented_rules() {
    let sb = sandbox().await;
    let post = |path: &'static str, body: serde_json::Value| {
        let sb = &sb;
        async move { send(sb, Method::POST, path, body).await }
    };
    let (_, made) = post(
        "/v2/people",
        json!({"email_address": "taken@example.com", "first_name": "Before", "crm_id": "c1"}),
    )
    .await;
    let taken = made["data"]["id"].as_i64().unwrap();
    // Without upsert_key an upsert never updates: it creates, and the e-mail is taken.
    let (status, body) = post(
        "/v2/person_upserts",
        json!({"email_address": "taken@example.com", "first_name": "After"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (_, _, person) = get(&sb, &format!("/v2/people/{taken}")).await;
    assert_eq!(person["data"]["first_name"], "Before", "nothing updated");
    // On its key it updates, and says so.
    let (status, body) = post(
        "/v2/person_upserts",
        json!({"upsert_key": "email_address", "email_address": "TAKEN@example.com", "first_name": "After"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["upsert_type"], "update");
    assert_eq!(body["data"]["person"]["id"], taken);
    // The key's field must be given.
    let (status, body) = post(
        "/v2/person_upserts",
        json!({"upsert_key": "email_address", "first_name": "x"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["email_address"].is_array(), "{body}");
    // Several records matching the key fail.
    post(
        "/v2/people",
        json!({"email_address": "twin@example.com", "crm_id": "c1"}),
    )
    .await;
    let (status, body) = post(
        "/v2/person_upserts",
        json!({"upsert_key": "crm_id", "crm_id": "c1", "title": "x"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // An id with another key must be the record that key finds.
    let (status, body) = post(
        "/v2/person_upserts",
        json!({"upsert_key": "email_address", "email_address": "taken@example.com", "id": taken + 1}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["errors"]["id"].is_array(), "{body}");
    // On `id`, an id no person has is not found.
    let (status, _) = post(
        "/v2/person_upserts",
        json!({"upsert_key": "id", "id": 999_999_999, "title": "x"}),
    )
    .await;
    assert_eq!(status, 404);

    // Accounts: the same rules, on domain, crm_id or id.
    let (status, body) = post(
        "/v2/accounts",
        json!({"name": "Acme", "domain": "acme.example", "crm_id": "a1"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let acme = body["data"]["id"].as_i64().unwrap();
    let (status, body) = post(
        "/v2/account_upserts",
        json!({"name": "Acme 2", "domain": "acme.example"}),
    )
    .await;
    assert_eq!(status, 422, "no upsert_key, no update: {body}");
    let (status, body) = post(
        "/v2/account_upserts",
        json!({"upsert_key": "crm_id", "crm_id": "a1", "name": "Acme 3", "domain": "acme.example"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["data"]["upsert_type"].as_str(),
            body["data"]["account"]["id"].as_i64()
        ),
        (Some("update"), Some(acme))
    );
    assert_eq!(body["data"]["account"]["name"], "Acme 3");
}
