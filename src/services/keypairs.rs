//! Keypairs, their live query counters and resource policies: reads and admin mutations.

use std::collections::HashMap;

use entities::enums::DefaultForUnspecified;
use entities::{keypair_resource_policies, keypairs, users};
use redis::aio::ConnectionManager;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};

use super::auth::Identity;
use super::listing::{fetch_page, ListQuery, PageRequest};
use super::mutation::{
    affected, insert_one, json_of, slots_input, update_columns, Outcome, EMPTY_DOTFILES,
};
use super::rate_limit::num_queries_key;
use super::scope::{require_admin, require_superadmin, scoped};
use super::{list_fields, Error, Result};
use crate::db::{self, RetryPolicy};
use crate::keys::{generate_keypair, generate_ssh_keypair};

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

/// A new keypair (`KeyPairInput`).
#[derive(Debug, Clone, Default)]
pub struct KeyPairProps {
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
    pub resource_policy: String,
    pub rate_limit: i32,
}

/// What `modify_keypair` changes (`ModifyKeyPairInput`).
#[derive(Debug, Clone, Default)]
pub struct KeyPairChanges {
    pub is_active: Option<bool>,
    pub is_admin: Option<bool>,
    pub resource_policy: Option<String>,
    pub rate_limit: Option<i32>,
}

/// `create_keypair` (superadmins): a new keypair for the user with that email.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    email: String,
    props: KeyPairProps,
) -> Result<Outcome<keypairs::Model>> {
    require_superadmin(caller)?;
    let (access_key, secret_key) = generate_keypair();
    let (ssh_public, ssh_private) = generate_ssh_keypair().await.map_err(Error::Internal)?;
    let row = keypairs::ActiveModel {
        user_id: Set(Some(email.clone())),
        access_key: Set(access_key),
        secret_key: Set(Some(secret_key)),
        is_active: Set(Some(props.is_active.unwrap_or(true))),
        is_admin: Set(Some(props.is_admin.unwrap_or(false))),
        concurrency_used: Set(Some(0)),
        rate_limit: Set(Some(props.rate_limit)),
        num_queries: Set(Some(0)),
        ssh_public_key: Set(Some(ssh_public)),
        ssh_private_key: Set(Some(ssh_private)),
        resource_policy: Set(props.resource_policy.clone()),
        dotfiles: Set(EMPTY_DOTFILES.to_vec()),
        bootstrap_script: Set(String::new()),
        ..Default::default()
    };
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (mut row, email) = (row.clone(), email.clone());
        Box::pin(async move {
            let Some(user) = users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(txn)
                .await?
            else {
                return Ok(Outcome::Refused(format!("no such user: {email}")));
            };
            row.user = Set(user.uuid);
            Ok::<_, Error>(Outcome::Done(row.insert(txn).await?))
        })
    })
    .await
}

/// `modify_keypair` (superadmins).
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    access_key: String,
    changes: KeyPairChanges,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    let mut update = keypairs::Entity::update_many()
        .col_expr(keypairs::Column::ModifiedAt, Expr::current_timestamp())
        .filter(keypairs::Column::AccessKey.eq(access_key));
    if let Some(v) = changes.is_active {
        update = update.col_expr(keypairs::Column::IsActive, Expr::value(v));
    }
    if let Some(v) = changes.is_admin {
        update = update.col_expr(keypairs::Column::IsAdmin, Expr::value(v));
    }
    if let Some(v) = &changes.resource_policy {
        update = update.col_expr(keypairs::Column::ResourcePolicy, Expr::value(v.clone()));
    }
    if let Some(v) = changes.rate_limit {
        update = update.col_expr(keypairs::Column::RateLimit, Expr::value(v));
    }
    affected(db, update).await
}

/// `delete_keypair` (superadmins).
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    access_key: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    affected(
        db,
        keypairs::Entity::delete_many().filter(keypairs::Column::AccessKey.eq(access_key)),
    )
    .await
}

/// A new keypair resource policy (`CreateKeyPairResourcePolicyInput`); `None` in a change
/// (`ModifyKeyPairResourcePolicyInput`) leaves the column as it is.
#[derive(Debug, Clone, Default)]
pub struct PolicyProps {
    pub default_for_unspecified: Option<String>,
    pub total_resource_slots: Option<serde_json::Value>,
    pub max_concurrent_sessions: Option<i32>,
    pub max_containers_per_session: Option<i32>,
    pub idle_timeout: Option<i64>,
    pub max_vfolder_count: Option<i32>,
    pub max_vfolder_size: Option<i64>,
    pub allowed_vfolder_hosts: Option<Vec<String>>,
}

