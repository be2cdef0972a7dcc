//! Models: nulls, unknown fields, timestamps, role ids, decode errors.

use salesloft_client::{Error, PersonId, UserId};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{client, fixture, server};

#[tokio::test]
async fn the_null_heavy_real_person_payload_decodes() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("person_real.json")))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .people()
        .list()
        .send()
        .await
        .expect("decodes");
    assert_eq!(page.items.len(), 1);
    let p = &page.items[0];
    assert_eq!(p.id, PersonId(164_510_523));
    assert_eq!(p.email_address.as_deref(), Some("losbourn29@paypal.com"));
    assert_eq!(p.last_contacted_at, None);
    assert_eq!(p.phone, None);
    assert_eq!(p.account, None);
    assert_eq!(p.do_not_contact, Some(false));
    assert_eq!(p.locale_utc_offset, None);
    assert!(p.tags.is_empty() && p.cadences.is_empty() && p.custom_fields.is_empty());
    let owner = p.owner.as_ref().expect("owner");
    assert_eq!(owner.id, UserId(51550));
    assert_eq!(
        owner.href.as_deref(),
        Some("https://api.salesloft.com/v2/users/51550")
    );
    assert_eq!(p.counts.as_ref().and_then(|c| c.emails_sent), Some(0));
    // The offset and the microseconds survive, and instants compare across offsets.
    assert_eq!(p.updated_at.offset().local_minus_utc(), -5 * 3600);
    assert_eq!(p.updated_at.timestamp_subsec_micros(), 444_910);
    let same_instant =
        chrono::DateTime::parse_from_rfc3339("2024-03-07T09:26:14.444910Z").expect("ts");
    assert_eq!(p.updated_at, same_instant);
    assert!(
        p.extra.is_empty(),
        "every field of the real payload is typed: {:?}",
        p.extra
    );
    let paging = page.paging.expect("paging");
    assert_eq!((paging.current_page, paging.next_page), (Some(1), None));
    assert_eq!(
        page.sorting.and_then(|s| s.sort_direction).as_deref(),
        Some("DESC NULLS LAST")
    );
}

