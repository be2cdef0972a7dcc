//! List requests: typed filters on the wire, paging metadata, streams.

use futures_util::TryStreamExt;
use salesloft_client::{
    CadenceId, Cmp, Error, PersonId, PersonSort, SortDirection, Timestamp, UserSort,
};
use serde_json::json;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{client, envelope, fixture, person, server};

fn t(s: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(s).expect("timestamp")
}

#[tokio::test]
async fn typed_filters_reach_the_wire() {
    let server = server().await;
    let mut body = envelope(vec![person(1, 1_700_000_000_000_000)], 2, 100, Some(3));
    body["metadata"]["paging"]["total_count"] = json!(642);
    body["metadata"]["paging"]["total_pages"] = json!(7);
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .and(query_param("ids[]", "1"))
        .and(query_param("ids[]", "2"))
        .and(query_param("email_addresses[]", "ada@example.com"))
        .and(query_param("cadence_id[]", "7"))
        .and(query_param(
            "updated_at[gte]",
            "2024-03-07T07:46:00.302715Z",
        ))
        .and(query_param("updated_at[lt]", "2024-03-08T00:00:00.000000Z"))
        .and(query_param("created_at[gt]", "2024-01-01T05:00:00.000000Z"))
        .and(query_param("sort_by", "updated_at"))
        .and(query_param("sort_direction", "ASC"))
        .and(query_param("per_page", "100"))
        .and(query_param("page", "2"))
        .and(query_param("include_paging_counts", "true"))
        .and(query_param("do_not_contact", "false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .people()
        .list()
        .ids([PersonId(1), PersonId(2)])
        .email_addresses(["ada@example.com"])
        .cadence_ids([CadenceId(7)])
        .updated_since(t("2024-03-07T02:46:00.302715-05:00"))
        .updated_at(Cmp::Lt, t("2024-03-08T00:00:00Z"))
        .created_at(Cmp::Gt, t("2024-01-01T00:00:00-05:00"))
        .sort_by(PersonSort::UpdatedAt)
        .sort_direction(SortDirection::Asc)
        .per_page(100)
        .page(2)
        .include_paging_counts(true)
        .do_not_contact(false)
        .send()
        .await
        .expect("page");
    let paging = page.paging.expect("paging");
    assert_eq!(paging.total_count, Some(642));
    assert_eq!(paging.total_pages, Some(7));
    assert_eq!(paging.next_page, Some(3));
    assert_eq!(paging.prev_page, Some(1));
}

#[tokio::test]
async fn a_stream_follows_next_page_until_it_is_null() {
    let server = server().await;
    for page in 1..=3u32 {
        let next = (page < 3).then_some(page + 1);
        let data = (0..2)
            .map(|i| person(i64::from(page * 10 + i), 1_700_000_000_000_000))
            .collect();
        Mock::given(method("GET"))
            .and(path("/v2/people"))
            .and(query_param("page", page.to_string()))
            .and(query_param("per_page", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(envelope(data, page, 2, next)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let ids: Vec<i64> = client(&server)
        .people()
        .list()
        .per_page(2)
        .stream()
        .map_ok(|p| p.id.0)
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(ids, [10, 11, 20, 21, 30, 31]);
}

#[tokio::test]
async fn a_stream_stops_when_next_page_does_not_move_forward() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/people"))
        .respond_with(ResponseTemplate::new(200).set_body_json(envelope(
            vec![person(1, 1_700_000_000_000_000)],
            1,
            25,
            Some(1),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .people()
        .list()
        .stream()
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn users_come_unpaged_without_page_and_paged_when_streamed() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .and(query_param_is_missing("page"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("users_unpaged.json")))
        .expect(1)
        .mount(&server)
        .await;
    let users = fixture("users_unpaged.json")["data"].clone();
    Mock::given(method("GET"))
        .and(path("/v2/users"))
        .and(query_param("page", "1"))
        .and(query_param("sort_by", "email"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "metadata": {"paging": {"per_page": 25, "current_page": 1, "next_page": null, "prev_page": null}},
            "data": users,
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let all = client.users().list().send().await.expect("users");
    assert_eq!(all.items.len(), 2);
    assert!(all.paging.is_none());
    let streamed: Vec<_> = client
        .users()
        .list()
        .sort_by(UserSort::Email)
        .stream()
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(streamed.len(), 2);
}

#[tokio::test]
async fn bad_paging_arguments_are_refused_before_any_request() {
    let server = server().await;
    let client = client(&server);
    for per_page in [0, 101] {
        let err = client.people().list().per_page(per_page).send().await;
        assert!(matches!(err, Err(Error::InvalidArgument(_))), "{err:?}");
    }
    let err = client.people().list().page(0).send().await;
    assert!(matches!(err, Err(Error::InvalidArgument(_))), "{err:?}");
}

#[tokio::test]
async fn a_bare_array_answer_is_read_too() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/v2/cadences"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 1042, "created_at": "2024-01-10T09:00:00.000000-05:00",
            "updated_at": "2024-05-02T11:21:07.123456-04:00", "name": "Prospecting",
            "tags": ["q3"], "groups": [], "counts": {"cadence_people": 59}
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .cadences()
        .list()
        .send()
        .await
        .expect("page");
    assert_eq!(page.items[0].name.as_deref(), Some("Prospecting"));
    assert!(page.paging.is_none());
}
