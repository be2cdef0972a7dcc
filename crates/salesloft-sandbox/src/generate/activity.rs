//! Activity on people: e-mails, calls and notes.

use std::collections::HashMap;

use chrono::TimeZone;
use chrono_tz::Tz;
use salesloft_model::models::EmailCounts;
use salesloft_model::{
    CadenceId, Call, CallId, Email, EmailId, Note, NoteId, Person, Ref, StepId, UserId,
};
use salesloft_model::{Timestamp, User};
use serde_json::json;

use super::size::{FIRST_CALL_ID, FIRST_EMAIL_ID, FIRST_NOTE_ID, TeamSize};
use super::tools::{Gen, href, r, tie_groups, tie_instant, ts};
use super::words::{DISPOSITIONS, EMAIL_STATUSES, SENTIMENTS};

/// Every 20th e-mail is sent, and every 20th call made, at the first instant of its local day
/// in its user's time zone (UTC for a user without one), the next one a microsecond before
/// (the last instant of the day before), and the two after those at the first and the last
/// instant of the latest earlier day that had a DST change (23 or 25 hours long) in that zone:
/// where a day found in the wrong zone, or by a fixed offset, goes wrong. Instants only move
/// earlier, so each record's `updated_at` stays after them.
pub(crate) fn at_local_midnights(users: &[User], emails: &mut [Email], calls: &mut [Call]) {
    let zones: HashMap<i64, Tz> = users
        .iter()
        .filter_map(|u| Some((u.id.0, u.time_zone.as_deref()?.parse().ok()?)))
        .collect();
    let snap = |user: &Option<Ref<UserId>>, at: &Timestamp, i: usize| -> Option<Timestamp> {
        let zone = user
            .as_ref()
            .and_then(|u| zones.get(&u.id.0))
            .copied()
            .unwrap_or(Tz::UTC);
        let start = |day: chrono::NaiveDate| {
            zone.from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
                .earliest()
                .map(|t| t.timestamp_micros())
        };
        let mut day = at.with_timezone(&zone).date_naive();
        if i % 20 >= 2 {
            // The latest earlier day that was not 24 hours long, within a year.
            day = (1..=366).find_map(|back| {
                let d = day.checked_sub_days(chrono::Days::new(back))?;
                let next = d.succ_opt()?;
                (start(next)? - start(d)? != 86_400_000_000).then_some(d)
            })?;
        }
        let us = match i % 20 {
            0 | 2 => start(day)?,
            _ if i % 20 == 1 => start(day)? - 1,
            _ => start(day.succ_opt()?)? - 1,
        };
        Some(ts(us, *at.offset()))
    };
    for (i, e) in emails.iter_mut().enumerate().filter(|(i, _)| i % 20 < 4) {
        if let Some(sent) = e.sent_at.as_ref().and_then(|t| snap(&e.user, t, i)) {
            e.created_at = e.created_at.min(sent);
            e.sent_at = Some(sent);
        }
    }
    for (i, c) in calls.iter_mut().enumerate().filter(|(i, _)| i % 20 < 4) {
        if let Some(made) = snap(&c.user, &c.created_at, i) {
            c.created_at = made;
        }
    }
}

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
        let status = *g.pick(EMAIL_STATUSES);
        let cadence = person.cadences.first().map(|c| c.id.0);
        let step = cadence
            .and_then(|c| steps_by_cadence.get(&c))
            .and_then(|s| s.first().copied());
        out.push(Email {
            id: EmailId(FIRST_EMAIL_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            recipient_email_address: person.email_address.clone(),
            status: Some(status.to_owned()),
            bounced: Some(bounced),
            send_after: None,
            // Still delivering: not sent yet.
            sent_at: (status != "delivering").then(|| g.ts(sent_at)),
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
