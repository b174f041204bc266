//! Compilation of parsed filters and orders to sea-query expressions.
//!
//! Each list query declares a [`FieldSpec`]: the names it accepts, the column each stands for,
//! and what kind of value the column holds. Values are checked against that kind and always
//! bound as parameters; nothing from the input is spliced into SQL text.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use sea_query::extension::postgres::PgExpr;
use sea_query::{Alias, Expr as Sql, ExprTrait, Order};

use crate::filter::{CompareOp, Expr, Value};
use crate::order::{Direction, OrderItem};

/// What a column holds, which decides the values and operators a filter may use on it.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// `varchar`/`text`.
    Text,
    /// `integer`/`bigint`.
    Integer,
    /// Any numeric column compared with decimals.
    Number,
    Boolean,
    Uuid,
    /// `timestamptz`; values are ISO 8601 strings (`2021-08-15`, `2021-08-15T12:00:00+09:00`).
    DateTime,
    /// An enumeration: users write the member *name* (as 21.03) or the stored *label* (as
    /// 21.03's output shows it); the column stores the label.
    /// `pg_type` is the PostgreSQL enum type to cast to, `None` for a `varchar` column.
    Enum {
        pg_type: Option<&'static str>,
        members: &'static [(&'static str, &'static str)],
    },
    /// `varchar[]`: `contains` tests that the column holds every given element.
    TextArray,
}

impl FieldKind {
    fn describe(self) -> &'static str {
        match self {
            FieldKind::Text => "a string",
            FieldKind::Integer => "an integer",
            FieldKind::Number => "a number",
            FieldKind::Boolean => "true or false",
            FieldKind::Uuid => "a UUID string",
            FieldKind::DateTime => "a date-time string (ISO 8601)",
            FieldKind::Enum { .. } => "one of the enumeration's names",
            FieldKind::TextArray => "an array of strings",
        }
    }
}

/// One filterable or orderable name of a list query.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub column: Sql,
    pub kind: FieldKind,
}

/// The names a list query accepts in `filter` and `order`.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    fields: Vec<Field>,
}

impl FieldSpec {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a name that stands for `column`.
    pub fn field(mut self, name: &'static str, column: impl Into<Sql>, kind: FieldKind) -> Self {
        self.fields.push(Field {
            name,
            column: column.into(),
            kind,
        });
        self
    }

    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}

/// Why a well-formed filter or order cannot be applied to a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error("unknown field {field:?} at column {column} of the {language}; allowed: {}", allowed.join(", "))]
    UnknownField {
        language: &'static str,
        field: String,
        column: usize,
        allowed: Vec<&'static str>,
    },
    #[error("field {field:?} (column {column}) expects {expected}, not {found}")]
    BadValue {
        field: String,
        column: usize,
        expected: String,
        found: String,
    },
    #[error("field {field:?} (column {column}) does not support {op:?}: {reason}")]
    BadOperator {
        field: String,
        column: usize,
        op: &'static str,
        reason: &'static str,
    },
}

struct Context<'a> {
    field: &'a Field,
    column: usize,
    op: CompareOp,
}

