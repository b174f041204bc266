//! The account operations of `/auth`: logging in with a password, signing up and out,
//! changing one's password and SSH keypair, and one's roles.

use entities::enums::{UserRole, UserStatus};
use entities::{association_groups_users, groups, keypairs, users};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::Identity;
use super::mutation::EMPTY_DOTFILES;
use super::{Error, Result};
use crate::auth::hooks::{Credentials, Hooks, Rejection};
use crate::db::{self, RetryPolicy};
use crate::keys::{generate_keypair, generate_ssh_keypair, hash_password, verify_password};

/// The rate limit of a signed-up user's keypair (21.03's).
const SIGNUP_RATE_LIMIT: i32 = 1000;

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Error::RejectedByHook {
            plugin: r.plugin,
            reason: r.reason,
        }
    }
}

/// The user with that email in that domain, if the password is theirs.
pub async fn check_credential(
    db: &DatabaseConnection,
    domain: &str,
    email: &str,
    password: &str,
) -> Result<Option<users::Model>> {
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .filter(users::Column::DomainName.eq(domain))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(hash) = user.password.clone() else {
        return Ok(None);
    };
    Ok(verify_password(password.to_owned(), hash)
        .await
        .then_some(user))
}

/// What a successful login hands out.
#[derive(Debug, Clone)]
pub struct Login {
    pub access_key: String,
    pub secret_key: String,
    pub role: UserRole,
    pub status: UserStatus,
}

/// `/auth/authorize`: checks the credentials (or lets an `AUTHORIZE` plugin do it) and returns
/// the user's active keypair, admin keypairs first.
pub async fn login(
    db: &DatabaseConnection,
    hooks: &Hooks,
    credentials: &Credentials,
) -> Result<Login> {
    let user = match hooks.authorize(credentials).await? {
        Some(email) => {
            users::Entity::find()
                .filter(users::Column::Email.eq(email))
                .one(db)
                .await?
        }
        None => {
            check_credential(
                db,
                &credentials.domain,
                &credentials.username,
                &credentials.password,
            )
            .await?
        }
    };
    let mismatch = || Error::AuthFailed("User credential mismatch.".into());
    let user = user.ok_or_else(mismatch)?;
    match user.status {
        UserStatus::BeforeVerification => {
            return Err(Error::AuthFailed(
                "This account needs email verification.".into(),
            ))
        }
        UserStatus::Active => {}
        _ => return Err(mismatch()),
    }
    let keypair = keypairs::Entity::find()
        .filter(keypairs::Column::User.eq(user.uuid))
        .filter(keypairs::Column::IsActive.eq(true))
        .order_by_desc(keypairs::Column::IsAdmin)
        .order_by_asc(keypairs::Column::CreatedAt)
        .one(db)
        .await?
        .ok_or_else(|| Error::AuthFailed("No API keypairs found.".into()))?;
    hooks.post_authorize(&user.email, &keypair.access_key).await;
    Ok(Login {
        secret_key: keypair.secret_key.unwrap_or_default(),
        access_key: keypair.access_key,
        role: user.role.unwrap_or(UserRole::User),
        status: user.status,
    })
}

/// `/auth/role`: the caller's global, domain and (if asked) group roles.
pub async fn roles(
    db: &DatabaseConnection,
    caller: &Identity,
    group: Option<Uuid>,
) -> Result<Value> {
    let group_role = match group {
        None => Value::Null,
        Some(gid) => {
            let member = association_groups_users::Entity::find()
                .filter(association_groups_users::Column::GroupId.eq(gid))
                .filter(association_groups_users::Column::UserId.eq(caller.user_uuid))
                .count(db)
                .await?;
            if member == 0 {
                return Err(Error::GenericNotFound(
                    "No such user group or you are not the member of the group.".into(),
                ));
            }
            Value::from("user")
        }
    };
    Ok(serde_json::json!({
        "global_role": if caller.role == UserRole::Superadmin { "superadmin" } else { "user" },
        "domain_role": if caller.is_admin { "admin" } else { "user" },
        "group_role": group_role,
    }))
}

