use serde::{Deserialize, Serialize};

use super::record::{Ref, Timestamp, impl_record, wire_record};
use crate::ids::{CadenceId, CadenceMembershipId, PersonId, StepId, UserId};

wire_record! {
    /// A cadence (a sequence of steps people are enrolled in).
    pub struct Cadence {
        /// SalesLoft id.
        pub id: CadenceId,
        /// When the cadence was created.
        pub created_at: Timestamp,
        /// When the cadence was last changed.
        pub updated_at: Timestamp,
        /// When the cadence was archived, if it is.
        pub archived_at: Option<Timestamp>,
        /// Name.
        pub name: Option<String>,
        /// Whether this is a team cadence.
        pub team_cadence: Option<bool>,
        /// Whether the cadence is shared.
        pub shared: Option<bool>,
        /// Whether bounced people are removed.
        pub remove_bounces_enabled: Option<bool>,
        /// Whether people who reply are removed.
        pub remove_replies_enabled: Option<bool>,
        /// Whether an opt-out link is included.
        pub opt_out_link_included: Option<bool>,
        /// Whether the cadence is a draft.
        pub draft: Option<bool>,
        /// Framework the cadence was built from.
        pub cadence_framework_id: Option<i64>,
        /// Function (`outbound`, `inbound`, `event`, `other`).
        pub cadence_function: Option<String>,
        /// Identifier set by an external system.
        pub external_identifier: Option<String>,
        /// Tags.
        pub tags: Vec<String>,
        /// State (`draft`, `active`, `archived`, `expired`, `deleted`), where sent.
        pub current_state: Option<String>,
        /// Last day the cadence was active (`YYYY-MM-DD`).
        pub latest_active_date: Option<String>,
        /// The user who created the cadence.
        pub creator: Option<Ref<UserId>>,
        /// The owning user.
        pub owner: Option<Ref<UserId>>,
        /// Stage people move to when they bounce.
        pub bounced_stage: Option<Ref<i64>>,
        /// Stage people move to when they reply.
        pub replied_stage: Option<Ref<i64>>,
        /// Stage people move to when added.
        pub added_stage: Option<Ref<i64>>,
        /// Stage people move to when they finish.
        pub finished_stage: Option<Ref<i64>>,
        /// Priority.
        pub cadence_priority: Option<Ref<i64>>,
        /// Groups the cadence is shared with.
        pub groups: Vec<Ref<i64>>,
        /// Counters.
        pub counts: Option<CadenceCounts>,
    }
}

impl_record!(Cadence);

wire_record! {
    /// Counters of a cadence.
    #[derive(Default)]
    pub struct CadenceCounts {
        /// People on the cadence.
        pub cadence_people: Option<i64>,
        /// People acted on.
        pub people_acted_on_count: Option<i64>,
        /// Target people per day.
        pub target_daily_people: Option<i64>,
        /// Opportunities created.
        pub opportunities_created: Option<i64>,
        /// Meetings booked.
        pub meetings_booked: Option<i64>,
    }
}

wire_record! {
    /// A step of a cadence.
    pub struct Step {
        /// SalesLoft id.
        pub id: StepId,
        /// When the step was created.
        pub created_at: Timestamp,
        /// When the step was last changed.
        pub updated_at: Timestamp,
        /// Whether the step is disabled.
        pub disabled: Option<bool>,
        /// Type (`email`, `phone`, `integration`, `other`).
        pub step_type as "type": Option<String>,
        /// Name.
        pub name: Option<String>,
        /// Display name, such as `Day 1: Step 2 - Phone`.
        pub display_name: Option<String>,
        /// Day of the cadence the step falls on.
        pub day: Option<i32>,
        /// Position of the step within its day.
        pub step_number: Option<i32>,
        /// Whether multi-touch is on.
        pub multitouch_enabled: Option<bool>,
        /// The step's cadence.
        pub cadence: Option<Ref<CadenceId>>,
        /// Type-specific details.
        pub details: Option<serde_json::Value>,
    }
}

impl_record!(Step);

wire_record! {
    /// A person's membership in a cadence. There is one per (person, cadence); re-adding a person
    /// reuses it.
    pub struct CadenceMembership {
        /// SalesLoft id.
        pub id: CadenceMembershipId,
        /// When the person was last added.
        pub added_at: Option<Timestamp>,
        /// When the person was first added.
        pub created_at: Timestamp,
        /// When the membership last changed.
        pub updated_at: Timestamp,
        /// Whether the person has since been deleted.
        pub person_deleted: Option<bool>,
        /// Whether the person is on the cadence now.
        pub currently_on_cadence: Option<bool>,
        /// State (`processing`, `staged`, `active`, `scheduled`, `completed`, `removed`,
        /// `removed_no_action`, `reassigned`, `archived`).
        pub current_state: Option<String>,
        /// The cadence.
        pub cadence: Option<Ref<CadenceId>>,
        /// The person.
        pub person: Option<Ref<PersonId>>,
        /// The user the person is enrolled under.
        pub user: Option<Ref<UserId>>,
        /// The latest action on the membership.
        pub latest_action: Option<Ref<i64>>,
        /// Counters.
        pub counts: Option<MembershipCounts>,
    }
}

impl_record!(CadenceMembership);

wire_record! {
    /// Counters of a cadence membership.
    #[derive(Default)]
    pub struct MembershipCounts {
        /// E-mail views.
        pub views: Option<i64>,
        /// E-mail clicks.
        pub clicks: Option<i64>,
        /// Replies.
        pub replies: Option<i64>,
        /// Calls.
        pub calls: Option<i64>,
        /// E-mails sent.
        pub sent_emails: Option<i64>,
        /// Bounces.
        pub bounces: Option<i64>,
    }
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
