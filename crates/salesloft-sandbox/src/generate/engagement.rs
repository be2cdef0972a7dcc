//! What happens around the cadences beyond e-mails and calls, derived from the records it is
//! about: a success for one person in 20 who was e-mailed or called, a call data record for
//! every call (one in ten not linked to its call activity), a CRM activity for
//! one call in three, the next action of each person still on a cadence and a completed one
//! for each person who left one, and a task for one person in three (two in five of them
//! completed).

use std::collections::HashMap;

use salesloft_model::models::Extra;
use salesloft_model::{
    Action, ActionId, CadenceMembership, Call, CallDataRecord, CallDataRecordId, CrmActivity,
    CrmActivityId, Email, Person, Step, Success, SuccessId, Task, TaskId,
};
use serde_json::json;

use super::size::{
    FIRST_ACTION_ID, FIRST_CALL_DATA_RECORD_ID, FIRST_CRM_ACTIVITY_ID, FIRST_SUCCESS_ID,
    FIRST_TASK_ID, HISTORY_SPAN_US, HISTORY_START_US,
};
use super::tools::{Gen, guid, r};

/// The records this module generates.
#[derive(Debug, Default)]
pub struct Engagement {
    /// Successes.
    pub successes: Vec<Success>,
    /// Call data records.
    pub call_data_records: Vec<CallDataRecord>,
    /// CRM activities.
    pub crm_activities: Vec<CrmActivity>,
    /// Actions.
    pub actions: Vec<Action>,
    /// Tasks.
    pub tasks: Vec<Task>,
}

/// The records generated so far that this module derives from.
pub(crate) struct Sources<'a> {
    pub(crate) people: &'a [Person],
    pub(crate) emails: &'a [Email],
    pub(crate) calls: &'a [Call],
    pub(crate) memberships: &'a [CadenceMembership],
    pub(crate) steps: &'a [Step],
}

pub(crate) fn engagement(g: &mut Gen, from: &Sources<'_>) -> Engagement {
    Engagement {
        successes: successes(g, from),
        call_data_records: call_data_records(g, from.calls),
        crm_activities: crm_activities(g, from.calls),
        actions: actions(g, from.memberships, from.steps),
        tasks: tasks(g, from.people),
    }
}

/// An instant `secs` seconds after `us`, inside the history.
fn after(us: i64, secs: i64) -> i64 {
    (us + secs * 1_000_000).min(HISTORY_START_US + HISTORY_SPAN_US)
}

