//! SalesLoft's JSON envelopes: `{"data": ...}` around one record, `{"data": [...],
//! "metadata": {...}}` around a list page, decoded with errors that name the failing field.
//! The client decodes every answer here; code that receives API bodies without the client
//! (webhook deliveries, recorded fixtures, a sandbox) uses [`parse_record`] and [`parse_page`].
//!
//! # One record at a time
//!
//! A list page is decoded record by record, so one record SalesLoft sent in a shape the models
//! did not expect never costs the page: each becomes a [`Received`] (the typed record, its
//! JSON text exactly as sent, and the fields that could not be read, left empty) or, when it is
//! not a record at all (not an object, no usable `id`, `created_at` or `updated_at`), a
//! [`Rejected`] kept with the reason. Only a body that is not a list envelope fails the
//! request.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use serde_path_to_error::Segment;

use crate::models::{Record, Timestamp};

/// A body that could not be decoded. It names the field and the types involved, never a value
/// or a piece of the body (they carry personal data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: cannot decode response at `{field}`: {message}")]
pub struct DecodeError {
    /// The request path, without query string (`(body)` for a body received otherwise).
    pub path: String,
    /// Where in the JSON document decoding failed, such as `data[3].owner.id`.
    pub field: String,
    /// What was wrong there, such as `invalid type: string, expected i64 at line 1 column 40`.
    pub message: String,
}

type Result<T, E = DecodeError> = std::result::Result<T, E>;

/// Decode one record from `{"data": {...}}` or from a bare object (webhook bodies are bare).
pub fn parse_record<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    decode_single("(body)", body)
}

/// Decode one record as [`parse_page`] decodes each item: a bare object (as webhook bodies
/// come) or one inside `{"data": {...}}`, with fields of a type the model does not read left
/// empty and named in [`Received::drifted`]; [`Rejected`] (with the reason and the id when
/// readable) when it is not a record at all.
pub fn parse_received<T: DeserializeOwned>(
    body: &[u8],
) -> std::result::Result<Received<T>, Rejected> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(_) => {
            return Err(Rejected {
                raw: String::from_utf8_lossy(body).into_owned(),
                id: None,
                error: "not UTF-8 text".into(),
            });
        }
    };
    let item = match serde_json::from_str::<Envelope<'_>>(text) {
        Ok(env) if env.data.get().trim_start().starts_with('{') && !has_top_level_id(text) => {
            env.data.get()
        }
        _ => text,
    };
    decode_item(item.trim())
}

/// Whether `text` is an object with a top-level `id` (a record, not an envelope).
fn has_top_level_id(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow, default)]
        id: Option<&'a RawValue>,
    }
    serde_json::from_str::<Id<'_>>(text).is_ok_and(|i| i.id.is_some())
}

/// Decode a list page from `{"data": [...], "metadata": {...}}` (or a bare array), record by
/// record (see the module docs).
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<Received<T>>> {
    decode_page("(body)", body)
}

/// A record as SalesLoft sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<T> {
    /// The typed record; fields named in `drifted` hold their empty value.
    pub record: T,
    /// The record's JSON text exactly as received (number formats, key order, digits of
    /// timestamps and all).
    pub raw: String,
    /// Known fields whose value had a type the model does not read (a number where text was
    /// expected, `[]` for an object), by path such as `title` or `counts.calls`. Names only:
    /// never the value.
    pub drifted: Vec<String>,
}

impl<T: Record> Record for Received<T> {
    fn record_id(&self) -> i64 {
        self.record.record_id()
    }
    fn updated_at(&self) -> Timestamp {
        self.record.updated_at()
    }
}

/// A list item that is not a record the toolkit can keep: not an object, or without a usable
/// `id` or timestamps.
#[derive(Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The item's JSON text as received.
    pub raw: String,
    /// Its `id`, when it had an integer one.
    pub id: Option<i64>,
    /// Why it was rejected: the field and what was wrong with it, never a value.
    pub error: String,
}

impl std::fmt::Debug for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The raw text may hold personal data.
        f.debug_struct("Rejected")
            .field("id", &self.id)
            .field("error", &self.error)
            .field("raw_bytes", &self.raw.len())
            .finish()
    }
}

/// One page of a list, with SalesLoft's paging metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records on this page.
    pub items: Vec<T>,
    /// Items of this page that are not records (see [`Rejected`]), in page order.
    pub rejected: Vec<Rejected>,
    /// `metadata.paging`; absent when the list was not paged (users without `page`).
    pub paging: Option<Paging>,
    /// `metadata.filtering`: the filters as the server understood them.
    pub filtering: Option<serde_json::Value>,
    /// `metadata.sorting`: the order as the server applied it.
    pub sorting: Option<Sorting>,
}

impl<T> Page<T> {
    pub(crate) fn new(items: Vec<T>, metadata: Option<Metadata>) -> Self {
        let m = metadata.unwrap_or_default();
        Self {
            items,
            rejected: Vec::new(),
            paging: m.paging,
            filtering: m.filtering,
            sorting: m.sorting,
        }
    }