#[tokio::test]
async fn unknown_fields_are_kept_and_written_back() {
    let server = server().await;
    let mut body = fixture("person_real.json");
    let person = &mut body["data"][0];
    person["brand_new_field"] = json!({"nested": [1, 2, 3]});
    person["counts"]["emails_forwarded"] = json!(4);
    person["tags"] = json!(null);
    Mock::given(method("GET"))
        .and(path("/v2/people/164510523"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": person.clone()})))
        .expect(1)
        .mount(&server)
        .await;
    let p = client(&server)
        .people()
        .get(PersonId(164_510_523))
        .await
        .expect("decodes");
    assert_eq!(p.extra["brand_new_field"], json!({"nested": [1, 2, 3]}));
    assert_eq!(
        p.counts.as_ref().expect("counts").extra["emails_forwarded"],
        json!(4)
    );
    assert!(p.tags.is_empty(), "null list reads as empty");
    let written = serde_json::to_value(&p).expect("serialises");
    assert_eq!(written["brand_new_field"], json!({"nested": [1, 2, 3]}));
    assert_eq!(written["counts"]["emails_forwarded"], json!(4));
    assert_eq!(
        written["updated_at"],
        json!("2024-03-07T04:26:14.444910-05:00")
    );
}

#[tokio::test]
async fn role_ids_are_strings_even_when_sent_as_numbers() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users_unpaged.json")))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .users()
        .list()
        .send()
        .await
        .expect("decodes");
    let roles: Vec<String> = page
        .items
        .iter()
        .map(|u| u.role.as_ref().expect("role").id.0.clone())
        .collect();
    assert_eq!(roles, ["Admin", "20"]);
    assert_eq!(page.items[0].extra["seat_package"], json!("advanced"));
    assert!(page.paging.is_none(), "users without page are not paged");
}

#[tokio::test]
async fn a_record_with_drifted_fields_is_kept_with_its_raw_text_and_the_fields_named() {
    let server = server().await;
    let mut body = fixture("person_real.json");
    let good = body["data"][0].clone();
    let mut drifted = good.clone();
    drifted["id"] = json!(7);
    drifted["owner"]["id"] = json!("fifty-one");
    drifted["title"] = json!(42);
    drifted["custom_fields"] = json!([]);
    drifted["tags"] = json!(null);
    drifted["counts"]["calls"] = json!("three");
    let mut no_id = good.clone();
    no_id.as_object_mut().unwrap().remove("id");
    let mut bad_stamp = good.clone();
    bad_stamp["id"] = json!(9);
    bad_stamp["updated_at"] = json!(1_700_000_000);
    body["data"] = json!([good, drifted, no_id, "a string", bad_stamp]);
    let text = serde_json::to_string(&body).unwrap();
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(text.clone(), "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .people()
        .list()
        .send_received()
        .await
        .expect("one odd record never costs the page");
    assert_eq!(page.items.len(), 2);
    assert!(page.items[0].drifted.is_empty());
    let d = &page.items[1];
    assert_eq!(d.record.id.0, 7);
    assert_eq!(
        d.drifted,
        ["counts.calls", "custom_fields", "owner.id", "title"]
    );
    assert!(d.record.owner.is_none() && d.record.title.is_none());
    assert!(d.record.custom_fields.is_empty() && d.record.tags.is_empty());
    let counts = d.record.counts.as_ref().expect("counts kept");
    assert_eq!((counts.calls, counts.emails_sent), (None, Some(0)));
    assert!(text.contains(&d.raw), "raw is the text as sent");
    let rejected: Vec<_> = page
        .rejected
        .iter()
        .map(|r| (r.id, r.error.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (None, "field `.` is missing"),
            (None, "not a JSON object"),
            (
                Some(9),
                "field `updated_at` has a type the model does not read"
            ),
        ]
    );
    assert!(
        !format!("{:?}", page.rejected).contains('@'),
        "no personal data in Debug"
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_list_envelope_is_an_error_of_the_request() {
    let server = server().await;
    let mut body = fixture("person_real.json");
    body["data"] = json!({"id": 1});
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .people()
        .list()
        .send()
        .await
        .expect_err("not a list");
    match &err {
        Error::Decode { path, field, .. } => {
            assert_eq!(path, "/v2/people");
            assert_eq!(field, "data");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// A pushed record (a webhook body) decodes as a list item does: bare or in `data`, odd
/// fields left empty and named, a non-record rejected with its id when readable.
#[test]
fn one_pushed_record_decodes_like_a_list_item() {
    use salesloft_client::Person;
    use salesloft_client::wire::parse_received;
    let person = fixture("person_real.json")["data"][0].clone();
    let bare = serde_json::to_vec(&person).unwrap();
    let received = parse_received::<Person>(&bare).expect("bare");
    assert_eq!(received.record.id, PersonId(164_510_523));
    assert!(received.drifted.is_empty());
    let wrapped = serde_json::to_vec(&json!({ "data": person })).unwrap();
    assert_eq!(
        parse_received::<Person>(&wrapped)
            .expect("wrapped")
            .record
            .id,
        PersonId(164_510_523)
    );
    let mut odd = person.clone();
    odd["title"] = json!(42);
    let odd = parse_received::<Person>(&serde_json::to_vec(&odd).unwrap()).expect("drifted");
    assert_eq!(odd.drifted, ["title"]);
    let rejected =
        parse_received::<Person>(br#"{"id": 7, "updated_at": "yesterday"}"#).unwrap_err();
    assert_eq!(rejected.id, Some(7));
    assert!(parse_received::<Person>(b"{\"id\": ").is_err());
    assert!(parse_received::<Person>(&[0xff, 0x00]).is_err());
}