/// `/auth/signup`: a new active user of role `user` with a keypair, in the domain's `default`
/// group if there is one. `PRE_SIGNUP` plugins may refuse or adjust it. Returns the keypair.
pub async fn signup(
    db: &DatabaseConnection,
    hooks: &Hooks,
    params: Map<String, Value>,
    lang: &str,
) -> Result<(String, String)> {
    let text = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
    let (Some(domain), Some(email), Some(password)) =
        (text("domain"), text("email"), text("password"))
    else {
        return Err(Error::InvalidInput(
            "domain, email and password are required".into(),
        ));
    };
    let overrides = hooks.pre_signup(&params).await?;
    let pick = |key: &str| {
        overrides
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| text(key))
    };
    let status = match overrides.get("status").and_then(Value::as_str) {
        Some(s) => super::users::parse_statuses(s)?
            .first()
            .copied()
            .unwrap_or(UserStatus::Active),
        None => UserStatus::Active,
    };
    let role = match overrides.get("role").and_then(Value::as_str) {
        Some(r) => UserRole::try_from_value(&r.to_lowercase()).map_err(|_| {
            Error::Internal(format!("a PRE_SIGNUP plugin gave an unknown role {r:?}"))
        })?,
        None => UserRole::User,
    };
    let hashed = hash_password(password).await.map_err(Error::Internal)?;
    let (access_key, secret_key) = generate_keypair();
    let uuid = Uuid::new_v4();
    let user = users::ActiveModel {
        uuid: Set(uuid),
        username: Set(Some(pick("username").unwrap_or_else(|| email.clone()))),
        email: Set(email.clone()),
        password: Set(Some(hashed)),
        need_password_change: Set(Some(false)),
        full_name: Set(Some(pick("full_name").unwrap_or_default())),
        description: Set(Some(pick("description").unwrap_or_default())),
        status: Set(status),
        status_info: Set(Some("user-signup".into())),
        domain_name: Set(Some(domain.clone())),
        role: Set(Some(role)),
        ..Default::default()
    };
    let keypair = keypairs::ActiveModel {
        user_id: Set(Some(email.clone())),
        access_key: Set(access_key.clone()),
        secret_key: Set(Some(secret_key.clone())),
        is_active: Set(Some(status == UserStatus::Active)),
        is_admin: Set(Some(false)),
        resource_policy: Set(pick("resource_policy").unwrap_or_else(|| "default".into())),
        concurrency_used: Set(Some(0)),
        rate_limit: Set(Some(SIGNUP_RATE_LIMIT)),
        num_queries: Set(Some(0)),
        user: Set(uuid),
        dotfiles: Set(EMPTY_DOTFILES.to_vec()),
        bootstrap_script: Set(String::new()),
        ..Default::default()
    };
    let group_name = pick("group").unwrap_or_else(|| "default".into());
    let new_email = email.clone();
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (user, keypair, email, domain, group_name) = (
            user.clone(),
            keypair.clone(),
            new_email.clone(),
            domain.clone(),
            group_name.clone(),
        );
        Box::pin(async move {
            let taken = users::Entity::find()
                .filter(users::Column::Email.eq(email))
                .count(txn)
                .await?;
            if taken > 0 {
                return Err(Error::Conflict("Email already exists".into()));
            }
            user.insert(txn).await?;
            keypair.insert(txn).await?;
            let group: Option<Uuid> = groups::Entity::find()
                .select_only()
                .column(groups::Column::Id)
                .filter(groups::Column::DomainName.eq(domain))
                .filter(groups::Column::Name.eq(group_name))
                .into_tuple()
                .one(txn)
                .await?;
            if let Some(group_id) = group {
                association_groups_users::ActiveModel {
                    user_id: Set(uuid),
                    group_id: Set(group_id),
                }
                .insert(txn)
                .await?;
            }
            Ok::<_, Error>(())
        })
    })
    .await?;
    hooks.post_signup(&email, uuid, lang).await;
    Ok((access_key, secret_key))
}

