//! SalesLoft's JSON envelopes, for code that receives API bodies without this client (webhook
//! deliveries, recorded fixtures, a sandbox): the same decoding the client uses, with the same
//! precise errors.

use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::list::Page;

/// Decode one record from `{"data": {...}}` or from a bare object (webhook bodies are bare).
pub fn parse_record<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    crate::client::decode_single("(body)", body)
}

/// Decode a list page from `{"data": [...], "metadata": {...}}` (or a bare array).
pub fn parse_page<T: DeserializeOwned>(body: &[u8]) -> Result<Page<T>> {
    crate::client::decode_page("(body)", body)
}
