//! `Queries`: the 36 root fields of 21.03, each an adapter over one service call.

use async_graphql::{Context, Object, Result, ID};
use uuid::Uuid;

use super::agent::{Agent, AgentList};
use super::domain::Domain;
use super::error::{to_gql, OrGql};
use super::group::Group;
use super::image::Image;
use super::keypair::{KeyPair, KeyPairList};
use super::policy::{KeyPairResourcePolicy, ResourcePreset};
use super::scaling_group::ScalingGroup;
use super::session::{
    page_columns, ComputeContainer, ComputeContainerList, ComputeSession, ComputeSessionList,
    LegacyComputeSession, LegacyComputeSessionList,
};
use super::storage::{StorageVolume, StorageVolumeList};
use super::user::{User, UserList};
use super::vfolder::{VirtualFolder, VirtualFolderList};
use super::RequestContext;
use crate::services::listing::PageRequest;
use crate::services::sessions::SessionFilter;
use crate::services::vfolders::VFolderFilter;
use crate::services::{
    agents, domains, groups, images, keypairs, resource_presets, scaling_groups, scope, sessions,
    users, vfolders, Error,
};

#[derive(Default)]
pub struct Queries;

fn rc<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

fn list<T, U: From<T>>(rows: Vec<T>) -> Option<Vec<Option<U>>> {
    Some(rows.into_iter().map(|r| Some(r.into())).collect())
}

/// Storage volumes are read from the storage proxies, which a later release of this manager
/// connects.
fn not_connected(what: &str) -> async_graphql::Error {
    to_gql(&Error::Unavailable(format!(
        "{what} are not served by this manager yet"
    )))
}

#[Object(
    name = "Queries",
    rename_fields = "snake_case",
    rename_args = "snake_case"
)]
impl Queries {
    async fn agent(&self, ctx: &Context<'_>, agent_id: String) -> Result<Option<Agent>> {
        let rc = rc(ctx);
        Ok(agents::get(&rc.state.db, &rc.identity, &agent_id)
            .await
            .gql()?
            .map(Agent::from))
    }

