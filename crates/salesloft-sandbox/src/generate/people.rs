//! People and their cadence memberships.

use std::collections::{HashMap, HashSet};

use salesloft_model::models::{MembershipCounts, PersonCounts};
use salesloft_model::{
    AccountId, CadenceId, CadenceMembership, CadenceMembershipId, Person, PersonId, Ref, UserId,
};
use serde_json::json;

use super::size::{
    FIRST_ACCOUNT_ID, FIRST_CADENCE_ID, FIRST_MEMBERSHIP_ID, FIRST_PERSON_ID, TeamSize,
};
use super::tools::{Gen, r, tie_groups, tie_instant};
use super::words::{
    CITIES, FIRST_NAMES, INDUSTRIES, LAST_NAMES, MEMBERSHIP_STATES, SENIORITIES, TAGS, TITLES,
};

/// Cadence memberships (at most one per person and cadence), and the cadences each person is
/// on now. Generated before people, so each person can list their cadences.
pub(crate) fn memberships(
    g: &mut Gen,
    size: &TeamSize,
    user_ids: &[i64],
) -> (Vec<CadenceMembership>, HashMap<i64, Vec<i64>>) {
    let mut out = Vec::new();
    // Memberships first, so each person can list the cadences they are on.
    let mut on_cadences: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut pairs = HashSet::new();
    let membership_ties = tie_groups(size.memberships, g);
    if size.people > 0 && size.cadences > 0 {
        let max_pairs = size.people * size.cadences;
        let mut i = 0usize;
        while out.len() < size.memberships.min(max_pairs) {
            let person = FIRST_PERSON_ID + g.rng.i64(0..size.people as i64);
            let cadence = FIRST_CADENCE_ID + g.rng.i64(0..size.cadences as i64);
            if !pairs.insert((person, cadence)) {
                continue;
            }
            let created = g.created();
            let updated = tie_instant(&membership_ties, i)
                .filter(|t| *t >= created)
                .unwrap_or_else(|| g.updated_after(created));
            let (state, current) = *g.pick(MEMBERSHIP_STATES);
            if current {
                on_cadences.entry(person).or_default().push(cadence);
            }
            let user = *g.pick(user_ids);
            out.push(CadenceMembership {
                id: CadenceMembershipId(FIRST_MEMBERSHIP_ID + i as i64),
                added_at: Some(g.ts(created)),
                created_at: g.ts(created),
                updated_at: g.ts(updated),
                person_deleted: Some(false),
                currently_on_cadence: Some(current),
                current_state: Some(state.into()),
                cadence: Some(r("cadences", CadenceId(cadence))),
                person: Some(r("people", PersonId(person))),
                user: Some(r("users", UserId(user))),
                latest_action: None,
                counts: Some(MembershipCounts {
                    views: Some(g.rng.i64(0..5)),
                    clicks: Some(g.rng.i64(0..2)),
                    replies: Some(g.rng.i64(0..2)),
                    calls: Some(g.rng.i64(0..3)),
                    sent_emails: Some(g.rng.i64(0..6)),
                    bounces: Some(0),
                    extra: Default::default(),
                }),
                extra: Default::default(),
            });
            i += 1;
        }
    }
    (out, on_cadences)
}

