//! Request parameters as 21.03's `check_api_params` reads them: the JSON body when there is
//! one, else the query string; validation errors listed per key under `data`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::ApiError;

/// A route's query string, as `check_api_params` reads it.
pub type QueryParams = axum::extract::Query<HashMap<String, String>>;

/// The parameters of a request.
pub fn read(query: &HashMap<String, String>, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Ok(query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid_api_params(
            "The request body must be a JSON object",
        )),
        Err(_) => Err(ApiError::invalid_api_params("Malformed body")),
    }
}

/// Checks parameters key by key and collects what is wrong.
pub struct Checker {
    params: Map<String, Value>,
    errors: Map<String, Value>,
}

impl Checker {
    pub fn new(params: Map<String, Value>) -> Self {
        Checker {
            params,
            errors: Map::new(),
        }
    }

    fn fail(&mut self, key: &str, why: &str) {
        self.errors.insert(key.to_owned(), Value::from(why));
    }

    /// A required, non-blank string.
    pub fn string(&mut self, key: &str) -> String {
        self.optional_string(key).unwrap_or_else(|| {
            if !self.errors.contains_key(key) {
                self.fail(key, "is required");
            }
            String::new()
        })
    }

    /// An optional non-blank string (`None` when absent or null).
    pub fn optional_string(&mut self, key: &str) -> Option<String> {
        match self.params.remove(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => {
                self.fail(key, "blank value is not allowed");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(key, "value is not a string");
                None
            }
        }
    }

    /// The first of `keys` that is present, reported under the first key.
    pub fn string_of(&mut self, keys: &[&str]) -> String {
        match keys.iter().find(|k| self.params.contains_key(**k)) {
            Some(key) => {
                let value = self.string(key);
                for other in keys {
                    self.params.remove(*other);
                }
                value
            }
            None => self.string(keys[0]),
        }
    }

    /// The first of `keys` that is present, optional.
    pub fn optional_string_of(&mut self, keys: &[&str]) -> Option<String> {
        let key = keys.iter().find(|k| self.params.contains_key(**k))?;
        let value = self.optional_string(key);
        for other in keys {
            self.params.remove(*other);
        }
        value
    }

    /// The first of `keys` that is present, an optional UUID.
    pub fn optional_uuid_of(&mut self, keys: &[&str]) -> Option<uuid::Uuid> {
        let key = *keys.iter().find(|k| self.params.contains_key(**k))?;
        let value = self.optional_uuid(key);
        for other in keys {
            self.params.remove(*other);
        }
        value
    }

