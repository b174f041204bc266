//! Dotfiles of keypairs, groups and domains (files placed in every new session's home), and
//! keypairs' bootstrap scripts (21.03 `userconfig.py`, `groupconfig.py`, `domainconfig.py`).
//!
//! Each owner stores its dotfiles in one `dotfiles` column as a msgpack array of
//! `{path, perm, data}` maps, at most 64 KiB packed and 100 entries, as 21.03 does.

use entities::enums::UserRole;
use entities::{domains, groups, keypairs, vfolders};
use rmpv::Value as Msg;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::auth::Identity;
use super::groups::GroupRef;
use super::{Error, Named, Result};
use crate::db::{self, RetryPolicy};

/// The packed size limit of one owner's dotfiles, and of one dotfile's data (in characters).
pub const MAXIMUM_DOTFILE_SIZE: usize = 64 * 1024;
/// The most dotfiles one owner may have.
pub const MAXIMUM_DOTFILES: usize = 100;
/// Paths the agent manages itself.
const RESERVED_DOTFILES: [&str; 6] = [
    ".terminfo",
    ".jupyter",
    ".ssh",
    ".ssh/authorized_keys",
    ".local",
    ".config",
];

/// One dotfile: where it goes, its permission bits (three octal digits) and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dotfile {
    pub path: String,
    pub perm: String,
    pub data: String,
}

/// Whose dotfiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Keypair(String),
    Group(Uuid),
    Domain(String),
}

/// Whether `perm` is three octal digits, as 21.03 requires.
pub fn valid_permission(perm: &str) -> bool {
    perm.len() == 3 && perm.bytes().all(|b| (b'0'..=b'7').contains(&b))
}

fn corrupt(why: &str) -> Error {
    Error::Internal(format!("stored dotfiles are malformed: {why}"))
}

/// Reads a stored `dotfiles` column.
pub fn decode(bytes: &[u8]) -> Result<Vec<Dotfile>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let value = rmpv::decode::read_value(&mut &bytes[..]).map_err(|e| corrupt(&e.to_string()))?;
    let Msg::Array(items) = value else {
        return Err(corrupt("not an array"));
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.as_map()
                    .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(name)))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| corrupt(&format!("an entry has no {name}")))
            };
            Ok(Dotfile {
                path: field("path")?,
                perm: field("perm")?,
                data: field("data")?,
            })
        })
        .collect()
}

/// Packs dotfiles as 21.03 does (maps keyed `path`, `perm`, `data`, in that order).
pub fn encode(dotfiles: &[Dotfile]) -> Vec<u8> {
    let items = dotfiles
        .iter()
        .map(|d| {
            Msg::Map(vec![
                (Msg::from("path"), Msg::from(d.path.as_str())),
                (Msg::from("perm"), Msg::from(d.perm.as_str())),
                (Msg::from("data"), Msg::from(d.data.as_str())),
            ])
        })
        .collect();
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &Msg::Array(items))
        .expect("writing to a Vec cannot fail");
    bytes
}

async fn load(conn: &impl ConnectionTrait, owner: &Owner) -> Result<Option<Vec<Dotfile>>> {
    let stored: Option<Vec<u8>> = match owner {
        Owner::Keypair(ak) => {
            keypairs::Entity::find_by_id(ak.as_str())
                .select_only()
                .column(keypairs::Column::Dotfiles)
                .into_tuple()
                .one(conn)
                .await?
        }
        Owner::Group(id) => {
            groups::Entity::find_by_id(*id)
                .select_only()
                .column(groups::Column::Dotfiles)
                .into_tuple()
                .one(conn)
                .await?
        }
        Owner::Domain(name) => {
            domains::Entity::find_by_id(name.as_str())
                .select_only()
                .column(domains::Column::Dotfiles)
                .into_tuple()
                .one(conn)
                .await?
        }
    };
    stored.map(|bytes| decode(&bytes)).transpose()
}