/// People, on accounts and on the cadences `on_cadences` lists for them.
pub(crate) fn people(
    g: &mut Gen,
    size: &TeamSize,
    user_ids: &[i64],
    on_cadences: &HashMap<i64, Vec<i64>>,
) -> Vec<Person> {
    let mut out = Vec::new();
    let people_ties = tie_groups(size.people, g);
    for i in 0..size.people {
        let id = FIRST_PERSON_ID + i as i64;
        let first = *g.pick(FIRST_NAMES);
        let last = *g.pick(LAST_NAMES);
        let created = g.created();
        let updated = tie_instant(&people_ties, i)
            .filter(|t| *t >= created)
            .unwrap_or_else(|| g.updated_after(created));
        let account = if size.accounts > 0 && g.chance(0.8) {
            Some(FIRST_ACCOUNT_ID + g.rng.i64(0..size.accounts as i64))
        } else {
            None
        };
        let domain = account.map_or_else(
            || "gmail.example.com".to_owned(),
            |a| format!("account{}.example.com", a - FIRST_ACCOUNT_ID),
        );
        let email = format!(
            "{}.{}.{}@{domain}",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        );
        let (city, state, country) = *g.pick(CITIES);
        let contacted = g.chance(0.6);
        let owner = *g.pick(user_ids);
        let cadences: Vec<Ref<CadenceId>> = on_cadences
            .get(&id)
            .map(|cs| cs.iter().map(|c| r("cadences", CadenceId(*c))).collect())
            .unwrap_or_default();
        let mut custom_fields = serde_json::Map::new();
        if g.chance(0.3) {
            custom_fields.insert(
                "segment".into(),
                json!(g.pick(&["smb", "mid-market", "enterprise"])),
            );
        }
        if g.chance(0.2) {
            custom_fields.insert("lead_score".into(), json!(g.rng.u32(0..100)));
        }
        let sent = if contacted { g.rng.i64(1..12) } else { 0 };
        out.push(Person {
            id: PersonId(id),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            last_contacted_at: if contacted { Some(g.ts(updated)) } else { None },
            last_replied_at: if contacted && g.chance(0.2) {
                Some(g.ts(updated))
            } else {
                None
            },
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            display_name: Some(format!("{first} {last}")),
            email_address: Some(email.clone()),
            full_email_address: Some(format!("\"{first} {last}\" <{email}>")),
            secondary_email_address: None,
            personal_email_address: g.maybe(0.05, |_| {
                format!("{}{}@home.example", first.to_lowercase(), i)
            }),
            phone: g.maybe(0.5, |g| format!("+1 555 {:04}", g.rng.u32(0..10_000))),
            phone_extension: None,
            home_phone: None,
            mobile_phone: g.maybe(0.2, |g| format!("+1 555 {:04}", g.rng.u32(0..10_000))),
            linkedin_url: g.maybe(0.4, |_| {
                format!(
                    "https://www.linkedin.com/in/{}-{}-{i}",
                    first.to_lowercase(),
                    last.to_lowercase()
                )
            }),
            title: g.maybe(0.7, |g| (*g.pick(TITLES)).to_owned()),
            city: g.maybe(0.3, |_| city.to_owned()),
            state: g.maybe(0.3, |_| state.to_owned()),
            country: g.maybe(0.5, |_| country.to_owned()),
            work_city: g.maybe(0.4, |_| city.to_owned()),
            work_state: g.maybe(0.4, |_| state.to_owned()),
            work_country: g.maybe(0.4, |_| country.to_owned()),
            crm_url: None,
            crm_id: g.maybe(0.3, |g| {
                format!("003{:012}", g.rng.u64(..1_000_000_000_000))
            }),
            account_crm_id: None,
            crm_object_type: g.maybe(0.3, |_| "contact".to_owned()),
            owner_crm_id: None,
            person_company_name: g.maybe(0.5, |g| (*g.pick(LAST_NAMES)).to_owned()),
            person_company_website: g.maybe(0.4, |_| format!("http://{domain}")),
            person_company_industry: g.maybe(0.3, |g| (*g.pick(INDUSTRIES)).to_owned()),
            do_not_contact: Some(g.chance(0.02)),
            bouncing: Some(g.chance(0.01)),
            locale: g.maybe(0.4, |_| "US/Eastern".to_owned()),
            locale_utc_offset: if g.chance(0.4) { Some(-300) } else { None },
            eu_resident: Some(country == "DE" || country == "GB"),
            personal_website: None,
            twitter_handle: None,
            last_contacted_type: if contacted {
                Some((*g.pick(&["email", "call"])).to_owned())
            } else {
                None
            },
            job_seniority: g.maybe(0.5, |g| (*g.pick(SENIORITIES)).to_owned()),
            custom_fields,
            tags: if g.chance(0.3) {
                vec![(*g.pick(TAGS)).to_owned()]
            } else {
                Vec::new()
            },
            contact_restrictions: Vec::new(),
            success_count: Some(0),
            starred: Some(false),
            untouched: Some(!contacted),
            counts: Some(PersonCounts {
                emails_sent: Some(sent),
                emails_viewed: Some(sent / 2),
                emails_clicked: Some(sent / 4),
                emails_replied_to: Some(sent / 6),
                emails_bounced: Some(0),
                calls: Some(g.rng.i64(0..3)),
                extra: Default::default(),
            }),
            account: account.map(|a| r("accounts", AccountId(a))),
            owner: Some(r("users", UserId(owner))),
            last_contacted_by: if contacted {
                Some(r("users", UserId(owner)))
            } else {
                None
            },
            import: None,
            person_stage: None,
            most_recent_cadence: cadences.last().cloned(),
            last_completed_step_cadence: None,
            last_completed_step: None,
            cadences,
            extra: Default::default(),
        });
    }
    out
}
