//! Error logs that clients (the web UI, the CLI) and agents file with the manager, and their
//! periodic cleanup (21.03 `api/logs.py`).

use std::time::Duration;

use chrono::Utc;
use entities::enums::{ErrorLogSeverity, UserRole};
use entities::{error_logs, users};
use sea_orm::sea_query::{Expr, Query};

use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::auth::Identity;
use super::{Error, Result};

/// How often the cleanup runs, and how long after start-up it first does.
pub const CLEANUP_INTERVAL: Duration = Duration::from_secs(20);
pub const CLEANUP_FIRST_DELAY: Duration = Duration::from_secs(17);
/// The largest page of `GET /logs/error`.
pub const MAX_PAGE_SIZE: i64 = 100;

/// A log entry as a client files it.
#[derive(Debug, Clone)]
pub struct NewLog {
    pub severity: ErrorLogSeverity,
    pub source: String,
    pub message: String,
    pub context_lang: String,
    pub context_env: serde_json::Value,
    pub request_url: Option<String>,
    pub request_status: Option<i32>,
    pub traceback: Option<String>,
}

/// The severities a log may have (those of the 21.03 schema).
pub fn parse_severity(raw: &str) -> Option<ErrorLogSeverity> {
    ErrorLogSeverity::try_from_value(&raw.to_owned()).ok()
}

/// Files a log as the caller's.
pub async fn append(db: &DatabaseConnection, caller: &Identity, log: NewLog) -> Result<()> {
    error_logs::Entity::insert(error_logs::ActiveModel {
        id: Set(Uuid::new_v4()),
        created_at: Set(Some(Utc::now().into())),
        severity: Set(Some(log.severity)),
        source: Set(Some(log.source)),
        user: Set(Some(caller.user_uuid)),
        is_read: Set(Some(false)),
        is_cleared: Set(Some(false)),
        message: Set(Some(log.message)),
        context_lang: Set(Some(log.context_lang)),
        context_env: Set(Some(log.context_env)),
        request_url: Set(log.request_url),
        request_status: Set(log.request_status),
        traceback: Set(log.traceback),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Which logs a caller sees: superadmins all; domain admins those of their domain's users
/// (cleared ones included); others their own that are not cleared.
fn visible(caller: &Identity) -> Condition {
    match caller.role {
        UserRole::Superadmin => Condition::all(),
        UserRole::Admin => {
            let domain_users = Query::select()
                .column(users::Column::Uuid)
                .from(users::Entity)
                .and_where(users::Column::DomainName.eq(caller.domain_name.clone()))
                .to_owned();
            Condition::all().add(error_logs::Column::User.in_subquery(domain_users))
        }
        _ => Condition::all()
            .add(error_logs::Column::User.eq(caller.user_uuid))
            .add(error_logs::Column::IsCleared.eq(false)),
    }
}

/// Whether `caller` is shown whether logs are cleared (users only ever see uncleared ones).
pub fn shows_cleared(caller: &Identity) -> bool {
    matches!(caller.role, UserRole::Superadmin | UserRole::Admin)
}

/// One page of visible logs, newest first, with the number of visible logs that have a
/// message. With `mark_read`, the page's logs are marked read afterwards (the page still shows
/// them as they were).
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    page_size: i64,
    page_no: i64,
    mark_read: bool,
) -> Result<(Vec<error_logs::Model>, u64)> {
    let offset = (page_no.max(1) - 1) * page_size;
    let logs = error_logs::Entity::find()
        .filter(visible(caller))
        .order_by_desc(error_logs::Column::CreatedAt)
        .limit(page_size as u64)
        .offset(offset as u64)
        .all(db)
        .await?;
    let count = error_logs::Entity::find()
        .filter(visible(caller))
        .filter(error_logs::Column::Message.is_not_null())
        .count(db)
        .await?;
    if mark_read && !logs.is_empty() {
        error_logs::Entity::update_many()
            .col_expr(error_logs::Column::IsRead, Expr::value(true))
            .filter(error_logs::Column::Id.is_in(logs.iter().map(|l| l.id)))
            .exec(db)
            .await?;
    }
    Ok((logs, count))
}

/// Marks a visible log cleared; an unknown or invisible one is not found (21.03 failed with a
/// 500).
pub async fn clear(db: &DatabaseConnection, caller: &Identity, id: Uuid) -> Result<()> {
    let cleared = error_logs::Entity::update_many()
        .col_expr(error_logs::Column::IsCleared, Expr::value(true))
        .filter(error_logs::Column::Id.eq(id))
        .filter(visible(caller))
        .exec(db)
        .await?
        .rows_affected;
    if cleared == 0 {
        return Err(Error::NotFound(format!("error log {id}")));
    }
    Ok(())
}

/// Deletes the logs older than `retention`; returns how many.
pub async fn clean_up(db: &DatabaseConnection, retention: Duration) -> Result<u64> {
    let boundary = Utc::now()
        - chrono::Duration::from_std(retention).unwrap_or_else(|_| chrono::Duration::days(90));
    let deleted = error_logs::Entity::delete_many()
        .filter(error_logs::Column::CreatedAt.lt(boundary))
        .exec(db)
        .await?
        .rows_affected;
    if deleted > 0 {
        tracing::info!("Cleaned up {deleted} log(s) filed before {boundary}");
    }
    Ok(deleted)
}
