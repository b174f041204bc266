//! Groups (projects): reads and the admin mutations.

use entities::enums::UserRole;
use entities::{association_groups_users, groups, kernels, vfolders};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::auth::Identity;
use super::mutation::{check_slug, insert_one, json_of, slots_input, Outcome, EMPTY_DOTFILES};
use super::scope::own_domain;
use super::sessions::ACTIVE_STATUSES;
use super::{Error, Result};
use crate::db::{self, RetryPolicy};

/// The domain a group read is limited to: superadmins as asked; admins and users their own
/// (another is `InsufficientPrivilege`); monitors may not read groups.
fn readable_domain(caller: &Identity, domain_name: Option<String>) -> Result<Option<String>> {
    match caller.role {
        UserRole::Superadmin => Ok(domain_name),
        UserRole::Admin | UserRole::User => {
            own_domain(caller, domain_name, Error::InsufficientPrivilege)
        }
        UserRole::Monitor => Err(Error::unknown_role()),
    }
}

/// A group as REST parameters name it: by id when the text is a UUID, else by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Id(Uuid),
    Name(String),
}

impl GroupRef {
    pub fn parse(raw: &str) -> GroupRef {
        match Uuid::parse_str(raw.trim()) {
            Ok(id) => GroupRef::Id(id),
            Err(_) => GroupRef::Name(raw.to_owned()),
        }
    }
}

/// The id and domain of the group `group` names within `domain` (any domain for an id when
/// `domain` is `None`).
pub async fn resolve(
    db: &impl sea_orm::ConnectionTrait,
    domain: Option<&str>,
    group: &GroupRef,
) -> Result<Option<(Uuid, String)>> {
    let mut q = groups::Entity::find()
        .select_only()
        .columns([groups::Column::Id, groups::Column::DomainName]);
    q = match group {
        GroupRef::Id(id) => q.filter(groups::Column::Id.eq(*id)),
        GroupRef::Name(name) => q.filter(groups::Column::Name.eq(name.as_str())),
    };
    if let Some(domain) = domain {
        q = q.filter(groups::Column::DomainName.eq(domain));
    }
    Ok(q.into_tuple().one(db).await?)
}

/// Whether `user` belongs to `group`.
pub async fn is_member(
    db: &impl sea_orm::ConnectionTrait,
    user: Uuid,
    group: Uuid,
) -> Result<bool> {
    Ok(association_groups_users::Entity::find()
        .filter(association_groups_users::Column::UserId.eq(user))
        .filter(association_groups_users::Column::GroupId.eq(group))
        .count(db)
        .await?
        > 0)
}

/// The ids of the groups `user` belongs to.
async fn memberships(db: &DatabaseConnection, user: Uuid) -> Result<Vec<Uuid>> {
    Ok(association_groups_users::Entity::find()
        .select_only()
        .column(association_groups_users::Column::GroupId)
        .filter(association_groups_users::Column::UserId.eq(user))
        .into_tuple()
        .all(db)
        .await?)
}

/// `group(id, domain_name)`: users may read only groups they belong to.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    id: Uuid,
    domain_name: Option<String>,
) -> Result<Option<groups::Model>> {
    let domain_name = readable_domain(caller, domain_name)?;
    let mut q = groups::Entity::find_by_id(id);
    if let Some(d) = domain_name {
        q = q.filter(groups::Column::DomainName.eq(d));
    }
    let group = q.one(db).await?;
    if caller.role == UserRole::User {
        if let Some(g) = &group {
            if !memberships(db, caller.user_uuid).await?.contains(&g.id) {
                return Err(Error::InsufficientPrivilege);
            }
        }
    }
    Ok(group)
}

/// `groups_by_name(name, domain_name)`: users see only the groups they belong to.
pub async fn by_name(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    domain_name: Option<String>,
) -> Result<Vec<groups::Model>> {
    let domain_name = readable_domain(caller, domain_name)?;
    let mut q = groups::Entity::find().filter(groups::Column::Name.eq(name));
    if let Some(d) = domain_name {
        q = q.filter(groups::Column::DomainName.eq(d));
    }
    if caller.role == UserRole::User {
        q = q.filter(groups::Column::Id.is_in(memberships(db, caller.user_uuid).await?));
    }
    Ok(q.order_by_asc(groups::Column::DomainName).all(db).await?)
}

