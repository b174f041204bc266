//! Batched reads for nested fields: one [`Batch`] loader per request, with one key type per kind
//! of read. Every key requested while a level of the response is resolved goes into a single
//! statement (SQL `IN (…)` or Redis `MGET`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Request};
use entities::vfolders;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::error::to_gql;
use super::RequestContext;
use crate::services::auth::Identity;
use crate::services::sessions::{Kernel, KernelColumns, SessionRow};
use crate::services::{self, Error};
use crate::AppState;

/// The sources nested fields read from.
pub struct Batch {
    db: DatabaseConnection,
    redis_stat: ConnectionManager,
    live_stats: Arc<services::live_stats::StatCache>,
}

type RequestLoader = DataLoader<Batch, HashMapCache>;

/// Adds the request's loader (its cache lives as long as the request).
pub fn register(request: Request, state: &AppState, _caller: &Identity) -> Request {
    let batch = Batch {
        db: state.db.clone(),
        redis_stat: state.redis_stat.clone(),
        live_stats: state.live_stats.clone(),
    };
    request.data(RequestLoader::with_cache(
        batch,
        tokio::spawn,
        HashMapCache::default(),
    ))
}

/// Loads the keys of a whole page at once when the document selects `field` of its items, so
/// that the items' own loads hit the cache. Without this, items resolved after the loader's
/// batching delay would start a second batch. What was found, unless nothing was loaded or the
/// load failed (the items' own loads then report the error).
pub async fn prime<K, V>(
    ctx: &Context<'_>,
    fields: &[&str],
    keys: impl IntoIterator<Item = K>,
) -> Option<HashMap<K, V>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Batch: Loader<K, Value = V, Error = Arc<Error>>,
    V: Send + Sync + Clone + 'static,
{
    let look_ahead = ctx.look_ahead();
    if !fields.iter().any(|f| look_ahead.field(f).exists()) {
        return None;
    }
    ctx.data_unchecked::<RequestLoader>()
        .load_many(keys)
        .await
        .ok()
}

/// The containers of a page of sessions when the document selects `fields` of its items, the
/// page's main kernels (read with `columns` or more) serving as containers too (see
/// `services::sessions::containers_with`). None if not selected or the read failed (the items'
/// own loads then read them again, and report the error).
pub async fn page_containers(
    ctx: &Context<'_>,
    fields: &[&str],
    sessions: &[Arc<SessionRow>],
    columns: KernelColumns,
) -> Option<HashMap<ContainersOfSession, Arc<[Arc<Kernel>]>>> {
    let look_ahead = ctx.look_ahead();
    if !fields.iter().any(|f| look_ahead.field(f).exists()) {
        return None;
    }
    let known: Vec<Arc<Kernel>> = sessions.iter().map(|s| s.kernel.clone()).collect();
    let db = &ctx.data_unchecked::<RequestContext>().state.db;
    let containers = services::sessions::containers_with(db, &known, columns)
        .await
        .ok()?;
    let found = containers
        .into_iter()
        .map(|(id, kernels)| (ContainersOfSession(id, columns), Arc::from(kernels)));
    Some(found.collect())
}

/// Loads one key with the request's loader; a missing entry is the type's empty value.
pub async fn load<K, V>(ctx: &Context<'_>, key: K) -> async_graphql::Result<V>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    Batch: Loader<K, Value = V, Error = Arc<Error>>,
    V: Default,
{
    let loader = ctx.data_unchecked::<RequestLoader>();
    match loader.load_one(key).await {
        Ok(value) => Ok(value.unwrap_or_default()),
        Err(e) => Err(to_gql(&e)),
    }
}

/// Groups keys that share a parameter (a status filter) so that each group is one statement.
fn by_param<P: Eq + Hash + Clone, T: Clone>(keys: &[(T, P)]) -> HashMap<P, Vec<T>> {
    let mut groups: HashMap<P, Vec<T>> = HashMap::new();
    for (k, p) in keys {
        groups.entry(p.clone()).or_default().push(k.clone());
    }
    groups
}

type Loaded<K, V> = Result<HashMap<K, V>, Arc<Error>>;

/// Rows as loaders hand them out: every requester gets the same rows, without copies.
fn shared<T>(rows: Vec<T>) -> Arc<[Arc<T>]> {
    rows.into_iter().map(Arc::new).collect()
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GroupsOfUser(pub Uuid);

impl Loader<GroupsOfUser> for Batch {
    type Value = Vec<(Uuid, String)>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[GroupsOfUser]) -> Loaded<GroupsOfUser, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = services::users::groups_of(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (GroupsOfUser(k), v))
            .collect())
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct InfoOfUser(pub Uuid);

impl Loader<InfoOfUser> for Batch {
    type Value = Option<(String, Option<String>)>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[InfoOfUser]) -> Loaded<InfoOfUser, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = services::users::infos(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (InfoOfUser(k), Some(v)))
            .collect())
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ScalingGroupsOfGroup(pub Uuid);