    /// An optional JSON object (`None` when absent or null).
    pub fn optional_object(&mut self, key: &str) -> Option<Value> {
        match self.params.remove(key) {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v),
            Some(_) => {
                self.fail(key, "value is not a dict");
                None
            }
        }
    }

    /// One of the given values.
    pub fn choice(&mut self, key: &str, allowed: &[&str]) -> String {
        let value = self.string(key);
        if !value.is_empty() && !allowed.contains(&value.as_str()) {
            self.fail(key, "value doesn't match any variant");
        }
        value
    }

    /// An optional UUID.
    pub fn optional_uuid(&mut self, key: &str) -> Option<uuid::Uuid> {
        let raw = self.optional_string(key)?;
        let parsed = uuid::Uuid::parse_str(&raw).ok();
        if parsed.is_none() {
            self.fail(key, "cannot convert value to UUID");
        }
        parsed
    }

    /// Takes a value of any type, required.
    pub fn any(&mut self, key: &str) -> Value {
        self.params.remove(key).unwrap_or_else(|| {
            self.fail(key, "is required");
            Value::Null
        })
    }

    /// Takes a value of any type, if present.
    pub fn optional_any(&mut self, key: &str) -> Option<Value> {
        self.params.remove(key)
    }

    /// A JSON boolean (21.03's `t.Bool`), `default` when absent.
    pub fn bool(&mut self, key: &str, default: bool) -> bool {
        match self.params.remove(key) {
            None => default,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                self.fail(key, "value should be True or False");
                default
            }
        }
    }

    /// A boolean in any of the spellings 21.03's `t.ToBool` took (`true`, `yes`, `1`, `off`,
    /// `None`, … in any case; JSON null is false), `default` when absent.
    pub fn to_bool(&mut self, key: &str, default: bool) -> bool {
        let text = match self.params.remove(key) {
            None => return default,
            Some(Value::Bool(b)) => return b,
            Some(Value::Null) => return false,
            Some(Value::String(s)) => s,
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => String::new(),
        };
        crate::config::reader::parse_bool(&text).unwrap_or_else(|| {
            self.fail(key, "value can't be converted to Bool");
            default
        })
    }

    /// An integer given as a number or a numeric string (21.03's `t.ToInt`), `default` when
    /// absent, refused outside `range`.
    pub fn to_int(&mut self, key: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> i64 {
        let parsed = match self.params.remove(key) {
            None => return default,
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        match parsed {
            Some(v) if range.contains(&v) => v,
            Some(_) => {
                let why = format!(
                    "value should be between {} and {}",
                    range.start(),
                    range.end()
                );
                self.fail(key, &why);
                default
            }
            None => {
                self.fail(key, "value can't be converted to int");
                default
            }
        }
    }

    /// An optional integer (a number, or digits in a string as 21.03's `t.Int` took them).
    pub fn optional_int(&mut self, key: &str) -> Option<i32> {
        let value = match self.params.remove(key) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(n)) => n.as_i64().and_then(|v| i32::try_from(v).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        if value.is_none() {
            self.fail(key, "value can't be converted to int");
        }
        value
    }

    /// An optional string that may be blank (`None` when absent or null).
    pub fn optional_text(&mut self, key: &str) -> Option<String> {
        match self.params.remove(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(key, "value is not a string");
                None
            }
        }
    }

    /// Records a problem with `key` found by the caller's own check.
    pub fn reject(&mut self, key: &str, why: &str) {
        self.fail(key, why);
    }

    /// A required key holding a string or null (`None`).
    pub fn required_nullable_string(&mut self, key: &str) -> Option<String> {
        if !self.params.contains_key(key) {
            self.fail(key, "is required");
            return None;
        }
        self.optional_string(key)
    }

    /// A required list of non-blank strings; a single string stands for a list of one (as
    /// from a query string).
    pub fn string_list(&mut self, key: &str) -> Vec<String> {
        match self.params.remove(key) {
            None => {
                self.fail(key, "is required");
                Vec::new()
            }
            Some(Value::String(s)) if !s.is_empty() => vec![s],
            Some(Value::Array(items)) => {
                let strings: Option<Vec<String>> = items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) if !s.is_empty() => Some(s),
                        _ => None,
                    })
                    .collect();
                strings.unwrap_or_else(|| {
                    self.fail(key, "value is not a list of strings");
                    Vec::new()
                })
            }
            Some(_) => {
                self.fail(key, "value is not a list of strings");
                Vec::new()
            }
        }
    }

    /// Drops a key the handler reads elsewhere (21.03 took `owner_access_key` from the query
    /// string only, and ignored it in a body).
    pub fn ignore(&mut self, key: &str) {
        self.params.remove(key);
    }

    /// Fails with what is wrong so far, leaving the rest to check (for a handler that must
    /// look a parameter up before reading the others).
    pub fn check(&self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(invalid(self.errors.clone()))
        }
    }

    /// Finishes the check: unknown keys are errors unless `allow_extra`; returns the rest.
    pub fn finish(mut self, allow_extra: bool) -> Result<Map<String, Value>, ApiError> {
        if !allow_extra {
            let extra: Vec<String> = self.params.keys().cloned().collect();
            for key in extra {
                let why = format!("{key} is not allowed key");
                self.fail(&key, &why);
            }
        }
        if self.errors.is_empty() {
            Ok(self.params)
        } else {
            Err(invalid(self.errors))
        }
    }
}

fn invalid(errors: Map<String, Value>) -> ApiError {
    let mut error = ApiError::invalid_api_params("Input validation error");
    error.data = Some(Box::new(Value::Object(errors)));
    error
}
