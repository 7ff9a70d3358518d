//! Reading script answers. A script answers a table whose first element is a status word
//! ('OK', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT', 'NOT_MEMBER', …) followed by its data.

use std::collections::HashMap;

use redis::Value;

use super::{StoreError, StoreResult};

pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

pub fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => text(other)?.parse().ok(),
    }
}

pub fn array(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

pub fn bad(what: &str) -> StoreError {
    StoreError::Internal(format!("malformed answer from {what}"))
}

/// Splits an answer into its status word and data, turning the refusal words into errors.
pub fn status<'a>(v: &'a Value, what: &str) -> StoreResult<(String, &'a [Value])> {
    let items = array(v).ok_or_else(|| bad(what))?;
    let (first, rest) = items.split_first().ok_or_else(|| bad(what))?;
    let word = text(first).ok_or_else(|| bad(what))?;
    match word.as_str() {
        "NOT_FOUND" => Err(StoreError::NotFound),
        "FORBIDDEN" => Err(StoreError::NotAnchor),
        "NOT_MEMBER" => Err(StoreError::NotMember),
        "BANNED" => Err(StoreError::Banned(
            rest.first().and_then(int).unwrap_or_default(),
        )),
        "INVALID" | "QUOTA" => {
            let why = rest.first().and_then(text).unwrap_or_default();
            Err(if word == "QUOTA" {
                StoreError::QuotaExceeded(why)
            } else {
                StoreError::Invalid(why)
            })
        }
        "SEAT" => Err(StoreError::Seat(
            rest.first()
                .and_then(text)
                .unwrap_or_else(|| "a seat conflict".into()),
        )),
        "PK_CONFLICT" => Err(StoreError::PkConflict(
            rest.first()
                .and_then(text)
                .unwrap_or_else(|| "the PK's state forbids it".into()),
        )),
        "CONFLICT" => Err(StoreError::Conflict(
            rest.first()
                .and_then(text)
                .unwrap_or_else(|| "the room's state forbids it".into()),
        )),
        _ => Ok((word, rest)),
    }
}

/// A flat [field, value, …] array as a map.
pub fn fields(v: &Value) -> Option<HashMap<String, String>> {
    let items = array(v)?;
    let mut out = HashMap::with_capacity(items.len() / 2);
    for pair in items.chunks(2) {
        if let [k, v] = pair {
            out.insert(text(k)?, text(v)?);
        }
    }
    Some(out)
}
