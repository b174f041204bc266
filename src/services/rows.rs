//! Reading the rows of a statement by position, for the reads that lists make many rows at a
//! time.
//!
//! sqlx checks, for every value it decodes, that the column's type is one the value may be
//! read as, which for a page of sessions (11,000 values) was a sixth of the cost of reading
//! it. The rows of one statement share their column types, so here the check is made on the
//! first row and the others are decoded straight away.

use std::sync::Arc;

use sea_orm::sqlx::postgres::{PgRow, PgTypeKind};
use sea_orm::sqlx::types::Json;
use sea_orm::sqlx::{Decode, Postgres, Row, Type, ValueRef};
use sea_orm::{ActiveEnum, DbErr, QueryResult};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::shared_docs::{DocCache, SharedDoc};

/// The values of one row, read in column order.
pub struct RowReader<'r> {
    row: &'r PgRow,
    next: usize,
    checked: bool,
}

impl<'r> RowReader<'r> {
    /// The next column's value.
    pub fn get<T: Decode<'r, Postgres> + Type<Postgres>>(&mut self) -> Result<T, DbErr> {
        let column = self.advance();
        let value = if self.checked {
            self.row.try_get(column)
        } else {
            self.row.try_get_unchecked(column)
        };
        value.map_err(|e| DbErr::Type(format!("column {column}: {e}")))
    }

    /// The next column's value, a PostgreSQL enum (or text) holding one of `E`'s labels.
    pub fn label<E: ActiveEnum<Value = String>>(&mut self) -> Result<E, DbErr> {
        let column = self.advance();
        if self.checked {
            let value = self
                .row
                .try_get_raw(column)
                .map_err(|e| DbErr::Type(format!("column {column}: {e}")))?;
            let ty = value.type_info();
            if !matches!(ty.kind(), PgTypeKind::Enum(_))
                && !<&str as Type<Postgres>>::compatible(&ty)
            {
                return Err(DbErr::Type(format!("column {column}: {ty} is not an enum")));
            }
        }
        // An enum's value is its label's text.
        let label: &str = self
            .row
            .try_get_unchecked(column)
            .map_err(|e| DbErr::Type(format!("column {column}: {e}")))?;
        E::try_from_value(&label.to_owned())
    }

    /// The next column's JSON document, shared with the other rows holding the same text.
    pub fn shared_doc<T: DeserializeOwned>(
        &mut self,
        cache: &DocCache<T>,
    ) -> Result<Arc<SharedDoc<T>>, DbErr> {
        let column = self.next;
        let text = self.get::<Json<&RawValue>>()?.0;
        cache
            .get(text.get().as_bytes())
            .map_err(|e| DbErr::Json(format!("column {column}: {e}")))
    }

    fn advance(&mut self) -> usize {
        let column = self.next;
        self.next += 1;
        column
    }
}

/// `rows` (all of one statement) read by `read`.
pub fn read_all<T>(
    rows: &[QueryResult],
    read: impl Fn(&mut RowReader) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| read(&mut reader(row, i == 0)?))
        .collect()
}

fn reader(row: &QueryResult, checked: bool) -> Result<RowReader<'_>, DbErr> {
    let row = row
        .try_as_pg_row()
        .ok_or_else(|| DbErr::Type("not a PostgreSQL row".into()))?;
    Ok(RowReader {
        row,
        next: 0,
        checked,
    })
}
