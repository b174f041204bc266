//! Domains as the admin API reads them.

use std::collections::HashMap;

use entities::enums::UserRole;
use entities::{domains, sgroups_for_domains};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::auth::Identity;
use super::scope::require_superadmin;
use super::{Error, Result};

/// `domain(name)`: the caller's own by default; only superadmins may read another.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    name: Option<String>,
) -> Result<Option<domains::Model>> {
    let Some(name) = name.or_else(|| caller.domain_name.clone()) else {
        return Ok(None);
    };
    if caller.role != UserRole::Superadmin && Some(&name) != caller.domain_name.as_ref() {
        return Err(Error::GenericNotFound("no such domain".into()));
    }
    Ok(domains::Entity::find_by_id(name).one(db).await?)
}

/// `domains(is_active)`: superadmins only.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    is_active: Option<bool>,
) -> Result<Vec<domains::Model>> {
    require_superadmin(caller)?;
    let mut q = domains::Entity::find();
    if let Some(active) = is_active {
        q = q.filter(domains::Column::IsActive.eq(active));
    }
    Ok(q.order_by_asc(domains::Column::Name).all(db).await?)
}

/// The scaling groups associated with each domain, in one statement.
pub async fn scaling_groups_of(
    db: &DatabaseConnection,
    names: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let rows = sgroups_for_domains::Entity::find()
        .filter(sgroups_for_domains::Column::Domain.is_in(names.iter().cloned()))
        .order_by_asc(sgroups_for_domains::Column::ScalingGroup)
        .all(db)
        .await?;
    let mut by_domain: HashMap<String, Vec<String>> = HashMap::new();
    for row in rows {
        by_domain
            .entry(row.domain)
            .or_default()
            .push(row.scaling_group);
    }
    Ok(by_domain)
}
