//! The activity feed, e-mail templates, imports and the CRM's view of the team, derived from
//! the rest: a feed entry per note and per success, a CRM user for four users in five, an
//! import per 500 people, and (with the definition lists) a dozen e-mail templates and the
//! CRM's activity fields.

use std::collections::HashMap;

use salesloft_model::models::Extra;
use salesloft_model::{
    ActivityHistory, ActivityHistoryId, CrmActivityField, CrmActivityFieldId, CrmUser, CrmUserId,
    EmailTemplate, EmailTemplateId, Import, ImportId, Note, Success, User,
};
use serde_json::json;

use super::size::{
    FIRST_ACTIVITY_HISTORY_ID, FIRST_CRM_ACTIVITY_FIELD_ID, FIRST_CRM_USER_ID,
    FIRST_EMAIL_TEMPLATE_ID, FIRST_IMPORT_ID,
};
use super::tools::Gen;

/// The records this module generates.
#[derive(Debug, Default)]
pub struct Feed {
    /// Activity feed entries.
    pub activity_histories: Vec<ActivityHistory>,
    /// E-mail templates.
    pub email_templates: Vec<EmailTemplate>,
    /// Imports.
    pub imports: Vec<Import>,
    /// CRM users.
    pub crm_users: Vec<CrmUser>,
    /// CRM activity fields.
    pub crm_activity_fields: Vec<CrmActivityField>,
}

/// What the feed is derived from.
pub(crate) struct FeedSources<'a> {
    pub(crate) users: &'a [User],
    pub(crate) people: usize,
    pub(crate) notes: &'a [Note],
    pub(crate) successes: &'a [Success],
    pub(crate) definitions: bool,
}

pub(crate) fn feed(g: &mut Gen, from: &FeedSources<'_>) -> Feed {
    Feed {
        activity_histories: activity_histories(g, from),
        email_templates: if from.definitions {
            email_templates(g, from.users)
        } else {
            Vec::new()
        },
        imports: imports(g, from.people),
        crm_users: crm_users(g, from.users),
        crm_activity_fields: if from.definitions {
            crm_activity_fields(g)
        } else {
            Vec::new()
        },
    }
}

fn activity_histories(g: &mut Gen, from: &FeedSources<'_>) -> Vec<ActivityHistory> {
    let guids: HashMap<i64, Option<String>> = from
        .users
        .iter()
        .map(|u| (u.id.0, u.guid.clone()))
        .collect();
    let guid = |user: Option<i64>| user.and_then(|u| guids.get(&u).cloned().flatten());
    let mut out = Vec::new();
    let mut push = |g: &mut Gen, kind: &str, at, person: Option<i64>, user: Option<i64>| {
        let id = ActivityHistoryId(FIRST_ACTIVITY_HISTORY_ID + out.len() as i64);
        out.push(ActivityHistory {
            id,
            created_at: at,
            updated_at: at,
            activity_type: Some(kind.to_owned()),
            occurred_at: Some(at),
            pinned_at: g.maybe(0.02, |_| at),
            resource_id: person,
            resource_type: Some(json!("person")),
            user_guid: guid(user),
            static_data: Extra::new(),
            dynamic_data: Extra::new(),
            extra: Extra::new(),
        });
    };
    for n in from.notes {
        if n.associated_type.as_deref() == Some("person") {
            let person = n.associated_with.as_ref().map(|r| r.id);
            push(
                g,
                "note",
                n.created_at,
                person,
                n.user.as_ref().map(|u| u.id.0),
            );
        }
    }
    for s in from.successes {
        let person = s.person.as_ref().map(|p| p.id.0);
        let at = s.succeeded_at.unwrap_or(s.created_at);
        push(g, "success", at, person, s.user.as_ref().map(|u| u.id.0));
    }
    out
}

const TEMPLATE_TITLES: &[&str] = &[
    "Intro",
    "Follow up",
    "Breakup",
    "Case study",
    "Pricing",
    "Event invite",
];

