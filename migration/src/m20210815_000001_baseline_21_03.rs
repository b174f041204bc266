//! The first migration: the schema of a database created by the Backend.AI manager 21.03
//! (`mgr schema oneshot`, alembic head `8679d0a7e22b`), including the `alembic_version` row so
//! that the Python manager keeps recognising the database.
//!
//! It is plain SQL rather than the sea-query builder because the contract is the exact catalog
//! (constraint and index names, a partial unique index, an expression index); the schema-parity
//! test compares the outcome with the 21.03 dump.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        crate::BASELINE_MIGRATION
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!("sql/baseline_21_03_up.sql"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!("sql/baseline_21_03_down.sql"))
            .await?;
        Ok(())
    }
}
