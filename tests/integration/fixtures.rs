//! Fixture loading: the 21.03 example files, idempotence, and all-or-nothing on bad input.

use bai_manager::services::fixtures::{export, populate};
use bai_manager::services::Error;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{reference_dir, repo_json, row_counts, TestDb};

fn read_json(path: std::path::PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn counts(report: &bai_manager::services::fixtures::LoadReport) -> Vec<(String, u64, u64)> {
    report
        .tables
        .iter()
        .map(|(t, c)| (t.clone(), c.inserted, c.skipped))
        .collect()
}

#[tokio::test]
async fn the_21_03_example_fixtures_load_and_reload_harmlessly() {
    let db = TestDb::migrated().await;
    for name in [
        "example-keypairs.json",
        "example-resource-presets.json",
        "example-session-templates.json",
    ] {
        let fixture = read_json(reference_dir().join("fixtures").join(name));
        let first = populate(&db.conn, &fixture).await.unwrap();
        assert!(
            first
                .tables
                .iter()
                .all(|(_, c)| c.skipped == 0 && c.inserted > 0),
            "{name}: {first:?}"
        );
        let before = row_counts(&db.conn).await;
        let second = populate(&db.conn, &fixture).await.unwrap();
        assert!(
            second.tables.iter().all(|(_, c)| c.inserted == 0),
            "{name}: {second:?}"
        );
        assert_eq!(row_counts(&db.conn).await, before);
    }
    // Passwords are stored as 21.03 stores them: bcrypt, cost 12, verifiable.
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT password FROM users WHERE email = 'admin@lablup.com'",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get_by_index(0).unwrap();
    assert!(hash.starts_with("$2b$12$") && hash.len() == 60, "{hash}");
    assert!(bcrypt::verify("wJalrXUt", &hash).unwrap());
    // `{}` for an array column is an empty array, and application defaults are filled.
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT cardinality(allowed_vfolder_hosts), encode(dotfiles, 'hex') FROM domains WHERE name = 'default'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i32>(0).unwrap(), 0);
    assert_eq!(row.try_get_by_index::<String>(1).unwrap(), "90");
}

#[tokio::test]
async fn the_shipped_fixtures_load() {
    let db = TestDb::migrated().await;
    for name in [
        "fixtures/example-keypairs.json",
        "fixtures/example-resource-presets.json",
    ] {
        populate(&db.conn, &repo_json(name)).await.unwrap();
    }
    let row = db
        .conn
        .query_one_raw(Statement::from_string(
            db.conn.get_database_backend(),
            "SELECT shared_memory FROM resource_presets WHERE name = '02-medium'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1073741824);
}

async fn assert_rejected_without_change(fixture: serde_json::Value, expected: &[&str]) {
    let db = TestDb::migrated().await;
    let before = row_counts(&db.conn).await;
    let err = populate(&db.conn, &fixture).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    let message = err.to_string();
    for part in expected {
        assert!(
            message.contains(part),
            "{message:?} should mention {part:?}"
        );
    }
    assert_eq!(
        row_counts(&db.conn).await,
        before,
        "a rejected fixture changed rows"
    );
}

#[tokio::test]
async fn a_broken_fixture_changes_nothing_and_names_the_row() {
    let mut fixture = repo_json("fixtures/example-keypairs.json");
    // The last table's second row points at a resource policy that does not exist.
    fixture["keypairs"][1]["resource_policy"] = json!("no-such-policy");
    assert_rejected_without_change(fixture, &["table keypairs, row 2", "foreign key"]).await;

    let mut fixture = repo_json("fixtures/example-keypairs.json");
    fixture["users"][2]["role"] = json!("emperor");
    assert_rejected_without_change(fixture, &["table users, row 3", "emperor"]).await;

    let mut fixture = repo_json("fixtures/example-keypairs.json");
    fixture["groups"][0]["colour"] = json!("blue");
    assert_rejected_without_change(
        fixture,
        &["table groups, row 1, column colour", "no such column"],
    )
    .await;

    assert_rejected_without_change(
        json!({"resource_presets": [{"name": "x", "resource_slots": {"cpu": "lots"}}]}),
        &[
            "table resource_presets, row 1, column resource_slots",
            "cpu",
        ],
    )
    .await;
    assert_rejected_without_change(json!({"kittens": []}), &["unknown table \"kittens\""]).await;
    assert_rejected_without_change(
        json!({"domains": {"name": "x"}}),
        &["table domains", "list of rows"],
    )
    .await;
    assert_rejected_without_change(json!([1, 2]), &["JSON object"]).await;
}

#[tokio::test]
async fn export_round_trips_into_a_fresh_database() {
    let source = TestDb::migrated().await;
    populate(&source.conn, &repo_json("fixtures/example-keypairs.json"))
        .await
        .unwrap();
    populate(
        &source.conn,
        &repo_json("fixtures/example-resource-presets.json"),
    )
    .await
    .unwrap();
    let dumped = export(&source.conn, &[]).await.unwrap();

    let target = TestDb::migrated().await;
    let report = populate(&target.conn, &dumped).await.unwrap();
    assert!(counts(&report).iter().all(|(_, _, skipped)| *skipped == 0));
    assert_eq!(
        row_counts(&target.conn).await,
        row_counts(&source.conn).await
    );
    // Hashes are carried over, not hashed again.
    assert_eq!(
        export(&target.conn, &["users".into()]).await.unwrap()["users"],
        dumped["users"]
    );

    let err = export(&source.conn, &["nope".into()]).await.unwrap_err();
    assert!(err.to_string().contains("unknown table \"nope\""));
}
