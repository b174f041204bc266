//! The custom scalars of 21.03's schema, with graphene 2's wire forms: `DateTime` as Python's
//! `isoformat()`, `JSONString` as a string holding `json.dumps` output, `BigInt` as a JSON number.

use async_graphql::{InputValueError, InputValueResult, Number, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, FixedOffset, SecondsFormat, Timelike};

/// A timestamp, printed as Python's `datetime.isoformat()` prints an aware datetime
/// (`2021-08-15T01:02:03.456789+00:00`; no fraction when the microseconds are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub ChronoDateTime<FixedOffset>);

impl DateTime {
    pub fn isoformat(&self) -> String {
        // Python prints six fraction digits, or none when the microseconds are zero.
        let format = if self.0.nanosecond() / 1000 == 0 {
            SecondsFormat::Secs
        } else {
            SecondsFormat::Micros
        };
        self.0.to_rfc3339_opts(format, false)
    }
}

impl From<ChronoDateTime<FixedOffset>> for DateTime {
    fn from(t: ChronoDateTime<FixedOffset>) -> Self {
        DateTime(t)
    }
}

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => ChronoDateTime::parse_from_rfc3339(s)
                .map(DateTime)
                .map_err(|e| InputValueError::custom(format!("invalid DateTime {s:?}: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.isoformat())
    }
}

/// A JSON document carried as a string (graphene's `JSONString`): output is `json.dumps` of the
/// value, input is a string that must parse as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonString(pub serde_json::Value);

impl JsonString {
    /// Resource slots as 21.03 shows them: amounts as decimal strings.
    pub fn slots(slots: &entities::ResourceSlot) -> Self {
        JsonString(serde_json::to_value(slots).unwrap_or_default())
    }

    pub fn opt(value: &Option<serde_json::Value>) -> Option<Self> {
        value.clone().map(JsonString)
    }
}

impl From<serde_json::Value> for JsonString {
    fn from(v: serde_json::Value) -> Self {
        JsonString(v)
    }
}

#[Scalar(name = "JSONString")]
impl ScalarType for JsonString {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => serde_json::from_str(s)
                .map(JsonString)
                .map_err(|e| InputValueError::custom(format!("JSONString is not valid JSON: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(python_json_dumps(&self.0))
    }
}

/// An integer beyond 32 bits (byte sizes, timeouts, query counts), printed as a JSON number.
/// Input accepts a number or a string of digits, as graphene did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BigInt(pub i64);

#[Scalar(name = "BigInt")]
impl ScalarType for BigInt {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed.map(BigInt).ok_or_else(|| {
            InputValueError::custom(format!("BigInt expects an integer, not {value}"))
        })
    }

    fn to_value(&self) -> Value {
        Value::Number(Number::from(self.0))
    }
}

/// `json.dumps(value)` as Python writes it: `", "` and `": "` separators, non-ASCII escaped as
/// `\uXXXX`. Clients parse it, but some compare strings, so the bytes match 21.03's.
pub fn python_json_dumps(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_python_json(value, &mut out);
    out
}

fn write_python_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match value {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => out.push_str(&n.to_string()),
        J::String(s) => write_python_string(s, out),
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        J::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_string(k, out);
                out.push_str(": ");
                write_python_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_python_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_dumps_matches_python() {
        let v = json!({"cpu": "1", "mem": "1073741824", "list": [1, 2.5, null, true], "é": "日\n"});
        assert_eq!(
            python_json_dumps(&v),
            r#"{"cpu": "1", "mem": "1073741824", "list": [1, 2.5, null, true], "\u00e9": "\u65e5\n"}"#
        );
        assert_eq!(python_json_dumps(&json!("😀")), r#""\ud83d\ude00""#);
        assert_eq!(python_json_dumps(&json!({})), "{}");
    }

    #[test]
    fn datetime_prints_like_isoformat() {
        let t = ChronoDateTime::parse_from_rfc3339("2021-08-15T01:02:03.120000+00:00").unwrap();
        assert_eq!(DateTime(t).isoformat(), "2021-08-15T01:02:03.120000+00:00");
        let t = ChronoDateTime::parse_from_rfc3339("2021-08-15T01:02:03+09:00").unwrap();
        assert_eq!(DateTime(t).isoformat(), "2021-08-15T01:02:03+09:00");
        let t = ChronoDateTime::parse_from_rfc3339("2021-08-15T01:02:03.0000019Z").unwrap();
        assert_eq!(DateTime(t).isoformat(), "2021-08-15T01:02:03.000001+00:00");
    }

    #[test]
    fn bigint_accepts_numbers_and_digit_strings() {
        assert_eq!(BigInt::parse(Value::from(5)).unwrap(), BigInt(5));
        assert_eq!(BigInt::parse(Value::from("42")).unwrap(), BigInt(42));
        assert!(BigInt::parse(Value::from("4x")).is_err());
        assert_eq!(BigInt(1 << 40).to_value(), Value::from(1i64 << 40));
    }
}
