//! `Mutations`: 21.03's 38 admin mutations and their `{ok, msg}` payloads.
//!
//! As in 21.03, a caller without the role gets `ok: false` with `no permission to execute
//! <field>`; invalid input is a GraphQL error; a statement that fails in the database gives
//! `ok: false` with `integrity error: …` or `unexpected error: …`; a key that matches nothing
//! gives `no matching <payload type in lower case>`.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use uuid::Uuid;

use super::domain::Domain;
use super::error::to_gql;
use super::group::Group;
use super::keypair::KeyPair;
use super::policy::{KeyPairResourcePolicy, ResourcePreset};
use super::scalars::{BigInt, JsonString};
use super::scaling_group::ScalingGroup;
use super::user::User;
use super::RequestContext;
use crate::services::domains::{DomainChanges, DomainProps};
use crate::services::groups::{GroupChanges, GroupProps};
use crate::services::keypairs::{KeyPairChanges, KeyPairProps, PolicyProps};
use crate::services::mutation::{db_failure_message, Outcome};
use crate::services::resource_presets::PresetProps;
use crate::services::scaling_groups::{Associate, ScalingGroupProps};
use crate::services::users::{UserChanges, UserProps};
use crate::services::{
    domains, groups, images, keypairs, resource_presets, scaling_groups, users, Error,
};

/// What a mutation reports: `ok`, `msg` and, for some, the object it wrote.
struct Report<T> {
    ok: bool,
    msg: String,
    item: Option<T>,
}

/// Turns a service's answer into the payload of `field` (whose payload type is `class`).
fn report<T>(field: &str, class: &str, result: Result<Outcome<T>, Error>) -> Result<Report<T>> {
    let refused = |msg: String| Report {
        ok: false,
        msg,
        item: None,
    };
    Ok(match result {
        Ok(Outcome::Done(item)) => Report {
            ok: true,
            msg: "success".into(),
            item: Some(item),
        },
        Ok(Outcome::NoMatch) => refused(format!("no matching {}", class.to_lowercase())),
        Ok(Outcome::Refused(msg)) => refused(msg),
        Err(Error::Forbidden(_) | Error::InsufficientPrivilege) => {
            refused(format!("no permission to execute {field}"))
        }
        Err(Error::Database(e)) => refused(db_failure_message(&e)),
        Err(e) => return Err(to_gql(&e)),
    })
}

/// Declares payload types: `{ok, msg}`, plus the written object where 21.03 returns one.
macro_rules! payloads {
    ($($name:ident $({ $field:ident : $ty:ty })?;)*) => {$(
        #[derive(SimpleObject)]
        #[graphql(rename_fields = "snake_case")]
        pub struct $name {
            pub ok: Option<bool>,
            pub msg: Option<String>,
            $(pub $field: Option<$ty>,)?
        }

        impl $name {
            #[allow(unused_variables)]
            fn from_report<T>(r: Report<T>, convert: impl FnOnce(T) -> payloads!(@ty $($ty)?)) -> Self {
                $name {
                    ok: Some(r.ok),
                    msg: Some(r.msg),
                    $($field: r.item.map(convert),)?
                }
            }
        }
    )*};
    (@ty $ty:ty) => { $ty };
    (@ty) => { () };
}