impl Context<'_> {
    fn bad_value(&self, value: &Value) -> CompileError {
        self.bad_value_expecting(value, self.field.kind.describe().to_owned())
    }

    fn bad_value_expecting(&self, value: &Value, expected: String) -> CompileError {
        CompileError::BadValue {
            field: self.field.name.to_owned(),
            column: self.column,
            expected,
            found: value.to_string(),
        }
    }

    fn bad_op(&self, reason: &'static str) -> CompileError {
        CompileError::BadOperator {
            field: self.field.name.to_owned(),
            column: self.column,
            op: self.op.as_str(),
            reason,
        }
    }

    /// A scalar value of the field's kind, as a bound parameter.
    fn scalar(&self, value: &Value) -> Result<Sql, CompileError> {
        let bound = match (self.field.kind, value) {
            (FieldKind::Text, Value::Str(s)) => Sql::val(s.clone()),
            (FieldKind::Integer, Value::Int(i)) => Sql::val(*i),
            (FieldKind::Number, Value::Int(i)) => Sql::val(*i),
            (FieldKind::Integer | FieldKind::Number, Value::Float(x)) => Sql::val(*x),
            (FieldKind::Boolean, Value::True) => Sql::val(true),
            (FieldKind::Boolean, Value::False) => Sql::val(false),
            (FieldKind::Uuid, Value::Str(s)) => {
                Sql::val(uuid::Uuid::parse_str(s).map_err(|_| self.bad_value(value))?)
            }
            (FieldKind::DateTime, Value::Str(s)) => {
                Sql::val(parse_datetime(s).ok_or_else(|| self.bad_value(value))?)
            }
            (FieldKind::Enum { pg_type, members }, Value::Str(s)) => {
                // 21.03 took member names only, while its output shows the stored values for
                // users and vfolders; either is accepted.
                let label = members
                    .iter()
                    .find(|(name, label)| name == s || label == s)
                    .map(|(_, label)| *label)
                    .ok_or_else(|| {
                        let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
                        self.bad_value_expecting(value, format!("one of {}", names.join(", ")))
                    })?;
                // A member's label, not the caller's text: written into the statement, so that
                // PostgreSQL may keep one plan for it (a bound value is planned at every call).
                let label = Sql::Constant((*label).into());
                match pg_type {
                    Some(t) => label.cast_as(Alias::new(t)),
                    None => label,
                }
            }
            _ => return Err(self.bad_value(value)),
        };
        Ok(bound)
    }

    /// The column as text, for pattern matching on non-text columns (UUIDs, enums).
    fn column_as_text(&self) -> Result<Sql, CompileError> {
        match self.field.kind {
            FieldKind::Text => Ok(self.field.column.clone()),
            FieldKind::Uuid | FieldKind::Enum { .. } => {
                Ok(self.field.column.clone().cast_as(Alias::new("text")))
            }
            _ => Err(self.bad_op("pattern matching needs a text, UUID or enumeration field")),
        }
    }

    fn compare(&self, value: &Value) -> Result<Sql, CompileError> {
        let col = self.field.column.clone();
        if matches!(self.field.kind, FieldKind::TextArray)
            && !matches!(
                self.op,
                CompareOp::Contains | CompareOp::Is | CompareOp::IsNot
            )
        {
            return Err(self.bad_op("an array field supports contains, is and isnot"));
        }
        Ok(match self.op {
            // As SQLAlchemy renders `== null` / `!= null`.
            CompareOp::Eq if *value == Value::Null => col.is_null(),
            CompareOp::Ne if *value == Value::Null => col.is_not_null(),
            CompareOp::Eq => col.eq(self.scalar(value)?),
            CompareOp::Ne => col.ne(self.scalar(value)?),
            CompareOp::Gt => col.gt(self.scalar(value)?),
            CompareOp::Ge => col.gte(self.scalar(value)?),
            CompareOp::Lt => col.lt(self.scalar(value)?),
            CompareOp::Le => col.lte(self.scalar(value)?),
            CompareOp::In => match value {
                Value::Array(items) => {
                    let items = items
                        .iter()
                        .map(|v| self.scalar(v))
                        .collect::<Result<Vec<_>, _>>()?;
                    col.is_in(items)
                }
                other => {
                    return Err(self.bad_value_expecting(
                        other,
                        format!("an array of {}", self.field.kind.describe()),
                    ))
                }
            },
            CompareOp::Contains => match (self.field.kind, value) {
                (FieldKind::TextArray, Value::Array(items)) => {
                    let items = items
                        .iter()
                        .map(|v| match v {
                            Value::Str(s) => Ok(s.clone()),
                            other => Err(self.bad_value_expecting(other, "a string".to_owned())),
                        })
                        .collect::<Result<Vec<String>, _>>()?;
                    col.contains(Sql::val(items).cast_as(Alias::new("varchar[]")))
                }
                (FieldKind::TextArray, other) => return Err(self.bad_value(other)),
                // 21.03's `contains` on a text column is a substring match, the value unescaped.
                (_, Value::Str(s)) => self.column_as_text()?.like(format!("%{s}%")),
                (_, other) => return Err(self.bad_value_expecting(other, "a string".to_owned())),
            },
            CompareOp::Like | CompareOp::ILike => {
                let Value::Str(pattern) = value else {
                    return Err(self.bad_value_expecting(value, "a pattern string".to_owned()));
                };
                let text = self.column_as_text()?;
                if self.op == CompareOp::Like {
                    text.like(pattern.as_str())
                } else {
                    text.ilike(pattern.as_str())
                }
            }
            CompareOp::Is | CompareOp::IsNot => {
                let is = self.op == CompareOp::Is;
                match value {
                    Value::Null if is => col.is_null(),
                    Value::Null => col.is_not_null(),
                    Value::True | Value::False if matches!(self.field.kind, FieldKind::Boolean) => {
                        let truth = *value == Value::True;
                        if is {
                            col.is(Sql::Constant(truth.into()))
                        } else {
                            col.is_not(Sql::Constant(truth.into()))
                        }
                    }
                    other => {
                        let expected = if matches!(self.field.kind, FieldKind::Boolean) {
                            "null, true or false"
                        } else {
                            "null"
                        };
                        return Err(self.bad_value_expecting(other, expected.to_owned()));
                    }
                }
            }
        })
    }
}

