//! Virtual folders as the admin API reads them.

use std::collections::HashMap;

use entities::vfolders;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::auth::Identity;
use super::listing::{fetch_page, group_by, ListQuery, PageRequest};
use super::scope::scoped;
use super::{list_fields, Error, Result};

/// The filters of `vfolder_list` and `vfolders`.
pub struct VFolderFilter {
    pub domain_name: Option<String>,
    pub group_id: Option<String>,
    /// A keypair whose owner's folders to list.
    pub access_key: Option<String>,
}

fn conditions(
    db_owner: Option<Uuid>,
    f: &VFolderFilter,
    domain: Option<String>,
) -> Result<Vec<Expr>> {
    let v = |c: &str| Expr::col((Alias::new("vfolders"), Alias::new(c)));
    let mut conditions = Vec::new();
    if let Some(d) = domain {
        // A group folder belongs to the domain of its group.
        conditions.push(
            Expr::col((Alias::new("users"), Alias::new("domain_name")))
                .eq(d.clone())
                .or(v("group").in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(entities::groups::Column::Id)
                        .from(entities::groups::Entity)
                        .and_where(Expr::col(entities::groups::Column::DomainName).eq(d))
                        .to_owned(),
                )),
        );
    }
    if let Some(gid) = &f.group_id {
        let gid = Uuid::parse_str(gid)
            .map_err(|_| Error::InvalidInput(format!("group_id {gid:?} is not a UUID")))?;
        conditions.push(v("group").eq(gid));
    }
    if let Some(owner) = db_owner {
        conditions.push(v("user").eq(owner));
    }
    if let Some(ak) = &f.access_key {
        conditions.push(
            v("user").in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(entities::keypairs::Column::User)
                    .from(entities::keypairs::Entity)
                    .and_where(Expr::col(entities::keypairs::Column::AccessKey).eq(ak.clone()))
                    .to_owned(),
            ),
        );
    }
    Ok(conditions)
}

/// `vfolder_list`: users see their own folders; admins their domain's.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    filter: VFolderFilter,
) -> Result<(Vec<vfolders::Model>, i64)> {
    let scope = scoped(
        caller,
        filter.domain_name.clone(),
        None,
        caller.user_uuid,
        false,
    )?;
    let v = |c: &str| Expr::col((Alias::new("vfolders"), Alias::new(c)));
    let query = ListQuery {
        fields: list_fields::vfolders(),
        columns: |s| {
            s.expr(Expr::cust("vfolders.*"));
        },
        conditions: conditions(scope.owner, &filter, scope.domain_name)?,
        default_order: vec![(v("created_at"), Order::Desc), (v("id"), Order::Asc)],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = page
        .rows
        .iter()
        .map(|r| vfolders::Model::from_query_result(r, ""))
        .collect::<Result<_, _>>()?;
    Ok((rows, page.total_count))
}

/// `vfolders` (which 21.03 declared but never resolved): as [`page`], without paging.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    filter: VFolderFilter,
) -> Result<Vec<vfolders::Model>> {
    let all = PageRequest {
        limit: super::listing::MAX_PAGE_SIZE,
        ..Default::default()
    };
    Ok(page(db, caller, &all, filter).await?.0)
}

/// The folders each user owns; one statement.
pub async fn of_users(
    db: &DatabaseConnection,
    users: &[Uuid],
) -> Result<HashMap<Uuid, Vec<vfolders::Model>>> {
    let rows = vfolders::Entity::find()
        .filter(vfolders::Column::User.is_in(users.iter().copied()))
        .order_by_asc(vfolders::Column::Name)
        .all(db)
        .await?;
    Ok(group_by(
        rows.into_iter().filter_map(|v| Some((v.user?, v))),
    ))
}
