use serde::{Deserialize, Serialize};

use super::{Extra, Ref, Timestamp, impl_record, null_as_default};
use crate::ids::{CadenceId, CadenceMembershipId, PersonId, StepId, UserId};

/// A cadence (a sequence of steps people are enrolled in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cadence {
    /// SalesLoft id.
    pub id: CadenceId,
    /// When the cadence was created.
    pub created_at: Timestamp,
    /// When the cadence was last changed.
    pub updated_at: Timestamp,
    /// When the cadence was archived, if it is.
    #[serde(default)]
    pub archived_at: Option<Timestamp>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether this is a team cadence.
    #[serde(default)]
    pub team_cadence: Option<bool>,
    /// Whether the cadence is shared.
    #[serde(default)]
    pub shared: Option<bool>,
    /// Whether bounced people are removed.
    #[serde(default)]
    pub remove_bounces_enabled: Option<bool>,
    /// Whether people who reply are removed.
    #[serde(default)]
    pub remove_replies_enabled: Option<bool>,
    /// Whether an opt-out link is included.
    #[serde(default)]
    pub opt_out_link_included: Option<bool>,
    /// Whether the cadence is a draft.
    #[serde(default)]
    pub draft: Option<bool>,
    /// Framework the cadence was built from.
    #[serde(default)]
    pub cadence_framework_id: Option<i64>,
    /// Function (`outbound`, `inbound`, `event`, `other`).
    #[serde(default)]
    pub cadence_function: Option<String>,
    /// Identifier set by an external system.
    #[serde(default)]
    pub external_identifier: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// State (`draft`, `active`, `archived`, `expired`, `deleted`), where sent.
    #[serde(default)]
    pub current_state: Option<String>,
    /// Last day the cadence was active (`YYYY-MM-DD`).
    #[serde(default)]
    pub latest_active_date: Option<String>,
    /// The user who created the cadence.
    #[serde(default)]
    pub creator: Option<Ref<UserId>>,
    /// The owning user.
    #[serde(default)]
    pub owner: Option<Ref<UserId>>,
    /// Stage people move to when they bounce.
    #[serde(default)]
    pub bounced_stage: Option<Ref<i64>>,
    /// Stage people move to when they reply.
    #[serde(default)]
    pub replied_stage: Option<Ref<i64>>,
    /// Stage people move to when added.
    #[serde(default)]
    pub added_stage: Option<Ref<i64>>,
    /// Stage people move to when they finish.
    #[serde(default)]
    pub finished_stage: Option<Ref<i64>>,
    /// Priority.
    #[serde(default)]
    pub cadence_priority: Option<Ref<i64>>,
    /// Groups the cadence is shared with.
    #[serde(default, deserialize_with = "null_as_default")]
    pub groups: Vec<Ref<i64>>,
    /// Counters.
    #[serde(default)]
    pub counts: Option<CadenceCounts>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(Cadence);

/// Counters of a cadence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CadenceCounts {
    /// People on the cadence.
    #[serde(default)]
    pub cadence_people: Option<i64>,
    /// People acted on.
    #[serde(default)]
    pub people_acted_on_count: Option<i64>,
    /// Target people per day.
    #[serde(default)]
    pub target_daily_people: Option<i64>,
    /// Opportunities created.
    #[serde(default)]
    pub opportunities_created: Option<i64>,
    /// Meetings booked.
    #[serde(default)]
    pub meetings_booked: Option<i64>,
    /// Counters this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A step of a cadence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// SalesLoft id.
    pub id: StepId,
    /// When the step was created.
    pub created_at: Timestamp,
    /// When the step was last changed.
    pub updated_at: Timestamp,
    /// Whether the step is disabled.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Type (`email`, `phone`, `integration`, `other`).
    #[serde(default, rename = "type")]
    pub step_type: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Display name, such as `Day 1: Step 2 - Phone`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Day of the cadence the step falls on.
    #[serde(default)]
    pub day: Option<i32>,
    /// Position of the step within its day.
    #[serde(default)]
    pub step_number: Option<i32>,
    /// Whether multi-touch is on.
    #[serde(default)]
    pub multitouch_enabled: Option<bool>,
    /// The step's cadence.
    #[serde(default)]
    pub cadence: Option<Ref<CadenceId>>,
    /// Type-specific details.
    #[serde(default)]
    pub details: Option<serde_json::Value>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(Step);

