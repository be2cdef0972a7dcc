//! Activity on people: e-mails, calls and notes.

use std::collections::HashMap;

use salesloft_client::models::EmailCounts;
use salesloft_client::{
    CadenceId, Call, CallId, Email, EmailId, Note, NoteId, Person, Ref, StepId, UserId,
};
use serde_json::json;

use super::size::{FIRST_CALL_ID, FIRST_EMAIL_ID, FIRST_NOTE_ID, TeamSize};
use super::tools::{Gen, href, r, tie_groups, tie_instant};
use super::words::{DISPOSITIONS, EMAIL_STATUSES, SENTIMENTS};

/// E-mails to `people`, on the first cadence and step each person is on.
pub(crate) fn emails(
    g: &mut Gen,
    size: &TeamSize,
    people: &[Person],
    steps_by_cadence: &HashMap<i64, Vec<i64>>,
) -> Vec<Email> {
    let mut out = Vec::new();
    let email_ties = tie_groups(size.emails, g);
    for i in 0..size.emails {
        if people.is_empty() {
            break;
        }
        let person = &people[g.rng.usize(..people.len())];
        let created = g.created();
        let sent_at = created + g.rng.i64(1_000_000..60_000_000);
        let updated = tie_instant(&email_ties, i)
            .filter(|t| *t >= sent_at)
            .unwrap_or_else(|| g.updated_after(sent_at));
        let views = g.rng.i64(0..4);
        let bounced = g.chance(0.02);
        let cadence = person.cadences.first().map(|c| c.id.0);
        let step = cadence
            .and_then(|c| steps_by_cadence.get(&c))
            .and_then(|s| s.first().copied());
        out.push(Email {
            id: EmailId(FIRST_EMAIL_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            recipient_email_address: person.email_address.clone(),
            status: Some((*g.pick(EMAIL_STATUSES)).to_owned()),
            bounced: Some(bounced),
            send_after: None,
            sent_at: Some(g.ts(sent_at)),
            click_tracking: Some(true),
            view_tracking: Some(true),
            personalization: Some(format!("{:.1}", g.rng.f64() * 30.0)),
            subject: None,
            error_message: None,
            headers: Some(json!({"cc": null, "bcc": null})),
            counts: Some(EmailCounts {
                clicks: Some(if views > 1 { g.rng.i64(0..2) } else { 0 }),
                views: Some(views),
                replies: Some(if views > 2 { 1 } else { 0 }),
                unique_devices: Some(views.min(1)),
                unique_locations: Some(views.min(1)),
                attachments: Some(0),
                extra: Default::default(),
            }),
            user: person.owner.clone(),
            recipient: Some(r("people", person.id)),
            mailing: Some(Ref {
                id: 77_000 + i as i64,
                href: None,
            }),
            action: None,
            crm_activity: None,
            cadence: cadence.map(|c| r("cadences", CadenceId(c))),
            step: step.map(|s| r("steps", StepId(s))),
            email_template: None,
            task: None,
            extra: Default::default(),
        });
    }
    out
}

/// Calls to `people`.
pub(crate) fn calls(g: &mut Gen, size: &TeamSize, people: &[Person]) -> Vec<Call> {
    let mut out = Vec::new();
    for i in 0..size.calls {
        if people.is_empty() {
            break;
        }
        let person = &people[g.rng.usize(..people.len())];
        let created = g.created();
        let updated = created + g.rng.i64(0..600_000_000);
        out.push(Call {
            id: CallId(FIRST_CALL_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            to: person.phone.clone(),
            duration: Some(g.rng.i64(0..900)),
            disposition: Some((*g.pick(DISPOSITIONS)).to_owned()),
            sentiment: g.maybe(0.6, |g| (*g.pick(SENTIMENTS)).to_owned()),
            recordings: Vec::new(),
            user: person.owner.clone(),
            action: None,
            called_person: Some(r("people", person.id)),
            crm_activity: None,
            note: None,
            cadence: None,
            step: None,
            extra: Default::default(),
        });
    }
    out
}

/// Notes on `people`, by one of `user_ids`.
pub(crate) fn notes(
    g: &mut Gen,
    size: &TeamSize,
    people: &[Person],
    user_ids: &[i64],
) -> Vec<Note> {
    let mut out = Vec::new();
    for i in 0..size.notes {
        if people.is_empty() {
            break;
        }
        let person = people[g.rng.usize(..people.len())].id;
        let created = g.created();
        let updated = g.updated_after(created);
        let user = *g.pick(user_ids);
        out.push(Note {
            id: NoteId(FIRST_NOTE_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            content: Some(format!(
                "Spoke about {}",
                g.pick(&["pricing", "the renewal", "a pilot", "security review"])
            )),
            associated_type: Some("person".into()),
            associated_with: Some(Ref {
                id: person.0,
                href: href("people", person.0),
            }),
            user: Some(r("users", UserId(user))),
            call: None,
            extra: Default::default(),
        });
    }
    out
}
