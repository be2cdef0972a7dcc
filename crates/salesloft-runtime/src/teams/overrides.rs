//! [`TeamOverrides`]: where a team differs from the deployment's settings, kept as JSON in
//! its `teams` row and applied to a copy of the settings ([`team_settings`]).

use std::collections::BTreeMap;

use salesloft_services::FieldPolicy;
use salesloft_storage::TeamRecord;

use crate::error::{Error, Result};
use crate::settings::Settings;

/// What a team may set apart from the deployment's settings, kept as JSON in its `teams`
/// row (unknown keys are refused). Every job of the team, its client and its budget use the
/// deployment's settings with these applied ([`TeamOverrides::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TeamOverrides {
    /// Its IANA time zone, such as `Europe/Paris` (else `team.time_zone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Its cost budget per minute, 1 to 600 (else `budget.per_minute`): a team whose
    /// SalesLoft budget other integrations share takes less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_per_minute: Option<u32>,
    /// Call dispositions that count as connected (else `team.connected_dispositions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_dispositions: Option<Vec<String>>,
    /// Seconds between two scheduled syncs of each of its streams, 10 to 86,400 (else
    /// `jobs.sync_every_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_every_secs: Option<u64>,
    /// Two-way people sync: its policies by field, over the deployment's
    /// (`people.policies`; a field named here takes this policy, the others keep theirs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_policies: BTreeMap<String, FieldPolicy>,
    /// The policy of every field no policy names (else `people.default_policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_policy: Option<FieldPolicy>,
}

salesloft_client::with_setters!(TeamOverrides {
    with_time_zone => time_zone: Option<String>,
    with_budget_per_minute => budget_per_minute: Option<u32>,
    with_connected_dispositions => connected_dispositions: Option<Vec<String>>,
    with_sync_every_secs => sync_every_secs: Option<u64>,
    with_field_policies => field_policies: BTreeMap<String, FieldPolicy>,
    with_default_policy => default_policy: Option<FieldPolicy>,
});

/// The settings `team`'s jobs, client and budget run with: the deployment's `settings` with
/// its overrides applied (the one way every process and command derives them).
pub fn team_settings(settings: &Settings, team: &TeamRecord) -> Result<Settings> {
    TeamOverrides::of(team)?.apply(settings)
}

impl TeamOverrides {
    /// `team`'s, as its row keeps them.
    pub fn of(team: &TeamRecord) -> Result<Self> {
        serde_json::from_value(team.settings.clone()).map_err(|e| Error::Invalid {
            key: format!("teams.{}.settings", team.slug),
            message: e.to_string(),
        })
    }

    /// `settings` with these applied, checked as the deployment's are (a time zone that is
    /// not one, a budget out of range, are refused naming the key).
    pub fn apply(&self, settings: &Settings) -> Result<Settings> {
        let mut applied = settings.clone();
        if let Some(zone) = &self.time_zone {
            applied.team.time_zone = zone.parse().map_err(|_| Error::Invalid {
                key: "team.time_zone".into(),
                message: format!("{zone:?} is not an IANA time zone"),
            })?;
        }
        if let Some(per_minute) = self.budget_per_minute {
            applied.budget.per_minute = per_minute;
            applied.budget.burst = applied.budget.burst.min(per_minute);
        }
        if let Some(dispositions) = &self.connected_dispositions {
            applied.team.connected_dispositions = dispositions.clone();
        }
        if let Some(every) = self.sync_every_secs {
            applied.jobs.sync_every_secs = every;
        }
        applied.people.policies.extend(
            self.field_policies
                .iter()
                .map(|(field, policy)| (field.clone(), *policy)),
        );
        if let Some(policy) = self.default_policy {
            applied.people.default_policy = policy;
        }
        applied.validate()?;
        Ok(applied)
    }
}

#[cfg(test)]
mod override_tests {
    use super::*;
    use crate::teams::shown_state;
    use salesloft_storage::{TeamId, TeamSlug};

