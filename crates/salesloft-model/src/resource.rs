//! The one list of SalesLoft resources the toolkit keeps: a [`Resource`] descriptor each, and
//! [`for_each_resource!`](crate::for_each_resource) for code that needs their types.
//!
//! Everything that handles "every resource" iterates this list instead of naming resources
//! itself: the sync streams, the command line, verification, status, the sandbox's collections
//! and routes, and the webhook event types. Adding a resource means adding its descriptor here
//! and its list type to [`for_each_resource!`](crate::for_each_resource); the compiler then
//! points at each part that must learn the new type (its model, its stored table, its generated
//! data).

/// What the toolkit knows about one SalesLoft resource, by name.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resource {
    /// The resource's name, such as `cadence_memberships`: the sync stream, the command-line
    /// argument, the sandbox collection and the key of a full export all use it.
    pub name: &'static str,
    /// The path of its list, such as `/v2/activities/emails`; one record is `{path}/{id}`.
    pub path: &'static str,
    /// The label of its list requests in logs and in the per-endpoint cost table.
    pub list_endpoint: &'static str,
    /// How the local copy keeps it, by what its list can filter ([`Strategy`]).
    pub strategy: Strategy,
    /// Parameters every list request of it sends, where what SalesLoft lists by default leaves
    /// records out (e-mail templates: archived and cadence templates).
    pub list_params: &'static [(&'static str, &'static str)],
    /// Whether its list takes an `ids[]` filter (SalesLoft's call dispositions and sentiments
    /// do not): what confirms a record missing from a full list is gone.
    pub ids_filter: bool,
    /// Webhook event types whose body is one of its records in its new state.
    pub changed_events: &'static [&'static str],
    /// Webhook event types whose body is one of its records in its last state before deletion.
    pub deleted_events: &'static [&'static str],
    /// Fields only its records carry among the resources kept (present, even as `null`, in
    /// every record SalesLoft sends; empty for a resource no webhook carries): a body with none of them is not one of its records,
    /// whatever its event type header says. SalesLoft signs the body, not the header, so a
    /// signed body replayed under another event type is told apart by its shape.
    pub marker_fields: &'static [&'static str],
}

/// How a collection is kept in the local copy: chosen per resource by what SalesLoft's list
/// of it can filter and sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Its list filters and sorts by `updated_at`: read incrementally with salesloft-client's
    /// `ListRequest::walk` (cost 1 a page, one page when nothing changed). Deletes arrive as
    /// webhooks (hints, confirmed against SalesLoft) and by reconcile passes.
    Walk,
    /// No `updated_at` filter (users, steps, the small definition lists): listed whole every
    /// run, page by page at SalesLoft's page-depth cost. Deletes are seen by difference: a
    /// record the copy held before a complete listing that the listing lacks is gone, once an
    /// `ids[]` request confirms it (or, for a list without that filter, when the listing was
    /// one page, one answer); and by webhooks where SalesLoft sends them.
    FullList,
}

impl Strategy {
    /// Its name in reports and documentation: `walk`, `full list`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Walk => "walk",
            Strategy::FullList => "full list",
        }
    }
}

impl Resource {
    /// Whether it is read with the incremental walk ([`Strategy::Walk`]).
    pub fn walkable(&self) -> bool {
        self.strategy == Strategy::Walk
    }

