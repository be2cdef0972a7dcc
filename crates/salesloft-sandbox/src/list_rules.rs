//! What each collection's list accepts, as SalesLoft documents it: its filters, its sort
//! fields and its default sort ([`LIST_RULES`]); `query.rs` applies them.

use salesloft_model::resource;

use crate::store::Kind;

/// How a list filter matches a record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Match {
    /// The integer at the pointer is one of the values.
    IntIn(&'static str),
    /// The string at the pointer is one of the values.
    StrIn(&'static str),
    /// Same, ignoring case.
    StrInCi(&'static str),
    /// The boolean at the pointer equals the value.
    Bool(&'static str),
    /// The value at the pointer is non-null iff the value is true.
    NotNull(&'static str),
    /// The array of references at the pointer holds one of the ids.
    RefsContain(&'static str),
    /// Any of the strings at the pointers contains the value, ignoring case.
    Search(&'static [&'static str]),
    /// The value at the pointer is null or `false` (a hidden record's rule).
    Unset(&'static str),
}

/// What one list accepts: its filters (query parameter, how it matches), the records it
/// leaves out unless asked, its sort fields
/// (`sort_by` value, JSON pointer; the pointer is empty for the indexed `updated_at`,
/// `created_at` and `id`) and its default sort.
pub(crate) struct ListRules {
    pub(crate) kind: Kind,
    pub(crate) filters: &'static [(&'static str, Match)],
    /// (parameter, JSON pointer): a record whose value at the pointer is set (not null, not
    /// `false`) is left out unless the request sends the parameter as `true`, as SalesLoft
    /// leaves archived and cadence e-mail templates out.
    pub(crate) hidden: &'static [(&'static str, &'static str)],
    pub(crate) sorts: &'static [(&'static str, &'static str)],
    pub(crate) default_sort: &'static str,
}

const TIMES: &[(&str, &str)] = &[("created_at", ""), ("updated_at", "")];

/// The list rules of every collection, as SalesLoft documents them.
pub(crate) static LIST_RULES: &[ListRules] = {
    use Match::*;
    &[
        ListRules {
            kind: Kind::USERS,
            hidden: &[],
            filters: &[
                ("guid", StrIn("/guid")),
                ("group_id", IntIn("/group/id")),
                ("role_id", StrIn("/role/id")),
                ("active", Bool("/active")),
                ("search", Search(&["/name", "/email"])),
            ],
            sorts: &[
                ("id", ""),
                ("email", "/email"),
                ("name", "/name"),
                ("group", "/group/id"),
                ("role", "/role/id"),
            ],
            default_sort: "id",
        },
        ListRules {
            kind: Kind::ACCOUNTS,
            hidden: &[],
            filters: &[
                ("domain", StrInCi("/domain")),
                ("name", StrIn("/name")),
                ("owner_id", IntIn("/owner/id")),
                ("crm_id", StrIn("/crm_id")),
                ("archived", NotNull("/archived_at")),
                ("industry", StrIn("/industry")),
            ],
            sorts: &[
                ("created_at", ""),
                ("updated_at", ""),
                ("last_contacted_at", "/last_contacted_at"),
                ("name", "/name"),
                ("account_stage", "/company_stage/id"),
                ("account_tier", "/account_tier/id"),
                ("counts_people", "/counts/people"),
            ],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::PEOPLE,
            hidden: &[],
            filters: &[
                ("email_addresses", StrInCi("/email_address")),
                ("account_id", IntIn("/account/id")),
                ("owner_id", IntIn("/owner/id")),
                ("cadence_id", RefsContain("/cadences")),
                ("person_stage_id", IntIn("/person_stage/id")),
                ("crm_id", StrIn("/crm_id")),
                ("do_not_contact", Bool("/do_not_contact")),
                ("title", StrIn("/title")),
                ("country", StrIn("/country")),
                ("state", StrIn("/state")),
                ("city", StrIn("/city")),
                ("job_seniority", StrIn("/job_seniority")),
                ("eu_resident", Bool("/eu_resident")),
                ("bounced", Bool("/bouncing")),
            ],
            sorts: &[
                ("created_at", ""),
                ("updated_at", ""),
                ("last_contacted_at", "/last_contacted_at"),
                ("name", "/display_name"),
                ("title", "/title"),
                ("job_seniority", "/job_seniority"),
                ("call_count", "/counts/calls"),
                ("sent_emails", "/counts/emails_sent"),
                ("clicked_emails", "/counts/emails_clicked"),
                ("replied_emails", "/counts/emails_replied_to"),
                ("viewed_emails", "/counts/emails_viewed"),
                ("account", "/account/id"),
                ("cadence_stage_name", "/most_recent_cadence/id"),
            ],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::CADENCES,
            hidden: &[],
            filters: &[
                ("name", StrIn("/name")),
                ("team_cadence", Bool("/team_cadence")),
                ("shared", Bool("/shared")),
                ("archived", NotNull("/archived_at")),
            ],
            sorts: &[("created_at", ""), ("updated_at", ""), ("name", "/name")],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::STEPS,
            hidden: &[],
            filters: &[
                ("cadence_id", IntIn("/cadence/id")),
                ("type", StrIn("/type")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::CADENCE_MEMBERSHIPS,
            hidden: &[],
            filters: &[
                ("person_id", IntIn("/person/id")),
                ("cadence_id", IntIn("/cadence/id")),
                ("currently_on_cadence", Bool("/currently_on_cadence")),
            ],
            sorts: &[("added_at", "/added_at"), ("updated_at", "")],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::EMAILS,
            hidden: &[],
            filters: &[
                ("person_id", IntIn("/recipient/id")),
                ("cadence_id", IntIn("/cadence/id")),
                ("step_id", IntIn("/step/id")),
                ("user_id", IntIn("/user/id")),
                ("status", StrIn("/status")),
                ("bounced", Bool("/bounced")),
                ("email_addresses", StrInCi("/recipient_email_address")),
            ],
            sorts: &[("updated_at", ""), ("send_time", "/sent_at")],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::CALLS,
            hidden: &[],
            filters: &[
                ("person_id", IntIn("/called_person/id")),
                ("user_id", IntIn("/user/id")),
                ("sentiment", StrIn("/sentiment")),
                ("disposition", StrIn("/disposition")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::NOTES,
            hidden: &[],
            filters: &[
                ("associated_with_type", StrInCi("/associated_type")),
                ("associated_with_id", IntIn("/associated_with/id")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::ACCOUNT_STAGES),
            hidden: &[],
            filters: &[],
            sorts: ORDERED,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::ACCOUNT_TIERS),
            hidden: &[],
            filters: &[("name", StrIn("/name"))],
            sorts: ORDERED,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::PERSON_STAGES),
            hidden: &[],
            filters: &[],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::CALL_DISPOSITIONS),
            hidden: &[],
            filters: &[],
            sorts: BY_NAME,
            default_sort: "name",
        },
        ListRules {
            kind: Kind::of(&resource::CALL_SENTIMENTS),
            hidden: &[],
            filters: &[("name", StrIn("/name"))],
            sorts: BY_NAME,
            default_sort: "name",
        },
        ListRules {
            kind: Kind::of(&resource::CUSTOM_FIELDS),
            hidden: &[],
            filters: &[("field_type", StrIn("/field_type"))],
            sorts: &[("created_at", ""), ("updated_at", ""), ("name", "/name")],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::SUCCESSES),
            hidden: &[],
            filters: &[("person_id", IntIn("/person/id"))],
            sorts: &[
                ("created_at", ""),
                ("updated_at", ""),
                ("succeeded_at", "/succeeded_at"),
            ],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::CALL_DATA_RECORDS),
            hidden: &[],
            filters: &[
                ("person_id", IntIn("/called_person/id")),
                ("has_call", NotNull("/call")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::CRM_ACTIVITIES),
            hidden: &[],
            filters: &[],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::ACTIONS),
            hidden: &[],
            filters: &[
                ("person_id", IntIn("/person/id")),
                ("cadence_id", IntIn("/cadence/id")),
                ("step_id", IntIn("/step/id")),
                ("type", StrIn("/type")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::TASKS),
            hidden: &[],
            filters: &[
                ("user_id", IntIn("/user/id")),
                ("person_id", IntIn("/person/id")),
                ("current_state", StrIn("/current_state")),
                ("task_type", StrIn("/task_type")),
            ],
            sorts: &[("due_date", "/due_date"), ("due_at", "/due_at")],
            default_sort: "due_date",
        },
        ListRules {
            kind: Kind::of(&resource::ACTIVITY_HISTORIES),
            hidden: &[],
            filters: &[
                ("type", StrIn("/type")),
                ("resource_id", IntIn("/resource_id")),
                ("user_guid", StrIn("/user_guid")),
            ],
            sorts: &[("occurred_at", "/occurred_at"), ("updated_at", "")],
            default_sort: "occurred_at",
        },
        ListRules {
            kind: Kind::of(&resource::EMAIL_TEMPLATES),
            hidden: &[
                ("include_archived_templates", "/archived_at"),
                ("include_cadence_templates", "/cadence_template"),
            ],
            filters: &[],
            sorts: &[
                ("created_at", ""),
                ("updated_at", ""),
                ("last_used_at", "/last_used_at"),
            ],
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::of(&resource::IMPORTS),
            hidden: &[],
            filters: &[],
            sorts: TIMES,
            default_sort: "created_at",
        },
        ListRules {
            kind: Kind::of(&resource::CRM_USERS),
            hidden: &[],
            filters: &[("crm_id", StrIn("/crm_id")), ("user_id", IntIn("/user/id"))],
            sorts: &[("id", ""), ("updated_at", "")],
            default_sort: "id",
        },
        ListRules {
            kind: Kind::of(&resource::CRM_ACTIVITY_FIELDS),
            hidden: &[],
            filters: &[("source", StrIn("/source"))],
            sorts: &[("title", "/title"), ("updated_at", "")],
            default_sort: "title",
        },
    ]
};

/// The sorts of the ordered definition lists (stages, tiers).
const ORDERED: &[(&str, &str)] = &[("created_at", ""), ("updated_at", ""), ("order", "/order")];
/// The sorts of the definition lists SalesLoft orders by name (dispositions, sentiments).
const BY_NAME: &[(&str, &str)] = &[("name", "/name"), ("updated_at", "")];

/// The rules of `kind`'s list (none: only the generic parameters, sorted by `updated_at`).
pub(crate) fn rules(kind: Kind) -> &'static ListRules {
    static NONE: ListRules = ListRules {
        kind: Kind::USERS,
        hidden: &[],
        filters: &[],
        sorts: TIMES,
        default_sort: "updated_at",
    };
    LIST_RULES.iter().find(|r| r.kind == kind).unwrap_or(&NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collection_has_its_list_rules() {
        for kind in Kind::all() {
            assert!(
                LIST_RULES.iter().any(|r| r.kind == kind),
                "{} has no list rules",
                kind.name()
            );
        }
    }
}
