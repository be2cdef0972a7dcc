//! Per-field direction rules for two-way sync, the model SalesLoft's own CRM sync and the
//! integration platforms use: for each field, which side's value a record ends up with when
//! the local system and SalesLoft disagree.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How one field is kept in step between the local system and SalesLoft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldPolicy {
    /// SalesLoft's value always wins; the local value is never written.
    SalesloftWins,
    /// The local value always wins (a blank one too).
    LocalWins,
    /// SalesLoft's value wins, but a blank SalesLoft field takes the local value.
    SalesloftUnlessBlank,
    /// The local value wins unless it is blank.
    LocalUnlessBlank,
    /// Whichever side changed last wins (ties go to SalesLoft, which then writes nothing).
    NewestWins,
    /// Not synced.
    None,
}

/// What reconciling one field decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldDecision {
    /// The two sides agree, or the policy keeps SalesLoft's value: nothing to write.
    Keep,
    /// Write this (the local) value to SalesLoft.
    Write(Value),
}

/// Whether a field value counts as blank: absent, `null`, or text that is empty or only
/// whitespace.
pub fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

/// Whether two field values are the same for sync purposes: equal JSON, or both blank.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    (is_blank(a) && is_blank(b)) || a == b
}

impl FieldPolicy {
    /// Decide one field: `local` changed at `local_changed_at`, `salesloft` (the local copy
    /// of SalesLoft's record) last updated at `salesloft_updated_at`.
    pub fn decide(
        self,
        local: Option<&Value>,
        salesloft: Option<&Value>,
        local_changed_at: DateTime<Utc>,
        salesloft_updated_at: DateTime<Utc>,
    ) -> FieldDecision {
        if same(local, salesloft) {
            return FieldDecision::Keep;
        }
        let write = || FieldDecision::Write(local.cloned().unwrap_or(Value::Null));
        match self {
            FieldPolicy::None | FieldPolicy::SalesloftWins => FieldDecision::Keep,
            FieldPolicy::LocalWins => write(),
            FieldPolicy::SalesloftUnlessBlank if is_blank(salesloft) => write(),
            FieldPolicy::SalesloftUnlessBlank => FieldDecision::Keep,
            FieldPolicy::LocalUnlessBlank if is_blank(local) => FieldDecision::Keep,
            FieldPolicy::LocalUnlessBlank => write(),
            FieldPolicy::NewestWins if local_changed_at > salesloft_updated_at => write(),
            FieldPolicy::NewestWins => FieldDecision::Keep,
        }
    }
}

/// A policy per field, with one for fields not named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPolicies {
    /// Policies by SalesLoft field name (`first_name`, `title`, `phone`, ...).
    pub fields: BTreeMap<String, FieldPolicy>,
    /// The policy of every other field.
    pub default: FieldPolicy,
}

impl FieldPolicies {
    /// The defaults for people: identity and contact fields the local system (usually the
    /// system of record) owns unless it has nothing (`local_unless_blank`); engagement state
    /// SalesLoft owns (`do_not_contact`, `salesloft_wins`: an opt-out recorded by SalesLoft is
    /// never undone by a push); everything else by whichever side changed last.
    pub fn people_defaults() -> Self {
        let mut fields = BTreeMap::new();
        for f in [
            "email_address",
            "first_name",
            "last_name",
            "title",
            "phone",
            "mobile_phone",
            "city",
            "state",
            "country",
            "crm_id",
        ] {
            fields.insert(f.to_owned(), FieldPolicy::LocalUnlessBlank);
        }
        fields.insert("do_not_contact".to_owned(), FieldPolicy::SalesloftWins);
        Self {
            fields,
            default: FieldPolicy::NewestWins,
        }
    }

    /// The policy of `field`.
    pub fn of(&self, field: &str) -> FieldPolicy {
        self.fields.get(field).copied().unwrap_or(self.default)
    }

    /// The fields of `local` that must be written to SalesLoft, given the local copy of
    /// SalesLoft's record: an empty map means the record costs nothing.
    pub fn changes(
        &self,
        local: &serde_json::Map<String, Value>,
        salesloft: &serde_json::Map<String, Value>,
        local_changed_at: DateTime<Utc>,
        salesloft_updated_at: DateTime<Utc>,
    ) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        for (field, value) in local {
            let decision = self.of(field).decide(
                Some(value),
                salesloft.get(field),
                local_changed_at,
                salesloft_updated_at,
            );
            if let FieldDecision::Write(v) = decision {
                out.insert(field.clone(), v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn each_policy_decides_a_conflict_its_own_way() {
        let (older, newer) = (at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
        let local = json!("Local");
        let remote = json!("Remote");
        let blank = json!("  ");
        let cases = [
            // (policy, local, salesloft, local newer?, writes?)
            (FieldPolicy::SalesloftWins, &local, &remote, true, false),
            (FieldPolicy::LocalWins, &local, &remote, false, true),
            (FieldPolicy::LocalWins, &blank, &remote, false, true),
            (
                FieldPolicy::SalesloftUnlessBlank,
                &local,
                &remote,
                true,
                false,
            ),
            (
                FieldPolicy::SalesloftUnlessBlank,
                &local,
                &blank,
                false,
                true,
            ),
            (FieldPolicy::LocalUnlessBlank, &local, &remote, false, true),
            (FieldPolicy::LocalUnlessBlank, &blank, &remote, true, false),
            (FieldPolicy::NewestWins, &local, &remote, true, true),
            (FieldPolicy::NewestWins, &local, &remote, false, false),
            (FieldPolicy::None, &local, &remote, true, false),
        ];
        for (policy, l, r, local_newer, writes) in cases {
            let (lt, rt) = if local_newer {
                (newer, older)
            } else {
                (older, newer)
            };
            let d = policy.decide(Some(l), Some(r), lt, rt);
            assert_eq!(
                d == FieldDecision::Write(l.clone()),
                writes,
                "{policy:?} {l} vs {r}: {d:?}"
            );
        }
        // Agreement (or two blanks) never writes, whatever the policy.
        for policy in [FieldPolicy::LocalWins, FieldPolicy::NewestWins] {
            assert_eq!(
                policy.decide(Some(&local), Some(&json!("Local")), newer, older),
                FieldDecision::Keep
            );
            assert_eq!(
                policy.decide(Some(&json!(null)), Some(&blank), newer, older),
                FieldDecision::Keep
            );
        }
    }

    #[test]
    fn an_unchanged_record_has_no_changes_and_opt_outs_stay() {
        let p = FieldPolicies::people_defaults();
        let remote = json!({"first_name": "Ada", "title": "CTO", "do_not_contact": true});
        let same = json!({"first_name": "Ada", "title": "CTO"});
        let t = at("2026-01-01T00:00:00Z");
        assert!(
            p.changes(same.as_object().unwrap(), remote.as_object().unwrap(), t, t)
                .is_empty()
        );
        let edited =
            json!({"first_name": "Ada", "title": "VP", "do_not_contact": false, "city": ""});
        let changes = p.changes(
            edited.as_object().unwrap(),
            remote.as_object().unwrap(),
            t,
            t,
        );
        assert_eq!(serde_json::Value::Object(changes), json!({"title": "VP"}));
        assert_eq!(
            serde_json::from_str::<FieldPolicy>("\"salesloft_unless_blank\"").unwrap(),
            FieldPolicy::SalesloftUnlessBlank
        );
    }
}
