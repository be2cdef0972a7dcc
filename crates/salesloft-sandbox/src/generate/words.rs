//! The words generated records are made of: names, titles, places, states.

pub(crate) const FIRST_NAMES: &[&str] = &[
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
pub(crate) const LAST_NAMES: &[&str] = &[
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
pub(crate) const TITLES: &[&str] = &[
    "VP of Sales",
    "Head of Revenue Operations",
    "Account Executive",
    "Chief Technology Officer",
    "Director of Marketing",
    "Sales Development Representative",
    "Procurement Manager",
];
pub(crate) const SENIORITIES: &[&str] = &[
    "director",
    "executive",
    "individual_contributor",
    "manager",
    "vice_president",
    "unknown",
];
pub(crate) const INDUSTRIES: &[&str] =
    &["Software", "Banking", "Retail", "Healthcare", "Logistics"];
pub(crate) const CITIES: &[(&str, &str, &str)] = &[
    ("Atlanta", "GA", "US"),
    ("Austin", "TX", "US"),
    ("London", "England", "GB"),
    ("Berlin", "Berlin", "DE"),
    ("Toronto", "ON", "CA"),
];
pub(crate) const TAGS: &[&str] = &[
    "q3",
    "webinar",
    "enterprise",
    "inbound",
    "conference",
    "churn-risk",
];
pub(crate) const DISPOSITIONS: &[&str] =
    &["Connected", "Left Voicemail", "No Answer", "Wrong Number"];
pub(crate) const SENTIMENTS: &[&str] = &[
    "Interested",
    "Not Interested",
    "Demo Scheduled",
    "Follow Up",
];
pub(crate) const EMAIL_STATUSES: &[&str] =
    &["sent", "sent", "sent", "sent_from_gmail", "delivering"];
pub(crate) const MEMBERSHIP_STATES: &[(&str, bool)] = &[
    ("active", true),
    ("staged", true),
    ("scheduled", true),
    ("completed", false),
    ("removed", false),
    ("removed_no_action", false),
];