fn email_templates(g: &mut Gen, users: &[User]) -> Vec<EmailTemplate> {
    (0..12)
        .map(|i| {
            let created = g.created();
            let updated = g.updated_after(created);
            let title = TEMPLATE_TITLES[i % TEMPLATE_TITLES.len()];
            let owner = &users[i % users.len().max(1)];
            EmailTemplate {
                id: EmailTemplateId(FIRST_EMAIL_TEMPLATE_ID + i as i64),
                created_at: g.ts(created),
                updated_at: g.ts(updated),
                title: Some(format!("{title} {}", i + 1)),
                subject: Some(format!("{title}: {{{{first_name}}}}")),
                body: Some(format!("<p>Hi {{{{first_name}}}}, {title}.</p>")),
                archived_at: (i % 6 == 5).then(|| g.ts(updated)),
                last_used_at: g.maybe(0.7, |g| g.ts(updated)),
                cadence_template: Some(i % 4 == 3),
                shared: Some(i % 2 == 0),
                tags: Vec::new(),
                template_owner: Some(super::r("users", owner.id)),
                counts: Some(
                    json!({"sent_emails": g.rng.i64(0..500), "views": 0, "clicks": 0,
                                    "replies": 0, "bounces": 0}),
                ),
                extra: Extra::new(),
            }
        })
        .collect()
}

fn imports(g: &mut Gen, people: usize) -> Vec<Import> {
    (0..people.div_ceil(500))
        .map(|i| {
            let created = g.created();
            let updated = g.updated_after(created);
            let imported = g.rng.i64(50..500);
            Import {
                id: ImportId(FIRST_IMPORT_ID + i as i64),
                created_at: g.ts(created),
                updated_at: g.ts(updated),
                name: Some(format!("List upload {}", i + 1)),
                imported_people_count: Some(imported),
                current_people_count: Some(imported - g.rng.i64(0..10).min(imported)),
                extra: Extra::new(),
            }
        })
        .collect()
}

fn crm_users(g: &mut Gen, users: &[User]) -> Vec<CrmUser> {
    let mut out = Vec::new();
    for u in users {
        if !g.chance(0.8) {
            continue;
        }
        out.push(CrmUser {
            id: CrmUserId(FIRST_CRM_USER_ID + out.len() as i64),
            created_at: u.created_at,
            updated_at: u.created_at,
            crm_id: Some(format!("005{:012}", g.rng.u64(..1_000_000_000_000))),
            user: Some(super::r("users", u.id)),
            extra: Extra::new(),
        });
    }
    out
}

const CRM_FIELDS: &[(&str, &str, &str, &str)] = &[
    ("Call result", "CallDisposition", "picklist", "Call"),
    ("Call type", "CallType", "picklist", "Call"),
    ("Subject", "Subject", "string", "Email"),
    ("Priority", "Priority", "picklist", "Email"),
    ("Comments", "Description", "string", "Call"),
];

fn crm_activity_fields(g: &mut Gen) -> Vec<CrmActivityField> {
    (0..)
        .zip(CRM_FIELDS)
        .map(|(i, (title, field, field_type, source))| {
            let created = g.created();
            CrmActivityField {
                id: CrmActivityFieldId(FIRST_CRM_ACTIVITY_FIELD_ID + i),
                created_at: g.ts(created),
                updated_at: g.ts(created),
                title: Some((*title).to_owned()),
                field: Some((*field).to_owned()),
                field_type: Some((*field_type).to_owned()),
                crm_object_type: Some("Task".into()),
                salesforce_object_type: Some("Task".into()),
                source: Some((*source).to_owned()),
                value: None,
                picklist_values: (*field_type == "picklist")
                    .then(|| json!({"Connected": "Connected", "Left Voicemail": "Left Voicemail"})),
                extra: Extra::new(),
            }
        })
        .collect()
}
