//! Scaling groups as the admin API reads them (superadmins only).

use entities::{scaling_groups, sgroups_for_domains, sgroups_for_groups, sgroups_for_keypairs};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use super::auth::Identity;
use super::scope::require_superadmin;
use super::{Error, Result};

pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    name: Option<String>,
) -> Result<Option<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let name = name.ok_or_else(|| Error::InvalidInput("name is required".into()))?;
    Ok(scaling_groups::Entity::find_by_id(name).one(db).await?)
}

fn active(
    q: Select<scaling_groups::Entity>,
    is_active: Option<bool>,
) -> Select<scaling_groups::Entity> {
    let q = match is_active {
        Some(a) => q.filter(scaling_groups::Column::IsActive.eq(a)),
        None => q,
    };
    q.order_by_asc(scaling_groups::Column::Name)
}

/// `scaling_groups(name, is_active)`.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    name: Option<String>,
    is_active: Option<bool>,
) -> Result<Vec<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let mut q = scaling_groups::Entity::find();
    if let Some(name) = name {
        q = q.filter(scaling_groups::Column::Name.eq(name));
    }
    Ok(active(q, is_active).all(db).await?)
}

/// `scaling_groups_for_domain`.
pub async fn for_domain(
    db: &DatabaseConnection,
    caller: &Identity,
    domain: String,
    is_active: Option<bool>,
) -> Result<Vec<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let names = sgroups_for_domains::Entity::find()
        .select_only()
        .column(sgroups_for_domains::Column::ScalingGroup)
        .filter(sgroups_for_domains::Column::Domain.eq(domain))
        .into_query();
    let q = scaling_groups::Entity::find().filter(scaling_groups::Column::Name.in_subquery(names));
    Ok(active(q, is_active).all(db).await?)
}

/// `scaling_groups_for_user_group` (which 21.03 declared but never resolved).
pub async fn for_group(
    db: &DatabaseConnection,
    caller: &Identity,
    group: &str,
    is_active: Option<bool>,
) -> Result<Vec<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let group = Uuid::parse_str(group)
        .map_err(|_| Error::InvalidInput(format!("user_group {group:?} is not a UUID")))?;
    let names = sgroups_for_groups::Entity::find()
        .select_only()
        .column(sgroups_for_groups::Column::ScalingGroup)
        .filter(sgroups_for_groups::Column::Group.eq(group))
        .into_query();
    let q = scaling_groups::Entity::find().filter(scaling_groups::Column::Name.in_subquery(names));
    Ok(active(q, is_active).all(db).await?)
}

/// `scaling_groups_for_keypair`.
pub async fn for_keypair(
    db: &DatabaseConnection,
    caller: &Identity,
    access_key: String,
    is_active: Option<bool>,
) -> Result<Vec<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let names = sgroups_for_keypairs::Entity::find()
        .select_only()
        .column(sgroups_for_keypairs::Column::ScalingGroup)
        .filter(sgroups_for_keypairs::Column::AccessKey.eq(access_key))
        .into_query();
    let q = scaling_groups::Entity::find().filter(scaling_groups::Column::Name.in_subquery(names));
    Ok(active(q, is_active).all(db).await?)
}
