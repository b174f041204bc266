//! `VirtualFolder` and `VirtualFolderList`.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use entities::vfolders;
use sea_orm::ActiveEnum;
use uuid::Uuid;

use super::items::{clamp_count, Items};
use super::scalars::{BigInt, DateTime};

#[derive(Clone)]
pub struct VirtualFolder(pub Arc<vfolders::Model>);

impl From<vfolders::Model> for VirtualFolder {
    fn from(m: vfolders::Model) -> Self {
        VirtualFolder(Arc::new(m))
    }
}

#[Object(rename_fields = "snake_case")]
impl VirtualFolder {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.0.id.to_string())))
    }
    async fn host(&self) -> Option<&str> {
        Some(&self.0.host)
    }
    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }
    async fn user(&self) -> Option<Uuid> {
        self.0.user
    }
    async fn group(&self) -> Option<Uuid> {
        self.0.group
    }
    async fn creator(&self) -> Option<&str> {
        self.0.creator.as_deref()
    }
    async fn unmanaged_path(&self) -> Option<&str> {
        self.0.unmanaged_path.as_deref()
    }
    async fn usage_mode(&self) -> Option<String> {
        Some(self.0.usage_mode.to_value())
    }
    async fn permission(&self) -> Option<String> {
        self.0.permission.map(|p| p.to_value())
    }
    async fn ownership_type(&self) -> Option<String> {
        Some(self.0.ownership_type.to_value())
    }
    async fn max_files(&self) -> Option<i32> {
        self.0.max_files
    }
    async fn max_size(&self) -> Option<BigInt> {
        self.0.max_size.map(|s| BigInt(s.into()))
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.0.created_at.map(DateTime)
    }
    async fn last_used(&self) -> Option<DateTime> {
        self.0.last_used.map(DateTime)
    }
    async fn num_files(&self) -> Option<i32> {
        self.0.num_files
    }
    async fn cur_size(&self) -> Option<BigInt> {
        self.0.cur_size.map(|s| BigInt(s.into()))
    }
    async fn cloneable(&self) -> Option<bool> {
        Some(self.0.cloneable)
    }
}

pub struct VirtualFolderList {
    pub items: Vec<VirtualFolder>,
    pub total_count: i64,
}

impl VirtualFolderList {
    pub fn new((rows, total_count): (Vec<vfolders::Model>, i64)) -> Self {
        VirtualFolderList {
            items: rows.into_iter().map(VirtualFolder::from).collect(),
            total_count,
        }
    }
}

#[Object(rename_fields = "snake_case")]
impl VirtualFolderList {
    pub async fn items(&self, _ctx: &Context<'_>) -> Result<Items<VirtualFolder>> {
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
