//! SalesLoft's JSON envelopes: `{"data": ...}` around one record, `{"data": [...],
//! "metadata": {...}}` around a list page, decoded with errors that name the failing field.
//! The client decodes every answer here; code that receives API bodies without the client
//! (webhook deliveries, recorded fixtures, a sandbox) uses [`parse_record`] and [`parse_page`].

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, decode_error};

/// Decode one record from `{"data": {...}}` or from a bare object (webhook bodies are bare).
pub fn parse_record<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    decode_single("(body)", body)
}

/// Decode a list page from `{"data": [...], "metadata": {...}}` (or a bare array).
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>> {
    decode_page("(body)", body)
}

/// One page of a list, with SalesLoft's paging metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The records on this page.
    pub items: Vec<T>,
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
            paging: m.paging,
            filtering: m.filtering,
            sorting: m.sorting,
        }
    }

    /// The next page number, if the server says there is one.
    pub fn next_page(&self) -> Option<u32> {
        self.paging.as_ref().and_then(|p| p.next_page)
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
                Err(e) => Err(decode_error(path, body, e)),
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
pub(crate) fn decode_single<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    match decode_as::<DataEnvelope<T>>(path, body) {
        Ok(e) => Ok(e.data),
        Err(Error::Decode { field, message, .. })
            if field == "." && message.starts_with("missing field `data`") =>
        {
            decode_single_bare(path, body)
        }
        Err(e) => Err(e),
    }
}

/// Decode a bare `T` (no envelope).
pub(crate) fn decode_single_bare<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T> {
    decode_as(path, body)
}

/// Decode a list answer `{"data": [...], "metadata": {...}}`; a bare array is accepted too.
pub(crate) fn decode_page<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<Page<T>> {
    #[derive(serde::Deserialize)]
    struct Envelope<T> {
        data: Vec<T>,
        #[serde(default)]
        metadata: Option<Metadata>,
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Ok(Page::new(decode_as::<Vec<T>>(path, body)?, None));
    }
    let env: Envelope<T> = decode_as(path, body)?;
    Ok(Page::new(env.data, env.metadata))
}
