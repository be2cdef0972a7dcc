//! The live simulator: a team at work. People are edited, e-mails sent, opened, clicked,
//! replied to and bounced, calls placed on the dialer and logged, memberships advance, people
//! succeed, a few people are deleted, and every change emits its webhooks, as in a real team.

use salesloft_model::models::EmailCounts;
use salesloft_model::resource::{ACTIONS, CALL_DATA_RECORDS, SUCCESSES, TASKS};
use salesloft_model::{
    CadenceMembership, Call, CallDataRecord, CallDataRecordId, Email, EmailId, Person, Ref,
    Success, SuccessId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

use crate::error::ApiError;
use crate::generate::r;
use crate::store::Kind;
use crate::world::{Event, World};

/// What the simulator can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Change a person's title.
    EditPerson,
    /// Send an e-mail to a person.
    SendEmail,
    /// Someone opens an e-mail.
    OpenEmail,
    /// Someone clicks a link in an e-mail.
    ClickEmail,
    /// Someone replies to an e-mail.
    ReplyEmail,
    /// An e-mail bounces.
    BounceEmail,
    /// A call is placed on the dialer (its call data record) and logged.
    LogCall,
    /// A person reaches the team's success event.
    Succeed,
    /// A rep completes a pending action (SalesLoft sends no webhook for it).
    CompleteStep,
    /// A rep completes a scheduled task (`task_completed`).
    CompleteTask,
    /// A membership moves to its next state.
    AdvanceMembership,
    /// A person is deleted.
    DeletePerson,
    /// Many people are changed at once, all with one `updated_at` (a bulk update: a tie group
    /// larger than a page).
    BulkUpdatePeople,
    /// A person's change commits late: its `updated_at` is up to 1.5 s in the past.
    LateCommitPerson,
}

/// Relative frequency of each action in a simulated team.
const WEIGHTS: &[(Action, u32)] = &[
    (Action::EditPerson, 25),
    (Action::SendEmail, 20),
    (Action::OpenEmail, 20),
    (Action::ClickEmail, 8),
    (Action::ReplyEmail, 5),
    (Action::BounceEmail, 2),
    (Action::LogCall, 10),
    (Action::Succeed, 2),
    (Action::CompleteStep, 4),
    (Action::CompleteTask, 2),
    (Action::AdvanceMembership, 9),
    (Action::DeletePerson, 1),
    (Action::LateCommitPerson, 2),
];

/// How often a bulk update happens among the other actions, when enabled (see
/// [`SimulatorConfig::bulk_updates`]): one in this many.
const BULK_ONE_IN: u32 = 150;

/// Settings of the live simulator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimulatorConfig {
    /// Changes per second.
    pub events_per_second: f64,
    /// Seed of its dice.
    pub seed: u64,
    /// Whether bulk updates (100 to 400 people sharing one `updated_at`) happen too.
    pub bulk_updates: bool,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            events_per_second: 5.0,
            seed: 42,
            bulk_updates: false,
        }
    }
}

/// A random action, by the weights of a real team, bulk updates included when asked.
pub fn pick_with(rng: &mut fastrand::Rng, bulk_updates: bool) -> Action {
    if bulk_updates && rng.u32(0..BULK_ONE_IN) == 0 {
        return Action::BulkUpdatePeople;
    }
    pick(rng)
}

/// A random action, by the weights of a real team.
pub fn pick(rng: &mut fastrand::Rng) -> Action {
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.u32(0..total);
    for (a, w) in WEIGHTS {
        if roll < *w {
            return *a;
        }
        roll -= w;
    }
    Action::EditPerson
}

const TITLES: &[&str] = &[
    "VP of Sales",
    "CRO",
    "Head of Growth",
    "Account Director",
    "CTO",
];

/// Apply `action` once; the events it caused. An action with nothing to act on (no people
/// yet) does nothing.
pub fn apply(
    world: &mut World,
    action: Action,
    rng: &mut fastrand::Rng,
) -> Result<Vec<Event>, ApiError> {
    // Both draws happen for every action, so a seed replays the same team.
    let person = world.collection(Kind::PEOPLE).random_id(rng);
    let email = world.collection(Kind::EMAILS).random_id(rng);
    match (action, person, email) {
        (
            Action::OpenEmail | Action::ClickEmail | Action::ReplyEmail | Action::BounceEmail,
            _,
            Some(id),
        ) => email_event(world, id, action),
        (Action::AdvanceMembership, _, _) => advance_membership(world, rng),
        (Action::EditPerson, Some(id), _) => {
            let title = TITLES[rng.usize(..TITLES.len())].to_owned();
            Ok(world.touch_person(id, |p| p.title = Some(title))?.1)
        }
        (Action::SendEmail, Some(id), _) => send_email(world, id),
        (Action::LogCall, Some(id), _) => {
            let mut input = Map::new();
            input.insert("person_id".into(), json!(id));
            input.insert("duration".into(), json!(rng.i64(0..900)));
            input.insert("disposition".into(), json!("Connected"));
            let (body, mut events) = world.create_call(&input)?;
            events.extend(dialer_record(world, &body)?);
            Ok(events)
        }
        (Action::Succeed, Some(id), _) => succeed(world, id),
        (Action::CompleteStep, _, _) => complete_step(world, rng),
        (Action::CompleteTask, _, _) => complete_task(world, rng),
        (Action::DeletePerson, Some(id), _) => world.delete_person(id),
        (Action::BulkUpdatePeople, Some(first), _) => {
            let size = rng.usize(100..=400);
            let ids = world.ids_from(Kind::PEOPLE, first, size);
            let at = world.now();
            world.retime(Kind::PEOPLE, &ids, at)
        }
        (Action::LateCommitPerson, Some(id), _) => late_commit(world, id, rng),
        // Nothing to act on.
        _ => Ok(Vec::new()),
    }
}

