//! How big a generated team is, and where its ids and history start.

use serde::{Deserialize, Serialize};

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TeamSize {
    /// Users (the first is the authenticated user, a team admin).
    pub users: usize,
    /// Accounts.
    pub accounts: usize,
    /// People.
    pub people: usize,
    /// Cadences (each gets 3 to 6 steps).
    pub cadences: usize,
    /// Cadence memberships (at most one per person and cadence).
    pub memberships: usize,
    /// E-mail activities.
    pub emails: usize,
    /// Call activities.
    pub calls: usize,
    /// Notes.
    pub notes: usize,
    /// Whether the team has its definition lists (stages, tiers, dispositions, sentiments,
    /// custom fields), as every real team does.
    pub definitions: bool,
}

impl Default for TeamSize {
    fn default() -> Self {
        Self {
            users: 10,
            accounts: 200,
            people: 1_000,
            cadences: 10,
            memberships: 1_500,
            emails: 4_000,
            calls: 1_000,
            notes: 300,
            definitions: true,
        }
    }
}

impl TeamSize {
    /// No records at all but the team's users.
    pub fn empty() -> Self {
        Self {
            users: 3,
            accounts: 0,
            people: 0,
            cadences: 0,
            memberships: 0,
            emails: 0,
            calls: 0,
            notes: 0,
            definitions: false,
        }
    }

    /// A team with `people` people and everything else scaled to match.
    pub fn scaled(people: usize) -> Self {
        Self {
            users: (people / 500).clamp(5, 200),
            accounts: (people / 5).max(1),
            people,
            cadences: (people / 400).clamp(3, 500),
            memberships: people * 2,
            emails: people * 8,
            calls: people * 2,
            notes: people / 4,
            definitions: true,
        }
    }
}

/// First ids per resource, in the ranges real SalesLoft ids live in.
pub(crate) const FIRST_USER_ID: i64 = 51_550;
pub(crate) const FIRST_ACCOUNT_ID: i64 = 75_000_000;
pub(crate) const FIRST_PERSON_ID: i64 = 164_000_000;
pub(crate) const FIRST_CADENCE_ID: i64 = 1_000;
pub(crate) const FIRST_STEP_ID: i64 = 3_000;
pub(crate) const FIRST_MEMBERSHIP_ID: i64 = 98_000_000;
pub(crate) const FIRST_EMAIL_ID: i64 = 555_000_000;
pub(crate) const FIRST_CALL_ID: i64 = 443_000_000;
pub(crate) const FIRST_NOTE_ID: i64 = 9_000_000;
pub(crate) const FIRST_ACCOUNT_STAGE_ID: i64 = 7_000;
pub(crate) const FIRST_ACCOUNT_TIER_ID: i64 = 7_100;
pub(crate) const FIRST_PERSON_STAGE_ID: i64 = 7_200;
pub(crate) const FIRST_CALL_DISPOSITION_ID: i64 = 7_300;
pub(crate) const FIRST_CALL_SENTIMENT_ID: i64 = 7_400;
pub(crate) const FIRST_CUSTOM_FIELD_ID: i64 = 7_500;
pub(crate) const FIRST_SUCCESS_ID: i64 = 12_000_000;
pub(crate) const FIRST_CALL_DATA_RECORD_ID: i64 = 880_000_000;
pub(crate) const FIRST_CRM_ACTIVITY_ID: i64 = 310_000_000;
pub(crate) const FIRST_ACTION_ID: i64 = 720_000_000;
pub(crate) const FIRST_TASK_ID: i64 = 640_000_000;
pub(crate) const FIRST_ACTIVITY_HISTORY_ID: i64 = 2_100_000_000;
pub(crate) const FIRST_EMAIL_TEMPLATE_ID: i64 = 45_000;
pub(crate) const FIRST_IMPORT_ID: i64 = 8_800;
pub(crate) const FIRST_CRM_USER_ID: i64 = 61_000;
pub(crate) const FIRST_CRM_ACTIVITY_FIELD_ID: i64 = 7_600;
/// The first id of `resource`'s collection: where the generator starts it and where the
/// world allocates from when it is empty.
pub(crate) fn first_id(resource: &salesloft_model::Resource) -> i64 {
    match resource.name {
        "users" => FIRST_USER_ID,
        "accounts" => FIRST_ACCOUNT_ID,
        "people" => FIRST_PERSON_ID,
        "cadences" => FIRST_CADENCE_ID,
        "steps" => FIRST_STEP_ID,
        "cadence_memberships" => FIRST_MEMBERSHIP_ID,
        "emails" => FIRST_EMAIL_ID,
        "calls" => FIRST_CALL_ID,
        "notes" => FIRST_NOTE_ID,
        "account_stages" => FIRST_ACCOUNT_STAGE_ID,
        "account_tiers" => FIRST_ACCOUNT_TIER_ID,
        "person_stages" => FIRST_PERSON_STAGE_ID,
        "call_dispositions" => FIRST_CALL_DISPOSITION_ID,
        "call_sentiments" => FIRST_CALL_SENTIMENT_ID,
        "custom_fields" => FIRST_CUSTOM_FIELD_ID,
        "successes" => FIRST_SUCCESS_ID,
        "call_data_records" => FIRST_CALL_DATA_RECORD_ID,
        "crm_activities" => FIRST_CRM_ACTIVITY_ID,
        "actions" => FIRST_ACTION_ID,
        "tasks" => FIRST_TASK_ID,
        "activity_histories" => FIRST_ACTIVITY_HISTORY_ID,
        "email_templates" => FIRST_EMAIL_TEMPLATE_ID,
        "imports" => FIRST_IMPORT_ID,
        "crm_users" => FIRST_CRM_USER_ID,
        "crm_activity_fields" => FIRST_CRM_ACTIVITY_FIELD_ID,
        _ => 1,
    }
}

/// The team's id.
pub const TEAM_ID: i64 = 16;

/// 2024-01-01T00:00:00Z in microseconds: generated history starts here.
pub(crate) const HISTORY_START_US: i64 = 1_704_067_200_000_000;
/// Generated history spans 600 days.
pub(crate) const HISTORY_SPAN_US: i64 = 600 * 86_400 * 1_000_000;