    /// The resource named `name` (`-` reads as `_`, so `cadence-memberships` works too).
    pub fn named(name: &str) -> Option<&'static Resource> {
        let wanted = name.replace('-', "_");
        RESOURCES.iter().copied().find(|r| r.name == wanted)
    }

    /// The resource whose records a webhook of `event_type` carries, and whether the event says
    /// the record was deleted.
    pub fn of_event(event_type: &str) -> Option<(&'static Resource, bool)> {
        RESOURCES.iter().copied().find_map(|r| {
            if r.changed_events.contains(&event_type) {
                Some((r, false))
            } else if r.deleted_events.contains(&event_type) {
                Some((r, true))
            } else {
                None
            }
        })
    }

    /// Whether `keys` (a record's top-level field names) include one of its
    /// [`marker_fields`](Resource::marker_fields).
    pub fn has_marker<'k>(&self, mut keys: impl Iterator<Item = &'k str>) -> bool {
        keys.any(|k| self.marker_fields.contains(&k))
    }

    /// Every resource's name, comma-separated, for error messages and help texts.
    pub fn names() -> String {
        RESOURCES
            .iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// `/v2/users`.
pub static USERS: Resource = Resource {
    name: "users",
    path: "/v2/users",
    list_endpoint: "users.list",
    strategy: Strategy::FullList,
    list_params: &[],
    ids_filter: true,
    changed_events: &["user_created", "user_updated"],
    deleted_events: &[],
    marker_fields: &[
        "guid",
        "team_admin",
        "email_client_email_address",
        "sending_email_address",
        "job_role",
        "role",
    ],
};

/// `/v2/accounts`.
pub static ACCOUNTS: Resource = Resource {
    name: "accounts",
    path: "/v2/accounts",
    list_endpoint: "accounts.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["account_created", "account_updated"],
    deleted_events: &["account_deleted"],
    marker_fields: &[
        "domain",
        "conversational_name",
        "company_type",
        "revenue_range",
        "founded",
        "industry",
        "user_relationships",
        "company_stage",
        "account_tier",
    ],
};

/// `/v2/people`.
pub static PEOPLE: Resource = Resource {
    name: "people",
    path: "/v2/people",
    list_endpoint: "people.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["person_created", "person_updated"],
    deleted_events: &["person_deleted"],
    marker_fields: &[
        "email_address",
        "personal_email_address",
        "secondary_email_address",
        "job_seniority",
        "person_stage",
        "person_company_name",
        "bouncing",
        "eu_resident",
        "mobile_phone",
        "home_phone",
    ],
};

/// `/v2/cadences`.
pub static CADENCES: Resource = Resource {
    name: "cadences",
    path: "/v2/cadences",
    list_endpoint: "cadences.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["cadence_created", "cadence_updated"],
    deleted_events: &["cadence_deleted"],
    marker_fields: &[
        "cadence_function",
        "team_cadence",
        "cadence_framework_id",
        "remove_bounces_enabled",
        "remove_replies_enabled",
        "opt_out_link_included",
        "cadence_priority",
        "bounced_stage",
        "replied_stage",
    ],
};

/// `/v2/steps`.
pub static STEPS: Resource = Resource {
    name: "steps",
    path: "/v2/steps",
    list_endpoint: "steps.list",
    strategy: Strategy::FullList,
    list_params: &[],
    ids_filter: true,
    changed_events: &["step_created", "step_updated"],
    deleted_events: &["step_deleted"],
    marker_fields: &["step_number", "multitouch_enabled", "day"],
};

/// `/v2/cadence_memberships` (SalesLoft sends no deletion event: a removed membership is
/// updated with `currently_on_cadence: false`).
pub static CADENCE_MEMBERSHIPS: Resource = Resource {
    name: "cadence_memberships",
    path: "/v2/cadence_memberships",
    list_endpoint: "cadence_memberships.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["cadence_membership_created", "cadence_membership_updated"],
    deleted_events: &[],
    marker_fields: &[
        "currently_on_cadence",
        "person_deleted",
        "added_at",
        "latest_action",
    ],
};

/// `/v2/activities/emails` (read-only; SalesLoft announces changes, never creations).
pub static EMAILS: Resource = Resource {
    name: "emails",
    path: "/v2/activities/emails",
    list_endpoint: "emails.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["email_updated", "email_with_body_and_subject_updated"],
    deleted_events: &[],
    marker_fields: &[
        "recipient_email_address",
        "send_after",
        "click_tracking",
        "view_tracking",
        "mailing",
        "email_template",
        "personalization",
    ],
};

/// `/v2/activities/calls`.
pub static CALLS: Resource = Resource {
    name: "calls",
    path: "/v2/activities/calls",
    list_endpoint: "calls.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["call_created", "call_updated"],
    deleted_events: &[],
    marker_fields: &[
        "disposition",
        "sentiment",
        "duration",
        "recordings",
        "called_person",
    ],
};

/// `/v2/notes`.
pub static NOTES: Resource = Resource {
    name: "notes",
    path: "/v2/notes",
    list_endpoint: "notes.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["note_created", "note_updated"],
    deleted_events: &["note_deleted"],
    marker_fields: &["content", "associated_type", "associated_with"],
};

/// The descriptor of a resource no webhook carries (so no markers either), at `/v2/{name}`.
macro_rules! unannounced {
    (
        $(#[$doc:meta])* $static:ident, $name:literal, $strategy:ident, ids: $ids:literal
        $(, params: [$(($k:literal, $v:literal)),*])?
    ) => {
        $(#[$doc])*
        pub static $static: Resource = Resource {
            name: $name,
            path: concat!("/v2/", $name),
            list_endpoint: concat!($name, ".list"),
            strategy: Strategy::$strategy,
            list_params: &[$($(($k, $v)),*)?],
            ids_filter: $ids,
            changed_events: &[],
            deleted_events: &[],
            marker_fields: &[],
        };
    };
}

unannounced!(
    /// `/v2/account_stages` (filtered by `updated_at`: walked).
    ACCOUNT_STAGES, "account_stages", Walk, ids: true
);
unannounced!(
    /// `/v2/account_tiers`.
    ACCOUNT_TIERS, "account_tiers", FullList, ids: true
);
unannounced!(
    /// `/v2/person_stages`.
    PERSON_STAGES, "person_stages", FullList, ids: true
);
unannounced!(
    /// `/v2/call_dispositions` (no `ids[]` filter).
    CALL_DISPOSITIONS, "call_dispositions", FullList, ids: false
);
unannounced!(
    /// `/v2/call_sentiments` (no `ids[]` filter).
    CALL_SENTIMENTS, "call_sentiments", FullList, ids: false
);
unannounced!(
    /// `/v2/custom_fields`: the definitions of people's, accounts' and opportunities'
    /// custom fields.
    CUSTOM_FIELDS, "custom_fields", FullList, ids: true
);

/// `/v2/successes` (SalesLoft announces creations only; a success's later changes are seen
/// by the walk).
pub static SUCCESSES: Resource = Resource {
    name: "successes",
    path: "/v2/successes",
    list_endpoint: "successes.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["success_created"],
    deleted_events: &[],
    marker_fields: &[
        "succeeded_at",
        "success_window_started_at",
        "latest_cadence",
        "latest_step",
        "latest_email",
        "latest_call",
    ],
};

/// `/v2/call_data_records`: every call the dialer placed or received.
pub static CALL_DATA_RECORDS: Resource = Resource {
    name: "call_data_records",
    path: "/v2/call_data_records",
    list_endpoint: "call_data_records.list",
    strategy: Strategy::Walk,
    list_params: &[],
    ids_filter: true,
    changed_events: &["call_data_record_created", "call_data_record_updated"],
    deleted_events: &[],
    marker_fields: &["call_uuid", "call_type", "direction", "recording"],
};

unannounced!(
    /// `/v2/crm_activities`: activities logged to the team's CRM.
    CRM_ACTIVITIES, "crm_activities", Walk, ids: true
);

unannounced!(
    /// `/v2/actions`: the steps due (or done) for each person on a cadence.
    ACTIONS, "actions", Walk, ids: true
);

/// `/v2/tasks`: no `updated_at` filter, so listed whole; SalesLoft announces every change
/// (`task_created`, `task_updated`, `task_completed`, `task_deleted`), which keeps the copy
/// fresh between listings.
pub static TASKS: Resource = Resource {
    name: "tasks",
    path: "/v2/tasks",
    list_endpoint: "tasks.list",
    strategy: Strategy::FullList,
    list_params: &[],
    ids_filter: true,
    changed_events: &["task_created", "task_updated", "task_completed"],
    deleted_events: &["task_deleted"],
    marker_fields: &[
        "task_type",
        "due_date",
        "remind_at",
        "completed_by",
        "created_by_user",
    ],
};

unannounced!(
    /// `/v2/crm_activity_fields`: the CRM fields activities can carry (no `ids[]` filter).
    CRM_ACTIVITY_FIELDS, "crm_activity_fields", FullList, ids: false
);

unannounced!(
    /// `/v2/crm_users`: the team's users as the CRM knows them.
    CRM_USERS, "crm_users", FullList, ids: true
);

unannounced!(
    /// `/v2/imports`: the people imports of the team.
    IMPORTS, "imports", FullList, ids: true
);

unannounced!(
    /// `/v2/activity_histories`: the activity feed of people and accounts (filtered by
    /// `updated_at`: walked; no `ids[]` filter).
    ACTIVITY_HISTORIES, "activity_histories", Walk, ids: false
);

unannounced!(
    /// `/v2/email_templates`, archived and cadence templates included (SalesLoft leaves both
    /// out unless asked).
    EMAIL_TEMPLATES, "email_templates", Walk, ids: true,
    params: [
        ("include_archived_templates", "true"),
        ("include_cadence_templates", "true")
    ]
);

/// Calls `$callback! { Users => USERS, Accounts => ACCOUNTS, ... }` with every resource, in
/// [`RESOURCES`] order: the name of its list type in `salesloft_client` (`Users`,
/// `People`, ...) and of its descriptor in this module. For code that needs
/// each resource's Rust types (its item, its list request), which a runtime list cannot give.
///
/// ```
/// macro_rules! paths {
///     ($($list:ident => $resource:ident),*) => {
///         [$(salesloft_model::resource::$resource.path),*]
///     };
/// }
/// let paths = salesloft_model::for_each_resource!(paths);
/// assert_eq!(paths[2], "/v2/people");
/// ```
#[macro_export]
macro_rules! for_each_resource {
    ($callback:ident) => {
        $callback! {
            Users => USERS,
            Accounts => ACCOUNTS,
            People => PEOPLE,
            Cadences => CADENCES,
            Steps => STEPS,
            CadenceMemberships => CADENCE_MEMBERSHIPS,
            Emails => EMAILS,
            Calls => CALLS,
            Notes => NOTES,
            AccountStages => ACCOUNT_STAGES,
            AccountTiers => ACCOUNT_TIERS,
            PersonStages => PERSON_STAGES,
            CallDispositions => CALL_DISPOSITIONS,
            CallSentiments => CALL_SENTIMENTS,
            CustomFields => CUSTOM_FIELDS,
            Successes => SUCCESSES,
            CallDataRecords => CALL_DATA_RECORDS,
            CrmActivities => CRM_ACTIVITIES,
            Actions => ACTIONS,
            Tasks => TASKS,
            CrmActivityFields => CRM_ACTIVITY_FIELDS,
            CrmUsers => CRM_USERS,
            Imports => IMPORTS,
            ActivityHistories => ACTIVITY_HISTORIES,
            EmailTemplates => EMAIL_TEMPLATES
        }
    };
}

macro_rules! descriptors {
    ($($list:ident => $resource:ident),*) => { &[$(&$resource),*] };
}

/// Every resource the toolkit keeps, in the order they are synced and shown.
pub static RESOURCES: &[&Resource] = for_each_resource!(descriptors);

/// Webhook event types SalesLoft documents whose records no resource here keeps (yet):
/// deliveries of them are stored and marked skipped.
pub const UNKEPT_EVENTS: &[&str] = &[
    "bulk_job_completed",
    "conversation_created",
    "conversation_updated",
    "conversation_recording_created",
    "conversation_transcript_created",
    "link_swap",
    "meeting_booked",
    "meeting_updated",
];

/// Every webhook event type SalesLoft documents, one list: each resource's (changed, then
/// deleted, in registry order), then [`UNKEPT_EVENTS`].
pub fn event_types() -> impl Iterator<Item = &'static str> {
    RESOURCES
        .iter()
        .flat_map(|r| r.changed_events.iter().chain(r.deleted_events))
        .chain(UNKEPT_EVENTS)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_events_are_unique() {
        let mut names = std::collections::HashSet::new();
        let mut paths = std::collections::HashSet::new();
        let mut events = std::collections::HashSet::new();
        for r in RESOURCES {
            assert!(names.insert(r.name), "{} twice", r.name);
            assert!(paths.insert(r.path), "{} twice", r.path);
            for e in r.changed_events.iter().chain(r.deleted_events) {
                assert!(events.insert(*e), "{e} belongs to two resources");
            }
        }
        for e in UNKEPT_EVENTS {
            assert!(events.insert(*e), "{e} is kept and unkept");
        }
        assert_eq!(event_types().count(), events.len());
    }

    #[test]
    fn only_lists_without_an_updated_at_filter_are_listed_in_full() {
        let full: Vec<&str> = RESOURCES
            .iter()
            .filter(|r| r.strategy == Strategy::FullList)
            .map(|r| r.name)
            .collect();
        assert_eq!(
            full,
            [
                "users",
                "steps",
                "account_tiers",
                "person_stages",
                "call_dispositions",
                "call_sentiments",
                "custom_fields",
                "tasks",
                "crm_activity_fields",
                "crm_users",
                "imports"
            ]
        );
        assert!(PEOPLE.walkable() && !USERS.walkable());
        assert_eq!(
            (Strategy::Walk.name(), Strategy::FullList.name()),
            ("walk", "full list")
        );
    }

    #[test]
    fn no_marker_field_belongs_to_two_resources() {
        let mut seen = std::collections::HashMap::new();
        for r in RESOURCES {
            let carried = !r.changed_events.is_empty() || !r.deleted_events.is_empty();
            assert_eq!(
                !r.marker_fields.is_empty(),
                carried,
                "{} has markers",
                r.name
            );
            for m in r.marker_fields {
                if let Some(other) = seen.insert(*m, r.name) {
                    panic!("{m} marks both {other} and {}", r.name);
                }
            }
        }
        assert!(PEOPLE.has_marker(["id", "email_address"].into_iter()));
        assert!(!ACCOUNTS.has_marker(["id", "email_address"].into_iter()));
    }

    #[test]
    fn resources_are_found_by_name_and_by_event() {
        assert_eq!(
            Resource::named("cadence-memberships"),
            Some(&CADENCE_MEMBERSHIPS)
        );
        assert_eq!(Resource::named("nobody"), None);
        assert_eq!(Resource::of_event("person_deleted"), Some((&PEOPLE, true)));
        assert_eq!(Resource::of_event("email_updated"), Some((&EMAILS, false)));
        assert_eq!(Resource::of_event("bulk_job_completed"), None);
    }
}
