//! Scaling groups and their associations: reads and mutations (superadmins only).

use entities::{scaling_groups, sgroups_for_domains, sgroups_for_groups, sgroups_for_keypairs};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Set,
};
use uuid::Uuid;

use std::collections::HashMap;

use super::auth::Identity;
use super::listing::group_by;
use super::mutation::{affected, insert_one, update_columns, Outcome};
use super::scope::require_superadmin;
use super::{Error, Result};
use crate::db::{self, RetryPolicy};

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

/// The active scaling groups a keypair may use with a group, by name: those of its domain, of
/// the group and of the keypair itself (21.03's `query_allowed_sgroups`).
pub async fn allowed(
    db: &impl sea_orm::ConnectionTrait,
    domain: &str,
    group: Option<Uuid>,
    access_key: &str,
) -> Result<Vec<String>> {
    let sql = "SELECT name FROM scaling_groups WHERE is_active AND name IN ( \
                 SELECT scaling_group FROM sgroups_for_domains WHERE domain = $1 \
                 UNION SELECT scaling_group FROM sgroups_for_groups WHERE \"group\" = $2 \
                 UNION SELECT scaling_group FROM sgroups_for_keypairs WHERE access_key = $3) \
               ORDER BY name";
    let rows = db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [domain.into(), group.into(), access_key.into()],
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?)
}

/// `GET /scaling-groups`: the scaling groups `caller` may use with `group` (named by id or
/// name within the caller's domain; an unknown group adds none of its own).
pub async fn available(
    db: &DatabaseConnection,
    caller: &Identity,
    group: &super::groups::GroupRef,
) -> Result<Vec<String>> {
    let domain = caller.domain_name.clone().unwrap_or_default();
    let group_id = super::groups::resolve(db, Some(&domain), group)
        .await?
        .map(|(id, _)| id);
    allowed(db, &domain, group_id, &caller.access_key).await
}

/// A scaling group's properties (`CreateScalingGroupInput` / `ModifyScalingGroupInput`).
#[derive(Debug, Clone, Default)]
pub struct ScalingGroupProps {
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub driver: Option<String>,
    pub driver_opts: Option<serde_json::Value>,
    pub scheduler: Option<String>,
    pub scheduler_opts: Option<serde_json::Value>,
}

/// `create_scaling_group` (superadmins).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    props: ScalingGroupProps,
) -> Result<Outcome<scaling_groups::Model>> {
    require_superadmin(caller)?;
    let required = |what: &str| Error::InvalidInput(format!("{what} is required"));
    let row = scaling_groups::ActiveModel {
        name: Set(name),
        description: Set(Some(props.description.clone().unwrap_or_default())),
        is_active: Set(Some(props.is_active.unwrap_or(true))),
        created_at: Set(Some(chrono::Utc::now().into())),
        driver: Set(props.driver.clone().ok_or_else(|| required("driver"))?),
        driver_opts: Set(props
            .driver_opts
            .clone()
            .unwrap_or_else(|| serde_json::json!({}))),
        scheduler: Set(props
            .scheduler
            .clone()
            .ok_or_else(|| required("scheduler"))?),
        scheduler_opts: Set(props
            .scheduler_opts
            .clone()
            .unwrap_or_else(|| serde_json::json!({}))),
    };
    insert_one(db, row).await
}

