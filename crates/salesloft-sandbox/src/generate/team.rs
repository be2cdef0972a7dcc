//! The team's own records: users, accounts, cadences and their steps.

use salesloft_model::models::{AccountCounts, CadenceCounts};
use salesloft_model::{
    Account, AccountId, Cadence, CadenceId, Ref, RoleId, Step, StepId, TeamId, User, UserId,
};
use serde_json::json;

use super::size::{FIRST_ACCOUNT_ID, FIRST_CADENCE_ID, FIRST_STEP_ID, FIRST_USER_ID, TeamSize};
use super::tools::{Gen, capitalise, guid, r};
use super::words::{CITIES, FIRST_NAMES, INDUSTRIES, LAST_NAMES, TAGS, TITLES};

/// The users' time zones in turn: zones on both sides of UTC, with and without DST, one at
/// a quarter-hour offset, and one user in six without a zone (their day is the team's).
pub(crate) const USER_TIME_ZONES: &[Option<&str>] = &[
    Some("US/Eastern"),
    Some("America/Los_Angeles"),
    Some("Europe/London"),
    Some("Asia/Kathmandu"),
    Some("Australia/Sydney"),
    None,
];

/// The team's users: the first is the authenticated user, a team admin.
pub(crate) fn users(g: &mut Gen, size: &TeamSize) -> Vec<User> {
    let mut out: Vec<User> = Vec::new();
    for i in 0..size.users {
        let id = FIRST_USER_ID + i as i64;
        let first = *g.pick(FIRST_NAMES);
        let last = *g.pick(LAST_NAMES);
        let created = g.created();
        let updated = g.updated_after(created);
        let email = format!(
            "{}.{}{}@sandbox-team.example",
            first.to_lowercase(),
            last.to_lowercase(),
            i
        );
        let role = match i {
            0 => "Admin".to_owned(),
            _ if i % 4 == 0 => "20".to_owned(),
            _ => "User".to_owned(),
        };
        out.push(User {
            id: UserId(id),
            guid: Some(guid(&mut g.rng)),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            name: Some(format!("{first} {last}")),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            job_role: g.maybe(0.5, |g| (*g.pick(&["Sales", "SDR", "Manager"])).to_owned()),
            active: Some(i == 0 || !g.chance(0.1)),
            // By index, so the random sequence is the same for every zone mix.
            time_zone: USER_TIME_ZONES[i % USER_TIME_ZONES.len()].map(str::to_owned),
            slack_username: None,
            twitter_handle: None,
            email: Some(email.clone()),
            email_client_email_address: Some(email.clone()),
            sending_email_address: Some(email.clone()),
            from_address: None,
            full_email_address: Some(format!("\"{first} {last}\" <{email}>")),
            bcc_email_address: None,
            work_country: Some("US".into()),
            email_signature: Some(String::new()),
            email_signature_type: Some("html".into()),
            email_signature_click_tracking_disabled: Some(false),
            team_admin: Some(i == 0),
            local_dial_enabled: Some(false),
            click_to_call_enabled: Some(true),
            email_client_configured: Some(true),
            crm_connected: Some(false),
            external_feature_flags: Some(json!({})),
            private_fields: Some(json!({})),
            phone_client: Some(Ref { id: 9, href: None }),
            phone_number_assignment: None,
            group: None,
            team: Some(Ref {
                id: TeamId(g.team_id),
                href: Some("https://api.salesloft.com/v2/team".into()),
            }),
            role: Some(Ref {
                id: RoleId(role),
                href: None,
            }),
            extra: [("seat_package".to_owned(), json!("advanced"))]
                .into_iter()
                .collect(),
        });
    }
    out
}

