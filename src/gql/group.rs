//! `Group`.

use async_graphql::{Context, Object, Result};
use entities::groups;
use uuid::Uuid;

use super::loaders::{load, ScalingGroupsOfGroup};
use super::scalars::{DateTime, JsonString};

pub struct Group(pub groups::Model);

#[Object(rename_fields = "snake_case")]
impl Group {
    async fn id(&self) -> Option<Uuid> {
        Some(self.0.id)
    }
    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn is_active(&self) -> Option<bool> {
        self.0.is_active
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(DateTime)
    }
    async fn modified_at(&self) -> Option<DateTime> {
        self.0.modified_at.map(DateTime)
    }
    async fn domain_name(&self) -> Option<&str> {
        Some(&self.0.domain_name)
    }
    async fn total_resource_slots(&self) -> Option<JsonString> {
        Some(JsonString::slots(
            &self.0.total_resource_slots.clone().unwrap_or_default(),
        ))
    }
    async fn allowed_vfolder_hosts(&self) -> Option<Vec<Option<&str>>> {
        Some(
            self.0
                .allowed_vfolder_hosts
                .iter()
                .map(|h| Some(h.as_str()))
                .collect(),
        )
    }
    async fn integration_id(&self) -> Option<&str> {
        self.0.integration_id.as_deref()
    }
    async fn scaling_groups(&self, ctx: &Context<'_>) -> Result<Option<Vec<Option<String>>>> {
        let names = load(ctx, ScalingGroupsOfGroup(self.0.id)).await?;
        Ok(Some(names.into_iter().map(Some).collect()))
    }
}
