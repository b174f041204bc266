//! Users: reads (with their group memberships) and the admin mutations.

use std::collections::HashMap;

use entities::enums::{UserRole, UserStatus};
use entities::{
    association_groups_users, groups, kernels, keypairs, users, vfolder_permissions, vfolders,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;

use super::auth::Identity;
use super::listing::{any_of, fetch_page, group_by, ListQuery, PageRequest};
use super::mutation::{Outcome, EMPTY_DOTFILES};
use super::scope::{admin_domain, parse_status_list, require_superadmin, scoped};
use super::sessions::ACTIVE_STATUSES;
use super::{list_fields, Error, Result};
use crate::db::{self, RetryPolicy};
use crate::keys::{generate_keypair, generate_ssh_keypair, hash_password};

/// 21.03's legacy `users` query returns at most this many rows.
const LEGACY_LIST_LIMIT: u64 = 100;

/// User statuses from an argument: values (`active`) or names (`ACTIVE`), comma-separated.
pub fn parse_statuses(raw: &str) -> Result<Vec<UserStatus>> {
    parse_status_list(
        raw,
        |s| {
            let value = s.to_lowercase().replace('_', "-");
            UserStatus::iter().find(|st| st.to_value() == value)
        },
        "user",
    )
}

/// `user(domain_name, email)`: the caller by default; users may read only themselves.
pub async fn by_email(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    email: Option<String>,
) -> Result<Option<users::Model>> {
    let scope = scoped(caller, domain_name, email, caller.email.clone(), true)?;
    let mut q = users::Entity::find().filter(users::Column::Email.eq(scope.owner));
    if let Some(d) = scope.domain_name {
        q = q.filter(users::Column::DomainName.eq(d));
    }
    Ok(q.one(db).await?)
}

/// `user_from_uuid(domain_name, user_id)`, with the same rules as [`by_email`].
pub async fn by_uuid(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    user_id: Option<&str>,
) -> Result<Option<users::Model>> {
    let user_id = user_id
        .map(|s| {
            Uuid::parse_str(s)
                .map_err(|_| Error::InvalidInput(format!("user_id {s:?} is not a UUID")))
        })
        .transpose()?;
    let scope = scoped(caller, domain_name, user_id, caller.user_uuid, true)?;
    let mut q = users::Entity::find().filter(users::Column::Uuid.eq(scope.owner));
    if let Some(d) = scope.domain_name {
        q = q.filter(users::Column::DomainName.eq(d));
    }
    Ok(q.one(db).await?)
}

/// The conditions of `users` and `user_list` beyond the caller's filter.
fn conditions(
    domain_name: Option<String>,
    group_id: Option<Uuid>,
    is_active: Option<bool>,
    status: Option<String>,
) -> Result<Vec<Expr>> {
    let u = |c: &str| Expr::col((Alias::new("users"), Alias::new(c)));
    let status_in = |statuses: Vec<UserStatus>| {
        u("status").is_in(
            statuses
                .into_iter()
                .map(|s| Expr::val(s.to_value()).cast_as(Alias::new("userstatus"))),
        )
    };
    let mut conditions = Vec::new();
    if let Some(d) = domain_name {
        conditions.push(u("domain_name").eq(d));
    }
    if let Some(gid) = group_id {
        conditions.push(
            u("uuid").in_subquery(
                Query::select()
                    .column(association_groups_users::Column::UserId)
                    .from(association_groups_users::Entity)
                    .and_where(Expr::col(association_groups_users::Column::GroupId).eq(gid))
                    .to_owned(),
            ),
        );
    }
    if let Some(status) = status {
        conditions.push(status_in(parse_statuses(&status)?));
    } else if let Some(active) = is_active {
        conditions.push(if active {
            status_in(vec![UserStatus::Active])
        } else {
            status_in(
                UserStatus::iter()
                    .filter(|s| *s != UserStatus::Active)
                    .collect(),
            )
        });
    }
    Ok(conditions)
}

/// `users`: admins and superadmins only; at most 100 rows, as 21.03.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    domain_name: Option<String>,
    group_id: Option<Uuid>,
    is_active: Option<bool>,
    status: Option<String>,
) -> Result<Vec<users::Model>> {
    let domain_name = admin_domain(caller, domain_name)?;
    let mut q = users::Entity::find();
    for c in conditions(domain_name, group_id, is_active, status)? {
        q = q.filter(c);
    }
    Ok(q.order_by_desc(users::Column::CreatedAt)
        .limit(LEGACY_LIST_LIMIT)
        .all(db)
        .await?)
}

