//! Reading request parameters as SalesLoft does: numbers and bools sent as strings, comma
//! lists, and copying the writable fields onto a record.

use serde_json::{Map, Value, json};

pub(super) fn copy_fields(
    obj: &mut Map<String, Value>,
    input: &Map<String, Value>,
    fields: &[&str],
) {
    for f in fields {
        if let Some(v) = input.get(*f) {
            let v = match (*f, v) {
                ("do_not_contact", v) => as_bool(v).map_or(Value::Null, Value::Bool),
                ("tags" | "contact_restrictions", Value::String(s)) => {
                    json!(
                        s.split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .collect::<Vec<_>>()
                    )
                }
                ("custom_fields", Value::Null) => json!({}),
                (_, v) => v.clone(),
            };
            obj.insert((*f).to_owned(), v);
        }
    }
}

/// A JSON number, or a string holding one (form-encoded bodies send strings).
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A JSON bool, or `"true"`/`"false"`/`"1"`/`"0"`.
pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        _ => None,
    }
}

pub(super) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
