//! Users as the admin API reads them, with their group memberships.

use std::collections::HashMap;

use entities::enums::UserStatus;
use entities::{association_groups_users, groups, users};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::auth::Identity;
use super::listing::{fetch_page, ListQuery, PageRequest};
use super::scope::{admin_domain, parse_status_list, scoped};
use super::{list_fields, Error, Result};

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
        .filter(association_groups_users::Column::UserId.is_in(user_ids.iter().copied()))
        .order_by_asc(groups::Column::Name)
        .into_model::<Membership>()
        .all(db)
        .await?;
    let mut by_user: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
    for m in rows {
        by_user.entry(m.user_id).or_default().push((m.id, m.name));
    }
    Ok(by_user)
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