    #[test]
    fn a_team_syncs_on_its_own_interval_with_its_own_field_policies() {
        let mut deployment = Settings::defaults().unwrap();
        deployment
            .people
            .policies
            .insert("title".into(), FieldPolicy::LocalWins);
        deployment
            .people
            .policies
            .insert("phone".into(), FieldPolicy::SalesloftWins);
        let team = TeamOverrides::default()
            .with_sync_every_secs(Some(60))
            .with_field_policies(BTreeMap::from([(
                "title".to_owned(),
                FieldPolicy::NewestWins,
            )]))
            .with_default_policy(Some(FieldPolicy::None));
        let applied = team.apply(&deployment).unwrap();
        assert_eq!(applied.sync_every(), std::time::Duration::from_secs(60));
        let policies = applied.people_policies();
        assert_eq!(
            policies.fields["title"],
            FieldPolicy::NewestWins,
            "the team's"
        );
        assert_eq!(policies.fields["phone"], FieldPolicy::SalesloftWins, "kept");
        assert_eq!(policies.default, FieldPolicy::None);
        // Kept as JSON in its row and read back the same; out of range, refused by name.
        let json = serde_json::to_value(&team).unwrap();
        assert_eq!(json["field_policies"]["title"], "newest_wins");
        assert_eq!(serde_json::from_value::<TeamOverrides>(json).unwrap(), team);
        let hasty = TeamOverrides::default().with_sync_every_secs(Some(5));
        let refused = hasty.apply(&deployment).unwrap_err().to_string();
        assert!(refused.contains("jobs.sync_every_secs"), "{refused}");
    }

    #[test]
    fn a_team_differs_only_where_it_says_and_is_checked_like_the_deployment() {
        let deployment = Settings::defaults().unwrap();
        let none = TeamOverrides::default().apply(&deployment).unwrap();
        assert_eq!(none.budget.per_minute, deployment.budget.per_minute);
        let paris = TeamOverrides::default()
            .with_time_zone(Some("Europe/Paris".into()))
            .with_budget_per_minute(Some(120))
            .apply(&deployment)
            .unwrap();
        assert_eq!(paris.team.time_zone, salesloft_storage::Tz::Europe__Paris);
        assert_eq!(paris.budget().per_minute, 120);
        assert_eq!(paris.api.base_url, deployment.api.base_url);
        let nowhere = TeamOverrides::default().with_time_zone(Some("Mars/Olympus".into()));
        assert!(
            nowhere
                .apply(&deployment)
                .unwrap_err()
                .to_string()
                .contains("team.time_zone")
        );
        let greedy = TeamOverrides::default().with_budget_per_minute(Some(601));
        assert!(
            greedy
                .apply(&deployment)
                .unwrap_err()
                .to_string()
                .contains("budget.per_minute")
        );
        // What a row keeps: unknown keys are refused, naming the team.
        let mut row = TeamRecord {
            id: TeamId::new(2),
            slug: TeamSlug::parse("acme").unwrap(),
            base_url: String::new(),
            salesloft_team_id: None,
            name: None,
            state: salesloft_storage::TeamState::Active,
            settings: serde_json::json!({"budget_per_minute": 50}),
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        assert_eq!(TeamOverrides::of(&row).unwrap().budget_per_minute, Some(50));
        row.settings = serde_json::json!({"budget": 50});
        assert!(
            TeamOverrides::of(&row)
                .unwrap_err()
                .to_string()
                .contains("teams.acme.settings")
        );

        // An active team whose key SalesLoft rejected shows so; a paused one stays paused.
        let hold = salesloft_client::CredentialHold {
            credential: "key:0".into(),
            since_ms: 1,
            request: "GET /v2/people".into(),
            status: Some(401),
            message: None,
            probe_at_ms: 2,
        };
        assert_eq!(shown_state(&row, &[]), "active");
        assert_eq!(
            shown_state(&row, std::slice::from_ref(&hold)),
            "credentials_rejected"
        );
        row.state = salesloft_storage::TeamState::Paused;
        assert_eq!(shown_state(&row, &[hold]), "paused");
    }
}
