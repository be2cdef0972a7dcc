//! List requests: query parsing (Rails-style `ids[]=1&ids[]=2` and `ids=1,2` alike), filters,
//! sorting, paging and the response envelope, as SalesLoft does them.

use std::collections::HashSet;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::store::{Collection, Kind};

/// The cost SalesLoft charges for list page `page` (the model's table).
pub fn page_cost(page: u64) -> u32 {
    salesloft_model::page_cost(u32::try_from(page).unwrap_or(u32::MAX))
}

/// Decoded query-string parameters, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parse a raw query string.
    pub fn parse(query: Option<&str>) -> Self {
        Params(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The last value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of an array parameter, in any accepted form: `name[]=a&name[]=b`,
    /// `name=a,b`, `name[]=a,b`. `None` when the parameter is absent.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let bracket = format!("{name}[]");
        let mut out = Vec::new();
        let mut seen = false;
        for (k, v) in &self.0 {
            if *k == bracket || k == name {
                seen = true;
                out.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
            }
        }
        seen.then_some(out)
    }

    /// The parameters as a JSON object (for write endpoints that take query parameters).
    pub fn to_object(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for (k, v) in &self.0 {
            if let Some(base) = k.strip_suffix("[]") {
                let entry = m.entry(base.to_owned()).or_insert_with(|| json!([]));
                if let Some(a) = entry.as_array_mut() {
                    a.push(Value::String(v.clone()));
                }
            } else {
                m.insert(k.clone(), Value::String(v.clone()));
            }
        }
        m
    }
}

/// An inclusive range of microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: i64,
    hi: i64,
}

impl Range {
    const ALL: Range = Range {
        lo: i64::MIN,
        hi: i64::MAX,
    };

    fn contains(self, us: i64) -> bool {
        us >= self.lo && us <= self.hi
    }
}

fn parse_time(field: &str, raw: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_micros())
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp_micros()
            })
        })
        .map_err(|_| ApiError::invalid(field, "is not a valid ISO-8601 timestamp"))
}

/// `field[gt|gte|lt|lte]` as an inclusive range, and its echo for `metadata.filtering`.
fn time_range(params: &Params, field: &str) -> Result<(Range, Option<Value>), ApiError> {
    let mut r = Range::ALL;
    let mut echo = Map::new();
    for (op, adjust) in [("gt", 1i64), ("gte", 0), ("lt", -1), ("lte", 0)] {
        if let Some(raw) = params.get(&format!("{field}[{op}]")) {
            let us = parse_time(field, raw)?.saturating_add(adjust);
            if op.starts_with('g') {
                r.lo = r.lo.max(us);
            } else {
                r.hi = r.hi.min(us);
            }
            echo.insert(op.to_owned(), Value::String(raw.to_owned()));
        }
    }
    Ok((r, (!echo.is_empty()).then_some(Value::Object(echo))))
}

/// How a list filter matches a record.
#[derive(Debug, Clone, Copy)]
enum Match {
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
}

/// What one list accepts: its filters (query parameter, how it matches), its sort fields
/// (`sort_by` value, JSON pointer; the pointer is empty for the indexed `updated_at`,
/// `created_at` and `id`) and its default sort.
struct ListRules {
    kind: Kind,
    filters: &'static [(&'static str, Match)],
    sorts: &'static [(&'static str, &'static str)],
    default_sort: &'static str,
}

const TIMES: &[(&str, &str)] = &[("created_at", ""), ("updated_at", "")];

/// The list rules of every collection, as SalesLoft documents them.
static LIST_RULES: &[ListRules] = {
    use Match::*;
    &[
        ListRules {
            kind: Kind::USERS,
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
            filters: &[
                ("cadence_id", IntIn("/cadence/id")),
                ("type", StrIn("/type")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
        ListRules {
            kind: Kind::CADENCE_MEMBERSHIPS,
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
            filters: &[
                ("associated_with_type", StrInCi("/associated_type")),
                ("associated_with_id", IntIn("/associated_with/id")),
            ],
            sorts: TIMES,
            default_sort: "updated_at",
        },
    ]
};

/// The rules of `kind`'s list (none: only the generic parameters, sorted by `updated_at`).
fn rules(kind: Kind) -> &'static ListRules {
    static NONE: ListRules = ListRules {
        kind: Kind::USERS,
        filters: &[],
        sorts: TIMES,
        default_sort: "updated_at",
    };
    LIST_RULES.iter().find(|r| r.kind == kind).unwrap_or(&NONE)
}

fn matches(doc: &Value, rule: Match, values: &[String]) -> bool {
    let at = |p: &str| doc.pointer(p).unwrap_or(&Value::Null);
    let first_bool = || {
        values.first().and_then(|v| match v.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        })
    };
    match rule {
        Match::IntIn(p) => {
            let v = at(p);
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            n.is_some_and(|n| values.iter().any(|x| x.parse::<i64>().ok() == Some(n)))
        }
        Match::StrIn(p) => {
            let v = at(p);
            let s = v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|i| i.to_string()));
            s.is_some_and(|s| values.contains(&s))
        }
        Match::StrInCi(p) => at(p)
            .as_str()
            .is_some_and(|s| values.iter().any(|x| x.eq_ignore_ascii_case(s))),
        Match::Bool(p) => first_bool().is_none_or(|b| at(p).as_bool() == Some(b)),
        Match::NotNull(p) => first_bool().is_none_or(|b| at(p).is_null() != b),
        Match::RefsContain(p) => at(p).as_array().is_some_and(|refs| {
            refs.iter().any(|r| {
                r.get("id")
                    .and_then(Value::as_i64)
                    .is_some_and(|id| values.iter().any(|x| x.parse::<i64>().ok() == Some(id)))
            })
        }),
        Match::Search(ps) => values.first().is_none_or(|needle| {
            let needle = needle.to_lowercase();
            ps.iter().any(|p| {
                at(p)
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&needle))
            })
        }),
    }
}

