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
/// The team's id.
pub const TEAM_ID: i64 = 16;

/// 2024-01-01T00:00:00Z in microseconds: generated history starts here.
pub(crate) const HISTORY_START_US: i64 = 1_704_067_200_000_000;
/// Generated history spans 600 days.
pub(crate) const HISTORY_SPAN_US: i64 = 600 * 86_400 * 1_000_000;