/// Accepts what 21.03's `dateutil` parsing is used for in practice: RFC 3339, ISO 8601 without
/// offset (taken as UTC), a space instead of `T`, or a bare date (midnight UTC).
fn parse_datetime(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt);
        }
    }
    let utc = |naive: NaiveDateTime| Utc.from_utc_datetime(&naive).fixed_offset();
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(utc(naive));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(utc)
}

/// Compiles a parsed filter for the fields of `spec`.
pub fn compile_filter(expr: &Expr, spec: &FieldSpec) -> Result<Sql, CompileError> {
    Ok(match expr {
        Expr::Not(inner) => compile_filter(inner, spec)?.not(),
        Expr::Combine(op, left, right) => {
            let (left, right) = (compile_filter(left, spec)?, compile_filter(right, spec)?);
            match op {
                crate::filter::CombineOp::And => left.and(right),
                crate::filter::CombineOp::Or => left.or(right),
            }
        }
        Expr::Compare {
            field,
            op,
            value,
            column,
        } => {
            let field = spec.get(field).ok_or_else(|| CompileError::UnknownField {
                language: "filter",
                field: field.clone(),
                column: *column,
                allowed: spec.names(),
            })?;
            Context {
                field,
                column: *column,
                op: *op,
            }
            .compare(value)?
        }
    })
}