/// A list answer and what it cost.
#[derive(Debug)]
pub struct ListAnswer {
    /// The response body.
    pub body: Bytes,
    /// Records on the page.
    pub records: usize,
}

/// Run a list request on `collection` of `kind`.
pub fn list(kind: Kind, collection: &Collection, params: &Params) -> Result<ListAnswer, ApiError> {
    let per_page = params
        .get("per_page")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(25)
        .clamp(1, 100) as usize;
    // Users are only paged when `page` is given.
    let paged = kind != Kind::USERS || params.get("page").is_some();
    let page = params
        .get("page")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1) as usize;
    let rules = rules(kind);
    let sort_by = params.get("sort_by").unwrap_or(rules.default_sort);
    let Some((_, sort_pointer)) = rules.sorts.iter().find(|(name, _)| *name == sort_by) else {
        return Err(ApiError::invalid("sort_by", "is not included in the list"));
    };
    let asc = match params
        .get("sort_direction")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("DESC") => false,
        Some("ASC") => true,
        Some(_) => return Err(ApiError::invalid("sort_direction", "must be ASC or DESC")),
    };
    let mut filtering = Map::new();
    let ids: Option<HashSet<i64>> = match params.list("ids") {
        Some(raw) => {
            let mut set = HashSet::new();
            for v in &raw {
                set.insert(
                    v.parse::<i64>()
                        .map_err(|_| ApiError::invalid("ids", "must be integers"))?,
                );
            }
            filtering.insert("ids".into(), json!(raw));
            Some(set)
        }
        None => None,
    };
    let (updated, echo) = time_range(params, "updated_at")?;
    if let Some(e) = echo {
        filtering.insert("updated_at".into(), e);
    }
    let (created, echo) = time_range(params, "created_at")?;
    if let Some(e) = echo {
        filtering.insert("created_at".into(), e);
    }
    let (sent, sent_echo) = if kind == Kind::EMAILS {
        time_range(params, "sent_at")?
    } else {
        (Range::ALL, None)
    };
    if let Some(e) = sent_echo {
        filtering.insert("sent_at".into(), e);
    }
    let mut doc_rules: Vec<(Match, Vec<String>)> = Vec::new();
    for (name, rule) in rules.filters {
        if let Some(values) = params.list(name) {
            filtering.insert((*name).into(), json!(values));
            doc_rules.push((*rule, values));
        }
    }
    let needs_doc = !doc_rules.is_empty() || sent != Range::ALL;

    let keep = |id: i64| -> bool {
        if ids.as_ref().is_some_and(|s| !s.contains(&id)) {
            return false;
        }
        let Some(doc) = collection.get(id) else {
            return false;
        };
        if !updated.contains(doc.updated_us) || !created.contains(doc.created_us) {
            return false;
        }
        if !needs_doc {
            return true;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&doc.json) else {
            return false;
        };
        if sent != Range::ALL {
            let us = v
                .get("sent_at")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp_micros());
            if !us.is_some_and(|us| sent.contains(us)) {
                return false;
            }
        }
        doc_rules
            .iter()
            .all(|(rule, values)| matches(&v, *rule, values))
    };

    let candidates: Box<dyn Iterator<Item = i64> + '_> = match (sort_by, *sort_pointer) {
        ("updated_at", _) => {
            let it = collection.by_updated(updated.lo, updated.hi);
            if asc {
                Box::new(it)
            } else {
                Box::new(it.rev())
            }
        }
        ("created_at", _) => {
            let it = collection.by_created(created.lo, created.hi);
            if asc {
                Box::new(it)
            } else {
                Box::new(it.rev())
            }
        }
        ("id", _) => {
            let it = collection.iter().map(|(id, _)| id);
            if asc {
                Box::new(it)
            } else {
                Box::new(it.rev())
            }
        }
        (_, pointer) => {
            // Unindexed sort: collect the matches and sort by the field, ties by id.
            let mut keyed: Vec<(Value, i64)> = collection
                .iter()
                .filter(|(id, _)| keep(*id))
                .map(|(id, d)| {
                    let v: Value = serde_json::from_slice(&d.json).unwrap_or(Value::Null);
                    (v.pointer(pointer).cloned().unwrap_or(Value::Null), id)
                })
                .collect();
            keyed.sort_by(|a, b| compare_json(&a.0, &b.0).then(a.1.cmp(&b.1)));
            if !asc {
                keyed.reverse();
            }
            Box::new(keyed.into_iter().map(|(_, id)| id))
        }
    };
    let presorted_filtered = !matches!(sort_by, "updated_at" | "created_at" | "id");
    // An index range already applies its own bound; with no other filter every id in it
    // matches, and counting a large range (include_paging_counts) stays cheap.
    let range_is_filter = ids.is_none()
        && !needs_doc
        && match sort_by {
            "updated_at" => created == Range::ALL,
            "created_at" => updated == Range::ALL,
            _ => false,
        };
    let mut matching = candidates.filter(|id| presorted_filtered || range_is_filter || keep(*id));

    let include_counts = params
        .get("include_paging_counts")
        .is_some_and(|v| v == "true" || v == "1");
    let skip = (page - 1).saturating_mul(per_page);
    let (selected, has_more, total) = if !paged {
        (matching.collect::<Vec<i64>>(), false, None)
    } else if include_counts {
        let mut selected = Vec::with_capacity(per_page);
        let mut total = 0usize;
        for id in matching {
            if total >= skip && selected.len() < per_page {
                selected.push(id);
            }
            total += 1;
        }
        (selected, total > skip + per_page, Some(total))
    } else {
        let selected: Vec<i64> = matching.by_ref().skip(skip).take(per_page).collect();
        let more = matching.next().is_some();
        (selected, more, None)
    };

    let mut body = Vec::with_capacity(selected.len() * 1_600 + 400);
    body.extend_from_slice(b"{\"metadata\":{\"filtering\":");
    body.extend_from_slice(Value::Object(filtering).to_string().as_bytes());
    if paged {
        let mut paging = json!({
            "per_page": per_page,
            "current_page": page,
            "next_page": if has_more { Some(page + 1) } else { None },
            "prev_page": if page > 1 { Some(page - 1) } else { None },
        });
        if let Some(total) = total {
            paging["total_count"] = json!(total);
            paging["total_pages"] = json!(total.div_ceil(per_page));
        }
        body.extend_from_slice(b",\"paging\":");
        body.extend_from_slice(paging.to_string().as_bytes());
    }
    body.extend_from_slice(b",\"sorting\":");
    body.extend_from_slice(
        json!({
            "sort_by": sort_by,
            "sort_direction": if asc { "ASC NULLS FIRST" } else { "DESC NULLS LAST" },
        })
        .to_string()
        .as_bytes(),
    );
    body.extend_from_slice(b"},\"data\":[");
    for (i, id) in selected.iter().enumerate() {
        if let Some(doc) = collection.get(*id) {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&doc.json);
        }
    }
    body.extend_from_slice(b"]}");
    Ok(ListAnswer {
        body: Bytes::from(body),
        records: selected.len(),
    })
}

