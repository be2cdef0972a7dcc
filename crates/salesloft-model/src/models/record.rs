//! What every model is made of: [`Timestamp`], [`Ref`], the `extra` map, the per-field null
//! rules ([`WireField`]) and the `wire_record!` macro that declares a model with them, and the
//! [`Record`] trait the walk reads ids and `updated_at` through.

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

/// How a model field reads from the wire: what `null` means and whether the field may be
/// missing. `Option`s read `null` and absence as `None`; lists and maps read both as empty;
/// ids and timestamps are required.
pub(crate) trait WireField: Sized {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
    /// The value of an absent field, or `None` if the field is required.
    fn missing() -> Option<Self>;
}

impl<T: serde::de::DeserializeOwned> WireField for Option<T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d)
    }
    fn missing() -> Option<Self> {
        Some(None)
    }
}

impl<T: serde::de::DeserializeOwned> WireField for Vec<T> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        null_as_default(d)
    }
    fn missing() -> Option<Self> {
        Some(Vec::new())
    }
}

impl WireField for serde_json::Map<String, serde_json::Value> {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        null_as_default(d)
    }
    fn missing() -> Option<Self> {
        Some(Self::new())
    }
}

impl WireField for Timestamp {
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Timestamp::deserialize(d)
    }
    fn missing() -> Option<Self> {
        None
    }
}

/// Ids are required where a model has them as plain fields: read as they are, never missing.
macro_rules! required_ids {
    ($($id:ident),*) => {$(
        impl WireField for crate::ids::$id {
            fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::deserialize(d)
            }
            fn missing() -> Option<Self> {
                None
            }
        }
    )*};
}

required_ids!(
    PersonId,
    AccountId,
    UserId,
    TeamId,
    CadenceId,
    StepId,
    CadenceMembershipId,
    EmailId,
    CallId,
    NoteId,
    WebhookSubscriptionId,
    AccountStageId,
    AccountTierId,
    PersonStageId,
    CallDispositionId,
    CallSentimentId,
    CustomFieldId,
    SuccessId,
    CallDataRecordId,
    CrmActivityId,
    ActionId,
    TaskId,
    CrmActivityFieldId,
    CrmUserId,
    ImportId,
    ActivityHistoryId,
    EmailTemplateId
);

/// Deserialises one field through its [`WireField`] rules.
pub(crate) struct WireValue<T>(pub(crate) T);

impl<'de, T: WireField> Deserialize<'de> for WireValue<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::read(d).map(WireValue)
    }
}

/// The JSON name of a model field: its Rust name unless renamed with `as "name"`.
macro_rules! wire_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident, $wire:literal) => {
        $wire
    };
}
pub(crate) use wire_name;

/// Declares a SalesLoft record: the struct with an `extra` map for unknown fields, and serde
/// impls that read known fields straight into place and collect the rest into `extra`.
/// (`#[serde(flatten)]` would do the same by buffering every record, about three times slower.)
///
/// Field names must not be `map`, `key`, `value` or `extra`: they become locals of the visitor.
macro_rules! wire_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident $(as $wire:literal)? : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Fields this crate has no typed field for, kept verbatim.
            pub extra: $crate::models::record::Extra,
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(None)?;
                $( map.serialize_entry($crate::models::record::wire_name!($field $(, $wire)?), &self.$field)?; )*
                for (key, value) in &self.extra {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Field {
                    $($field,)*
                    __extra(String),
                }
                struct FieldVisitor;
                impl serde::de::Visitor<'_> for FieldVisitor {
                    type Value = Field;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
                        Ok(match v {
                            $( $crate::models::record::wire_name!($field $(, $wire)?) => Field::$field, )*
                            other => Field::__extra(other.to_owned()),
                        })
                    }
                }
                impl<'de> serde::Deserialize<'de> for Field {
                    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                        d.deserialize_identifier(FieldVisitor)
                    }
                }
                struct RecordVisitor;
                impl<'de> serde::de::Visitor<'de> for RecordVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a SalesLoft ", stringify!($name), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $( let mut $field: Option<$ty> = None; )*
                        let mut extra = $crate::models::record::Extra::new();
                        while let Some(key) = map.next_key::<Field>()? {
                            match key {
                                $( Field::$field => {
                                    $field = Some(map.next_value::<$crate::models::record::WireValue<$ty>>()?.0);
                                } )*
                                Field::__extra(name) => {
                                    let value: serde_json::Value = map.next_value()?;
                                    extra.insert(name, value);
                                }
                            }
                        }
                        Ok($name {
                            $( $field: match $field {
                                Some(value) => value,
                                None => <$ty as $crate::models::record::WireField>::missing().ok_or_else(|| {
                                    <A::Error as serde::de::Error>::missing_field(
                                        $crate::models::record::wire_name!($field $(, $wire)?),
                                    )
                                })?,
                            }, )*
                            extra,
                        })
                    }
                }
                d.deserialize_map(RecordVisitor)
            }
        }
    };
}
pub(crate) use wire_record;

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
        impl $crate::models::record::Record for $ty {
            fn record_id(&self) -> i64 {
                self.id.get()
            }
            fn updated_at(&self) -> $crate::models::record::Timestamp {
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
