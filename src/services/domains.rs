//! Domains: reads and the admin mutations.

use entities::enums::UserRole;
use entities::{domains, groups, kernels, users, ResourceSlot};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::auth::Identity;
use super::mutation::{check_slug, insert_one, json_of, slots_input, Outcome, EMPTY_DOTFILES};
use super::scope::require_superadmin;
use super::sessions::ACTIVE_STATUSES;
use super::{Error, Result};
use crate::db::{self, RetryPolicy};

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

/// The properties of a new domain (`DomainInput`); omitted ones take the declared defaults.
#[derive(Debug, Clone, Default)]
pub struct DomainProps {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub total_resource_slots: Option<serde_json::Value>,
    pub allowed_vfolder_hosts: Option<Vec<String>>,
    pub allowed_docker_registries: Option<Vec<String>>,
    pub integration_id: Option<String>,
}

/// What `modify_domain` changes (`ModifyDomainInput`); `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct DomainChanges {
    pub name: Option<String>,
    pub props: DomainProps,
}

fn slots(value: &Option<serde_json::Value>) -> Result<Option<ResourceSlot>> {
    value
        .as_ref()
        .map(|v| slots_input(v, "total_resource_slots"))
        .transpose()
}

/// `create_domain` (superadmins).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    props: DomainProps,
) -> Result<Outcome<domains::Model>> {
    require_superadmin(caller)?;
    if check_slug(&name).is_err() {
        // 21.03 reports this one in the payload rather than as an error.
        return Ok(Outcome::Refused(
            "invalid name format. slug format required.".into(),
        ));
    }
    let row = domains::ActiveModel {
        name: Set(name),
        description: Set(props.description.clone()),
        is_active: Set(Some(props.is_active.unwrap_or(true))),
        total_resource_slots: Set(Some(
            slots(&props.total_resource_slots)?.unwrap_or_default(),
        )),
        allowed_vfolder_hosts: Set(props.allowed_vfolder_hosts.clone().unwrap_or_default()),
        allowed_docker_registries: Set(props.allowed_docker_registries.clone().unwrap_or_default()),
        integration_id: Set(props.integration_id.clone()),
        dotfiles: Set(EMPTY_DOTFILES.to_vec()),
        ..Default::default()
    };
    insert_one(db, row).await
}

/// `modify_domain` (superadmins).
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    changes: DomainChanges,
) -> Result<Outcome<domains::Model>> {
    require_superadmin(caller)?;
    if let Some(new_name) = &changes.name {
        check_slug(new_name)?;
    }
    let p = &changes.props;
    let mut update = domains::Entity::update_many()
        .col_expr(domains::Column::ModifiedAt, Expr::current_timestamp())
        .filter(domains::Column::Name.eq(name));
    if let Some(v) = &changes.name {
        update = update.col_expr(domains::Column::Name, Expr::value(v.clone()));
    }
    if let Some(v) = &p.description {
        update = update.col_expr(domains::Column::Description, Expr::value(v.clone()));
    }
    if let Some(v) = p.is_active {
        update = update.col_expr(domains::Column::IsActive, Expr::value(v));
    }
    if let Some(v) = slots(&p.total_resource_slots)? {
        update = update.col_expr(
            domains::Column::TotalResourceSlots,
            Expr::value(json_of(&v)),
        );
    }
    if let Some(v) = &p.allowed_vfolder_hosts {
        update = update.col_expr(domains::Column::AllowedVfolderHosts, Expr::value(v.clone()));
    }
    if let Some(v) = &p.allowed_docker_registries {
        update = update.col_expr(
            domains::Column::AllowedDockerRegistries,
            Expr::value(v.clone()),
        );
    }
    if let Some(v) = &p.integration_id {
        update = update.col_expr(domains::Column::IntegrationId, Expr::value(v.clone()));
    }
    let rows = db::serializable(db, RetryPolicy::default(), move |txn| {
        let update = update.clone();
        Box::pin(async move { Ok::<_, Error>(update.exec_with_returning(txn).await?) })
    })
    .await?;
    Ok(rows
        .into_iter()
        .next()
        .map_or(Outcome::NoMatch, Outcome::Done))
}

/// `delete_domain` (superadmins): deactivates it.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    let update = domains::Entity::update_many()
        .col_expr(domains::Column::IsActive, Expr::value(false))
        .col_expr(domains::Column::ModifiedAt, Expr::current_timestamp())
        .filter(domains::Column::Name.eq(name));
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

/// `purge_domain` (superadmins): removes a domain that has no users, groups or active sessions
/// left, with its finished sessions.
pub async fn purge(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let name = name.clone();
        Box::pin(async move {
            let active = kernels::Entity::find()
                .filter(kernels::Column::DomainName.eq(name.as_str()))
                .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().copied()))
                .count(txn)
                .await?;
            if active > 0 {
                return Ok(Outcome::Refused(
                    "Domain has some active kernels. Terminate them first.".into(),
                ));
            }
            let users = users::Entity::find()
                .filter(users::Column::DomainName.eq(name.as_str()))
                .count(txn)
                .await?;
            if users > 0 {
                return Ok(Outcome::Refused(
                    "There are users bound to the domain. Remove users first.".into(),
                ));
            }
            let groups = groups::Entity::find()
                .filter(groups::Column::DomainName.eq(name.as_str()))
                .count(txn)
                .await?;
            if groups > 0 {
                return Ok(Outcome::Refused(
                    "There are groups bound to the domain. Remove groups first.".into(),
                ));
            }
            kernels::Entity::delete_many()
                .filter(kernels::Column::DomainName.eq(name.as_str()))
                .exec(txn)
                .await?;
            let deleted = domains::Entity::delete_by_id(name.as_str())
                .exec(txn)
                .await?;
            Ok::<_, Error>(if deleted.rows_affected > 0 {
                Outcome::Done(())
            } else {
                Outcome::NoMatch
            })
        })
    })
    .await
}