/// Accounts, each owned by one of `user_ids`.
pub(crate) fn accounts(g: &mut Gen, size: &TeamSize, user_ids: &[i64]) -> Vec<Account> {
    let mut out: Vec<Account> = Vec::new();
    for i in 0..size.accounts {
        let id = FIRST_ACCOUNT_ID + i as i64;
        let name = format!(
            "{} {}",
            g.pick(LAST_NAMES),
            g.pick(&["Labs", "Systems", "Bank", "Retail", "Health"])
        );
        let domain = format!("account{i}.example.com");
        let created = g.created();
        let updated = g.updated_after(created);
        let (city, state, country) = *g.pick(CITIES);
        let owner = *g.pick(user_ids);
        out.push(Account {
            id: AccountId(id),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            archived_at: if g.chance(0.03) {
                Some(g.ts(updated))
            } else {
                None
            },
            name: Some(name.clone()),
            domain: Some(domain.clone()),
            conversational_name: Some(name),
            description: g.maybe(0.3, |_| "Imported from the CRM".to_owned()),
            phone: g.maybe(0.4, |g| format!("+1 555 {:04}", g.rng.u32(0..10_000))),
            website: Some(format!("https://{domain}")),
            linkedin_url: None,
            twitter_handle: None,
            street: None,
            city: g.maybe(0.6, |_| city.to_owned()),
            state: g.maybe(0.6, |_| state.to_owned()),
            postal_code: None,
            country: Some(country.into()),
            locale: None,
            industry: g.maybe(0.7, |g| (*g.pick(INDUSTRIES)).to_owned()),
            company_type: None,
            founded: g.maybe(0.3, |g| g.rng.u32(1950..2022).to_string()),
            revenue_range: None,
            size: g.maybe(0.5, |g| {
                (*g.pick(&["1-10", "11-50", "51-200", "201-1000", "1000+"])).to_owned()
            }),
            crm_id: g.maybe(0.4, |g| {
                format!("001{:012}", g.rng.u64(..1_000_000_000_000))
            }),
            crm_url: None,
            crm_object_type: Some("account".into()),
            owner_crm_id: None,
            last_contacted_at: None,
            last_contacted_type: None,
            do_not_contact: Some(false),
            custom_fields: Default::default(),
            tags: Vec::new(),
            user_relationships: Some(json!([])),
            counts: Some(AccountCounts {
                people: None,
                extra: Default::default(),
            }),
            owner: Some(r("users", UserId(owner))),
            creator: Some(r("users", UserId(owner))),
            last_contacted_by: None,
            last_contacted_person: None,
            company_stage: None,
            account_tier: None,
            extra: [
                ("prospector_engagement_level".to_owned(), json!(null)),
                ("prospector_engagement_score".to_owned(), json!(null)),
            ]
            .into_iter()
            .collect(),
        });
    }
    out
}

/// Cadences with 3 to 6 steps each.
pub(crate) fn cadences(
    g: &mut Gen,
    size: &TeamSize,
    user_ids: &[i64],
) -> (Vec<Cadence>, Vec<Step>) {
    let mut cadences = Vec::new();
    let mut steps = Vec::new();
    for i in 0..size.cadences {
        let id = FIRST_CADENCE_ID + i as i64;
        let created = g.created();
        let updated = g.updated_after(created);
        let owner = *g.pick(user_ids);
        cadences.push(Cadence {
            id: CadenceId(id),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            archived_at: None,
            name: Some(format!(
                "{} - {} #{i}",
                g.pick(&["Prospecting", "Nurture", "Event follow-up", "Re-engage"]),
                g.pick(TITLES)
            )),
            team_cadence: Some(g.chance(0.3)),
            shared: Some(true),
            remove_bounces_enabled: Some(true),
            remove_replies_enabled: Some(true),
            opt_out_link_included: Some(g.chance(0.5)),
            draft: Some(false),
            cadence_framework_id: None,
            cadence_function: Some((*g.pick(&["outbound", "inbound", "event"])).to_owned()),
            external_identifier: None,
            tags: vec![(*g.pick(TAGS)).to_owned()],
            current_state: Some("active".into()),
            latest_active_date: Some(g.ts(updated).format("%Y-%m-%d").to_string()),
            creator: Some(r("users", UserId(owner))),
            owner: Some(r("users", UserId(owner))),
            bounced_stage: None,
            replied_stage: None,
            added_stage: None,
            finished_stage: None,
            cadence_priority: None,
            groups: Vec::new(),
            counts: Some(CadenceCounts {
                cadence_people: Some(0),
                people_acted_on_count: Some(0),
                target_daily_people: Some(10),
                opportunities_created: Some(0),
                meetings_booked: Some(0),
                extra: Default::default(),
            }),
            extra: Default::default(),
        });
        let step_count = 3 + g.rng.usize(0..4);
        for s in 0..step_count {
            let step_type = *g.pick(&["email", "email", "phone", "other", "integration"]);
            let day = 1 + (s as i32) * 2;
            let id = FIRST_STEP_ID + steps.len() as i64;
            steps.push(Step {
                id: StepId(id),
                created_at: g.ts(created),
                updated_at: g.ts(created),
                disabled: Some(false),
                step_type: Some(step_type.into()),
                name: Some(format!("{} {}", capitalise(step_type), s + 1)),
                display_name: Some(format!(
                    "Day {day}: Step {} - {}",
                    s + 1,
                    capitalise(step_type)
                )),
                day: Some(day),
                step_number: Some(s as i32 + 1),
                multitouch_enabled: Some(false),
                cadence: Some(r("cadences", CadenceId(FIRST_CADENCE_ID + i as i64))),
                details: Some(json!({"id": id})),
                extra: Default::default(),
            });
        }
    }
    (cadences, steps)
}
