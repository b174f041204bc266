//! Who may read what: 21.03's `privileged_query` / `scoped_query` rules and its hand-written
//! domain checks, in one place.

use entities::enums::UserRole;

use super::auth::Identity;
use super::{Error, Result};

/// Who may call a REST route at all (21.03's `auth_required`, `admin_required` and
/// `superadmin_required`); the handler's service applies the finer rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// Any authenticated caller.
    User,
    /// Callers whose keypair is an admin keypair (21.03 checked the keypair's flag here).
    Admin,
    Superadmin,
}

impl RouteAccess {
    /// 21.03 answered every refusal here with 401, not 403.
    pub fn check(self, caller: &Identity) -> Result<()> {
        let allowed = match self {
            RouteAccess::User => true,
            RouteAccess::Admin => caller.is_admin,
            RouteAccess::Superadmin => caller.role == UserRole::Superadmin,
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::AuthFailed("Unauthorized access".into()))
        }
    }
}

/// The keypair a request acts for, and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingFor {
    pub access_key: String,
    pub user_uuid: uuid::Uuid,
    pub domain_name: Option<String>,
    pub role: UserRole,
    /// Whether this is the caller's own keypair.
    pub is_caller: bool,
}

/// Whose behalf a request acts on: the caller's own, or with `owner_access_key` another
/// active keypair's where the caller may act for its user (21.03's `get_access_key_scopes`:
/// superadmins for anyone, domain admins within their domain except for superadmins, users
/// for nobody).
pub async fn acting_for(
    db: &sea_orm::DatabaseConnection,
    caller: &Identity,
    owner_access_key: Option<&str>,
) -> Result<ActingFor> {
    use entities::{keypairs, users};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    let Some(owner) = owner_access_key.filter(|o| *o != caller.access_key) else {
        return Ok(ActingFor {
            access_key: caller.access_key.clone(),
            user_uuid: caller.user_uuid,
            domain_name: caller.domain_name.clone(),
            role: caller.role,
            is_caller: true,
        });
    };
    let found: Option<(uuid::Uuid, Option<String>, UserRole)> = keypairs::Entity::find_by_id(owner)
        .select_only()
        .column(users::Column::Uuid)
        .column(users::Column::DomainName)
        .column(users::Column::Role)
        .inner_join(users::Entity)
        .filter(keypairs::Column::IsActive.eq(true))
        .into_tuple()
        .one(db)
        .await?;
    let Some((user_uuid, domain_name, role)) = found else {
        return Err(Error::InvalidInput(
            "Unknown or inactive owner access key".into(),
        ));
    };
    let refuse = |why: &str| Err(Error::Forbidden(Some(why.to_owned())));
    if caller.role != UserRole::Superadmin {
        if !caller.is_admin {
            return refuse("Only admins can perform operations on behalf of other users.");
        }
        if caller.domain_name != domain_name {
            return refuse("Domain-admins can perform operations on behalf of other users in the same domain only.");
        }
        if role == UserRole::Superadmin {
            return refuse("Domain-admins cannot perform operations on behalf of super-admins.");
        }
    }
    Ok(ActingFor {
        access_key: owner.to_owned(),
        user_uuid,
        domain_name,
        role,
        is_caller: false,
    })
}

/// Only superadmins (21.03's `privileged_query`, whatever role it named).
pub fn require_superadmin(caller: &Identity) -> Result<()> {
    if caller.role == UserRole::Superadmin {
        Ok(())
    } else {
        Err(Error::superadmin_required())
    }
}

/// Admins and superadmins (21.03's mutations for admins).
pub fn require_admin(caller: &Identity) -> Result<()> {
    match caller.role {
        UserRole::Superadmin | UserRole::Admin => Ok(()),
        _ => Err(Error::InsufficientPrivilege),
    }
}

/// Whether agent ids are hidden from `caller`: with `[manager] hide-agents`, from everyone but
/// superadmins.
pub fn hides_agents(caller: &Identity, hide_agents: bool) -> bool {
    hide_agents && caller.role != UserRole::Superadmin
}

/// The domain and owner a scoped read is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<T> {
    /// `None`: every domain (superadmins only).
    pub domain_name: Option<String>,
    /// `None`: every owner within the domain.
    pub owner: Option<T>,
}

/// 21.03's `scoped_query`: superadmins read what they ask for; admins their own domain; users
/// their own rows. Asking for another domain (or, as a user, another owner) is forbidden.
/// With `autofill`, an omitted owner means the caller.
pub fn scoped<T: PartialEq>(
    caller: &Identity,
    domain_name: Option<String>,
    owner: Option<T>,
    own: T,
    autofill: bool,
) -> Result<Scope<T>> {
    let fill = |owner: Option<T>, own: T| if autofill { owner.or(Some(own)) } else { owner };
    match caller.role {
        UserRole::Superadmin => Ok(Scope {
            domain_name,
            owner: fill(owner, own),
        }),
        UserRole::Admin => Ok(Scope {
            domain_name: own_domain(caller, domain_name, Error::Forbidden(None))?,
            owner: fill(owner, own),
        }),
        UserRole::User => {
            let domain_name = own_domain(caller, domain_name, Error::Forbidden(None))?;
            if owner.as_ref().is_some_and(|o| *o != own) {
                return Err(Error::Forbidden(None));
            }
            Ok(Scope {
                domain_name,
                owner: Some(own),
            })
        }
        UserRole::Monitor => Err(Error::unknown_role()),
    }
}

/// The domain an admin-level read is limited to (21.03's hand-written checks): superadmins as
/// asked, admins their own (another one is `InsufficientPrivilege`); users and monitors may not.
pub fn admin_domain(caller: &Identity, domain_name: Option<String>) -> Result<Option<String>> {
    match caller.role {
        UserRole::Superadmin => Ok(domain_name),
        UserRole::Admin => own_domain(caller, domain_name, Error::InsufficientPrivilege),
        UserRole::User => Err(Error::InsufficientPrivilege),
        UserRole::Monitor => Err(Error::unknown_role()),
    }
}

/// The caller's own domain; asking for another gives `denied`.
pub fn own_domain(
    caller: &Identity,
    asked: Option<String>,
    denied: Error,
) -> Result<Option<String>> {
    match asked {
        Some(d) if Some(&d) != caller.domain_name.as_ref() => Err(denied),
        _ => Ok(caller.domain_name.clone()),
    }
}

/// A `status` argument given as comma-separated enumeration names (`"RUNNING,PENDING"`).
pub fn parse_status_list<E>(
    raw: &str,
    parse: impl Fn(&str) -> Option<E>,
    what: &str,
) -> Result<Vec<E>> {
    raw.split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            parse(s).ok_or_else(|| Error::InvalidInput(format!("unknown {what} status {s:?}")))
        })
        .collect()
}
