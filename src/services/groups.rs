//! Groups (projects) as the admin API reads them.

use std::collections::HashMap;

use entities::enums::UserRole;
use entities::{association_groups_users, groups, sgroups_for_groups};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::auth::Identity;
use super::scope::own_domain;
use super::{Error, Result};

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

/// The scaling groups associated with each group, in one statement.
pub async fn scaling_groups_of(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>> {
    let rows = sgroups_for_groups::Entity::find()
        .filter(sgroups_for_groups::Column::Group.is_in(ids.iter().copied()))
        .order_by_asc(sgroups_for_groups::Column::ScalingGroup)
        .all(db)
        .await?;
    let mut by_group: HashMap<Uuid, Vec<String>> = HashMap::new();
    for row in rows {
        by_group
            .entry(row.group)
            .or_default()
            .push(row.scaling_group);
    }
    Ok(by_group)
}