fn successes(g: &mut Gen, from: &Sources<'_>) -> Vec<Success> {
    let mut last_email = HashMap::new();
    for e in from.emails {
        if let (Some(p), Some(sent)) = (&e.recipient, &e.sent_at) {
            last_email.insert(p.id, (e.id, e.cadence.clone(), e.step.clone(), *sent));
        }
    }
    let mut last_call = HashMap::new();
    for c in from.calls {
        if let Some(p) = &c.called_person {
            last_call.insert(p.id, (c.id, c.created_at));
        }
    }
    let mut out = Vec::new();
    for person in from.people {
        let email = last_email.get(&person.id);
        let call = last_call.get(&person.id);
        if (email.is_none() && call.is_none()) || !g.chance(0.05) {
            continue;
        }
        let touched = email
            .map(|e| e.3.timestamp_micros())
            .max(call.map(|c| c.1.timestamp_micros()))
            .unwrap_or(HISTORY_START_US);
        let succeeded = after(touched, g.rng.i64(600..86_400 * 3));
        let created = after(succeeded, g.rng.i64(1..120));
        let updated = if g.chance(0.2) {
            g.updated_after(created)
        } else {
            created
        };
        out.push(Success {
            id: SuccessId(FIRST_SUCCESS_ID + out.len() as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            succeeded_at: Some(g.ts(succeeded)),
            success_window_started_at: Some(g.ts(touched - 14 * 86_400_000_000)),
            counts: Some(json!({
                "total_calls": i64::from(call.is_some()),
                "total_emails": i64::from(email.is_some()),
                "total_other_touches": g.rng.i64(0..3),
            })),
            person: Some(r("people", person.id)),
            user: person.owner.clone(),
            latest_cadence: email.and_then(|e| e.1.clone()),
            latest_step: email.and_then(|e| e.2.clone()),
            latest_email: email.map(|e| r("activities/emails", e.0)),
            latest_call: call.map(|c| r("activities/calls", c.0)),
            latest_action: None,
            extra: Extra::new(),
        });
    }
    out
}

const DIALER_STATUSES: &[&str] = &["completed", "no-answer", "busy", "failed"];

fn call_data_records(g: &mut Gen, calls: &[Call]) -> Vec<CallDataRecord> {
    let mut out = Vec::with_capacity(calls.len() + calls.len() / 10);
    for call in calls {
        let logged = !g.chance(0.1);
        let placed = call.created_at.timestamp_micros() - g.rng.i64(1..600) * 1_000_000;
        let status = if call.duration.unwrap_or(0) > 0 {
            "completed"
        } else {
            *g.pick(DIALER_STATUSES)
        };
        let id = CallDataRecordId(FIRST_CALL_DATA_RECORD_ID + out.len() as i64);
        out.push(CallDataRecord {
            id,
            created_at: g.ts(placed),
            updated_at: call.created_at,
            call_uuid: Some(guid(&mut g.rng)),
            call_type: Some("call".into()),
            direction: Some(if g.chance(0.9) { "outbound" } else { "inbound" }.into()),
            status: Some(status.into()),
            to: call.to.clone(),
            from: Some(format!("+1415555{:04}", g.rng.u32(0..10_000))),
            duration: call.duration,
            recording: g.maybe(0.4, |g| {
                json!({"url": format!("https://recordings.example.com/{}", guid(&mut g.rng)),
                       "status": "completed", "recording_status": "completed"})
            }),
            user: call.user.clone(),
            called_person: call.called_person.clone(),
            call: logged.then(|| r("activities/calls", call.id)),
            extra: Extra::new(),
        });
    }
    out
}

fn crm_activities(g: &mut Gen, calls: &[Call]) -> Vec<CrmActivity> {
    let mut out = Vec::new();
    for call in calls {
        if !g.chance(0.33) {
            continue;
        }
        let created = after(call.created_at.timestamp_micros(), g.rng.i64(1..300));
        let failed = g.chance(0.05);
        let updated = after(created, g.rng.i64(0..60));
        out.push(CrmActivity {
            id: CrmActivityId(FIRST_CRM_ACTIVITY_ID + out.len() as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            activity_type: Some("phone".into()),
            subject: Some(format!(
                "Call: {}",
                call.disposition.as_deref().unwrap_or("Logged")
            )),
            description: g.maybe(0.5, |_| "Logged by SalesLoft".to_owned()),
            crm_id: (!failed).then(|| format!("00T{:012}", g.rng.u64(..1_000_000_000_000))),
            error: failed.then(|| "CRM rejected the activity: owner inactive".to_owned()),
            custom_crm_fields: Extra::new(),
            person: call.called_person.clone(),
            user: call.user.clone(),
            extra: Extra::new(),
        });
    }
    out
}

/// The next action of each person on a cadence (pending, due soon), and one completed
/// action of a step of each cadence a person has left.
fn actions(g: &mut Gen, memberships: &[CadenceMembership], steps: &[Step]) -> Vec<Action> {
    let mut by_cadence: HashMap<_, Vec<&Step>> = HashMap::new();
    for s in steps {
        if let Some(c) = &s.cadence {
            by_cadence.entry(c.id).or_default().push(s);
        }
    }
    let mut out = Vec::new();
    for m in memberships {
        let Some(steps) = m.cadence.as_ref().and_then(|c| by_cadence.get(&c.id)) else {
            continue;
        };
        let on_cadence = m.currently_on_cadence == Some(true);
        let step = if on_cadence {
            steps[0]
        } else {
            steps[g.rng.usize(..steps.len())]
        };
        let created = m.created_at.timestamp_micros();
        let due = after(created, g.rng.i64(0..86_400 * 5));
        out.push(Action {
            id: ActionId(FIRST_ACTION_ID + out.len() as i64),
            created_at: m.created_at,
            updated_at: m.updated_at,
            action_type: Some(step.step_type.clone().unwrap_or_else(|| "email".into())),
            status: Some(if on_cadence { "pending" } else { "completed" }.into()),
            due: Some(on_cadence && g.chance(0.5)),
            due_on: Some(g.ts(due)),
            multitouch_group_id: None,
            action_details: None,
            user: m.user.clone(),
            person: m.person.clone(),
            cadence: m.cadence.clone(),
            step: Some(r("steps", step.id)),
            extra: Extra::new(),
        });
    }
    out
}

const TASK_SUBJECTS: &[&str] = &["Follow up", "Send pricing", "Call back", "Book a demo"];
const TASK_TYPES: &[&str] = &["call", "email", "general"];

fn tasks(g: &mut Gen, people: &[Person]) -> Vec<Task> {
    let mut out = Vec::new();
    for person in people {
        if !g.chance(0.33) {
            continue;
        }
        let created = g.created();
        let due = after(created, g.rng.i64(3_600..86_400 * 10));
        let completed = g
            .chance(0.4)
            .then(|| after(due, g.rng.i64(-86_400..86_400)));
        let updated = completed.unwrap_or(created).max(created);
        let due_at = g.maybe(0.5, |g| g.ts(due));
        out.push(Task {
            id: TaskId(FIRST_TASK_ID + out.len() as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            subject: Some((*g.pick(TASK_SUBJECTS)).to_owned()),
            task_type: Some((*g.pick(TASK_TYPES)).to_owned()),
            current_state: Some(
                if completed.is_some() {
                    "completed"
                } else {
                    "scheduled"
                }
                .into(),
            ),
            description: None,
            due_date: Some(g.ts(due).format("%Y-%m-%d").to_string()),
            due_at,
            remind_at: None,
            completed_at: completed.map(|c| g.ts(c.max(created))),
            completed_by: completed.and(person.owner.clone()),
            created_by_user: person.owner.clone(),
            user: person.owner.clone(),
            person: Some(r("people", person.id)),
            extra: Extra::new(),
        });
    }
    out
}