fn parse_default_for_unspecified(raw: &str) -> Result<DefaultForUnspecified> {
    DefaultForUnspecified::try_from_value(&raw.to_uppercase()).map_err(|_| {
        Error::InvalidInput(format!(
            "default_for_unspecified must be LIMITED or UNLIMITED, not {raw:?}"
        ))
    })
}

/// `create_keypair_resource_policy` (superadmins).
pub async fn create_policy(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    props: PolicyProps,
) -> Result<Outcome<keypair_resource_policies::Model>> {
    require_superadmin(caller)?;
    let required = |what: &str| Error::InvalidInput(format!("{what} is required"));
    let row = keypair_resource_policies::ActiveModel {
        name: Set(name),
        created_at: Set(Some(chrono::Utc::now().into())),
        default_for_unspecified: Set(parse_default_for_unspecified(
            props
                .default_for_unspecified
                .as_deref()
                .ok_or_else(|| required("default_for_unspecified"))?,
        )?),
        total_resource_slots: Set(slots_input(
            props
                .total_resource_slots
                .as_ref()
                .ok_or_else(|| required("total_resource_slots"))?,
            "total_resource_slots",
        )?),
        max_concurrent_sessions: Set(props
            .max_concurrent_sessions
            .ok_or_else(|| required("max_concurrent_sessions"))?),
        max_containers_per_session: Set(props
            .max_containers_per_session
            .ok_or_else(|| required("max_containers_per_session"))?),
        max_vfolder_count: Set(props
            .max_vfolder_count
            .ok_or_else(|| required("max_vfolder_count"))?),
        max_vfolder_size: Set(props
            .max_vfolder_size
            .ok_or_else(|| required("max_vfolder_size"))?),
        idle_timeout: Set(props.idle_timeout.ok_or_else(|| required("idle_timeout"))?),
        allowed_vfolder_hosts: Set(props.allowed_vfolder_hosts.clone().unwrap_or_default()),
    };
    insert_one(db, row).await
}

/// `modify_keypair_resource_policy` (superadmins).
pub async fn modify_policy(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    changes: PolicyProps,
) -> Result<Outcome<()>> {
    use keypair_resource_policies::Column as C;
    require_superadmin(caller)?;
    let mut sets: Vec<(C, Expr)> = Vec::new();
    if let Some(v) = &changes.default_for_unspecified {
        let value = parse_default_for_unspecified(v)?.to_value();
        sets.push((
            C::DefaultForUnspecified,
            Expr::val(value).cast_as(Alias::new("defaultforunspecified")),
        ));
    }
    if let Some(v) = &changes.total_resource_slots {
        sets.push((
            C::TotalResourceSlots,
            Expr::value(json_of(&slots_input(v, "total_resource_slots")?)),
        ));
    }
    if let Some(v) = changes.max_concurrent_sessions {
        sets.push((C::MaxConcurrentSessions, Expr::value(v)));
    }
    if let Some(v) = changes.max_containers_per_session {
        sets.push((C::MaxContainersPerSession, Expr::value(v)));
    }
    if let Some(v) = changes.idle_timeout {
        sets.push((C::IdleTimeout, Expr::value(v)));
    }
    if let Some(v) = changes.max_vfolder_count {
        sets.push((C::MaxVfolderCount, Expr::value(v)));
    }
    if let Some(v) = changes.max_vfolder_size {
        sets.push((C::MaxVfolderSize, Expr::value(v)));
    }
    if let Some(v) = &changes.allowed_vfolder_hosts {
        sets.push((C::AllowedVfolderHosts, Expr::value(v.clone())));
    }
    let update = keypair_resource_policies::Entity::update_many().filter(C::Name.eq(name));
    update_columns(db, update, sets).await
}

/// `delete_keypair_resource_policy` (superadmins).
pub async fn delete_policy(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    affected(
        db,
        keypair_resource_policies::Entity::delete_many()
            .filter(keypair_resource_policies::Column::Name.eq(name)),
    )
    .await
}
