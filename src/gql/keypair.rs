//! `KeyPair` and `KeyPairList`.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use entities::keypairs;
use uuid::Uuid;

use super::items::{clamp_count, Items};
use super::loaders::{load, prime, InfoOfUser, NumQueries, SessionsOfKeypair, VFoldersOfUser};
use super::scalars::DateTime;
use super::session::ComputeSession;
use super::user::UserInfo;
use super::vfolder::VirtualFolder;
use crate::services::keypairs::KeyPairRow;

#[derive(Clone)]
pub struct KeyPair {
    pub row: Arc<keypairs::Model>,
    /// The owner's full name, where the query joined it (`keypair_list`).
    pub full_name: Option<String>,
}

impl From<keypairs::Model> for KeyPair {
    fn from(m: keypairs::Model) -> Self {
        KeyPair {
            row: Arc::new(m),
            full_name: None,
        }
    }
}

impl From<KeyPairRow> for KeyPair {
    fn from(r: KeyPairRow) -> Self {
        KeyPair {
            row: Arc::new(r.keypair),
            full_name: r.full_name,
        }
    }
}

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl KeyPair {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.row.access_key.clone())))
    }
    async fn user_id(&self) -> Option<&str> {
        self.row.user_id.as_deref()
    }
    async fn full_name(&self) -> Option<&str> {
        self.full_name.as_deref()
    }
    async fn access_key(&self) -> Option<&str> {
        Some(&self.row.access_key)
    }
    async fn secret_key(&self) -> Option<&str> {
        self.row.secret_key.as_deref()
    }
    async fn is_active(&self) -> Option<bool> {
        self.row.is_active
    }
    async fn is_admin(&self) -> Option<bool> {
        self.row.is_admin
    }
    async fn resource_policy(&self) -> Option<&str> {
        Some(&self.row.resource_policy)
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.row.created_at.map(DateTime)
    }
    async fn last_used(&self) -> Option<DateTime> {
        self.row.last_used.map(DateTime)
    }
    async fn concurrency_used(&self) -> Option<i32> {
        self.row.concurrency_used
    }
    async fn rate_limit(&self) -> Option<i32> {
        self.row.rate_limit
    }
    /// Requests in the last 30 days, counted in Redis.
    async fn num_queries(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        let n = load(ctx, NumQueries(self.row.access_key.clone())).await?;
        Ok(Some(n.clamp(0, i32::MAX.into()) as i32))
    }
    async fn user(&self) -> Option<Uuid> {
        Some(self.row.user)
    }
    async fn ssh_public_key(&self) -> Option<&str> {
        self.row.ssh_public_key.as_deref()
    }
    async fn vfolders(&self, ctx: &Context<'_>) -> Result<Option<Vec<Option<VirtualFolder>>>> {
        let rows = load(ctx, VFoldersOfUser(self.row.user)).await?;
        Ok(Some(
            rows.iter()
                .map(|v| Some(VirtualFolder(v.clone())))
                .collect(),
        ))
    }
    /// The sessions of this keypair, optionally of some statuses (comma-separated names).
    async fn compute_sessions(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
    ) -> Result<Option<Vec<Option<ComputeSession>>>> {
        let rows = load(ctx, SessionsOfKeypair(self.row.access_key.clone(), status)).await?;
        Ok(Some(rows.iter().map(|s| Some(s.into())).collect()))
    }
    async fn user_info(&self, ctx: &Context<'_>) -> Result<Option<UserInfo>> {
        let info = load(ctx, InfoOfUser(self.row.user)).await?;
        Ok(info.map(|(email, full_name)| UserInfo {
            email: Some(email),
            full_name,
        }))
    }
    #[graphql(
        deprecation = "Moved to KeyPairResourcePolicy object as max_concurrent_sessions field."
    )]
    async fn concurrency_limit(&self) -> Option<i32> {
        Some(0)
    }
}

pub struct KeyPairList {
    pub items: Vec<KeyPair>,
    pub total_count: i64,
}

impl KeyPairList {
    pub fn new((rows, total_count): (Vec<KeyPairRow>, i64)) -> Self {
        KeyPairList {
            items: rows.into_iter().map(KeyPair::from).collect(),
            total_count,
        }
    }
}

#[Object(rename_fields = "snake_case")]
impl KeyPairList {
    pub async fn items(&self, ctx: &Context<'_>) -> Result<Items<KeyPair>> {
        let rows = || self.items.iter().map(|k| &k.row);
        prime(
            ctx,
            &["num_queries"],
            rows().map(|k| NumQueries(k.access_key.clone())),
        )
        .await;
        prime(ctx, &["user_info"], rows().map(|k| InfoOfUser(k.user))).await;
        prime(ctx, &["vfolders"], rows().map(|k| VFoldersOfUser(k.user))).await;
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
