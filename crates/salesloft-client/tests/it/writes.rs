//! Creates, updates, deletes, upserts, enrollment, cadence imports, webhook subscriptions.

use salesloft_client::{
    AccountId, CadenceId, CadenceImport, CadenceMembershipId, CallInput, Enrollment, NoteInput,
    NoteTarget, PersonId, PersonInput, PersonUpsertKey, UpsertType, WebhookSubscriptionId,
    WebhookSubscriptionInput,
};
use serde_json::json;
use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{client, person, server};

const T: i64 = 1_709_797_560_302_715;

#[tokio::test]
async fn people_are_created_updated_and_deleted() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/people"))
        .and(body_json(
            json!({"email_address": "ada@example.com", "first_name": "Ada",
                              "account_id": 9, "tags": ["vip"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": person(5, T)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/people/5"))
        .and(body_json(json!({"title": "CTO", "phone": null})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": person(5, T + 1)})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/people/5"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let people = client(&server).people();
    let created = people
        .create(&PersonInput {
            email_address: Some("ada@example.com".into()),
            first_name: Some("Ada".into()),
            account_id: Some(AccountId(9)),
            tags: Some(vec!["vip".into()]),
            ..Default::default()
        })
        .await
        .expect("create");
    assert_eq!(created.id, PersonId(5));
    let mut change = PersonInput {
        title: Some("CTO".into()),
        ..Default::default()
    };
    change.extra.insert("phone".into(), serde_json::Value::Null); // clear a field
    let updated = people.update(PersonId(5), &change).await.expect("update");
    assert!(updated.updated_at > created.updated_at);
    people.delete(PersonId(5)).await.expect("delete");
    people
        .delete(PersonId(5))
        .await
        .expect("delete is idempotent");
}

#[tokio::test]
async fn person_upserts_read_either_answer_shape() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/person_upserts"))
        .and(body_partial_json(
            json!({"upsert_key": "email_address", "email_address": "ada@example.com"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": {"upsert_type": "update", "person": person(5, T)}
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/person_upserts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": person(6, T)})))
        .expect(1)
        .mount(&server)
        .await;
    let input = PersonInput {
        email_address: Some("ada@example.com".into()),
        ..Default::default()
    };
    let people = client(&server).people();
    let a = people
        .upsert(PersonUpsertKey::EmailAddress, &input)
        .await
        .expect("upsert");
    assert_eq!(
        (a.upsert_type, a.record.id),
        (Some(UpsertType::Update), PersonId(5))
    );
    let b = people
        .upsert(PersonUpsertKey::EmailAddress, &input)
        .await
        .expect("upsert");
    assert_eq!((b.upsert_type, b.record.id), (None, PersonId(6)));
}

#[tokio::test]
async fn enrollment_sends_query_parameters_and_removal_deletes() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/cadence_memberships"))
        .and(query_param("person_id", "164510523"))
        .and(query_param("cadence_id", "1042"))
        .and(query_param("step_id", "3001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": 98765, "added_at": "2024-05-15T10:30:00.000000-04:00",
            "created_at": "2024-05-15T10:30:00.000000-04:00",
            "updated_at": "2024-05-15T10:30:02.481516-04:00",
            "person_deleted": false, "currently_on_cadence": true, "current_state": "staged",
            "cadence": {"id": 1042}, "person": {"id": 164510523}, "user": {"id": 51550},
            "latest_action": null, "counts": {"views": 0}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/cadence_memberships"))
        .and(query_param("person_id", "7"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "errors": {"person": ["is marked do not contact"]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/cadence_memberships/98765"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let memberships = client(&server).cadence_memberships();
    let mut enrollment = Enrollment::new(PersonId(164_510_523), CadenceId(1042));
    enrollment.step_id = Some(salesloft_client::StepId(3001));
    let m = memberships.create(&enrollment).await.expect("enrolled");
    assert_eq!(m.current_state.as_deref(), Some("staged"));
    let refused = memberships
        .create(&Enrollment::new(PersonId(7), CadenceId(1042)))
        .await
        .expect_err("do not contact");
    assert_eq!(
        refused.field_errors().expect("errors")["person"],
        ["is marked do not contact"]
    );
    memberships
        .delete(CadenceMembershipId(98765))
        .await
        .expect("removed");
}

#[tokio::test]
async fn cadences_are_created_through_imports() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/cadence_imports"))
        .and(body_partial_json(
            json!({"settings": {"name": "Q3 outbound"},
                                      "cadence_content": {"step_groups": [{"day": 1}]}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"cadence": {"id": 123}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let import = CadenceImport::new(
        "Q3 outbound",
        vec![
            json!({"day": 1, "due_immediately": false, "automated": false, "reference_id": 1,
                    "steps": [{"enabled": true, "name": "Intro", "type": "Email",
                               "type_settings": {"email_template": {"title": "Intro", "subject": "Hi", "body": "<p>Hi</p>"}}}]}),
        ],
    );
    let id = client(&server)
        .cadences()
        .import(&import)
        .await
        .expect("imported");
    assert_eq!(id, CadenceId(123));
}

#[tokio::test]
async fn calls_and_notes_are_logged() {
    let server = server().await;
    Mock::given(method("POST"))
        .and(path("/v2/activities/calls"))
        .and(body_json(
            json!({"person_id": 5, "duration": 184, "disposition": "Connected"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": 443210, "created_at": "2024-05-17T14:02:11.000000-04:00",
            "updated_at": "2024-05-17T14:05:40.118822-04:00", "to": "7705551234", "duration": 184,
            "disposition": "Connected", "sentiment": null, "recordings": null,
            "called_person": {"id": 5}, "note": null, "cadence": null, "step": null
        }})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/notes"))
        .and(body_json(json!({"content": "Met at the fair", "associated_with_type": "person",
                              "associated_with_id": 5})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "id": 9001, "created_at": "2024-05-17T14:02:11.000000-04:00",
            "updated_at": "2024-05-17T14:02:11.000000-04:00", "content": "Met at the fair",
            "associated_type": "person", "associated_with": {"id": 5}, "user": {"id": 1}, "call": null
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut call = CallInput::new(PersonId(5));
    call.duration = Some(184);
    call.disposition = Some("Connected".into());
    let c = client.calls().create(&call).await.expect("call");
    assert_eq!(c.duration, Some(184));
    assert!(c.recordings.is_empty());
    let n = client
        .notes()
        .create(&NoteInput::new("Met at the fair", NoteTarget::Person, 5))
        .await
        .expect("note");
    assert_eq!(n.associated_type.as_deref(), Some("person"));
}

#[tokio::test]
async fn webhook_subscriptions_round_trip_with_or_without_envelope() {
    let server = server().await;
    let sub = json!({"id": 1, "callback_url": "https://example.com/hook",
                     "callback_token": "tok-secret-123", "event_type": "person_updated",
                     "enabled": true, "tenant_id": 16,
                     "user_guid": "51398ccd-309e-467f-aae2-4b0f66b5c11d"});
    Mock::given(method("POST"))
        .and(path("/v2/webhook_subscriptions"))
        .and(body_json(
            json!({"callback_url": "https://example.com/hook",
                              "callback_token": "tok-secret-123", "event_type": "person_updated"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(sub.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/webhook_subscriptions"))
        .and(query_param("enabled", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [sub.clone()]})))
        .expect(1)
        .mount(&server)
        .await;
    let mut disabled = sub.clone();
    disabled["enabled"] = json!(false);
    Mock::given(method("PUT"))
        .and(path("/v2/webhook_subscriptions/1"))
        .and(body_json(json!({"enabled": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": disabled})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/webhook_subscriptions/1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let subs = client(&server).webhook_subscriptions();
    let created = subs
        .create(&WebhookSubscriptionInput {
            callback_url: "https://example.com/hook".into(),
            callback_token: "tok-secret-123".to_owned().into(),
            event_type: "person_updated".into(),
        })
        .await
        .expect("bare answer accepted");
    assert_eq!(created.id, WebhookSubscriptionId(1));
    assert!(!format!("{created:?}").contains("tok-secret-123"));
    let listed = subs.list(Some(true)).await.expect("list");
    assert_eq!(listed.len(), 1);
    let off = subs
        .set_enabled(WebhookSubscriptionId(1), false)
        .await
        .expect("disable");
    assert_eq!(off.enabled, Some(false));
    subs.delete(WebhookSubscriptionId(1)).await.expect("delete");
}
