//! Keypairs as the admin API reads them, their live query counters and resource policies.

use std::collections::HashMap;

use entities::{keypair_resource_policies, keypairs, users};
use redis::aio::ConnectionManager;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, JoinType, QueryFilter,
    QueryOrder, QuerySelect, RelationTrait,
};

use super::auth::Identity;
use super::listing::{fetch_page, ListQuery, PageRequest};
use super::rate_limit::num_queries_key;
use super::scope::{require_admin, scoped};
use super::{list_fields, Error, Result};

const LEGACY_LIST_LIMIT: u64 = 100;

/// A keypair with its owner's full name (which `keypair_list` shows).
pub struct KeyPairRow {
    pub keypair: keypairs::Model,
    pub full_name: Option<String>,
}

/// `keypair(domain_name, access_key)`: the caller's by default; users only their own.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    access_key: Option<String>,
) -> Result<Option<keypairs::Model>> {
    let scope = scoped(
        caller,
        domain_name,
        access_key,
        caller.access_key.clone(),
        true,
    )?;
    let mut q = keypairs::Entity::find()
        .join(JoinType::InnerJoin, keypairs::Relation::Users.def())
        .filter(keypairs::Column::AccessKey.eq(scope.owner));
    if let Some(d) = scope.domain_name {
        q = q.filter(users::Column::DomainName.eq(d));
    }
    Ok(q.one(db).await?)
}

/// `keypairs(domain_name, email, is_active)`: users see their own.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    email: Option<String>,
    is_active: Option<bool>,
) -> Result<Vec<keypairs::Model>> {
    let scope = scoped(caller, domain_name, email, caller.email.clone(), false)?;
    let mut q = keypairs::Entity::find().join(JoinType::InnerJoin, keypairs::Relation::Users.def());
    if let Some(d) = scope.domain_name {
        q = q.filter(users::Column::DomainName.eq(d));
    }
    if let Some(active) = is_active {
        q = q.filter(keypairs::Column::IsActive.eq(active));
    }
    let q = match scope.owner {
        Some(email) => q.filter(keypairs::Column::UserId.eq(email)),
        None => q.limit(LEGACY_LIST_LIMIT),
    };
    Ok(q.order_by_desc(keypairs::Column::CreatedAt).all(db).await?)
}

/// `keypair_list`: one page, newest first by default.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    domain_name: Option<String>,
    email: Option<String>,
    is_active: Option<bool>,
) -> Result<(Vec<KeyPairRow>, i64)> {
    let scope = scoped(caller, domain_name, email, caller.email.clone(), false)?;
    let k = |c: &str| Expr::col((Alias::new("keypairs"), Alias::new(c)));
    let mut conditions = Vec::new();
    if let Some(d) = scope.domain_name {
        conditions.push(Expr::col((Alias::new("users"), Alias::new("domain_name"))).eq(d));
    }
    if let Some(email) = scope.owner {
        conditions.push(k("user_id").eq(email));
    }
    if let Some(active) = is_active {
        conditions.push(k("is_active").eq(active));
    }
    let query = ListQuery {
        fields: list_fields::keypairs(),
        columns: |s| {
            s.expr(Expr::cust("keypairs.*, users.full_name AS owner_full_name"));
        },
        conditions,
        default_order: vec![
            (k("created_at"), Order::Desc),
            (k("access_key"), Order::Asc),
        ],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = page
        .rows
        .iter()
        .map(|r| {
            Ok(KeyPairRow {
                keypair: keypairs::Model::from_query_result(r, "")?,
                full_name: r.try_get("", "owner_full_name")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    Ok((rows, page.total_count))
}

/// The live query counters of `access_keys` (Redis, one MGET); absent counters are 0.
pub async fn num_queries(
    redis: &ConnectionManager,
    access_keys: &[String],
) -> Result<HashMap<String, i64>> {
    if access_keys.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: Vec<String> = access_keys.iter().map(|ak| num_queries_key(ak)).collect();
    let values: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut redis.clone())
        .await
        .map_err(|e| Error::Internal(format!("reading query counters from Redis: {e}")))?;
    Ok(access_keys
        .iter()
        .cloned()
        .zip(values.into_iter().map(|v| v.unwrap_or(0)))
        .collect())
}

/// `keypair_resource_policy(name)`: by name, or the caller's own policy.
pub async fn policy(
    db: &DatabaseConnection,
    caller: &Identity,
    name: Option<String>,
) -> Result<Option<keypair_resource_policies::Model>> {
    let name = name.unwrap_or_else(|| caller.resource_policy.name.clone());
    Ok(keypair_resource_policies::Entity::find_by_id(name)
        .one(db)
        .await?)
}

/// `keypair_resource_policies`: all of them for admins; users see those of their keypairs.
pub async fn policies(
    db: &DatabaseConnection,
    caller: &Identity,
) -> Result<Vec<keypair_resource_policies::Model>> {
    let q = keypair_resource_policies::Entity::find()
        .order_by_asc(keypair_resource_policies::Column::Name);
    if require_admin(caller).is_ok() {
        return Ok(q.all(db).await?);
    }
    if caller.role == entities::enums::UserRole::Monitor {
        return Err(Error::unknown_role());
    }
    let own: Vec<String> = keypairs::Entity::find()
        .select_only()
        .column(keypairs::Column::ResourcePolicy)
        .distinct()
        .filter(keypairs::Column::User.eq(caller.user_uuid))
        .into_tuple()
        .all(db)
        .await?;
    Ok(q.filter(keypair_resource_policies::Column::Name.is_in(own))
        .all(db)
        .await?)
}
