//! `ScalingGroup`.

use async_graphql::Object;
use entities::scaling_groups;

use super::scalars::{DateTime, JsonString};

pub struct ScalingGroup(pub scaling_groups::Model);

#[Object(rename_fields = "snake_case")]
impl ScalingGroup {
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
    async fn driver(&self) -> Option<&str> {
        Some(&self.0.driver)
    }
    async fn driver_opts(&self) -> Option<JsonString> {
        Some(JsonString::of(&self.0.driver_opts))
    }
    async fn scheduler(&self) -> Option<&str> {
        Some(&self.0.scheduler)
    }
    async fn scheduler_opts(&self) -> Option<JsonString> {
        Some(JsonString::of(&self.0.scheduler_opts))
    }
}