/// `modify_scaling_group` (superadmins).
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    changes: ScalingGroupProps,
) -> Result<Outcome<()>> {
    use scaling_groups::Column as C;
    require_superadmin(caller)?;
    let mut sets: Vec<(C, Expr)> = Vec::new();
    if let Some(v) = &changes.description {
        sets.push((C::Description, Expr::value(v.clone())));
    }
    if let Some(v) = changes.is_active {
        sets.push((C::IsActive, Expr::value(v)));
    }
    if let Some(v) = &changes.driver {
        sets.push((C::Driver, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.driver_opts {
        sets.push((C::DriverOpts, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.scheduler {
        sets.push((C::Scheduler, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.scheduler_opts {
        sets.push((C::SchedulerOpts, Expr::value(v.clone())));
    }
    let update = scaling_groups::Entity::update_many().filter(C::Name.eq(name));
    update_columns(db, update, sets).await
}

/// `delete_scaling_group` (superadmins); its associations go with it.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    affected(
        db,
        scaling_groups::Entity::delete_many().filter(scaling_groups::Column::Name.eq(name)),
    )
    .await
}

/// Whom a scaling group is associated with.
#[derive(Debug, Clone)]
pub enum Associate {
    Domain(String),
    Group(Uuid),
    KeyPair(String),
}

/// `associate_scaling_group_with_*` (superadmins).
pub async fn associate(
    db: &DatabaseConnection,
    caller: &Identity,
    scaling_group: String,
    with: Associate,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (sg, with) = (scaling_group.clone(), with.clone());
        Box::pin(async move {
            match with {
                Associate::Domain(domain) => {
                    sgroups_for_domains::ActiveModel {
                        scaling_group: Set(sg),
                        domain: Set(domain),
                    }
                    .insert(txn)
                    .await?;
                }
                Associate::Group(group) => {
                    sgroups_for_groups::ActiveModel {
                        scaling_group: Set(sg),
                        group: Set(group),
                    }
                    .insert(txn)
                    .await?;
                }
                Associate::KeyPair(access_key) => {
                    sgroups_for_keypairs::ActiveModel {
                        scaling_group: Set(sg),
                        access_key: Set(access_key),
                    }
                    .insert(txn)
                    .await?;
                }
            }
            Ok::<_, Error>(Outcome::Done(()))
        })
    })
    .await
}

/// `disassociate_scaling_group_with_*` (superadmins); without a scaling group, all of the
/// target's (`disassociate_all_scaling_groups_with_*`).
pub async fn disassociate(
    db: &DatabaseConnection,
    caller: &Identity,
    scaling_group: Option<String>,
    with: Associate,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    match with {
        Associate::Domain(domain) => {
            let mut q = sgroups_for_domains::Entity::delete_many()
                .filter(sgroups_for_domains::Column::Domain.eq(domain));
            if let Some(sg) = scaling_group {
                q = q.filter(sgroups_for_domains::Column::ScalingGroup.eq(sg));
            }
            affected(db, q).await
        }
        Associate::Group(group) => {
            let mut q = sgroups_for_groups::Entity::delete_many()
                .filter(sgroups_for_groups::Column::Group.eq(group));
            if let Some(sg) = scaling_group {
                q = q.filter(sgroups_for_groups::Column::ScalingGroup.eq(sg));
            }
            affected(db, q).await
        }
        Associate::KeyPair(access_key) => {
            let mut q = sgroups_for_keypairs::Entity::delete_many()
                .filter(sgroups_for_keypairs::Column::AccessKey.eq(access_key));
            if let Some(sg) = scaling_group {
                q = q.filter(sgroups_for_keypairs::Column::ScalingGroup.eq(sg));
            }
            affected(db, q).await
        }
    }
}

/// The scaling groups associated with each domain, in one statement.
pub async fn names_for_domains(
    db: &DatabaseConnection,
    domains: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let rows = sgroups_for_domains::Entity::find()
        .filter(sgroups_for_domains::Column::Domain.is_in(domains.iter().cloned()))
        .order_by_asc(sgroups_for_domains::Column::ScalingGroup)
        .all(db)
        .await?;
    Ok(group_by(
        rows.into_iter().map(|r| (r.domain, r.scaling_group)),
    ))
}

/// The scaling groups associated with each group, in one statement.
pub async fn names_for_groups(
    db: &DatabaseConnection,
    groups: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>> {
    let rows = sgroups_for_groups::Entity::find()
        .filter(sgroups_for_groups::Column::Group.is_in(groups.iter().copied()))
        .order_by_asc(sgroups_for_groups::Column::ScalingGroup)
        .all(db)
        .await?;
    Ok(group_by(
        rows.into_iter().map(|r| (r.group, r.scaling_group)),
    ))
}