    #[allow(clippy::too_many_arguments)]
    async fn agent_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        scaling_group: Option<String>,
        status: Option<String>,
    ) -> Result<Option<AgentList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let found = agents::page(&rc.state.db, &rc.identity, &page, scaling_group, status)
            .await
            .gql()?;
        Ok(Some(AgentList::new(found)))
    }

    async fn agents(
        &self,
        ctx: &Context<'_>,
        scaling_group: Option<String>,
        status: Option<String>,
    ) -> Result<Option<Vec<Option<Agent>>>> {
        let rc = rc(ctx);
        Ok(list(
            agents::list(&rc.state.db, &rc.identity, scaling_group, status)
                .await
                .gql()?,
        ))
    }

    async fn domain(&self, ctx: &Context<'_>, name: Option<String>) -> Result<Option<Domain>> {
        let rc = rc(ctx);
        Ok(domains::get(&rc.state.db, &rc.identity, name)
            .await
            .gql()?
            .map(Domain))
    }

    async fn domains(
        &self,
        ctx: &Context<'_>,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<Domain>>>> {
        let rc = rc(ctx);
        let rows = domains::list(&rc.state.db, &rc.identity, is_active)
            .await
            .gql()?;
        Ok(Some(rows.into_iter().map(|d| Some(Domain(d))).collect()))
    }

    async fn group(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        domain_name: Option<String>,
    ) -> Result<Option<Group>> {
        let rc = rc(ctx);
        Ok(groups::get(&rc.state.db, &rc.identity, id, domain_name)
            .await
            .gql()?
            .map(Group))
    }

    async fn groups_by_name(
        &self,
        ctx: &Context<'_>,
        name: String,
        domain_name: Option<String>,
    ) -> Result<Option<Vec<Option<Group>>>> {
        let rc = rc(ctx);
        let rows = groups::by_name(&rc.state.db, &rc.identity, name, domain_name)
            .await
            .gql()?;
        Ok(Some(rows.into_iter().map(|g| Some(Group(g))).collect()))
    }

    async fn groups(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<Group>>>> {
        let rc = rc(ctx);
        let rows = groups::list(&rc.state.db, &rc.identity, domain_name, is_active)
            .await
            .gql()?;
        Ok(Some(rows.into_iter().map(|g| Some(Group(g))).collect()))
    }

    async fn image(&self, ctx: &Context<'_>, reference: String) -> Result<Option<Image>> {
        let rc = rc(ctx);
        let found = images::get(&rc.image_sources(), &rc.identity, &reference)
            .await
            .gql()?;
        Ok(Some(found.into()))
    }

    async fn images(
        &self,
        ctx: &Context<'_>,
        is_installed: Option<bool>,
        is_operation: Option<bool>,
    ) -> Result<Option<Vec<Option<Image>>>> {
        let rc = rc(ctx);
        let found = images::list(
            &rc.image_sources(),
            &rc.identity,
            is_installed,
            is_operation,
        )
        .await
        .gql()?;
        Ok(list(found))
    }

    async fn user(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        email: Option<String>,
    ) -> Result<Option<User>> {
        let rc = rc(ctx);
        Ok(
            users::by_email(&rc.state.db, &rc.identity, domain_name, email)
                .await
                .gql()?
                .map(User::from),
        )
    }

    async fn user_from_uuid(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        user_id: Option<ID>,
    ) -> Result<Option<User>> {
        let rc = rc(ctx);
        let found = users::by_uuid(
            &rc.state.db,
            &rc.identity,
            domain_name,
            user_id.as_ref().map(|id| id.as_str()),
        )
        .await
        .gql()?;
        Ok(found.map(User::from))
    }

    async fn users(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        group_id: Option<Uuid>,
        is_active: Option<bool>,
        status: Option<String>,
    ) -> Result<Option<Vec<Option<User>>>> {
        let rc = rc(ctx);
        Ok(list(
            users::list(
                &rc.state.db,
                &rc.identity,
                domain_name,
                group_id,
                is_active,
                status,
            )
            .await
            .gql()?,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn user_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        domain_name: Option<String>,
        group_id: Option<Uuid>,
        is_active: Option<bool>,
        status: Option<String>,
    ) -> Result<Option<UserList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let found = users::page(
            &rc.state.db,
            &rc.identity,
            &page,
            domain_name,
            group_id,
            is_active,
            status,
        )
        .await
        .gql()?;
        Ok(Some(UserList::new(found)))
    }

    async fn keypair(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        access_key: Option<String>,
    ) -> Result<Option<KeyPair>> {
        let rc = rc(ctx);
        let found = keypairs::get(&rc.state.db, &rc.identity, domain_name, access_key)
            .await
            .gql()?;
        Ok(found.map(KeyPair::from))
    }

    async fn keypairs(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        email: Option<String>,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<KeyPair>>>> {
        let rc = rc(ctx);
        Ok(list(
            keypairs::list(&rc.state.db, &rc.identity, domain_name, email, is_active)
                .await
                .gql()?,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn keypair_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        domain_name: Option<String>,
        email: Option<String>,
        is_active: Option<bool>,
    ) -> Result<Option<KeyPairList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let found = keypairs::page(
            &rc.state.db,
            &rc.identity,
            &page,
            domain_name,
            email,
            is_active,
        )
        .await
        .gql()?;
        Ok(Some(KeyPairList::new(found)))
    }

    async fn keypair_resource_policy(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
    ) -> Result<Option<KeyPairResourcePolicy>> {
        let rc = rc(ctx);
        Ok(keypairs::policy(&rc.state.db, &rc.identity, name)
            .await
            .gql()?
            .map(KeyPairResourcePolicy))
    }

    async fn keypair_resource_policies(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Vec<Option<KeyPairResourcePolicy>>>> {
        let rc = rc(ctx);
        let rows = keypairs::policies(&rc.state.db, &rc.identity).await.gql()?;
        Ok(Some(
            rows.into_iter()
                .map(|p| Some(KeyPairResourcePolicy(p)))
                .collect(),
        ))
    }

    async fn resource_preset(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
    ) -> Result<Option<ResourcePreset>> {
        let rc = rc(ctx);
        Ok(resource_presets::get(&rc.state.db, name)
            .await
            .gql()?
            .map(ResourcePreset))
    }

    async fn resource_presets(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<Vec<Option<ResourcePreset>>>> {
        let rc = rc(ctx);
        let rows = resource_presets::list(&rc.state.db).await.gql()?;
        Ok(Some(
            rows.into_iter().map(|p| Some(ResourcePreset(p))).collect(),
        ))
    }

    async fn scaling_group(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
    ) -> Result<Option<ScalingGroup>> {
        let rc = rc(ctx);
        Ok(scaling_groups::get(&rc.state.db, &rc.identity, name)
            .await
            .gql()?
            .map(ScalingGroup))
    }

    async fn scaling_groups(
        &self,
        ctx: &Context<'_>,
        name: Option<String>,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<ScalingGroup>>>> {
        let rc = rc(ctx);
        let rows = scaling_groups::list(&rc.state.db, &rc.identity, name, is_active)
            .await
            .gql()?;
        Ok(Some(
            rows.into_iter().map(|s| Some(ScalingGroup(s))).collect(),
        ))
    }

    async fn scaling_groups_for_domain(
        &self,
        ctx: &Context<'_>,
        domain: String,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<ScalingGroup>>>> {
        let rc = rc(ctx);
        let rows = scaling_groups::for_domain(&rc.state.db, &rc.identity, domain, is_active)
            .await
            .gql()?;
        Ok(Some(
            rows.into_iter().map(|s| Some(ScalingGroup(s))).collect(),
        ))
    }

    async fn scaling_groups_for_user_group(
        &self,
        ctx: &Context<'_>,
        user_group: String,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<ScalingGroup>>>> {
        let rc = rc(ctx);
        let rows = scaling_groups::for_group(&rc.state.db, &rc.identity, &user_group, is_active)
            .await
            .gql()?;
        Ok(Some(
            rows.into_iter().map(|s| Some(ScalingGroup(s))).collect(),
        ))
    }

    async fn scaling_groups_for_keypair(
        &self,
        ctx: &Context<'_>,
        access_key: String,
        is_active: Option<bool>,
    ) -> Result<Option<Vec<Option<ScalingGroup>>>> {
        let rc = rc(ctx);
        let rows = scaling_groups::for_keypair(&rc.state.db, &rc.identity, access_key, is_active)
            .await
            .gql()?;
        Ok(Some(
            rows.into_iter().map(|s| Some(ScalingGroup(s))).collect(),
        ))
    }

    async fn storage_volume(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
    ) -> Result<Option<StorageVolume>> {
        scope::require_superadmin(&rc(ctx).identity).gql()?;
        let _ = id;
        Err(not_connected("storage volumes"))
    }

    async fn storage_volume_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
    ) -> Result<Option<StorageVolumeList>> {
        scope::require_superadmin(&rc(ctx).identity).gql()?;
        let _ = (limit, offset, filter, order);
        Err(not_connected("storage volumes"))
    }

    #[allow(clippy::too_many_arguments)]
    async fn vfolder_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        domain_name: Option<String>,
        group_id: Option<Uuid>,
        access_key: Option<String>,
    ) -> Result<Option<VirtualFolderList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let filter = VFolderFilter {
            domain_name,
            group_id: group_id.map(|g| g.to_string()),
            access_key,
        };
        let found = vfolders::page(&rc.state.db, &rc.identity, &page, filter)
            .await
            .gql()?;
        Ok(Some(VirtualFolderList::new(found)))
    }

    async fn vfolders(
        &self,
        ctx: &Context<'_>,
        domain_name: Option<String>,
        group_id: Option<String>,
        access_key: Option<String>,
    ) -> Result<Option<Vec<Option<VirtualFolder>>>> {
        let rc = rc(ctx);
        let filter = VFolderFilter {
            domain_name,
            group_id,
            access_key,
        };
        Ok(list(
            vfolders::list(&rc.state.db, &rc.identity, filter)
                .await
                .gql()?,
        ))
    }

    async fn compute_session(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<ComputeSession>> {
        let rc = rc(ctx);
        Ok(sessions::get(&rc.state.db, &rc.identity, id)
            .await
            .gql()?
            .map(ComputeSession::from))
    }

    async fn compute_container(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<ComputeContainer>> {
        let rc = rc(ctx);
        let found = sessions::container(&rc.state.db, &rc.identity, id)
            .await
            .gql()?;
        Ok(found.map(|k| ComputeContainer::new(ctx, k)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn compute_session_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        domain_name: Option<String>,
        group_id: Option<String>,
        access_key: Option<String>,
        status: Option<String>,
    ) -> Result<Option<ComputeSessionList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let filter = SessionFilter {
            domain_name,
            group_id,
            access_key,
            status,
        };
        let columns = page_columns(ctx.field());
        let found = sessions::page(
            &rc.state.db,
            &rc.identity,
            &page,
            filter,
            rc.hide_agents(),
            columns,
        )
        .await
        .gql()?;
        Ok(Some(ComputeSessionList::new(found, columns)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn compute_container_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        filter: Option<String>,
        order: Option<String>,
        session_id: ID,
        role: Option<String>,
    ) -> Result<Option<ComputeContainerList>> {
        let rc = rc(ctx);
        let page = PageRequest::new(limit, offset, filter, order);
        let (rows, total_count) = sessions::container_page(
            &rc.state.db,
            &rc.identity,
            &page,
            &session_id,
            role,
            rc.hide_agents(),
        )
        .await
        .gql()?;
        Ok(Some(ComputeContainerList {
            items: rows
                .into_iter()
                .map(|k| ComputeContainer::new(ctx, k))
                .collect(),
            total_count,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn legacy_compute_session_list(
        &self,
        ctx: &Context<'_>,
        limit: i32,
        offset: i32,
        order_key: Option<String>,
        order_asc: Option<bool>,
        domain_name: Option<String>,
        group_id: Option<String>,
        access_key: Option<String>,
        status: Option<String>,
    ) -> Result<Option<LegacyComputeSessionList>> {
        let rc = rc(ctx);
        let filter = SessionFilter {
            domain_name,
            group_id,
            access_key,
            status,
        };
        let (rows, total_count) = sessions::legacy_page(
            &rc.state.db,
            &rc.identity,
            limit,
            offset,
            order_key,
            order_asc.unwrap_or(true),
            filter,
        )
        .await
        .gql()?;
        Ok(Some(LegacyComputeSessionList {
            items: rows
                .into_iter()
                .map(|s| LegacyComputeSession::new(ctx, s))
                .collect(),
            total_count,
        }))
    }

    async fn legacy_compute_session(
        &self,
        ctx: &Context<'_>,
        sess_id: String,
        domain_name: Option<String>,
        access_key: Option<String>,
    ) -> Result<Option<LegacyComputeSession>> {
        let rc = rc(ctx);
        let found = sessions::legacy_get(
            &rc.state.db,
            &rc.identity,
            &sess_id,
            domain_name,
            access_key,
        )
        .await
        .gql()?;
        Ok(found.map(|s| LegacyComputeSession::new(ctx, s)))
    }
}
