//! Reading settings from either layer: files give typed TOML values, environment variables give
//! strings, so numbers, lists, addresses and time zones read from both.

use std::fmt::Display;
use std::str::FromStr;

use secrecy::SecretString;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// A number from a TOML integer or a string of digits.
pub(crate) fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + TryFrom<i64>,
    <T as FromStr>::Err: Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Int(i) => T::try_from(i).map_err(|_| D::Error::custom(format!("{i} is out of range"))),
        Raw::Text(s) => s
            .trim()
            .parse()
            .map_err(|e| D::Error::custom(format!("{s:?} is not a number: {e}"))),
    }
}

/// A value parsed from its text form (an address, a time zone).
pub(crate) fn parsed<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    <T as FromStr>::Err: Display,
{
    let s = String::deserialize(d)?;
    s.trim()
        .parse()
        .map_err(|e| D::Error::custom(format!("{s:?}: {e}")))
}

/// An optional value parsed from its text form; an empty string reads as unset.
pub(crate) fn parsed_option<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    <T as FromStr>::Err: Display,
{
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    s.trim()
        .parse()
        .map(Some)
        .map_err(|e| D::Error::custom(format!("{s:?}: {e}")))
}

/// An optional secret; an empty string reads as unset.
pub(crate) fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !s.is_empty()).map(SecretString::from))
}

/// A list of secrets: a TOML array, or one comma-separated string (`tok1,tok2`, as an
/// environment variable gives it). Blank entries are left out.
pub(crate) fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_list(d)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

/// A list of strings: a TOML array, or one comma-separated string (`a,b`, as an environment
/// variable gives it). Entries are trimmed; blank ones are left out.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(s) => s.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}
