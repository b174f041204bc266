//! `KeyPairResourcePolicy` and `ResourcePreset`.

use async_graphql::Object;
use entities::{keypair_resource_policies, resource_presets};
use sea_orm::ActiveEnum;

use super::scalars::{BigInt, DateTime, JsonString};

pub struct KeyPairResourcePolicy(pub keypair_resource_policies::Model);

#[Object(rename_fields = "snake_case")]
impl KeyPairResourcePolicy {
    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(DateTime)
    }
    async fn default_for_unspecified(&self) -> Option<String> {
        Some(self.0.default_for_unspecified.to_value())
    }
    async fn total_resource_slots(&self) -> Option<JsonString> {
        Some(JsonString::slots(&self.0.total_resource_slots))
    }
    async fn max_concurrent_sessions(&self) -> Option<i32> {
        Some(self.0.max_concurrent_sessions)
    }
    async fn max_containers_per_session(&self) -> Option<i32> {
        Some(self.0.max_containers_per_session)
    }
    async fn idle_timeout(&self) -> Option<BigInt> {
        Some(BigInt(self.0.idle_timeout))
    }
    async fn max_vfolder_count(&self) -> Option<i32> {
        Some(self.0.max_vfolder_count)
    }
    async fn max_vfolder_size(&self) -> Option<BigInt> {
        Some(BigInt(self.0.max_vfolder_size))
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
}

pub struct ResourcePreset(pub resource_presets::Model);

#[Object(rename_fields = "snake_case")]
impl ResourcePreset {
    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }
    async fn resource_slots(&self) -> Option<JsonString> {
        Some(JsonString::slots(&self.0.resource_slots))
    }
    /// 21.03 shows an unset (or zero) shared memory as null.
    async fn shared_memory(&self) -> Option<BigInt> {
        self.0.shared_memory.filter(|m| *m != 0).map(BigInt)
    }
}
