//! 21.03's `tests/test_queryfilter.py` and `tests/test_queryorder.py`, re-expressed against
//! PostgreSQL. 21.03 compared lists read without ORDER BY from SQLite; here rows are ordered by
//! id where the order matters.

use queryfilter::{compile_filter, compile_order, parse_filter, parse_order, FieldKind, FieldSpec};
use sea_orm::sea_query::{Alias, Expr, Order, PostgresQueryBuilder, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::TestDb;

const USER_TYPES: &[(&str, &str)] = &[("ADMIN", "ADMIN"), ("USER", "USER")];

async fn users_table() -> TestDb {
    let db = TestDb::empty().await;
    db.conn
        .execute_unprepared(
            r#"CREATE TYPE usertypes AS ENUM ('ADMIN', 'USER');
            CREATE TABLE users (id int PRIMARY KEY, name varchar(50), full_name varchar(50),
                type usertypes, age int, is_active boolean, data double precision);
            INSERT INTO users VALUES
                (1, 'tester', 'tester1', 'ADMIN', 30, true, 10.5),
                (2, 'test"er', 'tester2', 'USER', 40, true, NULL),
                (3, 'test''er', 'tester3', 'USER', 50, false, 2.33),
                (4, 'tester ♪', 'tester4', 'USER', 20, false, NULL);"#,
        )
        .await
        .unwrap();
    db
}

fn col(name: &str) -> Expr {
    Expr::col((Alias::new("users"), Alias::new(name)))
}

/// Every column under its own name, as 21.03's tests used no field spec.
fn plain_spec() -> FieldSpec {
    FieldSpec::new()
        .field("id", col("id"), FieldKind::Integer)
        .field("name", col("name"), FieldKind::Text)
        .field("full_name", col("full_name"), FieldKind::Text)
        .field(
            "type",
            col("type"),
            FieldKind::Enum {
                pg_type: Some("usertypes"),
                members: USER_TYPES,
            },
        )
        .field("age", col("age"), FieldKind::Integer)
        .field("is_active", col("is_active"), FieldKind::Boolean)
        .field("data", col("data"), FieldKind::Number)
}

async fn select(
    db: &DatabaseConnection,
    filter: &str,
    spec: &FieldSpec,
) -> Result<Vec<(String, i32)>, String> {
    let cond = compile_filter(&parse_filter(filter).map_err(|e| e.to_string())?, spec)
        .map_err(|e| e.to_string())?;
    let (sql, values) = Query::select()
        .columns([
            (Alias::new("users"), Alias::new("name")),
            (Alias::new("users"), Alias::new("age")),
        ])
        .from(Alias::new("users"))
        .and_where(cond)
        .order_by((Alias::new("users"), Alias::new("id")), Order::Asc)
        .build(PostgresQueryBuilder);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values.0,
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<i32>(1).unwrap(),
            )
        })
        .collect())
}

fn rows(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect()
}

