//! The SalesLoft v2 wire format as Rust types.
//!
//! Rules every model follows:
//! - every field real data can leave `null` is an `Option` (only `id`, `created_at` and
//!   `updated_at` are required, as the recorded payloads show); a missing field reads as `None`;
//! - lists read `null` as empty, because SalesLoft gives an empty list and `null` no different meaning;
//! - fields this crate does not know are kept in `extra` and written back on serialisation,
//!   so nothing SalesLoft sends is lost on its way to storage;
//! - timestamps are [`Timestamp`]s: they keep the team's UTC offset and microseconds, and compare
//!   as instants.

mod account;
mod activity;
mod cadence;
mod note;
mod person;
mod user;
mod webhook;

pub use account::*;
pub use activity::*;
pub use cadence::*;
pub use note::*;
pub use person::*;
pub use user::*;
pub use webhook::*;

use serde::{Deserialize, Deserializer, Serialize};

/// A SalesLoft timestamp: ISO-8601 with the team's UTC offset and microseconds, such as
/// `2024-03-07T02:46:00.302715-05:00`. Equality and ordering compare instants, so
/// `10:00-05:00 == 15:00Z`.
pub type Timestamp = chrono::DateTime<chrono::FixedOffset>;

/// Fields of a record that this crate has no typed field for, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A reference to another record, as SalesLoft embeds it: `{"_href": "...", "id": 51550}`.
/// `_href` is absent for resources the API does not expose (such as `role`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ref<Id> {
    /// The referenced record's id.
    pub id: Id,
    /// The API URL of the referenced record, when it has one.
    #[serde(rename = "_href", default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// Read `null` as the type's default (an empty list or map).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Something with an id and an `updated_at`, which is all the incremental walk needs.
pub trait Record {
    /// The record's id as a plain integer.
    fn record_id(&self) -> i64;
    /// When SalesLoft last changed the record.
    fn updated_at(&self) -> Timestamp;
}

macro_rules! impl_record {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::models::Record for $ty {
            fn record_id(&self) -> i64 {
                self.id.get()
            }
            fn updated_at(&self) -> $crate::models::Timestamp {
                self.updated_at
            }
        }
    )*};
}
pub(crate) use impl_record;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_offset_and_micros_and_compare_as_instants() {
        let a: Timestamp = serde_json::from_str("\"2024-03-07T02:46:00.302715-05:00\"").unwrap();
        let b: Timestamp = serde_json::from_str("\"2024-03-07T07:46:00.302715Z\"").unwrap();
        let c: Timestamp = serde_json::from_str("\"2024-03-07T07:46:00.302716Z\"").unwrap();
        assert_eq!(a, b, "same instant, different offsets");
        assert!(a < c, "one microsecond later");
        assert_eq!(a.offset().local_minus_utc(), -5 * 3600);
        assert_eq!(a.timestamp_subsec_micros(), 302_715);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"2024-03-07T02:46:00.302715-05:00\""
        );
    }
}
