//! The custom scalars of 21.03's schema, with graphene 2's wire forms: `DateTime` as Python's
//! `isoformat()`, `JSONString` as a string holding `json.dumps` output, `BigInt` as a JSON number.

use async_graphql::{InputValueError, InputValueResult, Number, Scalar, ScalarType, Value};
use chrono::{DateTime as ChronoDateTime, FixedOffset, SecondsFormat, Timelike};

use super::response;

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
pub struct JsonString(Json);

/// Outputs are written once, straight from whatever holds the document, as the JSON string
/// literal of the response (so a document shared by many responses is escaped once); inputs
/// keep the parsed document for the services.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Written(bytes::Bytes),
    Parsed(serde_json::Value),
}

impl JsonString {
    /// Any serializable document (a row's JSON column, resource slots, live statistics).
    pub fn of<T: serde::Serialize + ?Sized>(document: &T) -> Self {
        JsonString(Json::Written(response::string_literal(&python_json_dumps(
            document,
        ))))
    }

    /// Live statistics, rendered once per document (documents outlive requests).
    pub fn stat(stat: &crate::services::live_stats::LiveStat) -> Self {
        JsonString(Json::Written(stat.rendered(|stat| {
            response::string_literal(&python_json_dumps(stat))
        })))
    }

    /// A document shared between rows, rendered once however many show it.
    pub fn shared<T: serde::Serialize>(doc: &crate::services::shared_docs::SharedDoc<T>) -> Self {
        JsonString(Json::Written(doc.rendered(|value| {
            response::string_literal(&python_json_dumps(value))
        })))
    }

    /// Resource slots as 21.03 shows them: amounts as decimal strings.
    pub fn slots(slots: &entities::ResourceSlot) -> Self {
        Self::of(slots)
    }

    /// A JSON column kept as text, rendered as Python would print the parsed document.
    pub fn raw(document: Option<&entities::RawJson>) -> Option<Self> {
        document.map(|d| Self::of(&d.value()))
    }

    pub fn opt<T: serde::Serialize>(document: &Option<T>) -> Option<Self> {
        document.as_ref().map(Self::of)
    }

    /// The document of an input.
    pub fn into_value(self) -> serde_json::Value {
        match self.0 {
            Json::Parsed(value) => value,
            // Written text is always a literal of valid JSON: see `of`.
            Json::Written(literal) => serde_json::from_slice::<String>(&literal)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default(),
        }
    }
}

#[Scalar(name = "JSONString")]
impl ScalarType for JsonString {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => serde_json::from_str(s)
                .map(|v| JsonString(Json::Parsed(v)))
                .map_err(|e| InputValueError::custom(format!("JSONString is not valid JSON: {e}"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        match &self.0 {
            Json::Written(literal) => response::raw(literal.clone()),
            Json::Parsed(value) => Value::String(python_json_dumps(value)),
        }
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
pub fn python_json_dumps<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing to a Vec fails only for documents JSON cannot express (non-string map keys),
    // which no column or statistic holds; such a document prints as null.
    if value.serialize(&mut serializer).is_err() {
        return "null".into();
    }
    // The serializer writes only valid UTF-8 (and the formatter only ASCII escapes).
    String::from_utf8(out).unwrap_or_else(|_| "null".into())
}

/// serde_json's compact output with Python's separators and `ensure_ascii` escaping.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.begin_array_value(writer, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    /// Python escapes everything outside printable ASCII (serde_json already escaped the
    /// control characters, quotes and backslashes before calling this).
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(at) = rest.find(|c: char| c > '\u{7e}') {
            writer.write_all(&rest.as_bytes()[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
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
        assert_eq!(
            python_json_dumps(&json!(["\u{7f}\u{1}", {"a": [], "b": {}}])),
            r#"["\u007f\u0001", {"a": [], "b": {}}]"#
        );
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
