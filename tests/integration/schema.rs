//! The first migration against the 21.03 contract: catalog parity with the 21.03 dump, and
//! adoption of a database the Python manager created.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::{row_counts, TestDb};

/// Everything the catalog says about the public schema, one line per fact, so that two
/// databases compare as sets of lines.
async fn catalog(db: &DatabaseConnection) -> BTreeSet<String> {
    let queries = [
        // Tables and their columns, with position, type, length, nullability and default.
        "SELECT format('column %s.%s #%s %s %s len=%s null=%s default=%s', c.table_name, c.column_name,
                c.ordinal_position, c.data_type, c.udt_name, c.character_maximum_length,
                c.is_nullable, c.column_default)
         FROM information_schema.columns c
         WHERE c.table_schema = 'public' AND c.table_name <> 'seaql_migrations'",
        // Constraints (PK, unique, FK with its ON UPDATE/DELETE rules, CHECK), by name.
        "SELECT format('constraint %s on %s: %s', con.conname, con.conrelid::regclass,
                pg_get_constraintdef(con.oid))
         FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
         WHERE n.nspname = 'public' AND con.conrelid::regclass::text <> 'seaql_migrations'",
        // Indexes with their full definition (partial and expression indexes included).
        "SELECT format('index %s: %s', indexname, indexdef) FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'",
        // Enum types and their labels in order.
        "SELECT format('enum %s: %s', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder))
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' GROUP BY t.typname",
        // Sequences (21.03 has none; a stray serial column would show here).
        "SELECT format('sequence %s', sequence_name) FROM information_schema.sequences
         WHERE sequence_schema = 'public'",
        "SELECT format('extension %s', extname) FROM pg_extension WHERE extname <> 'plpgsql'",
    ];
    let mut facts = BTreeSet::new();
    for sql in queries {
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap();
        for row in rows {
            facts.insert(row.try_get_by_index::<String>(0).unwrap());
        }
    }
    facts
}

#[tokio::test]
async fn oneshot_creates_exactly_the_21_03_schema() {
    let ours = TestDb::migrated().await;
    let reference = TestDb::from_21_03_dump().await;
    let (ours_facts, reference_facts) = (catalog(&ours.conn).await, catalog(&reference.conn).await);
    let missing: Vec<_> = reference_facts.difference(&ours_facts).collect();
    let extra: Vec<_> = ours_facts.difference(&reference_facts).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "schema differs from 21.03.\nmissing:\n{missing:#?}\nextra:\n{extra:#?}"
    );
    assert!(
        reference_facts.len() > 300,
        "the comparison saw too little: {}",
        reference_facts.len()
    );
    let head = ours
        .conn
        .query_one_raw(Statement::from_string(
            ours.conn.get_database_backend(),
            "SELECT version_num FROM alembic_version",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        head.try_get_by_index::<String>(0).unwrap(),
        migration::ALEMBIC_HEAD_21_03
    );
}

#[tokio::test]
async fn oneshot_refuses_a_database_that_has_a_schema() {
    let db = TestDb::migrated().await;
    let err = migration::oneshot(&db.conn).await.unwrap_err();
    assert!(err.to_string().contains("needs an empty database"), "{err}");
    let legacy = TestDb::from_21_03_dump().await;
    let err = migration::oneshot(&legacy.conn).await.unwrap_err();
    assert!(err.to_string().contains("Python manager"), "{err}");
}

#[tokio::test]
async fn migrate_adopts_a_21_03_database_without_touching_rows() {
    let db = TestDb::from_21_03_dump().await;
    bai_manager::services::fixtures::populate(
        &db.conn,
        &crate::helpers::repo_json("fixtures/example-keypairs.json"),
    )
    .await
    .unwrap();
    let before = row_counts(&db.conn).await;
    let users_before = users_snapshot(&db.conn).await;

    let (state, migrations) = migration::status(&db.conn).await.unwrap();
    assert!(matches!(state, migration::SchemaState::Alembic { .. }));
    let applied: Vec<_> = migrations
        .iter()
        .filter(|(_, applied)| *applied)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        applied,
        [migration::BASELINE_MIGRATION],
        "the baseline counts as applied"
    );

    let outcome = migration::migrate(&db.conn).await.unwrap();
    assert!(outcome.adopted);
    assert_eq!(
        outcome.applied,
        [migration::AUTH_NOTIFICATIONS_MIGRATION],
        "only bai-manager's own migrations apply on a 21.03 head"
    );
    assert_eq!(row_counts(&db.conn).await, before);
    assert_eq!(users_snapshot(&db.conn).await, users_before);
    let (state, _) = migration::status(&db.conn).await.unwrap();
    assert_eq!(state, migration::SchemaState::Managed);

    let again = migration::migrate(&db.conn).await.unwrap();
    assert!(!again.adopted && again.applied.is_empty());
    assert_eq!(row_counts(&db.conn).await, before);
}

async fn users_snapshot(db: &DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT to_jsonb(u)::text FROM users u ORDER BY uuid",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

#[tokio::test]
async fn migrate_refuses_other_alembic_revisions_and_unknown_tables() {
    let db = TestDb::from_21_03_dump().await;
    db.conn
        .execute_unprepared("UPDATE alembic_version SET version_num = '518ecf41f567'")
        .await
        .unwrap();
    let err = migration::migrate(&db.conn).await.unwrap_err();
    assert!(err.to_string().contains("518ecf41f567"), "{err}");

    let other = TestDb::empty().await;
    other
        .conn
        .execute_unprepared("CREATE TABLE something_else (id int)")
        .await
        .unwrap();
    let err = migration::migrate(&other.conn).await.unwrap_err();
    assert!(err.to_string().contains("something_else"), "{err}");
}

#[tokio::test]
async fn migrate_on_an_empty_database_creates_the_schema() {
    let db = TestDb::empty().await;
    let outcome = migration::migrate(&db.conn).await.unwrap();
    assert!(!outcome.adopted);
    assert_eq!(
        outcome.applied,
        [
            migration::BASELINE_MIGRATION,
            migration::AUTH_NOTIFICATIONS_MIGRATION
        ]
    );
}
