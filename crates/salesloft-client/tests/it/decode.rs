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
async fn a_decoding_error_names_the_field_and_shows_the_body() {
    let server = server().await;
    let mut body = fixture("person_real.json");
    body["data"][0]["owner"]["id"] = json!("fifty-one");
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
        .expect_err("bad id");
    match &err {
        Error::Decode {
            path,
            field,
            excerpt,
            ..
        } => {
            assert_eq!(path, "/v2/people");
            assert_eq!(field, "data[0].owner.id");
            assert!(excerpt.contains("fifty-one"), "{excerpt}");
            assert!(excerpt.chars().count() < 130, "{excerpt}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(err.to_string().contains("data[0].owner.id"), "{err}");
}