/// Compiles a parsed order for the fields of `spec`, as `(column, direction)` pairs.
pub fn compile_order(
    items: &[OrderItem],
    spec: &FieldSpec,
) -> Result<Vec<(Sql, Order)>, CompileError> {
    items
        .iter()
        .map(|item| {
            let field = spec
                .get(&item.field)
                .ok_or_else(|| CompileError::UnknownField {
                    language: "order",
                    field: item.field.clone(),
                    column: 0,
                    allowed: spec.names(),
                })?;
            let order = match item.direction {
                Direction::Asc => Order::Asc,
                Direction::Desc => Order::Desc,
            };
            Ok((field.column.clone(), order))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use sea_query::{PostgresQueryBuilder, Query};

    const STATUS: &[(&str, &str)] = &[("RUNNING", "RUNNING"), ("TERMINATED", "TERMINATED")];
    const ROLE: &[(&str, &str)] = &[("SUPERADMIN", "superadmin"), ("USER", "user")];

    fn spec() -> FieldSpec {
        FieldSpec::new()
            .field("name", Sql::col(Alias::new("name")), FieldKind::Text)
            .field("n", Sql::col(Alias::new("n")), FieldKind::Integer)
            .field("active", Sql::col(Alias::new("active")), FieldKind::Boolean)
            .field("id", Sql::col(Alias::new("id")), FieldKind::Uuid)
            .field("at", Sql::col(Alias::new("at")), FieldKind::DateTime)
            .field(
                "status",
                Sql::col(Alias::new("status")),
                FieldKind::Enum {
                    pg_type: Some("kernelstatus"),
                    members: STATUS,
                },
            )
            .field(
                "role",
                Sql::col(Alias::new("role")),
                FieldKind::Enum {
                    pg_type: None,
                    members: ROLE,
                },
            )
            .field("hosts", Sql::col(Alias::new("hosts")), FieldKind::TextArray)
    }

    fn sql(filter: &str) -> (String, Vec<String>) {
        let cond = compile_filter(&parse_filter(filter).unwrap(), &spec()).unwrap();
        let (sql, values) = Query::select()
            .column(Alias::new("x"))
            .from(Alias::new("t"))
            .and_where(cond)
            .build(PostgresQueryBuilder);
        let where_part = sql.split(" WHERE ").nth(1).unwrap().to_owned();
        (
            where_part,
            values.0.iter().map(|v| format!("{v:?}")).collect(),
        )
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let (text, values) = sql(r#"name == "x\" OR 1=1 --""#);
        assert_eq!(text, r#""name" = $1"#);
        assert_eq!(values.len(), 1);
        assert!(values[0].find("x\\\" OR 1=1 --").is_some(), "{values:?}");
    }

    #[test]
    fn operators_render_as_21_03_does() {
        assert_eq!(sql("name == null").0, r#""name" IS NULL"#);
        assert_eq!(sql("name != null").0, r#""name" IS NOT NULL"#);
        assert_eq!(sql("n >= 3").0, r#""n" >= $1"#);
        assert_eq!(sql("n in [1, 2]").0, r#""n" IN ($1, $2)"#);
        assert_eq!(sql("name contains \"ab\"").0, r#""name" LIKE $1"#);
        assert_eq!(sql("name ilike \"a%\"").0, r#""name" ILIKE $1"#);
        assert_eq!(sql("active is true").0, r#""active" IS TRUE"#);
        assert_eq!(sql("name isnot null").0, r#""name" IS NOT NULL"#);
        assert_eq!(
            sql("status == \"RUNNING\"").0,
            r#""status" = CAST('RUNNING' AS kernelstatus)"#
        );
        assert_eq!(
            sql("role == \"SUPERADMIN\"").0,
            sql("role == \"superadmin\"").0
        );
        assert_eq!(sql("id like \"ab%\"").0, r#"CAST("id" AS text) LIKE $1"#);
        assert_eq!(
            sql("hosts contains [\"a\"]").0,
            r#""hosts" @> CAST($1 AS varchar[])"#
        );
        assert_eq!(
            sql("!(n == 1) & n == 2 | n == 3").0,
            r#"NOT ("n" = $1 AND ("n" = $2 OR "n" = $3))"#
        );
    }

    #[test]
    fn errors_name_the_field_and_the_type() {
        let err = |f: &str| {
            compile_filter(&parse_filter(f).unwrap(), &spec())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("nope == 1"),
            "unknown field \"nope\" at column 1 of the filter; allowed: name, n, active, id, at, status, role, hosts"
        );
        assert_eq!(
            err("n == \"x\""),
            "field \"n\" (column 1) expects an integer, not \"x\""
        );
        assert_eq!(
            err("id == \"zzz\""),
            "field \"id\" (column 1) expects a UUID string, not \"zzz\""
        );
        assert_eq!(
            err("status == \"running\""),
            "field \"status\" (column 1) expects one of RUNNING, TERMINATED, not \"running\""
        );
        assert_eq!(
            err("at > \"yesterday\""),
            "field \"at\" (column 1) expects a date-time string (ISO 8601), not \"yesterday\""
        );
        assert!(
            err("n like \"1\"")
                .find("does not support \"like\"")
                .is_some(),
            "{}",
            err("n like \"1\"")
        );
        assert!(
            err("n in 1")
                .find("expects an array of an integer")
                .is_some(),
            "{}",
            err("n in 1")
        );
        assert!(
            err("name is true").find("expects null").is_some(),
            "{}",
            err("name is true")
        );
        assert!(
            err("hosts == \"a\"").find("array field").is_some(),
            "{}",
            err("hosts == \"a\"")
        );
    }

    #[test]
    fn dates() {
        assert!(parse_datetime("2021-08-15").is_some());
        assert!(parse_datetime("2021-08-15T12:00:00Z").is_some());
        assert!(parse_datetime("2021-08-15 12:00:00+09:00").is_some());
        assert!(parse_datetime("2021-08-15T12:00:00.123").is_some());
        assert!(parse_datetime("15/08/2021").is_none());
    }
}