/// `user_list`: one page, newest first by default.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    domain_name: Option<String>,
    group_id: Option<Uuid>,
    is_active: Option<bool>,
    status: Option<String>,
) -> Result<(Vec<users::Model>, i64)> {
    let domain_name = admin_domain(caller, domain_name)?;
    let u = |c: &str| Expr::col((Alias::new("users"), Alias::new(c)));
    let query = ListQuery {
        fields: list_fields::users(),
        columns: |s| {
            s.expr(Expr::cust("users.*"));
        },
        conditions: conditions(domain_name, group_id, is_active, status)?,
        default_order: vec![(u("created_at"), Order::Desc), (u("uuid"), Order::Asc)],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = page
        .rows
        .iter()
        .map(|r| users::Model::from_query_result(r, ""))
        .collect::<Result<_, _>>()?;
    Ok((rows, page.total_count))
}

/// The groups (id, name) of each user, in one statement.
pub async fn groups_of(
    db: &DatabaseConnection,
    user_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(Uuid, String)>>> {
    #[derive(FromQueryResult)]
    struct Membership {
        user_id: Uuid,
        id: Uuid,
        name: String,
    }
    let rows = association_groups_users::Entity::find()
        .select_only()
        .column(association_groups_users::Column::UserId)
        .column(groups::Column::Id)
        .column(groups::Column::Name)
        .inner_join(groups::Entity)
        .filter(any_of(
            (
                association_groups_users::Entity,
                association_groups_users::Column::UserId,
            ),
            user_ids.to_vec(),
        ))
        .order_by_asc(groups::Column::Name)
        .into_model::<Membership>()
        .all(db)
        .await?;
    Ok(group_by(
        rows.into_iter().map(|m| (m.user_id, (m.id, m.name))),
    ))
}

/// Email and full name of each user (for `KeyPair.user_info`).
pub async fn infos(
    db: &DatabaseConnection,
    user_ids: &[Uuid],
) -> Result<HashMap<Uuid, (String, Option<String>)>> {
    let rows: Vec<(Uuid, String, Option<String>)> = users::Entity::find()
        .select_only()
        .column(users::Column::Uuid)
        .column(users::Column::Email)
        .column(users::Column::FullName)
        .filter(users::Column::Uuid.is_in(user_ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, email, name)| (id, (email, name)))
        .collect())
}

/// A new user (`UserInput`); omitted optional fields take the declared defaults.
#[derive(Debug, Clone, Default)]
pub struct UserProps {
    pub username: String,
    pub password: String,
    pub need_password_change: bool,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub status: Option<String>,
    pub domain_name: String,
    pub role: Option<String>,
    pub group_ids: Option<Vec<String>>,
}

/// What `modify_user` changes (`ModifyUserInput`); `None` leaves a column as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub password: Option<String>,
    pub need_password_change: Option<bool>,
    pub full_name: Option<String>,
    pub description: Option<String>,
    pub is_active: Option<bool>,
    pub status: Option<String>,
    pub domain_name: Option<String>,
    pub role: Option<String>,
    pub group_ids: Option<Vec<String>>,
}

/// The rate limit of the keypair a new user gets (21.03's).
const NEW_USER_RATE_LIMIT: i32 = 10_000;
/// The resource policy of the keypair a new user gets.
const NEW_USER_RESOURCE_POLICY: &str = "default";
/// `status_info` of changes made through the admin API.
const ADMIN_REQUESTED: &str = "admin-requested";

fn parse_role(raw: &str) -> Result<UserRole> {
    let value = raw.to_lowercase();
    UserRole::iter()
        .find(|r| r.to_value() == value)
        .ok_or_else(|| Error::InvalidInput(format!("'{raw}' is not a valid UserRole")))
}

