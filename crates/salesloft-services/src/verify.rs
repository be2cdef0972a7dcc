//! [`Verifier`]: compares the local copy with a full export of the source (the sandbox's
//! snapshot, or any `{"people": [...], ...}` document keyed by stream name), record by record,
//! by the JSON text: the local copy keeps each record exactly as SalesLoft sent it, so a
//! record that only differs in formatting (a re-serialised timestamp) counts as different too,
//! and is told apart in [`StreamDiff::reformatted_count`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::streams::Stream;

/// How one stream's local copy compares with the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamDiff {
    /// The stream.
    pub stream: String,
    /// Records in the source.
    pub source: usize,
    /// Records in the local copy.
    pub local: usize,
    /// Ids in the source but not the local copy (up to 20).
    pub missing: Vec<i64>,
    /// Ids in the local copy but not the source (up to 20).
    pub extra: Vec<i64>,
    /// Ids whose JSON text differs (up to 20).
    pub different: Vec<i64>,
    /// Of the different ones, how many hold the same JSON value in other text (formatting
    /// only).
    pub reformatted_count: usize,
    /// Totals of the three lists before truncation.
    pub missing_count: usize,
    /// See `missing_count`.
    pub extra_count: usize,
    /// See `missing_count`.
    pub different_count: usize,
}

impl StreamDiff {
    /// Whether the local copy equals the source exactly.
    pub fn is_equal(&self) -> bool {
        self.missing_count == 0 && self.extra_count == 0 && self.different_count == 0
    }
}

/// Compares the context's local copy with a source export.
#[derive(Debug, Clone)]
pub struct Verifier {
    ctx: Context,
}

impl Verifier {
    /// A verifier of `ctx`'s store.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Compare `streams` of the local copy with `snapshot`, the JSON text of an object holding
    /// each stream's records under its name.
    pub async fn compare(&self, snapshot: &[u8], streams: &[Stream]) -> Result<Vec<StreamDiff>> {
        let top: HashMap<String, &RawValue> = serde_json::from_slice(snapshot).map_err(|e| {
            Error::Unreliable(format!(
                "the snapshot is not a JSON object of record lists: {e}"
            ))
        })?;
        let mut out = Vec::new();
        for stream in streams {
            let records: Vec<&RawValue> = match top.get(stream.name()) {
                Some(list) => serde_json::from_str(list.get()).map_err(|e| {
                    Error::Unreliable(format!(
                        "the snapshot's {} is not a list of records: {e}",
                        stream.name()
                    ))
                })?,
                None => Vec::new(),
            };
            out.push(self.compare_stream(&records, *stream).await?);
        }
        Ok(out)
    }

    async fn compare_stream(&self, records: &[&RawValue], stream: Stream) -> Result<StreamDiff> {
        #[derive(Deserialize)]
        struct Id {
            id: i64,
        }
        let source: BTreeMap<i64, &str> = records
            .iter()
            .filter_map(|r| Some((serde_json::from_str::<Id>(r.get()).ok()?.id, r.get())))
            .collect();
        let local: BTreeMap<i64, String> = stream
            .raw_records(&self.ctx.store)
            .await?
            .into_iter()
            .collect();
        let mut diff = StreamDiff {
            stream: stream.name().to_owned(),
            source: source.len(),
            local: local.len(),
            ..StreamDiff::default()
        };
        for (id, v) in &source {
            match local.get(id) {
                None => {
                    diff.missing_count += 1;
                    if diff.missing.len() < 20 {
                        diff.missing.push(*id);
                    }
                }
                Some(l) if l != v => {
                    diff.different_count += 1;
                    if diff.different.len() < 20 {
                        diff.different.push(*id);
                    }
                    let parsed = |t: &str| serde_json::from_str::<Value>(t).ok();
                    let stored = parsed(l).ok_or_else(|| Error::Corrupt {
                        stream: stream.name().to_owned(),
                        id: *id,
                    })?;
                    if parsed(v).is_some_and(|v| v == stored) {
                        diff.reformatted_count += 1;
                    }
                }
                Some(_) => {}
            }
        }
        for id in local.keys().filter(|id| !source.contains_key(id)) {
            diff.extra_count += 1;
            if diff.extra.len() < 20 {
                diff.extra.push(*id);
            }
        }
        Ok(diff)
    }
}