/// The dialer's record of the call logged as `call_body`: `call_data_record_created`.
fn dialer_record(world: &mut World, call_body: &[u8]) -> Result<Vec<Event>, ApiError> {
    let call: Call =
        serde_json::from_slice(call_body).map_err(|e| ApiError::invalid("call", &e.to_string()))?;
    let kind = Kind::of(&CALL_DATA_RECORDS);
    let id = world.allocate(kind);
    let record = CallDataRecord {
        id: CallDataRecordId(id),
        created_at: call.created_at,
        updated_at: call.created_at,
        call_uuid: Some(format!("sim-{id}")),
        call_type: Some("call".into()),
        direction: Some("outbound".into()),
        status: Some("completed".into()),
        to: call.to.clone(),
        from: Some("+14155550100".into()),
        duration: call.duration,
        recording: None,
        user: call.user.clone(),
        called_person: call.called_person.clone(),
        call: Some(r("activities/calls", call.id)),
        extra: Map::new(),
    };
    let body = world.save(kind, &record)?;
    Ok(vec![Event {
        event_type: "call_data_record_created".into(),
        body,
    }])
}

/// A random pending action completed now. SalesLoft announces no action changes: the
/// change is only seen by reading the list, so no event is emitted.
fn complete_step(world: &mut World, rng: &mut fastrand::Rng) -> Result<Vec<Event>, ApiError> {
    let kind = Kind::of(&ACTIONS);
    let Some(id) = world.collection(kind).random_id(rng) else {
        return Ok(Vec::new());
    };
    let mut action: salesloft_model::Action = world.record(kind, id)?;
    if action.status.as_deref() == Some("completed") {
        return Ok(Vec::new());
    }
    action.status = Some("completed".into());
    action.due = Some(false);
    action.updated_at = world.now();
    world.save(kind, &action)?;
    Ok(Vec::new())
}

/// A random scheduled task completed now: `task_completed`.
fn complete_task(world: &mut World, rng: &mut fastrand::Rng) -> Result<Vec<Event>, ApiError> {
    let Some(id) = world.collection(Kind::of(&TASKS)).random_id(rng) else {
        return Ok(Vec::new());
    };
    let mut input = Map::new();
    input.insert("current_state".into(), json!("completed"));
    Ok(world.update_task(id, &input)?.1)
}

/// Person `id` succeeds now: `success_created`.
fn succeed(world: &mut World, id: i64) -> Result<Vec<Event>, ApiError> {
    let p: Person = world.record(Kind::PEOPLE, id)?;
    let kind = Kind::of(&SUCCESSES);
    let now = world.now();
    let success = Success {
        id: SuccessId(world.allocate(kind)),
        created_at: now,
        updated_at: now,
        succeeded_at: Some(now),
        success_window_started_at: p.last_contacted_at,
        counts: Some(json!({"total_calls": 0, "total_emails": 1, "total_other_touches": 0})),
        person: Some(r("people", p.id)),
        user: p.owner.clone(),
        latest_cadence: p.cadences.first().cloned(),
        latest_step: None,
        latest_email: None,
        latest_call: None,
        latest_action: None,
        extra: Map::new(),
    };
    let body = world.save(kind, &success)?;
    Ok(vec![Event {
        event_type: "success_created".into(),
        body,
    }])
}

/// A new e-mail sent to person `id` (none to a person who must not be contacted), and the
/// person's counts and last contact.
fn send_email(world: &mut World, id: i64) -> Result<Vec<Event>, ApiError> {
    let p: Person = world.record(Kind::PEOPLE, id)?;
    if p.do_not_contact == Some(true) {
        return Ok(Vec::new());
    }
    let now = world.now();
    let eid = world.allocate(Kind::EMAILS);
    let e = sent_email(EmailId(eid), &p, now);
    let body = world.save_email(&e)?;
    let mut events = vec![Event {
        event_type: "email_updated".into(),
        body,
    }];
    events.extend(
        world
            .touch_person(id, |p| {
                if let Some(c) = p.counts.as_mut() {
                    c.emails_sent = Some(c.emails_sent.unwrap_or(0) + 1);
                }
                p.last_contacted_at = Some(now);
                p.last_contacted_type = Some("email".into());
                p.untouched = Some(false);
            })?
            .1,
    );
    Ok(events)
}

