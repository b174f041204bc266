//! `StorageVolume` and `StorageVolumeList`: the volumes that storage proxies report.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};

use super::items::{clamp_count, Items};
use super::scalars::JsonString;

/// One volume of one storage proxy (`id` is `"{proxy}:{volume}"`).
#[derive(Clone)]
pub struct StorageVolume(pub Arc<Volume>);

pub struct Volume {
    pub id: String,
    pub backend: Option<String>,
    pub fsprefix: Option<String>,
    pub path: Option<String>,
    pub capabilities: Vec<String>,
    pub hardware_metadata: Option<serde_json::Value>,
    pub performance_metric: Option<serde_json::Value>,
    pub usage: Option<serde_json::Value>,
}

#[Object(rename_fields = "snake_case")]
impl StorageVolume {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.0.id.clone())))
    }
    async fn backend(&self) -> Option<&str> {
        self.0.backend.as_deref()
    }
    async fn fsprefix(&self) -> Option<&str> {
        self.0.fsprefix.as_deref()
    }
    async fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }
    async fn capabilities(&self) -> Option<Vec<Option<&str>>> {
        Some(
            self.0
                .capabilities
                .iter()
                .map(|c| Some(c.as_str()))
                .collect(),
        )
    }
    async fn hardware_metadata(&self) -> Option<JsonString> {
        JsonString::opt(&self.0.hardware_metadata)
    }
    async fn performance_metric(&self) -> Option<JsonString> {
        JsonString::opt(&self.0.performance_metric)
    }
    async fn usage(&self) -> Option<JsonString> {
        JsonString::opt(&self.0.usage)
    }
}

pub struct StorageVolumeList {
    pub items: Vec<StorageVolume>,
    pub total_count: i64,
}

#[Object(rename_fields = "snake_case")]
impl StorageVolumeList {
    pub async fn items(&self, _ctx: &Context<'_>) -> Result<Items<StorageVolume>> {
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
