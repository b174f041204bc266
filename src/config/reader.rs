//! A small validating reader over TOML tables: every accessor takes a key, records a
//! [`ConfigIssue`] naming the full dotted key and the reason when the value is wrong, and returns
//! a default so that all problems of a file are reported at once.

use std::fmt;

use toml::{Table, Value};

/// One thing wrong with a configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted path of the key, e.g. `db.addr` or `config/redis/addr`.
    pub key: String,
    pub reason: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// All the problems found in one configuration source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub source_name: String,
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration in {}:", self.source_name)?;
        for issue in &self.issues {
            write!(f, "\n  - {issue}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    /// Whether an issue about `key` was recorded (for tests and callers that branch on it).
    pub fn mentions(&self, key: &str) -> bool {
        self.issues.iter().any(|i| i.key == key)
    }
}

/// Collects issues while a configuration is read.
#[derive(Debug, Default)]
pub struct Issues(Vec<ConfigIssue>);

impl Issues {
    pub fn push(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigIssue {
            key: key.into(),
            reason: reason.into(),
        });
    }

    pub fn finish<T>(self, source_name: &str, value: T) -> Result<T, ConfigErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors {
                source_name: source_name.to_owned(),
                issues: self.0,
            })
        }
    }
}

/// A view of one TOML table at a dotted path.
pub struct Section<'a> {
    path: String,
    table: Option<&'a Table>,
}

impl<'a> Section<'a> {
    pub fn root(table: &'a Table) -> Self {
        Section {
            path: String::new(),
            table: Some(table),
        }
    }

    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.table.and_then(|t| t.get(key))
    }

    pub fn is_present(&self) -> bool {
        self.table.is_some()
    }

    /// A sub-table; a missing one reads as empty (every key takes its default), `required` makes
    /// it an error.
    pub fn section(&self, key: &str, required: bool, issues: &mut Issues) -> Section<'a> {
        let path = self.key_path(key);
        let table = match self.raw(key) {
            Some(Value::Table(t)) => Some(t),
            Some(other) => {
                issues.push(&path, format!("must be a table, not {}", type_name(other)));
                None
            }
            None => {
                if required {
                    issues.push(&path, "is required");
                }
                None
            }
        };
        Section { path, table }
    }

    /// Declares the only keys this section may hold; any other is reported.
    pub fn only_keys(self, known: &'static [&'static str], issues: &mut Issues) -> Self {
        if let Some(t) = self.table {
            for k in t.keys() {
                if !known.contains(&k.as_str()) {
                    issues.push(
                        self.key_path(k),
                        format!("is not a known key (allowed: {})", known.join(", ")),
                    );
                }
            }
        }
        self
    }

    pub fn string(&self, key: &str, issues: &mut Issues) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) if s.is_empty() => {
                issues.push(self.key_path(key), "must not be empty");
                None
            }
            Value::String(s) => Some(s.clone()),
            other => {
                issues.push(
                    self.key_path(key),
                    format!("must be a string, not {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A string that may be empty.
    pub fn string_or_blank(&self, key: &str, issues: &mut Issues) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                issues.push(
                    self.key_path(key),
                    format!("must be a string, not {}", type_name(other)),
                );
                None
            }
        }
    }

    pub fn required_string(&self, key: &str, issues: &mut Issues) -> String {
        if self.raw(key).is_none() {
            issues.push(self.key_path(key), "is required");
        }
        self.string(key, issues).unwrap_or_default()
    }

    /// A boolean; like 21.03's `ToBool`, strings such as "yes"/"off" are accepted as well.
    pub fn boolean(&self, key: &str, default: bool, issues: &mut Issues) -> bool {
        match self.raw(key) {
            None => default,
            Some(Value::Boolean(b)) => *b,
            Some(Value::String(s)) => parse_bool(s).unwrap_or_else(|| {
                issues.push(
                    self.key_path(key),
                    format!("{s:?} is not a boolean (true/false, yes/no, on/off, 1/0)"),
                );
                default
            }),
            Some(Value::Integer(i @ (0 | 1))) => *i == 1,
            Some(other) => {
                issues.push(
                    self.key_path(key),
                    format!("must be a boolean, not {}", type_name(other)),
                );
                default
            }
        }
    }

    /// A number of at least `min`; integers and numeric strings (from environment overrides) too.
    pub fn float(&self, key: &str, default: f64, min: f64, issues: &mut Issues) -> f64 {
        let value = match self.raw(key) {
            None => return default,
            Some(Value::Float(f)) => Some(*f),
            Some(Value::Integer(i)) => Some(*i as f64),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match value {
            Some(v) if v.is_finite() && v >= min => v,
            Some(v) if v.is_finite() => {
                issues.push(
                    self.key_path(key),
                    format!("must be at least {min}, not {v}"),
                );
                default
            }
            _ => {
                issues.push(self.key_path(key), "must be a number");
                default
            }
        }
    }

    /// An integer within `range`; numeric strings (from environment overrides) too.
    pub fn integer(
        &self,
        key: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
        issues: &mut Issues,
    ) -> i64 {
        let value = match self.raw(key) {
            None => return default,
            Some(Value::Integer(i)) => Some(*i),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match value {
            Some(v) if range.contains(&v) => v,
            Some(v) => {
                issues.push(
                    self.key_path(key),
                    format!(
                        "must be between {} and {}, not {v}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
            None => {
                issues.push(self.key_path(key), "must be an integer");
                default
            }
        }
    }

    /// One of a fixed set of strings.
    pub fn choice(
        &self,
        key: &str,
        default: &str,
        choices: &[&str],
        issues: &mut Issues,
    ) -> String {
        match self.string(key, issues) {
            None => default.to_owned(),
            Some(s) if choices.contains(&s.as_str()) => s,
            Some(s) => {
                issues.push(
                    self.key_path(key),
                    format!("{s:?} is not one of {}", choices.join(", ")),
                );
                default.to_owned()
            }
        }
    }

    /// A `host:port` pair written as `{host = "..", port = N}`, `"host:port"` or `["host", port]`.
    pub fn host_port(
        &self,
        key: &str,
        default: Option<HostPort>,
        issues: &mut Issues,
    ) -> Option<HostPort> {
        let path = self.key_path(key);
        let Some(raw) = self.raw(key) else {
            if default.is_none() {
                issues.push(&path, "is required");
            }
            return default;
        };
        match HostPort::from_toml(raw) {
            Ok(hp) => Some(hp),
            Err(reason) => {
                issues.push(path, reason);
                default
            }
        }
    }

    pub fn string_list(&self, key: &str, issues: &mut Issues) -> Option<Vec<String>> {
        match self.raw(key)? {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => issues.push(
                            format!("{}[{i}]", self.key_path(key)),
                            format!("must be a string, not {}", type_name(other)),
                        ),
                    }
                }
                Some(out)
            }
            other => {
                issues.push(
                    self.key_path(key),
                    format!("must be a list, not {}", type_name(other)),
                );
                None
            }
        }
    }

    /// The raw table, for sections whose keys are free-form (e.g. `logging.pkg-ns`).
    pub fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.table.into_iter().flat_map(|t| t.iter())
    }
}