/// A person's membership in a cadence. There is one per (person, cadence); re-adding a person
/// reuses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CadenceMembership {
    /// SalesLoft id.
    pub id: CadenceMembershipId,
    /// When the person was last added.
    #[serde(default)]
    pub added_at: Option<Timestamp>,
    /// When the person was first added.
    pub created_at: Timestamp,
    /// When the membership last changed.
    pub updated_at: Timestamp,
    /// Whether the person has since been deleted.
    #[serde(default)]
    pub person_deleted: Option<bool>,
    /// Whether the person is on the cadence now.
    #[serde(default)]
    pub currently_on_cadence: Option<bool>,
    /// State (`processing`, `staged`, `active`, `scheduled`, `completed`, `removed`,
    /// `removed_no_action`, `reassigned`, `archived`).
    #[serde(default)]
    pub current_state: Option<String>,
    /// The cadence.
    #[serde(default)]
    pub cadence: Option<Ref<CadenceId>>,
    /// The person.
    #[serde(default)]
    pub person: Option<Ref<PersonId>>,
    /// The user the person is enrolled under.
    #[serde(default)]
    pub user: Option<Ref<UserId>>,
    /// The latest action on the membership.
    #[serde(default)]
    pub latest_action: Option<Ref<i64>>,
    /// Counters.
    #[serde(default)]
    pub counts: Option<MembershipCounts>,
    /// Fields this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl_record!(CadenceMembership);

/// Counters of a cadence membership.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MembershipCounts {
    /// E-mail views.
    #[serde(default)]
    pub views: Option<i64>,
    /// E-mail clicks.
    #[serde(default)]
    pub clicks: Option<i64>,
    /// Replies.
    #[serde(default)]
    pub replies: Option<i64>,
    /// Calls.
    #[serde(default)]
    pub calls: Option<i64>,
    /// E-mails sent.
    #[serde(default)]
    pub sent_emails: Option<i64>,
    /// Bounces.
    #[serde(default)]
    pub bounces: Option<i64>,
    /// Counters this crate has no typed field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /v2/cadence_imports`, which is how cadences are created.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CadenceImport {
    /// `settings`: name, `target_daily_people`, `remove_replied`, `remove_bounced`,
    /// `external_identifier`, `cadence_function`.
    pub settings: serde_json::Value,
    /// `sharing_settings`: `team_cadence`, `shared`.
    pub sharing_settings: serde_json::Value,
    /// `cadence_content`: `step_groups` (and `cadence_id` to add steps to an existing cadence).
    pub cadence_content: serde_json::Value,
}

impl CadenceImport {
    /// An import of a cadence called `name` with the given step groups.
    pub fn new(name: impl Into<String>, step_groups: Vec<serde_json::Value>) -> Self {
        Self {
            settings: serde_json::json!({ "name": name.into(), "cadence_function": "outbound" }),
            sharing_settings: serde_json::json!({ "team_cadence": false, "shared": true }),
            cadence_content: serde_json::json!({ "step_groups": step_groups }),
        }
    }
}

/// What `POST /v2/cadence_memberships` needs: who, which cadence, and optionally under which
/// user and from which step.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    /// The person to add.
    pub person_id: PersonId,
    /// The cadence to add them to.
    pub cadence_id: CadenceId,
    /// The user to add them under (default: the authenticated user).
    pub user_id: Option<UserId>,
    /// The step to start at (default: the first).
    pub step_id: Option<StepId>,
    /// A task to complete when the person is added.
    pub task_id: Option<i64>,
}

impl Enrollment {
    /// Add `person_id` to `cadence_id` under the authenticated user, from the first step.
    pub fn new(person_id: PersonId, cadence_id: CadenceId) -> Self {
        Self {
            person_id,
            cadence_id,
            user_id: None,
            step_id: None,
            task_id: None,
        }
    }
}
