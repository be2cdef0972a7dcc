//! List requests: query parsing (Rails-style `ids[]=1&ids[]=2` and `ids=1,2` alike), filters,
//! sorting, paging and the response envelope, as SalesLoft does them.

use std::collections::HashSet;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::list_rules::{ListRules, Match, rules};
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

    /// A copy with `name` set to `value` alone (any earlier value of `name` or `name[]`
    /// dropped).
    pub fn with(&self, name: &str, value: &str) -> Self {
        let bracket = format!("{name}[]");
        let mut out: Vec<(String, String)> = self
            .0
            .iter()
            .filter(|(k, _)| k != name && *k != bracket)
            .cloned()
            .collect();
        out.push((name.to_owned(), value.to_owned()));
        Params(out)
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
        Match::Unset(p) => matches!(at(p), Value::Null | Value::Bool(false)),
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
    let query = ListQuery::parse(kind, params)?;
    let presorted_filtered = !matches!(query.sort_by, "updated_at" | "created_at" | "id");
    let range_is_filter = query.range_is_filter();
    let matching = query
        .candidates(collection)
        .filter(|id| presorted_filtered || range_is_filter || query.keeps(collection, *id));
    let selected = query.select(matching);
    let records = selected.ids.len();
    Ok(ListAnswer {
        body: Bytes::from(query.render(collection, &selected)),
        records,
    })
}

/// A list request read from its parameters: paging, sort and filters, with the
/// `metadata.filtering` echo of what it filtered by.
struct ListQuery {
    kind: Kind,
    per_page: usize,
    /// Users are only paged when `page` is given.
    paged: bool,
    page: usize,
    sort_by: &'static str,
    /// The sort field's JSON pointer (empty for the indexed `updated_at`, `created_at`, `id`).
    sort_pointer: &'static str,
    asc: bool,
    ids: Option<HashSet<i64>>,
    updated: Range,
    created: Range,
    /// E-mails' `sent_at` range.
    sent: Range,
    doc_rules: Vec<(Match, Vec<String>)>,
    filtering: Map<String, Value>,
    include_counts: bool,
}

/// The ids of a page, whether more follow, and the total when counts were asked for.
struct Selected {
    ids: Vec<i64>,
    has_more: bool,
    total: Option<usize>,
}