/// 21.03's `ToBool` vocabulary.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" | "1.0" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" | "none" | "0.0" => Some(false),
        _ => None,
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    }
}

/// A network address as 21.03's `HostPortPair`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port`, splitting at the last colon; `[v6]:port` loses its brackets.
    pub fn parse(s: &str) -> Result<HostPort, String> {
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?} must be written as host:port"))?;
        Self::from_parts(
            host,
            port.trim()
                .parse::<i64>()
                .map_err(|_| format!("{port:?} is not a port number"))?,
        )
    }

    fn from_parts(host: &str, port: i64) -> Result<HostPort, String> {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err("the host is empty".to_owned());
        }
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| format!("port number must be between 1 and 65535, not {port}"))?;
        Ok(HostPort::new(host, port))
    }

    fn from_toml(v: &Value) -> Result<HostPort, String> {
        let port_of = |p: &Value| match p {
            Value::Integer(i) => Ok(*i),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| format!("{s:?} is not a port number")),
            other => Err(format!(
                "the port must be a number, not {}",
                type_name(other)
            )),
        };
        match v {
            Value::String(s) => Self::parse(s),
            Value::Array(items) => match items.as_slice() {
                [Value::String(host), port] => Self::from_parts(host, port_of(port)?),
                _ => Err("as a list it must be [host, port]".to_owned()),
            },
            Value::Table(t) => match (t.get("host"), t.get("port")) {
                (Some(Value::String(host)), Some(port)) => Self::from_parts(host, port_of(port)?),
                _ => Err("as a table it must have a string \"host\" and a \"port\"".to_owned()),
            },
            other => Err(format!("must be host:port, not {}", type_name(other))),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}