/// Order JSON values as SalesLoft sorts columns: nulls first, then numbers, then strings.
fn compare_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// What reading `records` records by page number (`page=1, 2, ...`) costs, by the page table.
pub fn naive_cost(records: u64, per_page: u64) -> u64 {
    let pages = records.div_ceil(per_page.max(1));
    (1..=pages).map(|p| u64::from(page_cost(p))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_paging_of_100k_people_costs_the_page_table() {
        // 1000 pages: 100 at 1, 50 at 3, 100 at 8, 250 at 10, 500 at 30.
        assert_eq!(naive_cost(100_000, 100), 100 + 150 + 800 + 2_500 + 15_000);
    }

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

    #[test]
    fn array_parameters_are_read_in_every_form() {
        let p = Params::parse(Some("ids%5B%5D=1&ids[]=2&other=x"));
        assert_eq!(p.list("ids"), Some(vec!["1".into(), "2".into()]));
        let p = Params::parse(Some("ids=1,2,3"));
        assert_eq!(
            p.list("ids"),
            Some(vec!["1".into(), "2".into(), "3".into()])
        );
        assert_eq!(p.list("email_addresses"), None);
    }

    #[test]
    fn time_ranges_are_inclusive_microsecond_bounds() {
        let p = Params::parse(Some(
            "updated_at[gt]=2024-03-07T02:46:00.302715-05:00&updated_at[lte]=2024-03-08T00:00:00Z",
        ));
        let (r, echo) = time_range(&p, "updated_at").unwrap();
        assert_eq!(r.lo, 1_709_797_560_302_716);
        assert_eq!(r.hi, 1_709_856_000_000_000);
        assert!(echo.unwrap().get("gt").is_some());
        assert!(
            time_range(
                &Params::parse(Some("updated_at[gte]=yesterday")),
                "updated_at"
            )
            .is_err()
        );
    }
}
