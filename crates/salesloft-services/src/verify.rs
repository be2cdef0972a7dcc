//! [`Verifier`]: compares the local copy with a full export of the source (the sandbox's
//! snapshot, or any `{"people": [...], ...}` document keyed by stream name), record by record.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

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
    /// Ids whose JSON differs (up to 20).
    pub different: Vec<i64>,
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

    /// Compare `streams` of the local copy with `snapshot`, an object holding each stream's
    /// records under its name.
    pub async fn compare(&self, snapshot: &Value, streams: &[Stream]) -> Result<Vec<StreamDiff>> {
        let mut out = Vec::new();
        for stream in streams {
            out.push(self.compare_stream(snapshot, *stream).await?);
        }
        Ok(out)
    }

    async fn compare_stream(&self, snapshot: &Value, stream: Stream) -> Result<StreamDiff> {
        let source: BTreeMap<i64, &Value> = snapshot[stream.name()]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| Some((r.get("id")?.as_i64()?, r)))
                    .collect()
            })
            .unwrap_or_default();
        let mut local = BTreeMap::new();
        for (id, raw) in stream.raw_records(&self.ctx.store).await? {
            let v: Value = serde_json::from_str(&raw).map_err(|_| Error::Corrupt {
                stream: stream.name().to_owned(),
                id,
            })?;
            local.insert(id, v);
        }
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
                Some(l) if l != *v => {
                    diff.different_count += 1;
                    if diff.different.len() < 20 {
                        diff.different.push(*id);
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
