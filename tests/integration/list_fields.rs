//! Every filter and order name of every list query runs against the real 21.03 schema: the
//! columns exist, the joins are right and the values bind to the columns' types.

use bai_manager::services::list_fields::{self, ListFields};
use queryfilter::{compile_filter, compile_order, parse_filter, parse_order, FieldKind};
use sea_orm::sea_query::{Expr, PostgresQueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::TestDb;

fn sample_filters(name: &str, kind: FieldKind) -> Vec<String> {
    let mut filters = vec![format!("{name} is null"), format!("{name} != null")];
    match kind {
        FieldKind::Text => {
            filters.push(format!("{name} == \"x\""));
            filters.push(format!("{name} ilike \"x%\" | {name} contains \"y\""));
            filters.push(format!("{name} in [\"a\", \"b\"]"));
        }
        FieldKind::Integer | FieldKind::Number => {
            filters.push(format!("{name} >= 1 & {name} < 2.5"));
            filters.push(format!("{name} in [1, 2]"));
        }
        FieldKind::Boolean => filters.push(format!("{name} == true | {name} is false")),
        FieldKind::Uuid => {
            filters.push(format!(
                "{name} == \"2de2b969-1d04-48a6-af16-0bc8adb3c831\""
            ));
            filters.push(format!("{name} like \"2de2%\""));
        }
        FieldKind::DateTime => filters.push(format!(
            "{name} > \"2021-08-15\" & {name} <= \"2031-01-01T00:00:00+09:00\""
        )),
        FieldKind::Enum { members, .. } => {
            filters.push(format!("{name} == \"{}\"", members[0].0));
            let labels: Vec<String> = members
                .iter()
                .map(|(_, label)| format!("\"{label}\""))
                .collect();
            filters.push(format!("{name} in [{}]", labels.join(", ")));
        }
        FieldKind::TextArray => filters.push(format!("{name} contains [\"a\"]")),
    }
    filters
}

async fn run(db: &DatabaseConnection, list: &str, fields: &ListFields) {
    for name in fields.filter.names() {
        let kind = fields.filter.get(name).unwrap().kind;
        for filter in sample_filters(name, kind) {
            let cond = compile_filter(&parse_filter(&filter).unwrap(), &fields.filter)
                .unwrap_or_else(|e| panic!("{list}: {filter}: {e}"));
            let (sql, values) = fields
                .from
                .clone()
                .expr(Expr::cust("count(*)"))
                .and_where(cond)
                .build(PostgresQueryBuilder);
            db.query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                &sql,
                values.0,
            ))
            .await
            .unwrap_or_else(|e| panic!("{list}: {filter}: {sql}: {e}"));
        }
    }
    let all_orders: Vec<String> = fields
        .order
        .names()
        .iter()
        .map(|n| format!("-{n}"))
        .collect();
    let orders =
        compile_order(&parse_order(&all_orders.join(",")).unwrap(), &fields.order).unwrap();
    let mut query = fields.from.clone();
    query.expr(Expr::cust("1"));
    for (expr, dir) in orders {
        query.order_by_expr(expr, dir);
    }
    let (sql, values) = query.build(PostgresQueryBuilder);
    db.query_all_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        &sql,
        values.0,
    ))
    .await
    .unwrap_or_else(|e| panic!("{list} order: {sql}: {e}"));
}

#[tokio::test]
async fn every_field_of_every_list_runs_on_the_schema() {
    let db = TestDb::with_example_keypairs().await;
    run(&db.conn, "agent_list", &list_fields::agents()).await;
    run(&db.conn, "user_list", &list_fields::users()).await;
    run(&db.conn, "keypair_list", &list_fields::keypairs()).await;
    run(
        &db.conn,
        "compute_session_list",
        &list_fields::sessions(false),
    )
    .await;
    run(
        &db.conn,
        "compute_container_list",
        &list_fields::containers(false),
    )
    .await;
    run(&db.conn, "vfolder_list", &list_fields::vfolders()).await;
}

#[tokio::test]
async fn fixed_21_03_entries_select_the_meant_rows() {
    let db = TestDb::with_example_keypairs().await;
    let users = list_fields::users();
    let count = |filter: &str| {
        let cond = compile_filter(&parse_filter(filter).unwrap(), &users.filter).unwrap();
        users
            .from
            .clone()
            .expr(Expr::cust("count(*)"))
            .and_where(cond)
            .build(PostgresQueryBuilder)
    };
    for (filter, expected) in [
        ("is_active == true", 4i64),
        ("is_active is false", 0),
        (r#"role == "ADMIN""#, 1),
        (r#"role == "admin""#, 1),
        (
            r#"status in ["ACTIVE", "inactive"] & email ilike "%LABLUP.COM""#,
            4,
        ),
    ] {
        let (sql, values) = count(filter);
        let row = db
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                db.conn.get_database_backend(),
                &sql,
                values.0,
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get_by_index::<i64>(0).unwrap(),
            expected,
            "{filter}"
        );
    }
    // Hidden agents cannot be filtered on.
    assert!(list_fields::sessions(true).filter.get("agent").is_none());
    assert!(list_fields::containers(true).order.get("agent").is_none());
}
