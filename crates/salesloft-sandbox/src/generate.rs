//! A deterministic generator of realistic team data: the same seed and counts always give the
//! same records, byte for byte.
//!
//! Realism it aims for: timestamps with microseconds in the team's UTC offset; `null` wherever
//! real payloads leave fields empty; tags and custom fields; people on accounts and cadences;
//! and deliberate tie groups, where a bulk operation gave hundreds of records one `updated_at`
//! (some larger than a page of 100), which is what breaks naive incremental sync.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use salesloft_client::models::{
    AccountCounts, CadenceCounts, EmailCounts, MembershipCounts, PersonCounts,
};
use salesloft_client::{
    Account, AccountId, Cadence, CadenceId, CadenceMembership, CadenceMembershipId, Call, CallId,
    Email, EmailId, Note, NoteId, Person, PersonId, Ref, RoleId, Step, StepId, TeamId, Timestamp,
    User, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

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
const HISTORY_START_US: i64 = 1_704_067_200_000_000;
/// Generated history spans 600 days.
const HISTORY_SPAN_US: i64 = 600 * 86_400 * 1_000_000;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "John",
    "Katherine",
    "Linus",
    "Sophie",
    "Tim",
    "Hedy",
    "Niklaus",
    "Shafi",
    "Leslie",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Backus",
    "Johnson",
    "Torvalds",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Wirth",
    "Goldwasser",
    "Lamport",
];
const TITLES: &[&str] = &[
    "VP of Sales",
    "Head of Revenue Operations",
    "Account Executive",
    "Chief Technology Officer",
    "Director of Marketing",
    "Sales Development Representative",
    "Procurement Manager",
];
const SENIORITIES: &[&str] = &[
    "director",
    "executive",
    "individual_contributor",
    "manager",
    "vice_president",
    "unknown",
];
const INDUSTRIES: &[&str] = &["Software", "Banking", "Retail", "Healthcare", "Logistics"];
const CITIES: &[(&str, &str, &str)] = &[
    ("Atlanta", "GA", "US"),
    ("Austin", "TX", "US"),
    ("London", "England", "GB"),
    ("Berlin", "Berlin", "DE"),
    ("Toronto", "ON", "CA"),
];
const TAGS: &[&str] = &[
    "q3",
    "webinar",
    "enterprise",
    "inbound",
    "conference",
    "churn-risk",
];
const DISPOSITIONS: &[&str] = &["Connected", "Left Voicemail", "No Answer", "Wrong Number"];
const SENTIMENTS: &[&str] = &[
    "Interested",
    "Not Interested",
    "Demo Scheduled",
    "Follow Up",
];
const EMAIL_STATUSES: &[&str] = &["sent", "sent", "sent", "sent_from_gmail", "delivering"];
const MEMBERSHIP_STATES: &[(&str, bool)] = &[
    ("active", true),
    ("staged", true),
    ("scheduled", true),
    ("completed", false),
    ("removed", false),
    ("removed_no_action", false),
];

/// Everything a generator run produces.
#[derive(Debug, Default)]
pub struct Generated {
    /// Users.
    pub users: Vec<User>,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// People.
    pub people: Vec<Person>,
    /// Cadences.
    pub cadences: Vec<Cadence>,
    /// Steps.
    pub steps: Vec<Step>,
    /// Memberships.
    pub memberships: Vec<CadenceMembership>,
    /// E-mails.
    pub emails: Vec<Email>,
    /// Calls.
    pub calls: Vec<Call>,
    /// Notes.
    pub notes: Vec<Note>,
}

/// A timestamp in the team's offset.
pub(crate) fn ts(us: i64, offset: FixedOffset) -> Timestamp {
    DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .with_timezone(&offset)
}

pub(crate) fn href(path: &str, id: i64) -> Option<String> {
    Some(format!("https://api.salesloft.com/v2/{path}/{id}"))
}

pub(crate) fn r<I>(path: &str, id: I) -> Ref<I>
where
    I: Copy + Into<i64>,
{
    Ref {
        id,
        href: href(path, id.into()),
    }
}

struct Gen {
    rng: fastrand::Rng,
    offset: FixedOffset,
}

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    fn maybe<T>(&mut self, p: f64, v: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.chance(p) { Some(v(self)) } else { None }
    }

    /// A creation instant inside the generated history.
    fn created(&mut self) -> i64 {
        HISTORY_START_US + self.rng.i64(0..HISTORY_SPAN_US)
    }

    /// An update instant after `created`, inside the history.
    fn updated_after(&mut self, created: i64) -> i64 {
        let end = HISTORY_START_US + HISTORY_SPAN_US;
        if created >= end - 1 {
            return created;
        }
        created + self.rng.i64(0..(end - created))
    }

    fn ts(&self, us: i64) -> Timestamp {
        ts(us, self.offset)
    }
}

