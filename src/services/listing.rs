//! Paginated reads: one page of a list, filtered and ordered by the caller's mini-language
//! expressions within the caller's scope, with the count of all matching rows.

use std::fmt::Write;

use queryfilter::{compile_filter, compile_order, parse_filter, parse_order};
use sea_orm::sea_query::extension::postgres::PgFunc;
use sea_orm::sea_query::{
    Expr, ExprTrait, Func, IntoColumnRef, Order, PostgresQueryBuilder, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement};

use super::list_fields::ListFields;
use super::{Error, Result};

/// The most rows one page may hold. 21.03 had no bound; a client asking for more gets a clear
/// error rather than a response that exhausts memory.
pub const MAX_PAGE_SIZE: i64 = 10_000;

/// What a `*_list` query asks for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
    pub filter: Option<String>,
    pub order: Option<String>,
}

impl PageRequest {
    pub fn new(limit: i32, offset: i32, filter: Option<String>, order: Option<String>) -> Self {
        PageRequest {
            limit: limit.into(),
            offset: offset.into(),
            filter,
            order,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(0..=MAX_PAGE_SIZE).contains(&self.limit) {
            return Err(Error::InvalidInput(format!(
                "limit must be between 0 and {MAX_PAGE_SIZE}, not {}",
                self.limit
            )));
        }
        if self.offset < 0 {
            return Err(Error::InvalidInput(format!(
                "offset must not be negative, not {}",
                self.offset
            )));
        }
        Ok(())
    }
}

/// The raw rows of one page and the number of rows matching overall.
pub struct Page {
    pub rows: Vec<QueryResult>,
    pub total_count: i64,
}

/// How a list is read: its field names, the columns of each row, the caller's scope and the
/// order used when the caller gives none (or to break ties).
pub struct ListQuery<Columns: Fn(&mut SelectStatement)> {
    pub fields: ListFields,
    /// Adds the output columns to `SELECT … FROM fields.from`.
    pub columns: Columns,
    /// Conditions that always apply (scope and the query's own arguments).
    pub conditions: Vec<Expr>,
    pub default_order: Vec<(Expr, Order)>,
}

/// `column = ANY(values)`, the values as one array parameter. Batched loads use this rather
/// than `IN (…)` with a parameter per value: PostgreSQL planned such a statement anew at every
/// call (for the groups of a page of users, planning cost as much as running it), but reuses
/// the plan of one with a single array parameter.
pub fn any_of<V>(column: impl IntoColumnRef, values: Vec<V>) -> Expr
where
    Vec<V>: Into<Value>,
{
    Expr::col(column).eq(PgFunc::any(Expr::val(values)))
}

/// A value from a closed set (an enumeration's label, a fixed role), written into the statement
/// rather than bound. PostgreSQL plans a statement with bound values anew at each call when their
/// selectivity may differ (a tenth of the database time of a page of sessions), and keeps one
/// plan for a statement without. Callers' own values are always bound.
pub fn label(value: String) -> Expr {
    Expr::Constant(value.into())
}

/// `column <> ALL(values)`, the values as one array parameter (see [`any_of`]).
pub fn none_of<V>(column: impl IntoColumnRef, values: Vec<V>) -> Expr
where
    Vec<V>: Into<Value>,
{
    Expr::col(column).ne(PgFunc::all(Expr::val(values)))
}

/// Rows of a batched read, grouped by the key they answer (in the order read); how every
/// `*_of` read hands its rows to the caller's loader.
pub fn group_by<K: std::hash::Hash + Eq, V>(
    rows: impl IntoIterator<Item = (K, V)>,
) -> std::collections::HashMap<K, Vec<V>> {
    let mut groups = std::collections::HashMap::<K, Vec<V>>::new();
    for (key, value) in rows {
        groups.entry(key).or_default().push(value);
    }
    groups
}

/// The field names a filter refers to.
fn field_names(expr: &queryfilter::Expr) -> Vec<String> {
    match expr {
        queryfilter::Expr::Not(inner) => field_names(inner),
        queryfilter::Expr::Combine(_, left, right) => {
            let mut names = field_names(left);
            names.extend(field_names(right));
            names
        }
        queryfilter::Expr::Compare { field, .. } => vec![field.clone()],
    }
}

/// Reads one page of `query`: the rows and the total, in two statements run side by side.
pub async fn fetch_page(
    conn: &DatabaseConnection,
    query: ListQuery<impl Fn(&mut SelectStatement)>,
    page: &PageRequest,
) -> Result<Page> {
    page.validate()?;
    let mut condition: Option<Expr> = None;
    for c in query.conditions {
        condition = Some(match condition {
            Some(acc) => acc.and(c),
            None => c,
        });
    }
    let ast = page
        .filter
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(parse_filter)
        .transpose()
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    if let Some(ast) = &ast {
        let compiled = compile_filter(ast, &query.fields.filter)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        condition = Some(match condition {
            Some(acc) => acc.and(compiled),
            None => compiled,
        });
    }
    let mut order = Vec::new();
    let mut order_names = Vec::new();
    if let Some(expr) = page.order.as_deref().filter(|o| !o.trim().is_empty()) {
        let items = parse_order(expr).map_err(|e| Error::InvalidInput(e.to_string()))?;
        order = compile_order(&items, &query.fields.order)
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        order_names = items.into_iter().map(|item| item.field).collect();
    }
    // The default order still applies after the caller's, so that pages are stable.
    order.extend(query.default_order);

    let filter_names = ast.as_ref().map(field_names).unwrap_or_default();
    // The joins only where the caller's names need them (see `ListFields::base_from`).
    let from_for = |names: &[String]| match &query.fields.base_from {
        Some((base, joined)) if !names.iter().any(|n| joined.contains(&n.as_str())) => base.clone(),
        _ => query.fields.from.clone(),
    };
    let mut count = from_for(&filter_names);
    count.expr(Func::count(Expr::cust("*")));
    let mut items = from_for(&[filter_names, order_names].concat());
    (query.columns)(&mut items);
    if let Some(c) = condition {
        count.and_where(c.clone());
        items.and_where(c);
    }
    for (column, direction) in order {
        items.order_by_expr(column, direction);
    }
    let (count_sql, count_values) = count.build(PostgresQueryBuilder);
    let (mut items_sql, items_values) = items.build(PostgresQueryBuilder);
    // Page bounds written in, not bound: PostgreSQL plans a statement whose LIMIT is a
    // parameter anew at every call (see `label`). They are validated integers.
    write!(items_sql, " LIMIT {} OFFSET {}", page.limit, page.offset).expect("writing to a String");
    let backend = conn.get_database_backend();
    let (total, rows) = futures::try_join!(
        conn.query_one_raw(Statement::from_sql_and_values(
            backend,
            count_sql,
            count_values
        )),
        conn.query_all_raw(Statement::from_sql_and_values(
            backend,
            items_sql,
            items_values
        )),
    )?;
    let total_count = match total {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    };
    Ok(Page { rows, total_count })
}
