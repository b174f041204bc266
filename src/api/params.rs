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
            let mut error = ApiError::invalid_api_params("Input validation error");
            error.data = Some(Box::new(Value::Object(self.errors)));
            Err(error)
        }
    }
}
