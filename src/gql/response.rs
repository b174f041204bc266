//! Responses written as JSON text.
//!
//! Parts of a response may already be JSON text: the items of a page (written as they are
//! resolved, see `items`) and documents rendered once for many requests (live statistics).
//! The engine's value tree has no node for such text, so it travels as `Value::Binary`, which
//! nothing in this schema produces otherwise, and is copied here verbatim. Every response of
//! the schema must therefore be written by this module, never by the engine's `Serialize`.

use async_graphql::{Response, Value};
use bytes::Bytes;

/// A piece of a response already written as JSON.
pub fn raw(json: Bytes) -> Value {
    Value::Binary(json)
}

/// `text` as a JSON string literal, quotes included.
pub fn string_literal(text: &str) -> Bytes {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + 2);
    write_str(&mut out, text);
    out.into()
}

/// The standard answer: `{"data": …, "errors": […]}`, `errors` only when there are some (the
/// shape of the engine's own serialization).
pub fn standard(response: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(len_hint(&response.data) + 64);
    out.extend_from_slice(b"{\"data\":");
    write_value(&mut out, &response.data);
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":{");
        for (i, (name, value)) in response.extensions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(&mut out, name);
            out.push(b':');
            write_value(&mut out, value);
        }
        out.push(b'}');
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        write_serialized(&mut out, &response.errors);
    }
    out.push(b'}');
    out
}

/// `value` alone (21.03's legacy answer: the bare `data`).
pub fn value(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(len_hint(value));
    write_value(&mut out, value);
    out
}

/// `value` as a `serde_json::Value`, for readers inside the process.
pub fn to_json(value: &Value) -> serde_json::Value {
    // What `write_value` writes is JSON by construction (raw pieces included).
    serde_json::from_slice(&self::value(value)).unwrap_or_default()
}

/// About how long `value` is written, for sizing the buffer once: responses are up to
/// megabytes, mostly pieces already written, which a growing buffer would copy several times.
/// Exact but for escapes in strings and the digits of numbers.
pub fn len_hint(value: &Value) -> usize {
    match value {
        Value::Null | Value::Boolean(_) | Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Enum(name) => name.len() + 2,
        Value::Binary(json) => json.len(),
        Value::List(items) => items.iter().map(|v| len_hint(v) + 1).sum::<usize>() + 2,
        Value::Object(fields) => {
            let fields: usize = fields.iter().map(|(k, v)| k.len() + 4 + len_hint(v)).sum();
            fields + 2
        }
    }
}

pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_serialized(out, n),
        Value::String(s) => write_str(out, s),
        Value::Enum(name) => write_str(out, name),
        Value::Binary(json) => out.extend_from_slice(json),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(fields) => {
            out.push(b'{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, name);
                out.push(b':');
                write_value(out, value);
            }
            out.push(b'}');
        }
    }
}

pub fn write_str(out: &mut Vec<u8>, text: &str) {
    write_serialized(out, text);
}

fn write_serialized<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing strings, numbers and errors into memory cannot fail.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, Number, ServerError};

    use super::*;

    #[test]
    fn writes_what_the_engine_would_and_raw_pieces_verbatim() {
        let mut fields = IndexMap::new();
        fields.insert(Name::new("n"), Value::Number(Number::from(-3)));
        fields.insert(
            Name::new("f"),
            Value::Number(Number::from_f64(1.5).unwrap()),
        );
        fields.insert(Name::new("s"), Value::String("a\"b\n".into()));
        fields.insert(Name::new("e"), Value::Enum(Name::new("RUNNING")));
        fields.insert(
            Name::new("l"),
            Value::List(vec![Value::Null, Value::Boolean(true)]),
        );
        let plain = Value::Object(fields.clone());
        let engine = serde_json::to_string(&plain).unwrap();
        assert_eq!(String::from_utf8(value(&plain)).unwrap(), engine);

        fields.insert(Name::new("raw"), raw(string_literal("{\"a\": 1}")));
        let with_raw = Value::Object(fields);
        assert_eq!(to_json(&with_raw)["raw"], "{\"a\": 1}");

        let response = Response::from_errors(vec![ServerError::new("no", None)]);
        assert_eq!(
            String::from_utf8(standard(&response)).unwrap(),
            serde_json::to_string(&response).unwrap()
        );
        let ok = Response::new(plain);
        assert_eq!(
            String::from_utf8(standard(&ok)).unwrap(),
            serde_json::to_string(&ok).unwrap()
        );
    }
}