fn parse_status(raw: &str) -> Result<UserStatus> {
    match parse_statuses(raw)?.as_slice() {
        [one] => Ok(*one),
        _ => Err(Error::InvalidInput(format!(
            "'{raw}' is not a valid UserStatus"
        ))),
    }
}

fn parse_group_ids(ids: &Option<Vec<String>>) -> Result<Vec<Uuid>> {
    ids.iter()
        .flatten()
        .map(|s| {
            Uuid::parse_str(s)
                .map_err(|_| Error::InvalidInput(format!("group_ids: {s:?} is not a UUID")))
        })
        .collect()
}

/// Makes `user` a member of exactly those of `group_ids` that are in `domain` (others are
/// ignored, as 21.03 ignores them).
async fn set_memberships(
    txn: &DatabaseTransaction,
    user: Uuid,
    domain: Option<&str>,
    group_ids: &[Uuid],
) -> Result<(), DbErr> {
    association_groups_users::Entity::delete_many()
        .filter(association_groups_users::Column::UserId.eq(user))
        .exec(txn)
        .await?;
    let groups: Vec<Uuid> = groups::Entity::find()
        .select_only()
        .column(groups::Column::Id)
        .filter(groups::Column::DomainName.eq(domain))
        .filter(groups::Column::Id.is_in(group_ids.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    if !groups.is_empty() {
        association_groups_users::Entity::insert_many(groups.into_iter().map(|g| {
            association_groups_users::ActiveModel {
                user_id: Set(user),
                group_id: Set(g),
            }
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

/// `create_user` (superadmins): the user, a keypair for it, and its group memberships.
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    email: String,
    props: UserProps,
) -> Result<Outcome<users::Model>> {
    require_superadmin(caller)?;
    let status = match (&props.status, props.is_active) {
        (Some(s), _) => parse_status(s)?,
        (None, Some(false)) => UserStatus::Inactive,
        (None, _) => UserStatus::Active,
    };
    let role = props
        .role
        .as_deref()
        .map(parse_role)
        .transpose()?
        .unwrap_or(UserRole::User);
    let group_ids = parse_group_ids(&props.group_ids)?;
    let username = if props.username.is_empty() {
        email.clone()
    } else {
        props.username.clone()
    };
    let password = hash_password(props.password.clone())
        .await
        .map_err(Error::Internal)?;
    let (access_key, secret_key) = generate_keypair();
    let (ssh_public, ssh_private) = generate_ssh_keypair().await.map_err(Error::Internal)?;
    let user_uuid = Uuid::new_v4();
    let user = users::ActiveModel {
        uuid: Set(user_uuid),
        username: Set(Some(username)),
        email: Set(email.clone()),
        password: Set(Some(password)),
        need_password_change: Set(Some(props.need_password_change)),
        full_name: Set(props.full_name.clone()),
        description: Set(props.description.clone()),
        status: Set(status),
        status_info: Set(Some(ADMIN_REQUESTED.into())),
        domain_name: Set(Some(props.domain_name.clone())),
        role: Set(Some(role)),
        ..Default::default()
    };
    let keypair = keypairs::ActiveModel {
        user_id: Set(Some(email)),
        access_key: Set(access_key),
        secret_key: Set(Some(secret_key)),
        is_active: Set(Some(status == UserStatus::Active)),
        is_admin: Set(Some(matches!(role, UserRole::Superadmin | UserRole::Admin))),
        concurrency_used: Set(Some(0)),
        rate_limit: Set(Some(NEW_USER_RATE_LIMIT)),
        num_queries: Set(Some(0)),
        ssh_public_key: Set(Some(ssh_public)),
        ssh_private_key: Set(Some(ssh_private)),
        user: Set(user_uuid),
        resource_policy: Set(NEW_USER_RESOURCE_POLICY.into()),
        dotfiles: Set(EMPTY_DOTFILES.to_vec()),
        bootstrap_script: Set(String::new()),
        ..Default::default()
    };
    let domain = props.domain_name.clone();
    let created = db::serializable(db, RetryPolicy::default(), move |txn| {
        let (user, keypair, group_ids, domain) = (
            user.clone(),
            keypair.clone(),
            group_ids.clone(),
            domain.clone(),
        );
        Box::pin(async move {
            let user = user.insert(txn).await?;
            keypair.insert(txn).await?;
            set_memberships(txn, user.uuid, Some(&domain), &group_ids).await?;
            Ok::<_, Error>(user)
        })
    })
    .await?;
    Ok(Outcome::Done(created))
}

/// `modify_user` (superadmins). A role change makes the user's keypairs follow (an admin's
/// first keypair becomes an active admin keypair; a user's loses the admin flag); a domain
/// change drops group memberships unless `group_ids` gives the new ones.
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    email: String,
    changes: UserChanges,
) -> Result<Outcome<users::Model>> {
    require_superadmin(caller)?;
    let mut sets: Vec<(users::Column, Expr)> = Vec::new();
    if let Some(v) = &changes.username {
        sets.push((users::Column::Username, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.password {
        let hashed = hash_password(v.clone()).await.map_err(Error::Internal)?;
        sets.push((users::Column::Password, Expr::value(hashed)));
    }
    if let Some(v) = changes.need_password_change {
        sets.push((users::Column::NeedPasswordChange, Expr::value(v)));
    }
    if let Some(v) = &changes.full_name {
        sets.push((users::Column::FullName, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.description {
        sets.push((users::Column::Description, Expr::value(v.clone())));
    }
    if let Some(v) = &changes.domain_name {
        sets.push((users::Column::DomainName, Expr::value(v.clone())));
    }
    let status = match (&changes.status, changes.is_active) {
        (Some(s), _) => Some(parse_status(s)?),
        (None, Some(active)) => Some(if active {
            UserStatus::Active
        } else {
            UserStatus::Inactive
        }),
        (None, None) => None,
    };
    let role = changes.role.as_deref().map(parse_role).transpose()?;
    let group_ids = parse_group_ids(&changes.group_ids)?;
    if sets.is_empty() && status.is_none() && role.is_none() && group_ids.is_empty() {
        return Ok(Outcome::Refused("nothing to update".into()));
    }
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (sets, group_ids, email) = (sets.clone(), group_ids.clone(), email.clone());
        Box::pin(async move {
            let Some(prev) = users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(txn)
                .await?
            else {
                return Ok(Outcome::NoMatch);
            };
            let mut update = users::Entity::update_many()
                .col_expr(users::Column::ModifiedAt, Expr::current_timestamp())
                .filter(users::Column::Uuid.eq(prev.uuid));
            for (col, value) in sets {
                update = update.col_expr(col, value);
            }
            if let Some(status) = status {
                update = update.col_expr(
                    users::Column::Status,
                    Expr::val(status.to_value()).cast_as(Alias::new("userstatus")),
                );
                if status != prev.status {
                    update =
                        update.col_expr(users::Column::StatusInfo, Expr::value(ADMIN_REQUESTED));
                }
            }
            if let Some(role) = role {
                update = update.col_expr(
                    users::Column::Role,
                    Expr::val(role.to_value()).cast_as(Alias::new("userrole")),
                );
            }
            let Some(updated) = update.exec_with_returning(txn).await?.into_iter().next() else {
                return Ok(Outcome::NoMatch);
            };
            if role.is_some() && role != prev.role {
                follow_role(txn, updated.uuid, role.unwrap_or(UserRole::User)).await?;
            }
            if !group_ids.is_empty() {
                set_memberships(
                    txn,
                    updated.uuid,
                    updated.domain_name.as_deref(),
                    &group_ids,
                )
                .await?;
            } else if updated.domain_name != prev.domain_name {
                association_groups_users::Entity::delete_many()
                    .filter(association_groups_users::Column::UserId.eq(updated.uuid))
                    .exec(txn)
                    .await?;
            }
            Ok::<_, Error>(Outcome::Done(updated))
        })
    })
    .await
}

/// Makes the keypairs of `user` follow a new role (21.03 #718).
async fn follow_role(txn: &DatabaseTransaction, user: Uuid, role: UserRole) -> Result<(), DbErr> {
    let keys = keypairs::Entity::find()
        .filter(keypairs::Column::User.eq(user))
        .order_by_desc(keypairs::Column::IsAdmin)
        .order_by_desc(keypairs::Column::IsActive)
        .all(txn)
        .await?;
    let Some(first) = keys.first() else {
        return Ok(());
    };
    let set = |ak: &str, admin: Option<bool>, active: Option<bool>| {
        let mut update = keypairs::Entity::update_many()
            .col_expr(keypairs::Column::ModifiedAt, Expr::current_timestamp())
            .filter(keypairs::Column::AccessKey.eq(ak));
        if let Some(a) = admin {
            update = update.col_expr(keypairs::Column::IsAdmin, Expr::value(a));
        }
        if let Some(a) = active {
            update = update.col_expr(keypairs::Column::IsActive, Expr::value(a));
        }
        update
    };
    if matches!(role, UserRole::Superadmin | UserRole::Admin) {
        set(&first.access_key, Some(true), Some(true))
            .exec(txn)
            .await?;
    } else {
        set(&first.access_key, Some(false), None).exec(txn).await?;
        for other in &keys[1..] {
            if other.is_admin == Some(true) && other.is_active == Some(true) {
                set(&other.access_key, None, Some(false)).exec(txn).await?;
            }
        }
    }
    Ok(())
}

/// `delete_user` (superadmins): marks the user deleted and deactivates its keypairs.
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    email: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let email = email.clone();
        Box::pin(async move {
            keypairs::Entity::update_many()
                .col_expr(keypairs::Column::IsActive, Expr::value(false))
                .col_expr(keypairs::Column::ModifiedAt, Expr::current_timestamp())
                .filter(keypairs::Column::UserId.eq(email.as_str()))
                .exec(txn)
                .await?;
            let result = users::Entity::update_many()
                .col_expr(
                    users::Column::Status,
                    Expr::val(UserStatus::Deleted.to_value()).cast_as(Alias::new("userstatus")),
                )
                .col_expr(users::Column::StatusInfo, Expr::value(ADMIN_REQUESTED))
                .col_expr(users::Column::ModifiedAt, Expr::current_timestamp())
                .filter(users::Column::Email.eq(email.as_str()))
                .exec(txn)
                .await?;
            Ok::<_, Error>(if result.rows_affected > 0 {
                Outcome::Done(())
            } else {
                Outcome::NoMatch
            })
        })
    })
    .await
}

/// `purge_user` (superadmins): removes a user without active sessions, with its finished
/// sessions, keypairs and shares. Its folders must be removed first (their storage lives
/// behind the storage proxies).
pub async fn purge(
    db: &DatabaseConnection,
    caller: &Identity,
    email: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let email = email.clone();
        Box::pin(async move {
            let Some(user) = users::Entity::find()
                .filter(users::Column::Email.eq(email.as_str()))
                .one(txn)
                .await?
            else {
                return Ok(Outcome::NoMatch);
            };
            let active = kernels::Entity::find()
                .filter(kernels::Column::UserUuid.eq(user.uuid))
                .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().copied()))
                .count(txn)
                .await?;
            if active > 0 {
                return Ok(Outcome::Refused(
                    "User has some active kernels. Terminate them first.".into(),
                ));
            }
            let folders = vfolders::Entity::find()
                .filter(vfolders::Column::User.eq(user.uuid))
                .count(txn)
                .await?;
            if folders > 0 {
                return Ok(Outcome::Refused(
                    "The user still owns virtual folders; delete them first to proceed removal."
                        .into(),
                ));
            }
            vfolder_permissions::Entity::delete_many()
                .filter(vfolder_permissions::Column::User.eq(user.uuid))
                .exec(txn)
                .await?;
            kernels::Entity::delete_many()
                .filter(kernels::Column::UserUuid.eq(user.uuid))
                .exec(txn)
                .await?;
            keypairs::Entity::delete_many()
                .filter(keypairs::Column::User.eq(user.uuid))
                .exec(txn)
                .await?;
            users::Entity::delete_by_id(user.uuid).exec(txn).await?;
            Ok::<_, Error>(Outcome::Done(()))
        })
    })
    .await
}
