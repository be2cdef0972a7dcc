//! The team's definition lists, as a SalesLoft admin leaves them: a few stages, tiers,
//! dispositions and sentiments (the names calls carry), and the custom fields people and
//! accounts hold values of. Created early in the team's history, some edited since.

use salesloft_model::models::Extra;
use salesloft_model::{
    AccountStage, AccountStageId, AccountTier, AccountTierId, CallDisposition, CallDispositionId,
    CallSentiment, CallSentimentId, CustomField, CustomFieldId, PersonStage, PersonStageId,
};

use super::size::{
    FIRST_ACCOUNT_STAGE_ID, FIRST_ACCOUNT_TIER_ID, FIRST_CALL_DISPOSITION_ID,
    FIRST_CALL_SENTIMENT_ID, FIRST_CUSTOM_FIELD_ID, FIRST_PERSON_STAGE_ID, HISTORY_START_US,
};
use super::tools::Gen;
use super::words::{DISPOSITIONS, SENTIMENTS};

const ACCOUNT_STAGES: &[&str] = &["Target", "Engaged", "Opportunity", "Customer", "Churned"];
const ACCOUNT_TIERS: &[&str] = &["Tier 1", "Tier 2", "Tier 3"];
const PERSON_STAGES: &[&str] = &[
    "New",
    "Contacted",
    "Replied",
    "Meeting Set",
    "Not Interested",
    "Bad Data",
];
/// (name, field type, value type): `segment` and `lead_score` are the keys generated people
/// carry in `custom_fields`.
const CUSTOM_FIELDS: &[(&str, &str, &str)] = &[
    ("segment", "person", "text"),
    ("lead_score", "person", "text"),
    ("renewal_date", "person", "date"),
    ("region", "company", "text"),
    ("contract_value", "company", "text"),
    ("close_plan", "opportunity", "text"),
];

/// The definition lists of one team.
#[derive(Debug, Default)]
pub struct Definitions {
    /// Account stages.
    pub account_stages: Vec<AccountStage>,
    /// Account tiers.
    pub account_tiers: Vec<AccountTier>,
    /// Person stages.
    pub person_stages: Vec<PersonStage>,
    /// Call dispositions.
    pub call_dispositions: Vec<CallDisposition>,
    /// Call sentiments.
    pub call_sentiments: Vec<CallSentiment>,
    /// Custom field definitions.
    pub custom_fields: Vec<CustomField>,
}

/// When the `n`th definition was created and last updated: in the team's first days, one in
/// three edited later.
fn versions(g: &mut Gen, n: usize) -> (i64, i64) {
    let created = HISTORY_START_US + (n as i64) * 3_600_000_000 + g.rng.i64(0..1_000_000);
    let updated = if g.chance(0.33) {
        g.updated_after(created)
    } else {
        created
    };
    (created, updated)
}

/// Every definition list of a team.
pub(crate) fn definitions(g: &mut Gen) -> Definitions {
    let mut n = 0;
    let mut next = |g: &mut Gen| {
        n += 1;
        let (c, u) = versions(g, n);
        (g.ts(c), g.ts(u))
    };
    let mut d = Definitions::default();
    for (i, name) in (0..).zip(ACCOUNT_STAGES) {
        let (created_at, updated_at) = next(g);
        d.account_stages.push(AccountStage {
            id: AccountStageId(FIRST_ACCOUNT_STAGE_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            order: Some(i + 1),
            extra: Extra::new(),
        });
    }
    for (i, name) in (0..).zip(ACCOUNT_TIERS) {
        let (created_at, updated_at) = next(g);
        d.account_tiers.push(AccountTier {
            id: AccountTierId(FIRST_ACCOUNT_TIER_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            order: Some(i + 1),
            extra: Extra::new(),
        });
    }
    for (i, name) in (0..).zip(PERSON_STAGES) {
        let (created_at, updated_at) = next(g);
        d.person_stages.push(PersonStage {
            id: PersonStageId(FIRST_PERSON_STAGE_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            order: g.maybe(0.8, |_| i + 1),
            extra: Extra::new(),
        });
    }
    for (i, name) in (0..).zip(DISPOSITIONS) {
        let (created_at, updated_at) = next(g);
        d.call_dispositions.push(CallDisposition {
            id: CallDispositionId(FIRST_CALL_DISPOSITION_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            extra: Extra::new(),
        });
    }
    for (i, name) in (0..).zip(SENTIMENTS) {
        let (created_at, updated_at) = next(g);
        d.call_sentiments.push(CallSentiment {
            id: CallSentimentId(FIRST_CALL_SENTIMENT_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            extra: Extra::new(),
        });
    }
    for (i, (name, field_type, value_type)) in (0..).zip(CUSTOM_FIELDS) {
        let (created_at, updated_at) = next(g);
        d.custom_fields.push(CustomField {
            id: CustomFieldId(FIRST_CUSTOM_FIELD_ID + i),
            created_at,
            updated_at,
            name: Some((*name).to_owned()),
            field_type: Some((*field_type).to_owned()),
            value_type: Some((*value_type).to_owned()),
            extra: Extra::new(),
        });
    }
    d
}