impl ListQuery {
    fn parse(kind: Kind, params: &Params) -> Result<Self, ApiError> {
        let rules = rules(kind);
        let wanted = params.get("sort_by").unwrap_or(rules.default_sort);
        let Some((sort_by, sort_pointer)) = rules.sorts.iter().find(|(name, _)| *name == wanted)
        else {
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
        let number = |name: &str, default: i64| {
            params
                .get(name)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(default)
        };
        let mut query = ListQuery {
            kind,
            per_page: number("per_page", 25).clamp(1, 100) as usize,
            paged: kind != Kind::USERS || params.get("page").is_some(),
            page: number("page", 1).max(1) as usize,
            sort_by,
            sort_pointer,
            asc,
            ids: None,
            updated: Range::ALL,
            created: Range::ALL,
            sent: Range::ALL,
            doc_rules: Vec::new(),
            filtering: Map::new(),
            include_counts: params
                .get("include_paging_counts")
                .is_some_and(|v| v == "true" || v == "1"),
        };
        query.read_filters(params, rules)?;
        Ok(query)
    }

    /// `ids`, the time ranges and the list's own filters, each echoed in `filtering`. A filter
    /// SalesLoft does not document for the list (`ids` on call dispositions, `updated_at` on
    /// a list that cannot be walked) is ignored, as SalesLoft ignores unknown parameters.
    fn read_filters(&mut self, params: &Params, rules: &ListRules) -> Result<(), ApiError> {
        let resource = self.kind.resource();
        if let Some(raw) = params.list("ids").filter(|_| resource.ids_filter) {
            let mut set = HashSet::new();
            for v in &raw {
                set.insert(
                    v.parse::<i64>()
                        .map_err(|_| ApiError::invalid("ids", "must be integers"))?,
                );
            }
            self.filtering.insert("ids".into(), json!(raw));
            self.ids = Some(set);
        }
        let mut range = |field: &str| -> Result<Range, ApiError> {
            let (r, echo) = time_range(params, field)?;
            if let Some(e) = echo {
                self.filtering.insert(field.into(), e);
            }
            Ok(r)
        };
        let updated = if resource.walkable() {
            range("updated_at")?
        } else {
            Range::ALL
        };
        let created = range("created_at")?;
        let sent = if self.kind == Kind::EMAILS {
            range("sent_at")?
        } else {
            Range::ALL
        };
        (self.updated, self.created, self.sent) = (updated, created, sent);
        for (name, rule) in rules.filters {
            if let Some(values) = params.list(name) {
                self.filtering.insert((*name).into(), json!(values));
                self.doc_rules.push((*rule, values));
            }
        }
        for (name, pointer) in rules.hidden {
            let asked = params.get(name).is_some_and(|v| v == "true" || v == "1");
            if !asked {
                self.doc_rules.push((Match::Unset(pointer), Vec::new()));
            }
        }
        Ok(())
    }

    /// Whether a filter needs the record's JSON (not only its indexed times).
    fn needs_doc(&self) -> bool {
        !self.doc_rules.is_empty() || self.sent != Range::ALL
    }

    /// An index range already applies its own bound; with no other filter every id in it
    /// matches, and counting a large range (include_paging_counts) stays cheap.
    fn range_is_filter(&self) -> bool {
        self.ids.is_none()
            && !self.needs_doc()
            && match self.sort_by {
                "updated_at" => self.created == Range::ALL,
                "created_at" => self.updated == Range::ALL,
                _ => false,
            }
    }

    /// Whether record `id` passes every filter.
    fn keeps(&self, collection: &Collection, id: i64) -> bool {
        if self.ids.as_ref().is_some_and(|s| !s.contains(&id)) {
            return false;
        }
        let Some(doc) = collection.get(id) else {
            return false;
        };
        if !self.updated.contains(doc.updated_us) || !self.created.contains(doc.created_us) {
            return false;
        }
        if !self.needs_doc() {
            return true;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&doc.json) else {
            return false;
        };
        if self.sent != Range::ALL {
            let us = v
                .get("sent_at")
                .and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.timestamp_micros());
            if !us.is_some_and(|us| self.sent.contains(us)) {
                return false;
            }
        }
        self.doc_rules
            .iter()
            .all(|(rule, values)| matches(&v, *rule, values))
    }