payloads! {
    CreateDomain { domain: Domain };
    ModifyDomain { domain: Domain };
    DeleteDomain;
    PurgeDomain;
    CreateGroup { group: Group };
    ModifyGroup { group: Group };
    DeleteGroup;
    PurgeGroup;
    CreateUser { user: User };
    ModifyUser { user: User };
    DeleteUser;
    PurgeUser;
    CreateKeyPair { keypair: KeyPair };
    ModifyKeyPair;
    DeleteKeyPair;
    ForgetImage;
    AliasImage;
    DealiasImage;
    CreateKeyPairResourcePolicy { resource_policy: KeyPairResourcePolicy };
    ModifyKeyPairResourcePolicy;
    DeleteKeyPairResourcePolicy;
    CreateResourcePreset { resource_preset: ResourcePreset };
    ModifyResourcePreset;
    DeleteResourcePreset;
    CreateScalingGroup { scaling_group: ScalingGroup };
    ModifyScalingGroup;
    DeleteScalingGroup;
    AssociateScalingGroupWithDomain;
    AssociateScalingGroupWithUserGroup;
    AssociateScalingGroupWithKeyPair;
    DisassociateScalingGroupWithDomain;
    DisassociateScalingGroupWithUserGroup;
    DisassociateScalingGroupWithKeyPair;
    DisassociateAllScalingGroupsWithDomain;
    DisassociateAllScalingGroupsWithGroup;
}