/// `groups(domain_name, is_active)`: users get the groups they belong to.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    is_active: Option<bool>,
) -> Result<Vec<groups::Model>> {
    let domain_name = readable_domain(caller, domain_name)?;
    let mut q = groups::Entity::find();
    if caller.role == UserRole::User {
        // 21.03 gives users their own groups whatever the filters say.
        q = q.filter(groups::Column::Id.is_in(memberships(db, caller.user_uuid).await?));
    } else {
        if let Some(d) = domain_name {
            q = q.filter(groups::Column::DomainName.eq(d));
        }
        if let Some(active) = is_active {
            q = q.filter(groups::Column::IsActive.eq(active));
        }
    }
    Ok(q.order_by_asc(groups::Column::DomainName)
        .order_by_asc(groups::Column::Name)
        .all(db)
        .await?)
}

/// The properties of a new group (`GroupInput`); omitted ones take the declared defaults.
#[derive(Debug, Clone, Default)]
pub struct GroupProps {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub domain_name: String,
    pub total_resource_slots: Option<serde_json::Value>,
    pub allowed_vfolder_hosts: Option<Vec<String>>,
    pub integration_id: Option<String>,
}

/// How `modify_group` changes the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberUpdate {
    Add,
    Remove,
}

/// What `modify_group` changes (`ModifyGroupInput`); `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub domain_name: Option<String>,
    pub total_resource_slots: Option<serde_json::Value>,
    pub allowed_vfolder_hosts: Option<Vec<String>>,
    pub integration_id: Option<String>,
    pub user_update_mode: Option<String>,
    pub user_uuids: Option<Vec<String>>,
}

/// Admins act on the groups of their own domain; superadmins on any.
async fn require_group_admin(db: &DatabaseConnection, caller: &Identity, gid: Uuid) -> Result<()> {
    match caller.role {
        UserRole::Superadmin => Ok(()),
        UserRole::Admin => {
            let in_domain = groups::Entity::find_by_id(gid)
                .filter(groups::Column::DomainName.eq(caller.domain_name.clone()))
                .count(db)
                .await?;
            if in_domain > 0 {
                Ok(())
            } else {
                Err(Error::Forbidden(None))
            }
        }
        _ => Err(Error::Forbidden(None)),
    }
}

/// `create_group` (admins in their domain, superadmins).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    props: GroupProps,
) -> Result<Outcome<groups::Model>> {
    match caller.role {
        UserRole::Superadmin => {}
        UserRole::Admin if caller.domain_name.as_deref() == Some(props.domain_name.as_str()) => {}
        _ => return Err(Error::Forbidden(None)),
    }
    check_slug(&name)?;
    let total = props
        .total_resource_slots
        .as_ref()
        .map(|v| slots_input(v, "total_resource_slots"))
        .transpose()?;
    let row = groups::ActiveModel {
        name: Set(name),
        description: Set(props.description.clone()),
        is_active: Set(Some(props.is_active.unwrap_or(true))),
        domain_name: Set(props.domain_name.clone()),
        total_resource_slots: Set(Some(total.unwrap_or_default())),
        allowed_vfolder_hosts: Set(props.allowed_vfolder_hosts.clone().unwrap_or_default()),
        integration_id: Set(props.integration_id.clone()),
        dotfiles: Set(EMPTY_DOTFILES.to_vec()),
        ..Default::default()
    };
    insert_one(db, row).await
}

