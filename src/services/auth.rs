//! Who is calling: the keypair behind a signed request, with its user and resource policy.

use chrono::{DateTime, Utc};
use entities::enums::{UserRole, UserStatus};
use entities::keypair_resource_policies;
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, Statement,
};

use super::error::{Error, Result};
use super::keypair_cache::{AuthKeypair, KeypairCache};
use crate::auth::signature::{date_is_fresh, AuthError, AuthHeader, SignedParts};

/// The caller of a request, as every rule downstream needs it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub access_key: String,
    pub user_uuid: uuid::Uuid,
    pub email: String,
    pub role: UserRole,
    pub domain_name: Option<String>,
    /// The keypair's admin flag (21.03's `is_admin`).
    pub is_admin: bool,
    pub is_superadmin: bool,
    pub rate_limit: Option<i32>,
    pub resource_policy: keypair_resource_policies::Model,
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidParameters(why) => Error::InvalidAuthParameters(why.to_owned()),
            AuthError::Failed(why) => Error::AuthFailed(why.to_owned()),
        }
    }
}

/// The caller behind an access key vouched for otherwise (a bearer token, a hook plugin).
pub async fn authenticate_access_key(
    conn: &DatabaseConnection,
    cache: &KeypairCache,
    access_key: &str,
) -> Result<Identity> {
    Ok(active_keypair(conn, cache, access_key).await?.identity)
}

/// Checks a signed request (date window, active keypair of an active user, signature) and
/// returns its caller.
pub async fn authenticate_signed(
    conn: &DatabaseConnection,
    cache: &KeypairCache,
    header: &AuthHeader,
    parts: &SignedParts<'_>,
    now: DateTime<Utc>,
) -> Result<Identity> {
    if !date_is_fresh(parts.date, now) {
        return Err(AuthError::InvalidParameters("Date/time sync error").into());
    }
    let keypair = active_keypair(conn, cache, &header.access_key).await?;
    parts.verify(header, &keypair.secret_key)?;
    Ok(keypair.identity)
}

/// The active keypair `access_key` of an active user, with its secret key: from the cache, or
/// else read in one statement without a transaction (this runs on every request).
async fn active_keypair(
    conn: &DatabaseConnection,
    cache: &KeypairCache,
    access_key: &str,
) -> Result<AuthKeypair> {
    let miss = match cache.get(access_key) {
        Ok(keypair) => return Ok(keypair),
        Err(miss) => miss,
    };
    let keypair = read_active_keypair(conn, access_key).await?;
    cache.store(miss, &keypair);
    Ok(keypair)
}

async fn read_active_keypair(conn: &DatabaseConnection, access_key: &str) -> Result<AuthKeypair> {
    let not_found = || Error::AuthFailed("Access key not found".into());
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT k.secret_key AS kp_secret_key, k.is_admin AS kp_is_admin, \
                    k.rate_limit AS kp_rate_limit, u.uuid AS u_uuid, u.email AS u_email, \
                    u.role::text AS u_role, u.status::text AS u_status, \
                    u.domain_name AS u_domain_name, p.* \
             FROM keypairs k \
             JOIN users u ON u.uuid = k.user \
             JOIN keypair_resource_policies p ON p.name = k.resource_policy \
             WHERE k.access_key = $1 AND k.is_active",
            [access_key.into()],
        ))
        .await?
        .ok_or_else(not_found)?;
    let status: String = row.try_get("", "u_status")?;
    if status != UserStatus::Active.to_value() {
        return Err(Error::AuthFailed(
            "The user of this keypair is not active".into(),
        ));
    }
    let role: Option<String> = row.try_get("", "u_role")?;
    let role = role
        .and_then(|r| UserRole::try_from_value(&r).ok())
        .unwrap_or(UserRole::User);
    let secret_key: Option<String> = row.try_get("", "kp_secret_key")?;
    let identity = Identity {
        access_key: access_key.to_owned(),
        user_uuid: row.try_get("", "u_uuid")?,
        email: row.try_get("", "u_email")?,
        role,
        domain_name: row.try_get("", "u_domain_name")?,
        is_admin: row
            .try_get::<Option<bool>>("", "kp_is_admin")?
            .unwrap_or(false),
        is_superadmin: role == UserRole::Superadmin,
        rate_limit: row.try_get("", "kp_rate_limit")?,
        resource_policy: keypair_resource_policies::Model::from_query_result(&row, "")?,
    };
    Ok(AuthKeypair {
        identity,
        secret_key: secret_key.ok_or_else(not_found)?,
    })
}