    /// The ids in sort order: an index walk for the indexed sorts, else the matches sorted by
    /// the field (ties by id).
    fn candidates<'c>(&'c self, collection: &'c Collection) -> Box<dyn Iterator<Item = i64> + 'c> {
        fn ordered<'i>(
            it: impl DoubleEndedIterator<Item = i64> + 'i,
            asc: bool,
        ) -> Box<dyn Iterator<Item = i64> + 'i> {
            if asc {
                Box::new(it)
            } else {
                Box::new(it.rev())
            }
        }
        match self.sort_by {
            "updated_at" => ordered(
                collection.by_updated(self.updated.lo, self.updated.hi),
                self.asc,
            ),
            "created_at" => ordered(
                collection.by_created(self.created.lo, self.created.hi),
                self.asc,
            ),
            "id" => ordered(collection.iter().map(|(id, _)| id), self.asc),
            _ => {
                let pointer = self.sort_pointer;
                let mut keyed: Vec<(Value, i64)> = collection
                    .iter()
                    .filter(|(id, _)| self.keeps(collection, *id))
                    .map(|(id, d)| (field_at(&d.json, pointer), id))
                    .collect();
                keyed.sort_by(|a, b| compare_json(&a.0, &b.0).then(a.1.cmp(&b.1)));
                ordered(keyed.into_iter().map(|(_, id)| id), self.asc)
            }
        }
    }

    /// The page of `matching` (all of it, for unpaged users), counting the rest when counts
    /// were asked for.
    fn select(&self, mut matching: impl Iterator<Item = i64>) -> Selected {
        let (page, per_page) = (self.page, self.per_page);
        let skip = (page - 1).saturating_mul(per_page);
        if !self.paged {
            return Selected {
                ids: matching.collect(),
                has_more: false,
                total: None,
            };
        }
        if !self.include_counts {
            let ids: Vec<i64> = matching.by_ref().skip(skip).take(per_page).collect();
            let has_more = matching.next().is_some();
            return Selected {
                ids,
                has_more,
                total: None,
            };
        }
        let mut ids = Vec::with_capacity(per_page);
        let mut total = 0usize;
        for id in matching {
            if total >= skip && ids.len() < per_page {
                ids.push(id);
            }
            total += 1;
        }
        Selected {
            ids,
            has_more: total > skip + per_page,
            total: Some(total),
        }
    }

    /// SalesLoft's list envelope around the selected records' JSON.
    fn render(self, collection: &Collection, selected: &Selected) -> Vec<u8> {
        let (page, per_page) = (self.page, self.per_page);
        let mut body = Vec::with_capacity(selected.ids.len() * 1_600 + 400);
        body.extend_from_slice(b"{\"metadata\":{\"filtering\":");
        body.extend_from_slice(Value::Object(self.filtering).to_string().as_bytes());
        if self.paged {
            let mut paging = json!({
                "per_page": per_page,
                "current_page": page,
                "next_page": if selected.has_more { Some(page + 1) } else { None },
                "prev_page": if page > 1 { Some(page - 1) } else { None },
            });
            if let Some(total) = selected.total {
                paging["total_count"] = json!(total);
                paging["total_pages"] = json!(total.div_ceil(per_page));
            }
            body.extend_from_slice(b",\"paging\":");
            body.extend_from_slice(paging.to_string().as_bytes());
        }
        body.extend_from_slice(b",\"sorting\":");
        let direction = if self.asc {
            "ASC NULLS FIRST"
        } else {
            "DESC NULLS LAST"
        };
        body.extend_from_slice(
            json!({"sort_by": self.sort_by, "sort_direction": direction})
                .to_string()
                .as_bytes(),
        );
        body.extend_from_slice(b"},\"data\":[");
        for (i, id) in selected.ids.iter().enumerate() {
            if let Some(doc) = collection.get(*id) {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(&doc.json);
            }
        }
        body.extend_from_slice(b"]}");
        body
    }
}

/// Order JSON values as SalesLoft sorts columns: nulls first, then numbers, then strings.
/// The value at `pointer` in a record's JSON, decoding only the top-level field the pointer
/// starts with (a sort by a field reads every record of the collection per page).
fn field_at(json: &[u8], pointer: &str) -> Value {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    struct Field<'a>(&'a str);
    impl<'de> DeserializeSeed<'de> for Field<'_> {
        type Value = Value;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Field<'_> {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a record")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut found = Value::Null;
            while let Some(key) = map.next_key::<String>()? {
                if key == self.0 {
                    found = map.next_value()?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    let (top, rest) = match pointer.trim_start_matches('/').split_once('/') {
        Some((top, rest)) => (top, Some(rest)),
        None => (pointer.trim_start_matches('/'), None),
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = Field(top).deserialize(&mut de).unwrap_or(Value::Null);
    match rest {
        None => value,
        Some(rest) => value
            .pointer(&format!("/{rest}"))
            .cloned()
            .unwrap_or(Value::Null),
    }
}

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
    fn a_field_is_read_by_its_pointer_alone() {
        let json = br#"{"id":1,"due_date":"2026-01-02","owner":{"id":7},"x":[1,{"a":2}]}"#;
        assert_eq!(field_at(json, "/due_date"), json!("2026-01-02"));
        assert_eq!(field_at(json, "/owner/id"), json!(7));
        assert_eq!(field_at(json, "/missing"), Value::Null);
        assert_eq!(field_at(b"not json", "/id"), Value::Null);
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
