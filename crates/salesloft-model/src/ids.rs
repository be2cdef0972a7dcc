//! Typed identifiers, so a `PersonId` cannot be passed where a `CadenceId` is expected.

use serde::{Deserialize, Deserializer, Serialize};

macro_rules! int_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw numeric id.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

int_id! {
    /// Id of a person (`/v2/people`).
    PersonId;
    /// Id of an account (`/v2/accounts`).
    AccountId;
    /// Id of a user (`/v2/users`).
    UserId;
    /// Id of a team (`/v2/team`).
    TeamId;
    /// Id of a cadence (`/v2/cadences`).
    CadenceId;
    /// Id of a cadence step (`/v2/steps`).
    StepId;
    /// Id of a cadence membership (`/v2/cadence_memberships`).
    CadenceMembershipId;
    /// Id of an email activity (`/v2/activities/emails`).
    EmailId;
    /// Id of a call activity (`/v2/activities/calls`).
    CallId;
    /// Id of a note (`/v2/notes`).
    NoteId;
    /// Id of a webhook subscription (`/v2/webhook_subscriptions`).
    WebhookSubscriptionId;
}

/// Id of a role. SalesLoft sends role ids as strings (`"Admin"`, `"User"`, `"20"`); an integer
/// is accepted too and kept as its decimal text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleId(pub String);

impl<'de> Deserialize<'de> for RoleId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::S(s) => RoleId(s),
            Raw::I(i) => RoleId(i.to_string()),
        })
    }
}

impl std::fmt::Display for RoleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
