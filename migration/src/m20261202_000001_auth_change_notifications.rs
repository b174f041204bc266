//! Notifications on the channel `bai_auth_changed` whenever a keypair, its user or its resource
//! policy changes in a way that authentication sees, so that managers can cache authenticated
//! keypairs and forget them at once (`services::keypair_cache`). Changes of counters such as
//! `keypairs.concurrency_used` or `last_used` do not notify.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        crate::AUTH_NOTIFICATIONS_MIGRATION
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!("sql/auth_change_notifications_up.sql"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(include_str!("sql/auth_change_notifications_down.sql"))
            .await?;
        Ok(())
    }
}
