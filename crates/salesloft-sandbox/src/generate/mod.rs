//! A deterministic generator of realistic team data: the same seed and counts always give the
//! same records, byte for byte.
//!
//! Realism it aims for: timestamps with microseconds in the team's UTC offset; `null` wherever
//! real payloads leave fields empty; tags and custom fields; people on accounts and cadences;
//! and deliberate tie groups, where a bulk operation gave hundreds of records one `updated_at`
//! (some larger than a page of 100), which is what breaks naive incremental sync.

mod activity;
mod definitions;
mod engagement;
mod feed;
mod people;
mod size;
mod team;
mod tools;
mod words;

use chrono::FixedOffset;
use salesloft_model::{Account, Cadence, CadenceMembership, Call, Email, Note, Person, Step, User};
use std::collections::HashMap;

pub use definitions::Definitions;
pub use engagement::Engagement;
pub use feed::Feed;
pub(crate) use size::{FIRST_USER_ID, first_id};
pub use size::{TEAM_ID, TeamSize};
pub(crate) use tools::{href, r, ts};

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
    /// The definition lists (empty unless [`TeamSize::definitions`]).
    pub definitions: Definitions,
    /// Successes, call data records, CRM activities, actions and tasks, derived from the rest.
    pub engagement: Engagement,
    /// The activity feed, e-mail templates, imports, CRM users and fields.
    pub feed: Feed,
}

/// Generate team `team_id` of `size` from `seed`, with timestamps in `offset`. Each kind of
/// record comes from its own function, in an order fixed so the same seed gives the same
/// records.
pub fn generate(seed: u64, size: TeamSize, offset: FixedOffset, team_id: i64) -> Generated {
    let mut g = tools::Gen {
        rng: fastrand::Rng::with_seed(seed),
        offset,
        team_id,
    };
    let size = TeamSize {
        users: size.users.max(1),
        ..size
    };
    let users = team::users(&mut g, &size);
    let user_ids: Vec<i64> = users.iter().map(|u| u.id.0).collect();
    let accounts = team::accounts(&mut g, &size, &user_ids);
    let (cadences, steps) = team::cadences(&mut g, &size, &user_ids);
    let steps_by_cadence: HashMap<i64, Vec<i64>> = steps.iter().fold(HashMap::new(), |mut m, s| {
        if let Some(c) = &s.cadence {
            m.entry(c.id.0).or_default().push(s.id.0);
        }
        m
    });

    let (memberships, on_cadences) = people::memberships(&mut g, &size, &user_ids);
    let people = people::people(&mut g, &size, &user_ids, &on_cadences);
    let mut emails = activity::emails(&mut g, &size, &people, &steps_by_cadence);
    let mut calls = activity::calls(&mut g, &size, &people);
    activity::at_local_midnights(&users, &mut emails, &mut calls);
    let notes = activity::notes(&mut g, &size, &people, &user_ids);
    let definitions = if size.definitions {
        definitions::definitions(&mut g)
    } else {
        Definitions::default()
    };
    let engagement = engagement::engagement(
        &mut g,
        &engagement::Sources {
            people: &people,
            emails: &emails,
            calls: &calls,
            memberships: &memberships,
            steps: &steps,
        },
    );
    let feed = feed::feed(
        &mut g,
        &feed::FeedSources {
            users: &users,
            people: people.len(),
            notes: &notes,
            successes: &engagement.successes,
            definitions: size.definitions,
        },
    );
    Generated {
        users,
        accounts,
        people,
        cadences,
        steps,
        memberships,
        emails,
        calls,
        notes,
        definitions,
        engagement,
        feed,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::tools::guid;
    use super::*;

    fn offset() -> FixedOffset {
        FixedOffset::west_opt(5 * 3600).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = generate(7, TeamSize::default(), offset(), TEAM_ID);
        let b = generate(7, TeamSize::default(), offset(), TEAM_ID);
        assert_eq!(
            serde_json::to_string(&a.people).unwrap(),
            serde_json::to_string(&b.people).unwrap()
        );
        let c = generate(8, TeamSize::default(), offset(), TEAM_ID);
        assert_ne!(
            serde_json::to_string(&a.people).unwrap(),
            serde_json::to_string(&c.people).unwrap()
        );
    }

    #[test]
    fn people_have_tie_groups_larger_than_a_page_and_unique_emails() {
        let g = generate(1, TeamSize::default(), offset(), TEAM_ID);
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
        let g = generate(3, TeamSize::default(), offset(), TEAM_ID);
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
