//! Who is calling: the keypair behind a signed request, with its user and resource policy.

use chrono::{DateTime, Utc};
use entities::enums::{UserRole, UserStatus};
use entities::{keypair_resource_policies, keypairs, users};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::error::{Error, Result};
use crate::auth::signature::{date_is_fresh, AuthError, AuthHeader, SignedParts};
use crate::db;

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

/// Checks a signed request (date window, active keypair of an active user, signature) and
/// returns its caller.
pub async fn authenticate_signed(
    conn: &DatabaseConnection,
    header: &AuthHeader,
    parts: &SignedParts<'_>,
    now: DateTime<Utc>,
) -> Result<Identity> {
    if !date_is_fresh(parts.date, now) {
        return Err(AuthError::InvalidParameters("Date/time sync error").into());
    }
    let (identity, secret_key) = active_keypair(conn, &header.access_key).await?;
    parts.verify(header, &secret_key)?;
    Ok(identity)
}

/// The active keypair `access_key` of an active user, with its secret key.
async fn active_keypair(conn: &DatabaseConnection, access_key: &str) -> Result<(Identity, String)> {
    let access_key = access_key.to_owned();
    db::read_only(conn, move |txn| {
        Box::pin(async move {
            let not_found = || Error::AuthFailed("Access key not found".into());
            let (keypair, user) = keypairs::Entity::find_by_id(access_key.as_str())
                .filter(keypairs::Column::IsActive.eq(true))
                .find_also_related(users::Entity)
                .one(txn)
                .await?
                .ok_or_else(not_found)?;
            let user = user.ok_or_else(not_found)?;
            if user.status != UserStatus::Active {
                return Err(Error::AuthFailed(
                    "The user of this keypair is not active".into(),
                ));
            }
            let policy =
                keypair_resource_policies::Entity::find_by_id(keypair.resource_policy.as_str())
                    .one(txn)
                    .await?
                    .ok_or_else(|| {
                        Error::Internal(format!(
                            "keypair {access_key} names a missing resource policy"
                        ))
                    })?;
            let secret_key = keypair.secret_key.clone().ok_or_else(not_found)?;
            let role = user.role.unwrap_or(UserRole::User);
            let identity = Identity {
                access_key: keypair.access_key,
                user_uuid: user.uuid,
                email: user.email,
                role,
                domain_name: user.domain_name,
                is_admin: keypair.is_admin.unwrap_or(false),
                is_superadmin: role == UserRole::Superadmin,
                rate_limit: keypair.rate_limit,
                resource_policy: policy,
            };
            Ok((identity, secret_key))
        })
    })
    .await
}
