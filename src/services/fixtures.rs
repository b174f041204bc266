//! Fixtures in 21.03's JSON format: an object whose keys are table names (loaded in file order)
//! and whose values are lists of rows (objects of column values as the database stores them).
//!
//! Unlike 21.03, a file loads in one transaction: any bad row aborts the whole load, and the
//! error names the table, the row and, where it can, the column. Rows that collide with an
//! existing unique key are skipped (as 21.03's `ON CONFLICT DO NOTHING`), so loading twice is
//! harmless. Plain-text user passwords are hashed with bcrypt as 21.03 does; values that are
//! already bcrypt hashes (from `fixture export`) are kept.

use std::collections::HashMap;
use std::sync::Arc;

use entities::defaults::{
    application_defaults, default_cluster_hostname, resource_slot_columns, TABLES,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement};
use serde_json::{Map, Value};

use super::error::{Error, Result};
use crate::db::{self, RetryPolicy};

/// Rows inserted and skipped (already present) per table, in load order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub tables: Vec<(String, TableCounts)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub inserted: u64,
    pub skipped: u64,
}

/// A column of a table as the catalog describes it.
#[derive(Debug, Clone)]
struct Column {
    is_array: bool,
}

fn row_error(
    table: &str,
    index: usize,
    column: Option<&str>,
    reason: impl std::fmt::Display,
) -> Error {
    match column {
        Some(c) => Error::InvalidInput(format!(
            "table {table}, row {}, column {c}: {reason}",
            index + 1
        )),
        None => Error::InvalidInput(format!("table {table}, row {}: {reason}", index + 1)),
    }
}

async fn table_columns(
    conn: &impl ConnectionTrait,
    table: &str,
) -> Result<HashMap<String, Column>> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT column_name::text AS name, data_type::text AS data_type \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
            [table.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get("", "name")?;
            let data_type: String = r.try_get("", "data_type")?;
            Ok((
                name,
                Column {
                    is_array: data_type == "ARRAY",
                },
            ))
        })
        .collect()
}

fn looks_like_bcrypt(s: &str) -> bool {
    s.len() == 60 && ["$2a$", "$2b$", "$2y$"].iter().any(|p| s.starts_with(p))
}

/// Checks a fixture's shape and turns each row into the object that will be inserted: columns
/// known, defaults filled, arrays written as 21.03 accepted them, passwords hashed.
async fn prepare(
    db: &DatabaseConnection,
    fixture: &Value,
) -> Result<Vec<(String, Vec<Map<String, Value>>)>> {
    let tables = fixture.as_object().ok_or_else(|| {
        Error::InvalidInput("a fixture must be a JSON object of table names to rows".into())
    })?;
    let mut prepared = Vec::with_capacity(tables.len());
    for (table, rows) in tables {
        if !TABLES.contains(&table.as_str()) {
            return Err(Error::InvalidInput(format!(
                "unknown table {table:?} (known: {})",
                TABLES.join(", ")
            )));
        }
        let rows = rows
            .as_array()
            .ok_or_else(|| Error::InvalidInput(format!("table {table}: must be a list of rows")))?;
        let columns = table_columns(db, table).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let row = row.as_object().ok_or_else(|| {
                row_error(table, index, None, "must be an object of column values")
            })?;
            out.push(prepare_row(table, index, row, &columns).await?);
        }
        prepared.push((table.clone(), out));
    }
    Ok(prepared)
}