/// `modify_group`: its columns and, with `user_update_mode`, its members. The group comes back
/// when a column changed (`None` for a change of members only).
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    gid: Uuid,
    changes: GroupChanges,
) -> Result<Outcome<Option<groups::Model>>> {
    require_group_admin(db, caller, gid).await?;
    if let Some(name) = &changes.name {
        check_slug(name)?;
    }
    let mode = match changes.user_update_mode.as_deref() {
        None => None,
        Some("add") => Some(MemberUpdate::Add),
        Some("remove") => Some(MemberUpdate::Remove),
        Some(_) => return Err(Error::InvalidInput("invalid user_update_mode".into())),
    };
    let members: Vec<Uuid> = changes
        .user_uuids
        .iter()
        .flatten()
        .map(|u| {
            Uuid::parse_str(u)
                .map_err(|_| Error::InvalidInput(format!("user_uuids: {u:?} is not a UUID")))
        })
        .collect::<Result<_>>()?;
    let mode = if members.is_empty() { None } else { mode };
    let mut sets: Vec<(groups::Column, Expr)> = Vec::new();
    let mut set = |col: groups::Column, value: Expr| sets.push((col, value));
    if let Some(v) = &changes.name {
        set(groups::Column::Name, Expr::value(v.clone()));
    }
    if let Some(v) = &changes.description {
        set(groups::Column::Description, Expr::value(v.clone()));
    }
    if let Some(v) = changes.is_active {
        set(groups::Column::IsActive, Expr::value(v));
    }
    if let Some(v) = &changes.domain_name {
        set(groups::Column::DomainName, Expr::value(v.clone()));
    }
    if let Some(v) = &changes.total_resource_slots {
        set(
            groups::Column::TotalResourceSlots,
            Expr::value(json_of(&slots_input(v, "total_resource_slots")?)),
        );
    }
    if let Some(v) = &changes.allowed_vfolder_hosts {
        set(groups::Column::AllowedVfolderHosts, Expr::value(v.clone()));
    }
    if let Some(v) = &changes.integration_id {
        set(groups::Column::IntegrationId, Expr::value(v.clone()));
    }
    let columns = sets.len();
    if columns == 0 && mode.is_none() {
        return Ok(Outcome::Refused("nothing to update".into()));
    }
    let update = sets.into_iter().fold(
        groups::Entity::update_many()
            .filter(groups::Column::Id.eq(gid))
            .col_expr(groups::Column::ModifiedAt, Expr::current_timestamp()),
        |update, (col, value)| update.col_expr(col, value),
    );
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (update, members) = (update.clone(), members.clone());
        Box::pin(async move {
            match mode {
                Some(MemberUpdate::Add) => {
                    let rows = members
                        .iter()
                        .map(|u| association_groups_users::ActiveModel {
                            user_id: Set(*u),
                            group_id: Set(gid),
                        });
                    association_groups_users::Entity::insert_many(rows)
                        .exec(txn)
                        .await?;
                }
                Some(MemberUpdate::Remove) => {
                    association_groups_users::Entity::delete_many()
                        .filter(association_groups_users::Column::GroupId.eq(gid))
                        .filter(association_groups_users::Column::UserId.is_in(members))
                        .exec(txn)
                        .await?;
                }
                None => {}
            }
            if columns == 0 {
                return Ok(Outcome::Done(None));
            }
            let rows = update.exec_with_returning(txn).await?;
            Ok::<_, Error>(match rows.into_iter().next() {
                Some(row) => Outcome::Done(Some(row)),
                None => Outcome::Refused("no such group".into()),
            })
        })
    })
    .await
}

/// `delete_group`: deactivates it and drops its integration id.
pub async fn delete(db: &DatabaseConnection, caller: &Identity, gid: Uuid) -> Result<Outcome<()>> {
    require_group_admin(db, caller, gid).await?;
    let update = groups::Entity::update_many()
        .col_expr(groups::Column::IsActive, Expr::value(false))
        .col_expr(
            groups::Column::IntegrationId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(groups::Column::ModifiedAt, Expr::current_timestamp())
        .filter(groups::Column::Id.eq(gid));
    let result = db::serializable(db, RetryPolicy::default(), move |txn| {
        let update = update.clone();
        Box::pin(async move { Ok::<_, Error>(update.exec(txn).await?) })
    })
    .await?;
    Ok(if result.rows_affected > 0 {
        Outcome::Done(())
    } else {
        Outcome::NoMatch
    })
}

/// `purge_group`: removes a group without active sessions, with its finished sessions.
/// Group folders must be removed first (their storage lives behind the storage proxies).
pub async fn purge(db: &DatabaseConnection, caller: &Identity, gid: Uuid) -> Result<Outcome<()>> {
    require_group_admin(db, caller, gid).await?;
    db::serializable(db, RetryPolicy::default(), move |txn| {
        Box::pin(async move {
            let active = kernels::Entity::find()
                .filter(kernels::Column::GroupId.eq(gid))
                .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().copied()))
                .count(txn)
                .await?;
            if active > 0 {
                return Ok(Outcome::Refused(
                    "Group has some active session. Terminate them first to proceed removal."
                        .into(),
                ));
            }
            let folders = vfolders::Entity::find()
                .filter(vfolders::Column::Group.eq(gid))
                .count(txn)
                .await?;
            if folders > 0 {
                return Ok(Outcome::Refused(
                    "The group still owns virtual folders; delete them first to proceed removal."
                        .into(),
                ));
            }
            kernels::Entity::delete_many()
                .filter(kernels::Column::GroupId.eq(gid))
                .exec(txn)
                .await?;
            let deleted = groups::Entity::delete_by_id(gid).exec(txn).await?;
            Ok::<_, Error>(if deleted.rows_affected > 0 {
                Outcome::Done(())
            } else {
                Outcome::NoMatch
            })
        })
    })
    .await
}