/// Assign tie groups: bulk operations that stamped many records with one instant. Returns
/// (first index, length, instant) triples that do not overlap, some larger than a page of 100.
fn tie_groups(n: usize, g: &mut Gen) -> Vec<(usize, usize, i64)> {
    let mut sizes: Vec<usize> = vec![250, 120, 40, 2];
    if n >= 10_000 {
        sizes.extend([300, 150, 101, 100, 99]);
    }
    let mut out = Vec::new();
    let mut cursor = n / 10;
    for size in sizes {
        if cursor + size > n || size > n / 3 {
            continue;
        }
        let instant = HISTORY_START_US + HISTORY_SPAN_US / 2 + g.rng.i64(0..HISTORY_SPAN_US / 2);
        out.push((cursor, size, instant));
        cursor += size + n / 20 + 1;
    }
    out
}

fn tie_instant(groups: &[(usize, usize, i64)], i: usize) -> Option<i64> {
    groups
        .iter()
        .find(|(start, len, _)| i >= *start && i < start + len)
        .map(|(_, _, t)| *t)
}

/// Generate a team of `size` from `seed`, with timestamps in `offset`.
pub fn generate(seed: u64, size: TeamSize, offset: FixedOffset) -> Generated {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(seed),
        offset,
    };
    let mut out = Generated::default();
    let size = TeamSize {
        users: size.users.max(1),
        ..size
    };

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
        out.users.push(User {
            id: UserId(id),
            guid: Some(guid(&mut g.rng)),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            name: Some(format!("{first} {last}")),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            job_role: g.maybe(0.5, |g| (*g.pick(&["Sales", "SDR", "Manager"])).to_owned()),
            active: Some(i == 0 || !g.chance(0.1)),
            time_zone: Some("US/Eastern".into()),
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
                id: TeamId(TEAM_ID),
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
    let user_ids: Vec<i64> = out.users.iter().map(|u| u.id.0).collect();

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
        let owner = *g.pick(&user_ids);
        out.accounts.push(Account {
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

    for i in 0..size.cadences {
        let id = FIRST_CADENCE_ID + i as i64;
        let created = g.created();
        let updated = g.updated_after(created);
        let owner = *g.pick(&user_ids);
        out.cadences.push(Cadence {
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
        let steps = 3 + g.rng.usize(0..4);
        for s in 0..steps {
            let step_type = *g.pick(&["email", "email", "phone", "other"]);
            let day = 1 + (s as i32) * 2;
            let id = FIRST_STEP_ID + out.steps.len() as i64;
            out.steps.push(Step {
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
    let steps_by_cadence: HashMap<i64, Vec<i64>> =
        out.steps.iter().fold(HashMap::new(), |mut m, s| {
            if let Some(c) = &s.cadence {
                m.entry(c.id.0).or_default().push(s.id.0);
            }
            m
        });

    // Memberships first, so each person can list the cadences they are on.
    let mut on_cadences: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut pairs = HashSet::new();
    let membership_ties = tie_groups(size.memberships, &mut g);
    if size.people > 0 && size.cadences > 0 {
        let max_pairs = size.people * size.cadences;
        let mut i = 0usize;
        while out.memberships.len() < size.memberships.min(max_pairs) {
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
            let user = *g.pick(&user_ids);
            out.memberships.push(CadenceMembership {
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

    let people_ties = tie_groups(size.people, &mut g);
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
        let owner = *g.pick(&user_ids);
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
        out.people.push(Person {
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

    let email_ties = tie_groups(size.emails, &mut g);
    for i in 0..size.emails {
        if out.people.is_empty() {
            break;
        }
        let person = &out.people[g.rng.usize(..out.people.len())];
        let created = g.created();
        let sent_at = created + g.rng.i64(1_000_000..60_000_000);
        let updated = tie_instant(&email_ties, i)
            .filter(|t| *t >= sent_at)
            .unwrap_or_else(|| g.updated_after(sent_at));
        let views = g.rng.i64(0..4);
        let bounced = g.chance(0.02);
        let cadence = person.cadences.first().map(|c| c.id.0);
        let step = cadence
            .and_then(|c| steps_by_cadence.get(&c))
            .and_then(|s| s.first().copied());
        out.emails.push(Email {
            id: EmailId(FIRST_EMAIL_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            recipient_email_address: person.email_address.clone(),
            status: Some((*g.pick(EMAIL_STATUSES)).to_owned()),
            bounced: Some(bounced),
            send_after: None,
            sent_at: Some(g.ts(sent_at)),
            click_tracking: Some(true),
            view_tracking: Some(true),
            personalization: Some(format!("{:.1}", g.rng.f64() * 30.0)),
            subject: None,
            error_message: None,
            headers: Some(json!({"cc": null, "bcc": null})),
            counts: Some(EmailCounts {
                clicks: Some(if views > 1 { g.rng.i64(0..2) } else { 0 }),
                views: Some(views),
                replies: Some(if views > 2 { 1 } else { 0 }),
                unique_devices: Some(views.min(1)),
                unique_locations: Some(views.min(1)),
                attachments: Some(0),
                extra: Default::default(),
            }),
            user: person.owner.clone(),
            recipient: Some(r("people", person.id)),
            mailing: Some(Ref {
                id: 77_000 + i as i64,
                href: None,
            }),
            action: None,
            crm_activity: None,
            cadence: cadence.map(|c| r("cadences", CadenceId(c))),
            step: step.map(|s| r("steps", StepId(s))),
            email_template: None,
            task: None,
            extra: Default::default(),
        });
    }

    for i in 0..size.calls {
        if out.people.is_empty() {
            break;
        }
        let person = &out.people[g.rng.usize(..out.people.len())];
        let created = g.created();
        let updated = created + g.rng.i64(0..600_000_000);
        out.calls.push(Call {
            id: CallId(FIRST_CALL_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            to: person.phone.clone(),
            duration: Some(g.rng.i64(0..900)),
            disposition: Some((*g.pick(DISPOSITIONS)).to_owned()),
            sentiment: g.maybe(0.6, |g| (*g.pick(SENTIMENTS)).to_owned()),
            recordings: Vec::new(),
            user: person.owner.clone(),
            action: None,
            called_person: Some(r("people", person.id)),
            crm_activity: None,
            note: None,
            cadence: None,
            step: None,
            extra: Default::default(),
        });
    }

    for i in 0..size.notes {
        if out.people.is_empty() {
            break;
        }
        let person = out.people[g.rng.usize(..out.people.len())].id;
        let created = g.created();
        let updated = g.updated_after(created);
        let user = *g.pick(&user_ids);
        out.notes.push(Note {
            id: NoteId(FIRST_NOTE_ID + i as i64),
            created_at: g.ts(created),
            updated_at: g.ts(updated),
            content: Some(format!(
                "Spoke about {}",
                g.pick(&["pricing", "the renewal", "a pilot", "security review"])
            )),
            associated_type: Some("person".into()),
            associated_with: Some(Ref {
                id: person.0,
                href: href("people", person.0),
            }),
            user: Some(r("users", UserId(user))),
            call: None,
            extra: Default::default(),
        });
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A random UUID v4 in text form.
pub(crate) fn guid(rng: &mut fastrand::Rng) -> String {
    let a = rng.u128(..);
    let b = (a & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset() -> FixedOffset {
        FixedOffset::west_opt(5 * 3600).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = generate(7, TeamSize::default(), offset());
        let b = generate(7, TeamSize::default(), offset());
        assert_eq!(
            serde_json::to_string(&a.people).unwrap(),
            serde_json::to_string(&b.people).unwrap()
        );
        let c = generate(8, TeamSize::default(), offset());
        assert_ne!(
            serde_json::to_string(&a.people).unwrap(),
            serde_json::to_string(&c.people).unwrap()
        );
    }

    #[test]
    fn people_have_tie_groups_larger_than_a_page_and_unique_emails() {
        let g = generate(1, TeamSize::default(), offset());
        let mut by_instant: HashMap<i64, usize> = HashMap::new();
        for p in &g.people {
            *by_instant
                .entry(p.updated_at.timestamp_micros())
                .or_default() += 1;
        }
        assert!(
            by_instant.values().any(|n| *n > 100),
            "a tie group larger than a page"
        );
        let emails: HashSet<_> = g.people.iter().map(|p| p.email_address.clone()).collect();
        assert_eq!(emails.len(), g.people.len());
        let p = &g.people[0];
        assert_eq!(p.updated_at.offset().local_minus_utc(), -5 * 3600);
        assert!(
            g.people.iter().any(|p| p.title.is_none())
                && g.people.iter().any(|p| p.title.is_some())
        );
    }

    #[test]
    fn memberships_are_unique_per_person_and_cadence_and_people_list_their_cadences() {
        let g = generate(3, TeamSize::default(), offset());
        let pairs: HashSet<_> = g
            .memberships
            .iter()
            .map(|m| {
                (
                    m.person.as_ref().unwrap().id,
                    m.cadence.as_ref().unwrap().id,
                )
            })
            .collect();
        assert_eq!(pairs.len(), g.memberships.len());
        let current = g
            .memberships
            .iter()
            .filter(|m| m.currently_on_cadence == Some(true))
            .count();
        let listed: usize = g.people.iter().map(|p| p.cadences.len()).sum();
        assert_eq!(current, listed);
    }

    #[test]
    fn guids_look_like_uuid_v4() {
        let mut rng = fastrand::Rng::with_seed(1);
        let g = guid(&mut rng);
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "4");
    }
}