async fn prepare_row(
    table: &str,
    index: usize,
    row: &Map<String, Value>,
    columns: &HashMap<String, Column>,
) -> Result<Map<String, Value>> {
    let mut out = Map::with_capacity(row.len());
    for (name, value) in row {
        let column = columns.get(name).ok_or_else(|| {
            let mut known: Vec<&str> = columns.keys().map(String::as_str).collect();
            known.sort_unstable();
            row_error(
                table,
                index,
                Some(name),
                format!("no such column (columns: {})", known.join(", ")),
            )
        })?;
        let value = match value {
            // 21.03 fixtures write empty arrays as `{}`.
            Value::Object(m) if column.is_array && m.is_empty() => Value::Array(Vec::new()),
            other => other.clone(),
        };
        out.insert(name.clone(), value);
    }
    for column in resource_slot_columns(table) {
        if let Some(v) = out.get(*column).filter(|v| !v.is_null()) {
            serde_json::from_value::<entities::ResourceSlot>(v.clone())
                .map_err(|e| row_error(table, index, Some(column), e))?;
        }
    }
    for (column, default) in application_defaults(table) {
        out.entry(column).or_insert(default);
    }
    if table == "kernels" && !out.contains_key("cluster_hostname") {
        let role = out
            .get("cluster_role")
            .and_then(Value::as_str)
            .unwrap_or("main")
            .to_owned();
        let idx = out.get("cluster_idx").and_then(Value::as_i64).unwrap_or(0);
        out.insert(
            "cluster_hostname".into(),
            Value::String(default_cluster_hostname(&role, idx)),
        );
    }
    if table == "users" {
        match out.get("password") {
            Some(Value::String(pw)) if !looks_like_bcrypt(pw) => {
                let pw = pw.clone();
                let hashed = crate::keys::hash_password(pw)
                    .await
                    .map_err(|e| row_error(table, index, Some("password"), e))?;
                out.insert("password".into(), Value::String(hashed));
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {}
            Some(_) => {
                return Err(row_error(
                    table,
                    index,
                    Some("password"),
                    "must be a string",
                ))
            }
        }
    }
    Ok(out)
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn insert_row(
    txn: &DatabaseTransaction,
    table: &str,
    row: &Map<String, Value>,
) -> std::result::Result<bool, sea_orm::DbErr> {
    let columns: Vec<String> = row.keys().map(|c| quote_ident(c)).collect();
    let list = columns.join(", ");
    // PostgreSQL converts each JSON value to its column's type (enums, uuids, arrays, bytea…),
    // so rows are written exactly as the catalog defines them, with every value bound.
    let sql = format!(
        "INSERT INTO {t} ({list}) SELECT {list} FROM jsonb_populate_record(NULL::{t}, $1::jsonb) \
         ON CONFLICT DO NOTHING",
        t = quote_ident(table)
    );
    let result = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            sql,
            [Value::Object(row.clone()).into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Loads a fixture in one transaction. See the module documentation.
#[tracing::instrument(skip_all)]
pub async fn populate(db: &DatabaseConnection, fixture: &Value) -> Result<LoadReport> {
    let prepared = Arc::new(prepare(db, fixture).await?);
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let prepared = prepared.clone();
        Box::pin(async move {
            let mut report = LoadReport::default();
            for (table, rows) in prepared.iter() {
                let mut counts = TableCounts::default();
                for (index, row) in rows.iter().enumerate() {
                    match insert_row(txn, table, row).await {
                        Ok(true) => counts.inserted += 1,
                        Ok(false) => counts.skipped += 1,
                        Err(e) if db::is_retryable(&e) => return Err(Error::Database(e)),
                        Err(e) => return Err(row_error(table, index, None, db_message(&e))),
                    }
                }
                report.tables.push((table.clone(), counts));
            }
            Ok(report)
        })
    })
    .await
}

/// The server's own words for a failed statement, without the driver's decorations.
fn db_message(e: &sea_orm::DbErr) -> String {
    use sea_orm::RuntimeErr;
    match e {
        sea_orm::DbErr::Exec(RuntimeErr::SqlxError(inner))
        | sea_orm::DbErr::Query(RuntimeErr::SqlxError(inner)) => match inner.as_ref() {
            sea_orm::sqlx::Error::Database(d) => d.message().to_owned(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// Exports `tables` (all of them, in load order, when empty) in the fixture format, in one
/// read-only snapshot so that the rows agree with each other.
#[tracing::instrument(skip_all)]
pub async fn export(db: &DatabaseConnection, tables: &[String]) -> Result<Value> {
    let wanted: Vec<&'static str> = if tables.is_empty() {
        TABLES.to_vec()
    } else {
        for t in tables {
            if !TABLES.contains(&t.as_str()) {
                return Err(Error::InvalidInput(format!(
                    "unknown table {t:?} (known: {})",
                    TABLES.join(", ")
                )));
            }
        }
        TABLES
            .iter()
            .copied()
            .filter(|t| tables.iter().any(|w| w == t))
            .collect()
    };
    db::read_only(db, move |txn| {
        Box::pin(async move {
            let mut out = Map::new();
            for table in wanted {
                let sql = format!(
                    "SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) AS rows FROM {} t",
                    quote_ident(table)
                );
                let row = txn
                    .query_one_raw(Statement::from_string(txn.get_database_backend(), sql))
                    .await?
                    .ok_or_else(|| Error::Internal("jsonb_agg returned no row".into()))?;
                let rows: Value = row.try_get("", "rows")?;
                out.insert((*table).to_owned(), rows);
            }
            Ok(Value::Object(out))
        })
    })
    .await
}

/// Summarises a report for the CLI, a line per table.
pub fn describe(report: &LoadReport) -> String {
    report
        .tables
        .iter()
        .map(|(t, c)| {
            format!(
                "{t}: {} inserted, {} already present",
                c.inserted, c.skipped
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