/// `/auth/signout`: the caller deactivates their own account and keypairs.
pub async fn signout(
    db: &DatabaseConnection,
    caller: &Identity,
    email: &str,
    password: &str,
) -> Result<()> {
    if caller.email != email {
        return Err(Error::Forbidden(Some("Not the account owner".into())));
    }
    let domain = caller.domain_name.clone().unwrap_or_default();
    if check_credential(db, &domain, email, password)
        .await?
        .is_none()
    {
        return Err(Error::Conflict("Invalid email and/or password".into()));
    }
    let email = email.to_owned();
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let email = email.clone();
        Box::pin(async move {
            users::Entity::update_many()
                .col_expr(
                    users::Column::Status,
                    Expr::val(UserStatus::Inactive.to_value()).cast_as(Alias::new("userstatus")),
                )
                .col_expr(users::Column::ModifiedAt, Expr::current_timestamp())
                .filter(users::Column::Email.eq(email.as_str()))
                .exec(txn)
                .await?;
            keypairs::Entity::update_many()
                .col_expr(keypairs::Column::IsActive, Expr::value(false))
                .col_expr(keypairs::Column::ModifiedAt, Expr::current_timestamp())
                .filter(keypairs::Column::UserId.eq(email.as_str()))
                .exec(txn)
                .await?;
            Ok::<_, Error>(())
        })
    })
    .await
}

/// How `/auth/update-password` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordChange {
    Changed,
    /// The two copies of the new password differ.
    NewPasswordsDiffer,
}

/// `/auth/update-password`: the caller's old password, then the new one twice.
pub async fn update_password(
    db: &DatabaseConnection,
    hooks: &Hooks,
    caller: &Identity,
    old: &str,
    new: &str,
    new_again: &str,
) -> Result<PasswordChange> {
    let domain = caller.domain_name.clone().unwrap_or_default();
    if check_credential(db, &domain, &caller.email, old)
        .await?
        .is_none()
    {
        return Err(Error::AuthFailed("Old password mismatch".into()));
    }
    if new != new_again {
        return Ok(PasswordChange::NewPasswordsDiffer);
    }
    hooks
        .verify_password_format(old, new)
        .await
        .map_err(|mut r| {
            if r.reason.is_empty() {
                r.reason = "invalid password format".into();
            }
            Error::from(r)
        })?;
    let hashed = hash_password(new.to_owned())
        .await
        .map_err(Error::Internal)?;
    let update = users::Entity::update_many()
        .col_expr(users::Column::Password, Expr::value(hashed))
        .col_expr(users::Column::NeedPasswordChange, Expr::value(false))
        .col_expr(users::Column::ModifiedAt, Expr::current_timestamp())
        .filter(users::Column::Uuid.eq(caller.user_uuid));
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let update = update.clone();
        Box::pin(async move { Ok::<_, Error>(update.exec(txn).await?) })
    })
    .await?;
    Ok(PasswordChange::Changed)
}

/// `GET /auth/ssh-keypair`: the public half of the caller's keypair's SSH keypair.
pub async fn ssh_public_key(db: &DatabaseConnection, caller: &Identity) -> Result<Option<String>> {
    let key: Option<Option<String>> = keypairs::Entity::find_by_id(caller.access_key.as_str())
        .select_only()
        .column(keypairs::Column::SshPublicKey)
        .into_tuple()
        .one(db)
        .await?;
    Ok(key.flatten())
}

/// `PATCH /auth/ssh-keypair`: a new SSH keypair for the caller's keypair, both halves returned.
pub async fn refresh_ssh_keypair(
    db: &DatabaseConnection,
    caller: &Identity,
) -> Result<(String, String)> {
    let (public, private) = generate_ssh_keypair().await.map_err(Error::Internal)?;
    let update = keypairs::Entity::update_many()
        .col_expr(keypairs::Column::SshPublicKey, Expr::value(public.clone()))
        .col_expr(
            keypairs::Column::SshPrivateKey,
            Expr::value(private.clone()),
        )
        .col_expr(keypairs::Column::ModifiedAt, Expr::current_timestamp())
        .filter(keypairs::Column::AccessKey.eq(caller.access_key.as_str()));
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let update = update.clone();
        Box::pin(async move { Ok::<_, Error>(update.exec(txn).await?) })
    })
    .await?;
    Ok((public, private))
}