    /// The next page number, if the server says there is one.
    pub fn next_page(&self) -> Option<u32> {
        self.paging.as_ref().and_then(|p| p.next_page)
    }

    /// How many items the server sent: records and rejected items.
    pub fn sent(&self) -> usize {
        self.items.len() + self.rejected.len()
    }
}

impl<T> Page<Received<T>> {
    /// The page with only the typed records (raw text and drift dropped).
    pub fn into_records(self) -> Page<T> {
        Page {
            items: self.items.into_iter().map(|r| r.record).collect(),
            rejected: self.rejected,
            paging: self.paging,
            filtering: self.filtering,
            sorting: self.sorting,
        }
    }
}

/// `metadata.paging` of a list response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Paging {
    /// Records per page.
    #[serde(default)]
    pub per_page: Option<u32>,
    /// This page's number (1-based).
    #[serde(default)]
    pub current_page: Option<u32>,
    /// The next page's number; `None` on the last page.
    #[serde(default)]
    pub next_page: Option<u32>,
    /// The previous page's number; `None` on the first page.
    #[serde(default)]
    pub prev_page: Option<u32>,
    /// Number of pages (only with `include_paging_counts`).
    #[serde(default)]
    pub total_pages: Option<u64>,
    /// Number of records (only with `include_paging_counts`).
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// `metadata.sorting` of a list response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Sorting {
    /// The field sorted by.
    #[serde(default)]
    pub sort_by: Option<String>,
    /// The direction as the server echoes it, such as `DESC NULLS LAST`.
    #[serde(default)]
    pub sort_direction: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Metadata {
    #[serde(default)]
    filtering: Option<serde_json::Value>,
    #[serde(default)]
    paging: Option<Paging>,
    #[serde(default)]
    sorting: Option<Sorting>,
}

/// Decode `body` as `T` with plain serde_json (fast); only when that fails, decode again with
/// path tracking to name the failing field in the error.
fn decode_as<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_slice(body);
            match serde_path_to_error::deserialize::<_, T>(de) {
                Ok(v) => Ok(v),
                Err(e) => Err(decode_error(path, e)),
            }
        }
    }
}

/// `{"data": T}`
#[derive(serde::Deserialize)]
struct DataEnvelope<T> {
    data: T,
}

/// Decode `{"data": T}`; a bare `T` is accepted too (the webhook-subscription create response
/// may come without the envelope, and webhook bodies never have one).
pub fn decode_single<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    match decode_as::<DataEnvelope<T>>(path, body) {
        Ok(e) => Ok(e.data),
        Err(DecodeError { field, message, .. })
            if field == "." && message.starts_with("missing field `data`") =>
        {
            decode_single_bare(path, body)
        }
        Err(e) => Err(e),
    }
}

/// Decode a bare `T` (no envelope).
pub fn decode_single_bare<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    decode_as(path, body)
}

/// Decode a list answer `{"data": [...], "metadata": {...}}` (a bare array is accepted too),
/// each record on its own: see the module docs.
pub fn decode_page<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<Page<Received<T>>> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        data: Vec<&'a RawValue>,
        #[serde(default)]
        metadata: Option<Metadata>,
    }
    let (raws, metadata) = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        (decode_borrowed::<Vec<&RawValue>>(path, body)?, None)
    } else {
        let env: Envelope<'_> = decode_borrowed(path, body)?;
        (env.data, env.metadata)
    };
    let mut page = Page::new(Vec::with_capacity(raws.len()), metadata);
    for raw in raws {
        match decode_item::<T>(raw.get()) {
            Ok(item) => page.items.push(item),
            Err(rejected) => page.rejected.push(rejected),
        }
    }
    Ok(page)
}

/// Decode `body` as `T`, borrowing from it; on failure, again with path tracking.
fn decode_borrowed<'a, T: Deserialize<'a>>(path: &str, body: &'a [u8]) -> Result<T> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_slice(body);
            serde_path_to_error::deserialize::<_, T>(de).map_err(|e| decode_error(path, e))
        }
    }
}

/// The most fields one record may have cleared before it counts as unreadable.
const MAX_DRIFTED_FIELDS: usize = 64;