#[tokio::test]
async fn select_queries_of_21_03() {
    let db = users_table().await;
    let spec = plain_spec();
    let q = |f: &'static str| {
        let (db, spec) = (&db.conn, &spec);
        async move { select(db, f, spec).await }
    };
    assert_eq!(
        q(r#"full_name == "tester1""#).await.unwrap(),
        rows(&[("tester", 30)])
    );
    assert_eq!(
        q(r#"name == "test'er""#).await.unwrap(),
        rows(&[("test'er", 50)])
    );
    assert_eq!(
        q(r#"name == "test\"er""#).await.unwrap(),
        rows(&[("test\"er", 40)])
    );
    assert_eq!(
        q(r#"(full_name == "tester1")"#).await.unwrap(),
        rows(&[("tester", 30)])
    );
    assert_eq!(
        q(r#"full_name in ["tester1", "tester3", "tester9"]"#)
            .await
            .unwrap(),
        rows(&[("tester", 30), ("test'er", 50)])
    );
    assert_eq!(q(r#"type in ["USER", "ADMIN"]"#).await.unwrap().len(), 4);
    assert_eq!(
        q(r#"full_name == "tester1" & age == 20"#).await.unwrap(),
        vec![]
    );
    assert_eq!(
        q(r#"(full_name == "tester1") & (age == 20)"#)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        q(r#"(full_name == "tester1") | (age == 20)"#)
            .await
            .unwrap(),
        rows(&[("tester", 30), ("tester ♪", 20)])
    );
    assert_eq!(
        q(r#"(name contains "test") & (age > 30) & (is_active is true)"#)
            .await
            .unwrap(),
        rows(&[("test\"er", 40)])
    );
    assert_eq!(
        q("data isnot null").await.unwrap(),
        rows(&[("tester", 30), ("test'er", 50)])
    );
    assert_eq!(
        q("data is null").await.unwrap(),
        rows(&[("test\"er", 40), ("tester ♪", 20)])
    );
    assert_eq!(q("data is null | data isnot null").await.unwrap().len(), 4);
    assert_eq!(q("data < 9.4").await.unwrap(), rows(&[("test'er", 50)]));
    for bad in ["", "!!!", "123", "\"abc\"", "name ="] {
        assert!(
            q(bad).await.unwrap_err().contains("syntax error"),
            "{bad:?}"
        );
    }
    assert!(q("xyz == 123")
        .await
        .unwrap_err()
        .contains("unknown field \"xyz\""));

    // Beyond 21.03's tests: the operators it could not lex or did not test, and its grouping.
    assert_eq!(
        q("age >= 40 & age <= 50").await.unwrap(),
        rows(&[("test\"er", 40), ("test'er", 50)])
    );
    assert_eq!(
        q(r#"name ilike "TEST%ER""#).await.unwrap(),
        rows(&[("tester", 30), ("test\"er", 40), ("test'er", 50)])
    );
    assert_eq!(
        q(r#"age != 30 & !is_active is true"#).await.unwrap(),
        rows(&[("test'er", 50), ("tester ♪", 20)])
    );
    // `!` reaches to the end: NOT (age == 30 & type == "USER") holds for every row.
    assert_eq!(q(r#"!age == 30 & type == "USER""#).await.unwrap().len(), 4);
    // Right grouping: age == 30 & (age == 40 | age == 50) matches nothing.
    assert_eq!(
        q("age == 30 & age == 40 | age == 50").await.unwrap(),
        vec![]
    );
    assert_eq!(q("age in []").await.unwrap(), vec![]);
    assert_eq!(q("data == null").await.unwrap().len(), 2);
}

#[tokio::test]
async fn field_specs_rename_and_check_fields() {
    let db = users_table().await;
    let spec = FieldSpec::new()
        .field("n1", col("name"), FieldKind::Text)
        .field(
            "t1",
            col("type"),
            FieldKind::Enum {
                pg_type: Some("usertypes"),
                members: USER_TYPES,
            },
        );
    assert_eq!(
        select(&db.conn, r#"n1 == "tester""#, &spec).await.unwrap(),
        rows(&[("tester", 30)])
    );
    assert_eq!(
        select(&db.conn, r#"t1 in ["USER", "ADMIN"]"#, &spec)
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(select(&db.conn, r#"full_name == "TESTER1""#, &spec)
        .await
        .unwrap_err()
        .contains("allowed: n1, t1"));
    assert!(select(&db.conn, r#"t1 == "XYZ""#, &spec)
        .await
        .unwrap_err()
        .contains("one of ADMIN, USER"));
}

#[tokio::test]
async fn injection_attempts_match_literally() {
    let db = users_table().await;
    let spec = plain_spec();
    for attack in [
        r#"name == "x\" OR 1=1 --""#,
        r#"name == "'; DROP TABLE users; --""#,
        r#"name like "%' OR '1'='1""#,
        r#"full_name in ["tester1') OR ('1'='1"]"#,
    ] {
        assert_eq!(
            select(&db.conn, attack, &spec).await.unwrap(),
            vec![],
            "{attack}"
        );
    }
    let count: i64 = crate::helpers::scalar(&db.conn, "SELECT count(*) FROM users").await;
    assert_eq!(count, 4);
}

#[tokio::test]
async fn filters_apply_to_updates_and_deletes() {
    let db = users_table().await;
    let spec = plain_spec();
    let cond = compile_filter(&parse_filter(r#"full_name == "tester1""#).unwrap(), &spec).unwrap();
    let (sql, values) = Query::update()
        .table(Alias::new("users"))
        .value(Alias::new("name"), "hello")
        .and_where(cond)
        .build(PostgresQueryBuilder);
    let updated = db
        .conn
        .execute_raw(Statement::from_sql_and_values(
            db.conn.get_database_backend(),
            sql,
            values.0,
        ))
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
    let cond =
        compile_filter(&parse_filter(r#"full_name like "tester%""#).unwrap(), &spec).unwrap();
    let (sql, values) = Query::delete()
        .from_table(Alias::new("users"))
        .and_where(cond)
        .build(PostgresQueryBuilder);
    let deleted = db
        .conn
        .execute_raw(Statement::from_sql_and_values(
            db.conn.get_database_backend(),
            sql,
            values.0,
        ))
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 4);
}

async fn grid() -> TestDb {
    let db = TestDb::empty().await;
    db.conn
        .execute_unprepared(
            "CREATE TABLE grid (id int PRIMARY KEY, data1 int, data2 double precision, data3 varchar(10));
             INSERT INTO grid VALUES (1, 10, 0.2, 'a'), (2, 10, 0.1, 'c'), (3, 20, 0.0, 'b'), (4, 20, -0.1, 'd');",
        )
        .await
        .unwrap();
    db
}

async fn ordered_ids(
    db: &DatabaseConnection,
    order: &str,
    spec: &FieldSpec,
) -> Result<Vec<i32>, String> {
    let orders = compile_order(&parse_order(order).map_err(|e| e.to_string())?, spec)
        .map_err(|e| e.to_string())?;
    let mut query = Query::select();
    query.column(Alias::new("id")).from(Alias::new("grid"));
    for (expr, dir) in orders {
        query.order_by_expr(expr, dir);
    }
    // Ties resolve by id, which SQLite gave 21.03's tests for free.
    query.order_by(Alias::new("id"), Order::Asc);
    let (sql, values) = query.build(PostgresQueryBuilder);
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values.0,
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index::<i32>(0).unwrap())
        .collect())
}

#[tokio::test]
async fn order_queries_of_21_03() {
    let db = grid().await;
    let g = |c: &str| Expr::col((Alias::new("grid"), Alias::new(c)));
    let spec = FieldSpec::new()
        .field("data1", g("data1"), FieldKind::Integer)
        .field("data2", g("data2"), FieldKind::Number)
        .field("data3", g("data3"), FieldKind::Text);
    let ids = |o: &'static str| {
        let (db, spec) = (&db.conn, &spec);
        async move { ordered_ids(db, o, spec).await }
    };
    assert_eq!(ids("+data1").await.unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(ids("-data1").await.unwrap(), vec![3, 4, 1, 2]);
    assert_eq!(ids("-data1,+data2").await.unwrap(), vec![4, 3, 2, 1]);
    assert_eq!(ids("-data1,+data3,-data2").await.unwrap(), vec![3, 4, 1, 2]);
    assert_eq!(ids("").await.unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(ids("data3,-data2,data1").await.unwrap(), vec![1, 3, 2, 4]);
    assert!(ids("xxx")
        .await
        .unwrap_err()
        .contains("unknown field \"xxx\""));

    let mapped = FieldSpec::new()
        .field("v1", g("data1"), FieldKind::Integer)
        .field("v2", g("data2"), FieldKind::Number)
        .field("v3", g("data3"), FieldKind::Text);
    assert_eq!(
        ordered_ids(&db.conn, "-v3", &mapped).await.unwrap(),
        vec![4, 2, 3, 1]
    );
    assert!(ordered_ids(&db.conn, "-data1,+data2", &mapped)
        .await
        .unwrap_err()
        .contains("allowed: v1, v2, v3"));
}
