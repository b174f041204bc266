//! A JSON column read as its text.
//!
//! Read models that mostly pass a document through (a kernel's status data, service ports, last
//! statistics) keep it as text: building a `serde_json::Value` tree allocates per node, and a
//! page of sessions would build and drop thousands of trees that no field shows.

use sea_orm::FromJsonQueryResult;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Debug, Clone, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The parsed document.
    pub fn value(&self) -> serde_json::Value {
        // The text came from PostgreSQL's JSON output, and was checked when it was read.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_and_parses_on_demand() {
        let raw: RawJson = serde_json::from_str(r#"{"a": [1, 2.5], "b": "é"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&raw).unwrap(),
            r#"{"a": [1, 2.5], "b": "é"}"#
        );
        assert_eq!(raw.value(), serde_json::json!({"a": [1, 2.5], "b": "é"}));
        assert!(serde_json::from_str::<RawJson>("{").is_err());
    }
}