/// One list item: the record, or why it is not one. Fast path: the item decodes as is.
fn decode_item<T: DeserializeOwned>(text: &str) -> std::result::Result<Received<T>, Rejected> {
    if let Ok(record) = serde_json::from_str::<T>(text) {
        return Ok(Received {
            record,
            raw: text.to_owned(),
            drifted: Vec::new(),
        });
    }
    let reject = |id, error: String| Rejected {
        raw: text.to_owned(),
        id,
        error,
    };
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => return Err(reject(None, "not a JSON object".into())),
    };
    let id = value.get("id").and_then(Value::as_i64);
    // Clear the field each failure names (its deepest object key; the whole field when that
    // is not enough) and try again, until the record reads or a required field is at fault.
    let mut cleared: Vec<Vec<String>> = Vec::new();
    let mut drifted: Vec<String> = Vec::new();
    while cleared.len() <= MAX_DRIFTED_FIELDS {
        let failure = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(record) => {
                return Ok(Received {
                    record,
                    raw: text.to_owned(),
                    drifted,
                });
            }
            Err(e) => e,
        };
        let mut keys: Vec<String> = Vec::new();
        for segment in failure.path().iter() {
            match segment {
                Segment::Map { key } => keys.push(key.clone()),
                _ => break,
            }
        }
        // Already cleared and still failing: the field is required there; clear its parent.
        while !keys.is_empty() && cleared.contains(&keys) {
            keys.pop();
        }
        let what = if failure.inner().to_string().starts_with("missing field") {
            "is missing"
        } else {
            "has a type the model does not read"
        };
        let field = failure.path().to_string();
        if keys.is_empty() || !set_null(&mut value, &keys) {
            return Err(reject(id, format!("field `{field}` {what}")));
        }
        cleared.push(keys);
        if !drifted.contains(&field) {
            drifted.push(field);
        }
    }
    Err(reject(id, "too many fields have unexpected types".into()))
}

/// Set the field at `keys` (object keys from the root) to `null`; false if it is not there.
fn set_null(value: &mut Value, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut at = value;
    for k in parents {
        match at.get_mut(k.as_str()) {
            Some(v) => at = v,
            None => return false,
        }
    }
    match at.as_object_mut() {
        Some(map) => {
            map.insert(last.clone(), Value::Null);
            true
        }
        None => false,
    }
}

/// Builds a [`DecodeError`] from a `serde_path_to_error` failure.
pub(crate) fn decode_error(
    path: &str,
    err: serde_path_to_error::Error<serde_json::Error>,
) -> DecodeError {
    let field = err.path().to_string();
    DecodeError {
        path: path.to_owned(),
        field,
        message: without_values(&err.into_inner().to_string()),
    }
}

/// serde's message with the offending value left out: `invalid type: string "ann@x.com",
/// expected i64` becomes `invalid type: string, expected i64`. Field names, types and the
/// position stay.
pub(crate) fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "unknown variant "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The expected clause is serde's own and comes last; a value could itself hold
            // ", expected ", so split at the last one.
            return match rest.rfind(", expected ") {
                Some(at) => {
                    let kind = rest[..at]
                        .split(['`', '"', '\''])
                        .next()
                        .unwrap_or("")
                        .trim();
                    let prefix = prefix.trim_end();
                    let sep = if kind.is_empty() { "" } else { " " };
                    format!("{prefix}{sep}{kind}{}", &rest[at..])
                }
                None => prefix.trim_end().trim_end_matches(':').to_owned(),
            };
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod decode_messages {
    use super::*;

    #[test]
    fn decode_messages_keep_types_and_drop_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            id: i64,
            n: Option<u8>,
            k: Option<Kind>,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Kind {
            A,
        }
        for (body, kept) in [
            (
                r#"{"id":"ann@example.com"}"#,
                "invalid type: string, expected i64",
            ),
            (r#"{"id":1,"n":-7}"#, "invalid value: integer, expected u8"),
            (
                r#"{"id":1,"k":"ann@example.com"}"#,
                "unknown variant, expected",
            ),
            (r#"{"id":true}"#, "invalid type: boolean, expected i64"),
            (
                r#"{"id":"x, expected i64 ann@example.com"}"#,
                "invalid type: string, expected i64",
            ),
            (r#"{"n":1}"#, "missing field `id`"),
        ] {
            let de = &mut serde_json::Deserializer::from_str(body);
            let e = serde_path_to_error::deserialize::<_, P>(de).unwrap_err();
            let m = decode_error("/v2/people", e).to_string();
            assert!(m.contains(kept), "{body}: {m}");
            assert!(!m.contains("ann@") && !m.contains("-7"), "{body}: {m}");
            assert!(!m.contains("true"), "{body}: {m}");
        }
    }
}

#[cfg(test)]
mod decode_properties {
    use super::*;
    use crate::models::Person;
    use proptest::prelude::*;

    /// JSON values of any shape, a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            Just(Value::String("2024-01-20T17:00:00.000000-07:00".into())),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()),
                        Just("updated_at".to_owned()),
                        Just("created_at".to_owned()),
                        Just("title".to_owned()),
                        Just("custom_fields".to_owned()),
                        ".{0,6}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes: an error or a page, never a panic.
        #[test]
        fn any_body_decodes_or_errs(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_page::<Person>("/v2/people", &body);
        }

        /// Any items in a list envelope: each is a record (maybe drifted) or rejected, and
        /// none is lost.
        #[test]
        fn any_items_in_an_envelope_are_kept_or_rejected(
            items in proptest::collection::vec(any_json(), 0..8),
        ) {
            let body = serde_json::json!({"metadata": {}, "data": items}).to_string();
            let page = decode_page::<Person>("/v2/people", body.as_bytes());
            if let Ok(page) = page {
                prop_assert_eq!(page.items.len() + page.rejected.len(), items.len());
            }
        }
    }
}
