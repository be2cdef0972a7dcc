//! [`TeamId`]: which team a row belongs to, the one type every team-owned operation binds.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A team's id in a deployment (the `teams` row's id), which every team-owned row carries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct TeamId(i64);

impl TeamId {
    /// The default team: a single-team deployment's, and the owner of everything stored
    /// before teams existed.
    pub const DEFAULT: TeamId = TeamId(1);

    /// The id `id` (as the `teams` table gives it).
    pub const fn new(id: i64) -> Self {
        TeamId(id)
    }

    /// The number.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
