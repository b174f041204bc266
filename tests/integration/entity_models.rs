//! The curated SeaORM entities read and write the 21.03 rows: enums, resource slots, arrays,
//! and the association tables' logical keys.

use entities::enums::{AgentStatus, DefaultForUnspecified, TemplateType, UserRole, UserStatus};
use entities::{
    agents, domains, keypair_resource_policies, keypairs, resource_presets, scaling_groups,
    session_templates, sgroups_for_domains, users, ResourceSlot, SlotAmount,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::helpers::{reference_dir, repo_path, scalar, TestDb};

async fn loaded_db() -> TestDb {
    let db = TestDb::migrated().await;
    for path in [
        repo_path("fixtures/example-keypairs.json"),
        repo_path("fixtures/example-resource-presets.json"),
        reference_dir().join("fixtures/example-session-templates.json"),
    ] {
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        bai_manager::services::fixtures::populate(&db.conn, &fixture)
            .await
            .unwrap();
    }
    db
}

#[tokio::test]
async fn every_fixture_row_reads_through_the_entities() {
    let db = loaded_db().await;
    let admin = users::Entity::find()
        .filter(users::Column::Email.eq("admin@lablup.com"))
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Some(UserRole::Superadmin));
    assert_eq!(admin.status, UserStatus::Active);
    assert_eq!(users::Entity::find().all(&db.conn).await.unwrap().len(), 4);

    let domain = domains::Entity::find_by_id("default")
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        domain.allowed_docker_registries,
        vec!["cr.backend.ai".to_owned()]
    );
    assert!(domain.total_resource_slots.unwrap().is_empty());

    let policy = keypair_resource_policies::Entity::find_by_id("default")
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        policy.default_for_unspecified,
        DefaultForUnspecified::Unlimited
    );

    let keypair = keypairs::Entity::find_by_id("AKIAIOSFODNN7EXAMPLE")
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(keypair.user, admin.uuid);
    assert_eq!(keypair.dotfiles, vec![0x90]);

    let preset = resource_presets::Entity::find_by_id("01-small")
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        preset.resource_slots.get("cuda.shares"),
        Some(SlotAmount::Finite("0.5".parse().unwrap()))
    );
    assert_eq!(
        preset.resource_slots.amount("mem"),
        SlotAmount::from(34359738368)
    );

    assert!(scaling_groups::Entity::find_by_id("default")
        .one(&db.conn)
        .await
        .unwrap()
        .is_some());
    let links = sgroups_for_domains::Entity::find()
        .all(&db.conn)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    let templates = session_templates::Entity::find()
        .all(&db.conn)
        .await
        .unwrap();
    assert!(templates.iter().all(|t| t.r#type == TemplateType::Task));
}

#[tokio::test]
async fn resource_slots_are_written_as_21_03_writes_them() {
    let db = loaded_db().await;
    let slots: ResourceSlot =
        serde_json::from_value(json!({"cpu": "4", "mem": "1073741824", "cuda.shares": "0.25"}))
            .unwrap();
    agents::ActiveModel {
        id: Set("i-agent-1".into()),
        status: Set(AgentStatus::Alive),
        region: Set("local".into()),
        scaling_group: Set("default".into()),
        schedulable: Set(true),
        available_slots: Set(slots.clone()),
        occupied_slots: Set(ResourceSlot::new()),
        addr: Set("tcp://127.0.0.1:6001".into()),
        version: Set("21.03.0".into()),
        compute_plugins: Set(json!({})),
        ..Default::default()
    }
    .insert(&db.conn)
    .await
    .unwrap();
    let stored: serde_json::Value = scalar(
        &db.conn,
        "SELECT available_slots FROM agents WHERE id = 'i-agent-1'",
    )
    .await;
    assert_eq!(
        stored,
        json!({"cpu": "4", "mem": "1073741824", "cuda.shares": "0.25"})
    );
    let back = agents::Entity::find_by_id("i-agent-1")
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.available_slots, slots);
    assert_eq!(back.status, AgentStatus::Alive);
    let status: String = scalar(
        &db.conn,
        "SELECT status::text FROM agents WHERE id = 'i-agent-1'",
    )
    .await;
    assert_eq!(status, "ALIVE");
}