impl Loader<ScalingGroupsOfGroup> for Batch {
    type Value = Vec<String>;
    type Error = Arc<Error>;
    async fn load(
        &self,
        keys: &[ScalingGroupsOfGroup],
    ) -> Loaded<ScalingGroupsOfGroup, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = services::scaling_groups::names_for_groups(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (ScalingGroupsOfGroup(k), v))
            .collect())
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ScalingGroupsOfDomain(pub String);

impl Loader<ScalingGroupsOfDomain> for Batch {
    type Value = Vec<String>;
    type Error = Arc<Error>;
    async fn load(
        &self,
        keys: &[ScalingGroupsOfDomain],
    ) -> Loaded<ScalingGroupsOfDomain, Self::Value> {
        let names: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = services::scaling_groups::names_for_domains(&self.db, &names).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (ScalingGroupsOfDomain(k), v))
            .collect())
    }
}

/// The containers of a session, read with the given columns.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ContainersOfSession(pub Uuid, pub KernelColumns);

impl Loader<ContainersOfSession> for Batch {
    type Value = Arc<[Arc<Kernel>]>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[ContainersOfSession]) -> Loaded<ContainersOfSession, Self::Value> {
        // One read per column set (a request has one or two).
        let mut sets: Vec<KernelColumns> = keys.iter().map(|k| k.1).collect();
        sets.sort();
        sets.dedup();
        let mut found = HashMap::new();
        for columns in sets {
            let ids: Vec<Uuid> = keys
                .iter()
                .filter(|k| k.1 == columns)
                .map(|k| k.0)
                .collect();
            let rows = services::sessions::containers_of(&self.db, &ids, columns).await?;
            found.extend(
                rows.into_iter()
                    .map(|(id, v)| (ContainersOfSession(id, columns), shared(v))),
            );
        }
        Ok(found)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DependenciesOfSession(pub Uuid);

impl Loader<DependenciesOfSession> for Batch {
    type Value = Arc<[Arc<SessionRow>]>;
    type Error = Arc<Error>;
    async fn load(
        &self,
        keys: &[DependenciesOfSession],
    ) -> Loaded<DependenciesOfSession, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = services::sessions::dependencies_of(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (DependenciesOfSession(k), shared(v)))
            .collect())
    }
}

/// The sessions of a keypair, with an optional status filter (comma-separated names).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionsOfKeypair(pub String, pub Option<String>);

impl Loader<SessionsOfKeypair> for Batch {
    type Value = Arc<[Arc<SessionRow>]>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[SessionsOfKeypair]) -> Loaded<SessionsOfKeypair, Self::Value> {
        let pairs: Vec<_> = keys.iter().map(|k| (k.0.clone(), k.1.clone())).collect();
        let mut out = HashMap::new();
        for (status, aks) in by_param(&pairs) {
            let statuses = status
                .as_deref()
                .map(services::sessions::parse_statuses)
                .transpose()?;
            let found = services::sessions::of_keypairs(&self.db, &aks, statuses).await?;
            out.extend(
                found
                    .into_iter()
                    .map(|(k, v)| (SessionsOfKeypair(k, status.clone()), shared(v))),
            );
        }
        Ok(out)
    }
}

/// The containers on an agent, with an optional status filter (comma-separated names).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ContainersOfAgent(pub String, pub Option<String>);

impl Loader<ContainersOfAgent> for Batch {
    type Value = Arc<[Arc<Kernel>]>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[ContainersOfAgent]) -> Loaded<ContainersOfAgent, Self::Value> {
        let pairs: Vec<_> = keys.iter().map(|k| (k.0.clone(), k.1.clone())).collect();
        let mut out = HashMap::new();
        for (status, agents) in by_param(&pairs) {
            let statuses = status
                .as_deref()
                .map(services::sessions::parse_statuses)
                .transpose()?;
            let found = services::sessions::containers_on(&self.db, &agents, statuses).await?;
            out.extend(
                found
                    .into_iter()
                    .map(|(k, v)| (ContainersOfAgent(k, status.clone()), shared(v))),
            );
        }
        Ok(out)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VFoldersOfUser(pub Uuid);

impl Loader<VFoldersOfUser> for Batch {
    type Value = Arc<[Arc<vfolders::Model>]>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[VFoldersOfUser]) -> Loaded<VFoldersOfUser, Self::Value> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = services::vfolders::of_users(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (VFoldersOfUser(k), shared(v)))
            .collect())
    }
}

/// A keypair's live query counter (Redis).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NumQueries(pub String);

impl Loader<NumQueries> for Batch {
    type Value = i64;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[NumQueries]) -> Loaded<NumQueries, Self::Value> {
        let aks: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = services::keypairs::num_queries(&self.redis_stat, &aks).await?;
        Ok(found.into_iter().map(|(k, v)| (NumQueries(k), v)).collect())
    }
}

/// The live statistics of an agent (by id) or a kernel (by id) in Redis.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LiveStatOf(pub String);

impl Loader<LiveStatOf> for Batch {
    type Value = Option<Arc<services::live_stats::LiveStat>>;
    type Error = Arc<Error>;
    async fn load(&self, keys: &[LiveStatOf]) -> Loaded<LiveStatOf, Self::Value> {
        let ids: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = self.live_stats.read(&self.redis_stat, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(k, v)| (LiveStatOf(k), Some(v)))
            .collect())
    }
}