async fn store(conn: &impl ConnectionTrait, owner: &Owner, dotfiles: &[Dotfile]) -> Result<()> {
    let packed = encode(dotfiles);
    if packed.len() > MAXIMUM_DOTFILE_SIZE {
        return Err(no_space());
    }
    let value = Expr::value(packed);
    match owner {
        Owner::Keypair(ak) => {
            keypairs::Entity::update_many()
                .col_expr(keypairs::Column::Dotfiles, value)
                .filter(keypairs::Column::AccessKey.eq(ak.as_str()))
                .exec(conn)
                .await?;
        }
        Owner::Group(id) => {
            groups::Entity::update_many()
                .col_expr(groups::Column::Dotfiles, value)
                .filter(groups::Column::Id.eq(*id))
                .exec(conn)
                .await?;
        }
        Owner::Domain(name) => {
            domains::Entity::update_many()
                .col_expr(domains::Column::Dotfiles, value)
                .filter(domains::Column::Name.eq(name.as_str()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

fn no_space() -> Error {
    Error::Named(
        Named::DotfileCreationFailed,
        Some("No leftover space for dotfile storage".into()),
    )
}

fn not_found_owner(owner: &Owner) -> Error {
    match owner {
        Owner::Keypair(ak) => Error::NotFound(format!("keypair {ak}")),
        Owner::Group(_) => Error::Named(Named::GroupNotFound, None),
        Owner::Domain(_) => Error::Named(Named::DomainNotFound, None),
    }
}

async fn load_existing(conn: &impl ConnectionTrait, owner: &Owner) -> Result<Vec<Dotfile>> {
    load(conn, owner)
        .await?
        .ok_or_else(|| not_found_owner(owner))
}

/// Runs a read-modify-write of `owner`'s dotfiles in one serializable transaction.
async fn modify<F>(db: &DatabaseConnection, owner: &Owner, change: F) -> Result<()>
where
    F: Fn(&mut Vec<Dotfile>) -> Result<()> + Send + Sync + 'static,
{
    let change = std::sync::Arc::new(change);
    db::serializable(db, RetryPolicy::default(), |txn| {
        let (owner, change) = (owner.clone(), change.clone());
        Box::pin(async move {
            let mut dotfiles = load_existing(txn, &owner).await?;
            change(&mut dotfiles)?;
            store(txn, &owner, &dotfiles).await
        })
    })
    .await
}

/// Adds a dotfile. For a keypair's, `requester` is the user whose virtual folders it must not
/// shadow (a folder named as the path would be mounted at the same place).
pub async fn create(
    db: &DatabaseConnection,
    owner: &Owner,
    dotfile: Dotfile,
    requester: Option<Uuid>,
) -> Result<()> {
    if RESERVED_DOTFILES.contains(&dotfile.path.as_str()) {
        return Err(Error::InvalidInput(
            "dotfile path is reserved for internal operations.".into(),
        ));
    }
    if let Some(user) = requester {
        let clashes = vfolders::Entity::find()
            .filter(vfolders::Column::Name.eq(dotfile.path.as_str()))
            .filter(vfolders::Column::User.eq(user))
            .count(db)
            .await?;
        if clashes > 0 {
            return Err(Error::InvalidInput(
                "dotfile path conflicts with your dot-prefixed vFolder".into(),
            ));
        }
    }
    modify(db, owner, move |dotfiles| {
        if encode(dotfiles).len() >= MAXIMUM_DOTFILE_SIZE {
            return Err(no_space());
        }
        if dotfiles.len() >= MAXIMUM_DOTFILES {
            return Err(Error::Named(
                Named::DotfileCreationFailed,
                Some("Dotfile creation limit reached".into()),
            ));
        }
        if dotfiles.iter().any(|d| d.path == dotfile.path) {
            return Err(Error::Named(Named::DotfileAlreadyExists, None));
        }
        dotfiles.push(dotfile.clone());
        Ok(())
    })
    .await
}

fn dotfile_not_found() -> Error {
    Error::Named(Named::DotfileNotFound, None)
}

/// Replaces a dotfile (it moves to the end of the list, as in 21.03).
pub async fn update(db: &DatabaseConnection, owner: &Owner, dotfile: Dotfile) -> Result<()> {
    modify(db, owner, move |dotfiles| {
        let at = dotfiles
            .iter()
            .position(|d| d.path == dotfile.path)
            .ok_or_else(dotfile_not_found)?;
        dotfiles.remove(at);
        dotfiles.push(dotfile.clone());
        Ok(())
    })
    .await
}

pub async fn delete(db: &DatabaseConnection, owner: &Owner, path: &str) -> Result<()> {
    let path = path.to_owned();
    modify(db, owner, move |dotfiles| {
        let at = dotfiles
            .iter()
            .position(|d| d.path == path)
            .ok_or_else(dotfile_not_found)?;
        dotfiles.remove(at);
        Ok(())
    })
    .await
}

/// All of `owner`'s dotfiles.
pub async fn list(db: &DatabaseConnection, owner: &Owner) -> Result<Vec<Dotfile>> {
    load_existing(db, owner).await
}

/// One of `owner`'s dotfiles.
pub async fn get(db: &DatabaseConnection, owner: &Owner, path: &str) -> Result<Dotfile> {
    load_existing(db, owner)
        .await?
        .into_iter()
        .find(|d| d.path == path)
        .ok_or_else(dotfile_not_found)
}

/// The keypair whose dotfiles a request works on: the caller's, or another's the caller may
/// act for (see [`super::scope::acting_for`]).
pub async fn keypair_owner(
    db: &DatabaseConnection,
    caller: &Identity,
    owner_access_key: Option<&str>,
) -> Result<Owner> {
    let owner = super::scope::acting_for(db, caller, owner_access_key).await?;
    Ok(Owner::Keypair(owner.access_key))
}

/// What a caller does with group or domain dotfiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Read,
}

/// The group whose dotfiles a request works on, checked against the caller: admins write
/// within their domain; readers must be admins of its domain or its members.
pub async fn group_owner(
    db: &DatabaseConnection,
    caller: &Identity,
    group: &GroupRef,
    domain: Option<&str>,
    action: Action,
) -> Result<Owner> {
    if matches!(group, GroupRef::Name(_)) && domain.is_none() {
        return Err(Error::InvalidInput("Missing parameter 'domain'".into()));
    }
    let lookup_domain = match group {
        GroupRef::Id(_) => None,
        GroupRef::Name(_) => domain,
    };
    let (id, group_domain) = super::groups::resolve(db, lookup_domain, group)
        .await?
        .ok_or(Error::Named(Named::GroupNotFound, None))?;
    if caller.role == UserRole::Superadmin {
        return Ok(Owner::Group(id));
    }
    let same_domain = caller.domain_name.as_deref() == Some(group_domain.as_str());
    let refusal = match action {
        Action::Create => "Admins cannot create group dotfiles of other domains",
        Action::Update => "Admins cannot update group dotfiles of other domains",
        Action::Delete => "Admins cannot delete dotfiles of other domains",
        Action::Read if caller.is_admin => {
            "Domain admins cannot access group dotfiles of other domains"
        }
        Action::Read => {
            if super::groups::is_member(db, caller.user_uuid, id).await? {
                return Ok(Owner::Group(id));
            }
            "Users cannot access group dotfiles of other groups"
        }
    };
    if same_domain && (action != Action::Read || caller.is_admin) {
        Ok(Owner::Group(id))
    } else {
        Err(Error::Forbidden(Some(refusal.into())))
    }
}

/// The domain whose dotfiles a request works on: anyone's for superadmins, else the caller's
/// own.
pub async fn domain_owner(
    db: &DatabaseConnection,
    caller: &Identity,
    domain: &str,
    action: Action,
) -> Result<Owner> {
    if caller.role != UserRole::Superadmin && caller.domain_name.as_deref() != Some(domain) {
        let why = match action {
            Action::Create => "Domain admins cannot create dotfiles of other domains",
            Action::Update => "Domain admins cannot update dotfiles of other domains",
            Action::Delete => "Domain admins cannot delete dotfiles of other domains",
            Action::Read => "Users cannot access dotfiles of other domains",
        };
        return Err(Error::Forbidden(Some(why.into())));
    }
    // 21.03 silently did nothing for an unknown domain; say so instead.
    if domains::Entity::find_by_id(domain).count(db).await? == 0 {
        return Err(Error::Named(Named::DomainNotFound, None));
    }
    Ok(Owner::Domain(domain.to_owned()))
}

/// The caller's bootstrap script (run when their interactive sessions start).
pub async fn bootstrap_script(db: &DatabaseConnection, caller: &Identity) -> Result<String> {
    let script: Option<String> = keypairs::Entity::find_by_id(caller.access_key.as_str())
        .select_only()
        .column(keypairs::Column::BootstrapScript)
        .into_tuple()
        .one(db)
        .await?;
    Ok(script.unwrap_or_default())
}

/// Stores the caller's bootstrap script, trimmed; at most 64 KiB.
pub async fn set_bootstrap_script(
    db: &DatabaseConnection,
    caller: &Identity,
    script: &str,
) -> Result<()> {
    let script = script.trim();
    if script.len() > MAXIMUM_DOTFILE_SIZE {
        return Err(Error::Named(
            Named::DotfileCreationFailed,
            Some("Maximum bootstrap script length reached".into()),
        ));
    }
    keypairs::Entity::update_many()
        .col_expr(keypairs::Column::BootstrapScript, Expr::value(script))
        .filter(keypairs::Column::AccessKey.eq(caller.access_key.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_as_21_03() {
        let files = vec![Dotfile {
            path: ".a".into(),
            perm: "644".into(),
            data: "x".into(),
        }];
        let packed = encode(&files);
        assert_eq!(
            hex(&packed),
            "9183a470617468a22e61a47065726da3363434a464617461a178"
        );
        assert_eq!(decode(&packed).unwrap(), files);
        assert_eq!(decode(&[0x90]).unwrap(), vec![]);
        assert!(decode(&[0x91, 0x01]).is_err());
        assert!(decode(&[0xc1]).is_err());
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn permissions_are_three_octal_digits() {
        assert!(valid_permission("644"));
        assert!(valid_permission("000"));
        assert!(!valid_permission("648"));
        assert!(!valid_permission("0644"));
        assert!(!valid_permission("64"));
    }
}