/// An e-mail `id` just sent to person `p` at `now`, with zero counts.
fn sent_email(id: EmailId, p: &Person, now: salesloft_model::Timestamp) -> Email {
    Email {
        id,
        created_at: now,
        updated_at: now,
        recipient_email_address: p.email_address.clone(),
        status: Some("sent".into()),
        bounced: Some(false),
        send_after: None,
        sent_at: Some(now),
        click_tracking: Some(true),
        view_tracking: Some(true),
        personalization: Some("10.0".into()),
        subject: None,
        error_message: None,
        headers: Some(json!({"cc": null, "bcc": null})),
        counts: Some(EmailCounts {
            clicks: Some(0),
            views: Some(0),
            replies: Some(0),
            unique_devices: Some(0),
            unique_locations: Some(0),
            attachments: Some(0),
            extra: Map::new(),
        }),
        user: p.owner.clone(),
        recipient: Some(r("people", p.id)),
        mailing: Some(Ref {
            id: id.0,
            href: None,
        }),
        action: None,
        crm_activity: None,
        cadence: p.cadences.first().cloned(),
        step: None,
        email_template: None,
        task: None,
        extra: Map::new(),
    }
}

/// E-mail `id` opened, clicked, replied to or bounced.
fn email_event(world: &mut World, id: i64, action: Action) -> Result<Vec<Event>, ApiError> {
    let mut e: Email = world.record(Kind::EMAILS, id)?;
    let counts = e.counts.get_or_insert_with(Default::default);
    let bump = |v: &mut Option<i64>| *v = Some(v.unwrap_or(0) + 1);
    match action {
        Action::OpenEmail => bump(&mut counts.views),
        Action::ClickEmail => {
            bump(&mut counts.views);
            bump(&mut counts.clicks);
        }
        Action::ReplyEmail => bump(&mut counts.replies),
        _ => e.bounced = Some(true),
    }
    e.updated_at = world.now();
    let body = world.save_email(&e)?;
    Ok(vec![Event {
        event_type: "email_updated".into(),
        body,
    }])
}

/// A random membership on its cadence moves to its next state; a completed one leaves the
/// person's cadences.
fn advance_membership(world: &mut World, rng: &mut fastrand::Rng) -> Result<Vec<Event>, ApiError> {
    let Some(id) = world.collection(Kind::CADENCE_MEMBERSHIPS).random_id(rng) else {
        return Ok(Vec::new());
    };
    let mut m: CadenceMembership = world.record(Kind::CADENCE_MEMBERSHIPS, id)?;
    if m.currently_on_cadence != Some(true) {
        return Ok(Vec::new());
    }
    let next = match m.current_state.as_deref() {
        Some("staged") => "active",
        Some("active") => "scheduled",
        _ => "completed",
    };
    m.current_state = Some(next.into());
    m.updated_at = world.now();
    let mut events = Vec::new();
    if next == "completed" {
        m.currently_on_cadence = Some(false);
        if let (Some(p), Some(c)) = (m.person.clone(), m.cadence.clone())
            && world.collection(Kind::PEOPLE).contains(p.id.0)
        {
            events.extend(
                world
                    .touch_person(p.id.0, |p| p.cadences.retain(|x| x.id != c.id))?
                    .1,
            );
        }
    }
    let body = world.save_membership(&m)?;
    events.insert(
        0,
        Event {
            event_type: "cadence_membership_updated".into(),
            body,
        },
    );
    Ok(events)
}

/// Person `id` changes with an `updated_at` up to 1.5 s in the past, but still after the
/// version it replaces: a record's own versions only move forward.
fn late_commit(
    world: &mut World,
    id: i64,
    rng: &mut fastrand::Rng,
) -> Result<Vec<Event>, ApiError> {
    let now = world.now();
    let current = world
        .collection(Kind::PEOPLE)
        .get(id)
        .map_or(i64::MIN, |d| d.updated_us);
    let behind = now - chrono::Duration::microseconds(rng.i64(1_000..1_500_000));
    let at = if behind.timestamp_micros() > current {
        behind
    } else {
        now
    };
    world.retime(Kind::PEOPLE, &[id], at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::TeamSize;

    #[test]
    fn every_action_changes_the_world_and_emits_events() {
        let offset = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        let mut w = World::generate(5, TeamSize::default(), offset, crate::TEAM_ID).unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        for (action, _) in WEIGHTS {
            let before = w.snapshot();
            let mut emitted = 0;
            for _ in 0..20 {
                emitted += apply(&mut w, *action, &mut rng).unwrap().len();
            }
            assert!(w.snapshot() != before, "{action:?} changed nothing");
            // SalesLoft announces no change of an action.
            let announced = *action != Action::CompleteStep;
            assert_eq!(emitted > 0, announced, "{action:?} emitted {emitted}");
        }
    }
}