/// `rescan_images`: `task_id` names the background task that scans the registries.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct RescanImages {
    pub ok: Option<bool>,
    pub msg: Option<String>,
    pub task_id: Option<Uuid>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PreloadImage {
    pub ok: Option<bool>,
    pub msg: Option<String>,
    pub task_id: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UnloadImage {
    pub ok: Option<bool>,
    pub msg: Option<String>,
    pub task_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DomainInput {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub total_resource_slots: Option<JsonString>,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
    pub allowed_docker_registries: Option<Vec<Option<String>>>,
    pub integration_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyDomainInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub total_resource_slots: Option<JsonString>,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
    pub allowed_docker_registries: Option<Vec<Option<String>>>,
    pub integration_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct GroupInput {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub domain_name: String,
    pub total_resource_slots: Option<JsonString>,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
    pub integration_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyGroupInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub domain_name: Option<String>,
    pub total_resource_slots: Option<JsonString>,
    pub user_update_mode: Option<String>,
    pub user_uuids: Option<Vec<Option<String>>>,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
    pub integration_id: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UserInput {
    pub username: String,
    pub password: String,
    pub need_password_change: bool,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub status: Option<String>,
    pub domain_name: String,
    pub role: Option<String>,
    pub group_ids: Option<Vec<Option<String>>>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyUserInput {
    pub username: Option<String>,
    pub password: Option<String>,
    pub need_password_change: Option<bool>,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub status: Option<String>,
    pub domain_name: Option<String>,
    pub role: Option<String>,
    pub group_ids: Option<Vec<Option<String>>>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct PurgeUserInput {
    pub purge_shared_vfolders: Option<bool>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct KeyPairInput {
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
    pub resource_policy: String,
    /// Ignored: moved to the resource policy's `max_concurrent_sessions`.
    pub concurrency_limit: Option<i32>,
    pub rate_limit: i32,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyKeyPairInput {
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
    pub resource_policy: Option<String>,
    /// Ignored: moved to the resource policy's `max_concurrent_sessions`.
    pub concurrency_limit: Option<i32>,
    pub rate_limit: Option<i32>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateKeyPairResourcePolicyInput {
    pub default_for_unspecified: String,
    pub total_resource_slots: JsonString,
    pub max_concurrent_sessions: i32,
    pub max_containers_per_session: i32,
    pub idle_timeout: BigInt,
    pub max_vfolder_count: i32,
    pub max_vfolder_size: BigInt,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyKeyPairResourcePolicyInput {
    pub default_for_unspecified: Option<String>,
    pub total_resource_slots: Option<JsonString>,
    pub max_concurrent_sessions: Option<i32>,
    pub max_containers_per_session: Option<i32>,
    pub idle_timeout: Option<BigInt>,
    pub max_vfolder_count: Option<i32>,
    pub max_vfolder_size: Option<BigInt>,
    pub allowed_vfolder_hosts: Option<Vec<Option<String>>>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateResourcePresetInput {
    pub resource_slots: JsonString,
    pub shared_memory: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyResourcePresetInput {
    pub resource_slots: Option<JsonString>,
    pub shared_memory: Option<String>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateScalingGroupInput {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub driver: String,
    pub driver_opts: Option<JsonString>,
    pub scheduler: String,
    pub scheduler_opts: Option<JsonString>,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ModifyScalingGroupInput {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub driver: Option<String>,
    pub driver_opts: Option<JsonString>,
    pub scheduler: Option<String>,
    pub scheduler_opts: Option<JsonString>,
}

/// A list of strings as GraphQL gives it (`[String]`: nulls allowed, and dropped here).
fn strings(list: Option<Vec<Option<String>>>) -> Option<Vec<String>> {
    list.map(|l| l.into_iter().flatten().collect())
}

fn json(value: Option<JsonString>) -> Option<serde_json::Value> {
    value.map(JsonString::into_value)
}

fn rc<'a>(ctx: &Context<'a>) -> &'a RequestContext {
    ctx.data_unchecked::<RequestContext>()
}

#[derive(Default)]
pub struct Mutations;

#[Object(
    name = "Mutations",
    rename_fields = "snake_case",
    rename_args = "snake_case"
)]
impl Mutations {
    async fn create_domain(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: DomainInput,
    ) -> Result<Option<CreateDomain>> {
        let rc = rc(ctx);
        let props = DomainProps {
            description: props.description,
            is_active: props.is_active,
            total_resource_slots: json(props.total_resource_slots),
            allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
            allowed_docker_registries: strings(props.allowed_docker_registries),
            integration_id: props.integration_id,
        };
        let r = report(
            "create_domain",
            "CreateDomain",
            domains::create(&rc.state.db, &rc.identity, name, props).await,
        )?;
        Ok(Some(CreateDomain::from_report(r, Domain)))
    }

    async fn modify_domain(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: ModifyDomainInput,
    ) -> Result<Option<ModifyDomain>> {
        let rc = rc(ctx);
        let changes = DomainChanges {
            name: props.name,
            props: DomainProps {
                description: props.description,
                is_active: props.is_active,
                total_resource_slots: json(props.total_resource_slots),
                allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
                allowed_docker_registries: strings(props.allowed_docker_registries),
                integration_id: props.integration_id,
            },
        };
        let r = report(
            "modify_domain",
            "ModifyDomain",
            domains::modify(&rc.state.db, &rc.identity, name, changes).await,
        )?;
        Ok(Some(ModifyDomain::from_report(r, Domain)))
    }

    async fn delete_domain(&self, ctx: &Context<'_>, name: String) -> Result<Option<DeleteDomain>> {
        let rc = rc(ctx);
        let r = report(
            "delete_domain",
            "DeleteDomain",
            domains::delete(&rc.state.db, &rc.identity, name).await,
        )?;
        Ok(Some(DeleteDomain::from_report(r, |_| ())))
    }

    async fn purge_domain(&self, ctx: &Context<'_>, name: String) -> Result<Option<PurgeDomain>> {
        let rc = rc(ctx);
        let r = report(
            "purge_domain",
            "PurgeDomain",
            domains::purge(&rc.state.db, &rc.identity, name).await,
        )?;
        Ok(Some(PurgeDomain::from_report(r, |_| ())))
    }

    async fn create_group(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: GroupInput,
    ) -> Result<Option<CreateGroup>> {
        let rc = rc(ctx);
        let props = GroupProps {
            description: props.description,
            is_active: props.is_active,
            domain_name: props.domain_name,
            total_resource_slots: json(props.total_resource_slots),
            allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
            integration_id: props.integration_id,
        };
        let r = report(
            "create_group",
            "CreateGroup",
            groups::create(&rc.state.db, &rc.identity, name, props).await,
        )?;
        Ok(Some(CreateGroup::from_report(r, Group)))
    }

    async fn modify_group(
        &self,
        ctx: &Context<'_>,
        gid: Uuid,
        props: ModifyGroupInput,
    ) -> Result<Option<ModifyGroup>> {
        let rc = rc(ctx);
        let changes = GroupChanges {
            name: props.name,
            description: props.description,
            is_active: props.is_active,
            domain_name: props.domain_name,
            total_resource_slots: json(props.total_resource_slots),
            allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
            integration_id: props.integration_id,
            user_update_mode: props.user_update_mode,
            user_uuids: strings(props.user_uuids),
        };
        let r = report(
            "modify_group",
            "ModifyGroup",
            groups::modify(&rc.state.db, &rc.identity, gid, changes).await,
        )?;
        // A change of members only reports no group.
        let r = Report {
            ok: r.ok,
            msg: r.msg,
            item: r.item.flatten(),
        };
        Ok(Some(ModifyGroup::from_report(r, Group)))
    }

    async fn delete_group(&self, ctx: &Context<'_>, gid: Uuid) -> Result<Option<DeleteGroup>> {
        let rc = rc(ctx);
        let r = report(
            "delete_group",
            "DeleteGroup",
            groups::delete(&rc.state.db, &rc.identity, gid).await,
        )?;
        Ok(Some(DeleteGroup::from_report(r, |_| ())))
    }

    async fn purge_group(&self, ctx: &Context<'_>, gid: Uuid) -> Result<Option<PurgeGroup>> {
        let rc = rc(ctx);
        let r = report(
            "purge_group",
            "PurgeGroup",
            groups::purge(&rc.state.db, &rc.identity, gid).await,
        )?;
        Ok(Some(PurgeGroup::from_report(r, |_| ())))
    }

    async fn create_user(
        &self,
        ctx: &Context<'_>,
        email: String,
        props: UserInput,
    ) -> Result<Option<CreateUser>> {
        let rc = rc(ctx);
        let props = UserProps {
            username: props.username,
            password: props.password,
            need_password_change: props.need_password_change,
            full_name: props.full_name,
            description: props.description,
            is_active: props.is_active,
            status: props.status,
            domain_name: props.domain_name,
            role: props.role,
            group_ids: strings(props.group_ids),
        };
        let r = report(
            "create_user",
            "CreateUser",
            users::create(&rc.state.db, &rc.identity, email, props).await,
        )?;
        Ok(Some(CreateUser::from_report(r, User::from)))
    }

    async fn modify_user(
        &self,
        ctx: &Context<'_>,
        email: String,
        props: ModifyUserInput,
    ) -> Result<Option<ModifyUser>> {
        let rc = rc(ctx);
        let changes = UserChanges {
            username: props.username,
            password: props.password,
            need_password_change: props.need_password_change,
            full_name: props.full_name,
            description: props.description,
            is_active: props.is_active,
            status: props.status,
            domain_name: props.domain_name,
            role: props.role,
            group_ids: strings(props.group_ids),
        };
        let r = report(
            "modify_user",
            "ModifyUser",
            users::modify(&rc.state.db, &rc.identity, email, changes).await,
        )?;
        Ok(Some(ModifyUser::from_report(r, User::from)))
    }

    async fn delete_user(&self, ctx: &Context<'_>, email: String) -> Result<Option<DeleteUser>> {
        let rc = rc(ctx);
        let r = report(
            "delete_user",
            "DeleteUser",
            users::delete(&rc.state.db, &rc.identity, email).await,
        )?;
        Ok(Some(DeleteUser::from_report(r, |_| ())))
    }

    async fn purge_user(
        &self,
        ctx: &Context<'_>,
        email: String,
        props: PurgeUserInput,
    ) -> Result<Option<PurgeUser>> {
        let rc = rc(ctx);
        // Shared folders are never silently handed over: the user's folders must be gone first.
        let _ = props.purge_shared_vfolders;
        let r = report(
            "purge_user",
            "PurgeUser",
            users::purge(&rc.state.db, &rc.identity, email).await,
        )?;
        Ok(Some(PurgeUser::from_report(r, |_| ())))
    }

    async fn create_keypair(
        &self,
        ctx: &Context<'_>,
        props: KeyPairInput,
        user_id: String,
    ) -> Result<Option<CreateKeyPair>> {
        let rc = rc(ctx);
        let props = KeyPairProps {
            is_active: props.is_active,
            is_admin: props.is_admin,
            resource_policy: props.resource_policy,
            rate_limit: props.rate_limit,
        };
        let r = report(
            "create_keypair",
            "CreateKeyPair",
            keypairs::create(&rc.state.db, &rc.identity, user_id, props).await,
        )?;
        Ok(Some(CreateKeyPair::from_report(r, KeyPair::from)))
    }

    async fn modify_keypair(
        &self,
        ctx: &Context<'_>,
        access_key: String,
        props: ModifyKeyPairInput,
    ) -> Result<Option<ModifyKeyPair>> {
        let rc = rc(ctx);
        let changes = KeyPairChanges {
            is_active: props.is_active,
            is_admin: props.is_admin,
            resource_policy: props.resource_policy,
            rate_limit: props.rate_limit,
        };
        let r = report(
            "modify_keypair",
            "ModifyKeyPair",
            keypairs::modify(&rc.state.db, &rc.identity, access_key, changes).await,
        )?;
        Ok(Some(ModifyKeyPair::from_report(r, |_| ())))
    }

    async fn delete_keypair(
        &self,
        ctx: &Context<'_>,
        access_key: String,
    ) -> Result<Option<DeleteKeyPair>> {
        let rc = rc(ctx);
        let r = report(
            "delete_keypair",
            "DeleteKeyPair",
            keypairs::delete(&rc.state.db, &rc.identity, access_key).await,
        )?;
        Ok(Some(DeleteKeyPair::from_report(r, |_| ())))
    }

    async fn rescan_images(
        &self,
        ctx: &Context<'_>,
        registry: Option<String>,
    ) -> Result<Option<RescanImages>> {
        let rc = rc(ctx);
        let r = report(
            "rescan_images",
            "RescanImages",
            images::rescan(&rc.identity, registry).await,
        )?;
        Ok(Some(RescanImages {
            ok: Some(r.ok),
            msg: Some(r.msg),
            task_id: r.item,
        }))
    }

    async fn preload_image(
        &self,
        ctx: &Context<'_>,
        references: Vec<Option<String>>,
        target_agents: Vec<Option<String>>,
    ) -> Result<Option<PreloadImage>> {
        let rc = rc(ctx);
        let r = report(
            "preload_image",
            "PreloadImage",
            images::preload(
                &rc.identity,
                strings(Some(references)),
                strings(Some(target_agents)),
            )
            .await,
        )?;
        Ok(Some(PreloadImage {
            ok: Some(r.ok),
            msg: Some(r.msg),
            task_id: r.item,
        }))
    }

    async fn unload_image(
        &self,
        ctx: &Context<'_>,
        references: Vec<Option<String>>,
        target_agents: Vec<Option<String>>,
    ) -> Result<Option<UnloadImage>> {
        let rc = rc(ctx);
        let r = report(
            "unload_image",
            "UnloadImage",
            images::unload(
                &rc.identity,
                strings(Some(references)),
                strings(Some(target_agents)),
            )
            .await,
        )?;
        Ok(Some(UnloadImage {
            ok: Some(r.ok),
            msg: Some(r.msg),
            task_id: r.item,
        }))
    }

    async fn forget_image(
        &self,
        ctx: &Context<'_>,
        reference: String,
    ) -> Result<Option<ForgetImage>> {
        let rc = rc(ctx);
        let r = report(
            "forget_image",
            "ForgetImage",
            images::forget(&rc.state.etcd, &rc.identity, &reference).await,
        )?;
        Ok(Some(ForgetImage::from_report(r, |_| ())))
    }

    async fn alias_image(
        &self,
        ctx: &Context<'_>,
        alias: String,
        target: String,
    ) -> Result<Option<AliasImage>> {
        let rc = rc(ctx);
        let r = report(
            "alias_image",
            "AliasImage",
            images::alias(&rc.state.etcd, &rc.identity, &alias, &target).await,
        )?;
        Ok(Some(AliasImage::from_report(r, |_| ())))
    }

    async fn dealias_image(
        &self,
        ctx: &Context<'_>,
        alias: String,
    ) -> Result<Option<DealiasImage>> {
        let rc = rc(ctx);
        let r = report(
            "dealias_image",
            "DealiasImage",
            images::dealias(&rc.state.etcd, &rc.identity, &alias).await,
        )?;
        Ok(Some(DealiasImage::from_report(r, |_| ())))
    }

    async fn create_keypair_resource_policy(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: CreateKeyPairResourcePolicyInput,
    ) -> Result<Option<CreateKeyPairResourcePolicy>> {
        let rc = rc(ctx);
        let props = PolicyProps {
            default_for_unspecified: Some(props.default_for_unspecified),
            total_resource_slots: Some(props.total_resource_slots.into_value()),
            max_concurrent_sessions: Some(props.max_concurrent_sessions),
            max_containers_per_session: Some(props.max_containers_per_session),
            idle_timeout: Some(props.idle_timeout.0),
            max_vfolder_count: Some(props.max_vfolder_count),
            max_vfolder_size: Some(props.max_vfolder_size.0),
            allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
        };
        let r = report(
            "create_keypair_resource_policy",
            "CreateKeyPairResourcePolicy",
            keypairs::create_policy(&rc.state.db, &rc.identity, name, props).await,
        )?;
        Ok(Some(CreateKeyPairResourcePolicy::from_report(
            r,
            KeyPairResourcePolicy,
        )))
    }

    async fn modify_keypair_resource_policy(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: ModifyKeyPairResourcePolicyInput,
    ) -> Result<Option<ModifyKeyPairResourcePolicy>> {
        let rc = rc(ctx);
        let changes = PolicyProps {
            default_for_unspecified: props.default_for_unspecified,
            total_resource_slots: json(props.total_resource_slots),
            max_concurrent_sessions: props.max_concurrent_sessions,
            max_containers_per_session: props.max_containers_per_session,
            idle_timeout: props.idle_timeout.map(|v| v.0),
            max_vfolder_count: props.max_vfolder_count,
            max_vfolder_size: props.max_vfolder_size.map(|v| v.0),
            allowed_vfolder_hosts: strings(props.allowed_vfolder_hosts),
        };
        let r = report(
            "modify_keypair_resource_policy",
            "ModifyKeyPairResourcePolicy",
            keypairs::modify_policy(&rc.state.db, &rc.identity, name, changes).await,
        )?;
        Ok(Some(ModifyKeyPairResourcePolicy::from_report(r, |_| ())))
    }

    async fn delete_keypair_resource_policy(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<Option<DeleteKeyPairResourcePolicy>> {
        let rc = rc(ctx);
        let r = report(
            "delete_keypair_resource_policy",
            "DeleteKeyPairResourcePolicy",
            keypairs::delete_policy(&rc.state.db, &rc.identity, name).await,
        )?;
        Ok(Some(DeleteKeyPairResourcePolicy::from_report(r, |_| ())))
    }

    async fn create_resource_preset(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: CreateResourcePresetInput,
    ) -> Result<Option<CreateResourcePreset>> {
        let rc = rc(ctx);
        let props = PresetProps {
            resource_slots: Some(props.resource_slots.into_value()),
            shared_memory: props.shared_memory,
        };
        let r = report(
            "create_resource_preset",
            "CreateResourcePreset",
            resource_presets::create(&rc.state.db, &rc.identity, name, props).await,
        )?;
        Ok(Some(CreateResourcePreset::from_report(r, ResourcePreset)))
    }

    async fn modify_resource_preset(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: ModifyResourcePresetInput,
    ) -> Result<Option<ModifyResourcePreset>> {
        let rc = rc(ctx);
        let changes = PresetProps {
            resource_slots: json(props.resource_slots),
            shared_memory: props.shared_memory,
        };
        let r = report(
            "modify_resource_preset",
            "ModifyResourcePreset",
            resource_presets::modify(&rc.state.db, &rc.identity, name, changes).await,
        )?;
        Ok(Some(ModifyResourcePreset::from_report(r, |_| ())))
    }

    async fn delete_resource_preset(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<Option<DeleteResourcePreset>> {
        let rc = rc(ctx);
        let r = report(
            "delete_resource_preset",
            "DeleteResourcePreset",
            resource_presets::delete(&rc.state.db, &rc.identity, name).await,
        )?;
        Ok(Some(DeleteResourcePreset::from_report(r, |_| ())))
    }

    async fn create_scaling_group(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: CreateScalingGroupInput,
    ) -> Result<Option<CreateScalingGroup>> {
        let rc = rc(ctx);
        let props = ScalingGroupProps {
            description: props.description,
            is_active: props.is_active,
            driver: Some(props.driver),
            driver_opts: json(props.driver_opts),
            scheduler: Some(props.scheduler),
            scheduler_opts: json(props.scheduler_opts),
        };
        let r = report(
            "create_scaling_group",
            "CreateScalingGroup",
            scaling_groups::create(&rc.state.db, &rc.identity, name, props).await,
        )?;
        Ok(Some(CreateScalingGroup::from_report(r, ScalingGroup)))
    }

    async fn modify_scaling_group(
        &self,
        ctx: &Context<'_>,
        name: String,
        props: ModifyScalingGroupInput,
    ) -> Result<Option<ModifyScalingGroup>> {
        let rc = rc(ctx);
        let changes = ScalingGroupProps {
            description: props.description,
            is_active: props.is_active,
            driver: props.driver,
            driver_opts: json(props.driver_opts),
            scheduler: props.scheduler,
            scheduler_opts: json(props.scheduler_opts),
        };
        let r = report(
            "modify_scaling_group",
            "ModifyScalingGroup",
            scaling_groups::modify(&rc.state.db, &rc.identity, name, changes).await,
        )?;
        Ok(Some(ModifyScalingGroup::from_report(r, |_| ())))
    }

    async fn delete_scaling_group(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> Result<Option<DeleteScalingGroup>> {
        let rc = rc(ctx);
        let r = report(
            "delete_scaling_group",
            "DeleteScalingGroup",
            scaling_groups::delete(&rc.state.db, &rc.identity, name).await,
        )?;
        Ok(Some(DeleteScalingGroup::from_report(r, |_| ())))
    }

    async fn associate_scaling_group_with_domain(
        &self,
        ctx: &Context<'_>,
        domain: String,
        scaling_group: String,
    ) -> Result<Option<AssociateScalingGroupWithDomain>> {
        let rc = rc(ctx);
        let r = report(
            "associate_scaling_group_with_domain",
            "AssociateScalingGroupWithDomain",
            scaling_groups::associate(
                &rc.state.db,
                &rc.identity,
                scaling_group,
                Associate::Domain(domain),
            )
            .await,
        )?;
        Ok(Some(AssociateScalingGroupWithDomain::from_report(
            r,
            |_| (),
        )))
    }

    async fn associate_scaling_group_with_user_group(
        &self,
        ctx: &Context<'_>,
        scaling_group: String,
        user_group: Uuid,
    ) -> Result<Option<AssociateScalingGroupWithUserGroup>> {
        let rc = rc(ctx);
        let r = report(
            "associate_scaling_group_with_user_group",
            "AssociateScalingGroupWithUserGroup",
            scaling_groups::associate(
                &rc.state.db,
                &rc.identity,
                scaling_group,
                Associate::Group(user_group),
            )
            .await,
        )?;
        Ok(Some(AssociateScalingGroupWithUserGroup::from_report(
            r,
            |_| (),
        )))
    }

    async fn associate_scaling_group_with_keypair(
        &self,
        ctx: &Context<'_>,
        access_key: String,
        scaling_group: String,
    ) -> Result<Option<AssociateScalingGroupWithKeyPair>> {
        let rc = rc(ctx);
        let r = report(
            "associate_scaling_group_with_keypair",
            "AssociateScalingGroupWithKeyPair",
            scaling_groups::associate(
                &rc.state.db,
                &rc.identity,
                scaling_group,
                Associate::KeyPair(access_key),
            )
            .await,
        )?;
        Ok(Some(AssociateScalingGroupWithKeyPair::from_report(
            r,
            |_| (),
        )))
    }

    async fn disassociate_scaling_group_with_domain(
        &self,
        ctx: &Context<'_>,
        domain: String,
        scaling_group: String,
    ) -> Result<Option<DisassociateScalingGroupWithDomain>> {
        let rc = rc(ctx);
        let r = report(
            "disassociate_scaling_group_with_domain",
            "DisassociateScalingGroupWithDomain",
            scaling_groups::disassociate(
                &rc.state.db,
                &rc.identity,
                Some(scaling_group),
                Associate::Domain(domain),
            )
            .await,
        )?;
        Ok(Some(DisassociateScalingGroupWithDomain::from_report(
            r,
            |_| (),
        )))
    }

    async fn disassociate_scaling_group_with_user_group(
        &self,
        ctx: &Context<'_>,
        scaling_group: String,
        user_group: Uuid,
    ) -> Result<Option<DisassociateScalingGroupWithUserGroup>> {
        let rc = rc(ctx);
        let r = report(
            "disassociate_scaling_group_with_user_group",
            "DisassociateScalingGroupWithUserGroup",
            scaling_groups::disassociate(
                &rc.state.db,
                &rc.identity,
                Some(scaling_group),
                Associate::Group(user_group),
            )
            .await,
        )?;
        Ok(Some(DisassociateScalingGroupWithUserGroup::from_report(
            r,
            |_| (),
        )))
    }

    async fn disassociate_scaling_group_with_keypair(
        &self,
        ctx: &Context<'_>,
        access_key: String,
        scaling_group: String,
    ) -> Result<Option<DisassociateScalingGroupWithKeyPair>> {
        let rc = rc(ctx);
        let r = report(
            "disassociate_scaling_group_with_keypair",
            "DisassociateScalingGroupWithKeyPair",
            scaling_groups::disassociate(
                &rc.state.db,
                &rc.identity,
                Some(scaling_group),
                Associate::KeyPair(access_key),
            )
            .await,
        )?;
        Ok(Some(DisassociateScalingGroupWithKeyPair::from_report(
            r,
            |_| (),
        )))
    }

    async fn disassociate_all_scaling_groups_with_domain(
        &self,
        ctx: &Context<'_>,
        domain: String,
    ) -> Result<Option<DisassociateAllScalingGroupsWithDomain>> {
        let rc = rc(ctx);
        let r = report(
            "disassociate_all_scaling_groups_with_domain",
            "DisassociateAllScalingGroupsWithDomain",
            scaling_groups::disassociate(
                &rc.state.db,
                &rc.identity,
                None,
                Associate::Domain(domain),
            )
            .await,
        )?;
        Ok(Some(DisassociateAllScalingGroupsWithDomain::from_report(
            r,
            |_| (),
        )))
    }

    async fn disassociate_all_scaling_groups_with_group(
        &self,
        ctx: &Context<'_>,
        user_group: Uuid,
    ) -> Result<Option<DisassociateAllScalingGroupsWithGroup>> {
        let rc = rc(ctx);
        let r = report(
            "disassociate_all_scaling_groups_with_group",
            "DisassociateAllScalingGroupsWithGroup",
            scaling_groups::disassociate(
                &rc.state.db,
                &rc.identity,
                None,
                Associate::Group(user_group),
            )
            .await,
        )?;
        Ok(Some(DisassociateAllScalingGroupsWithGroup::from_report(
            r,
            |_| (),
        )))
    }
}
