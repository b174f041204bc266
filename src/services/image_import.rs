//! Importing a Docker image as a Backend.AI kernel image (21.03 `api/image.py`). 21.03 builds
//! the image in a batch session that reaches the agent host's Docker daemon; this manager
//! checks the request as 21.03 does, and refuses the build itself until it schedules sessions.

use entities::groups;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use super::auth::Identity;
use super::{scaling_groups, Error, Result};

/// The choices of the import form: the active groups of the caller's domain and the scaling
/// groups the caller may use.
pub async fn form_choices(
    db: &DatabaseConnection,
    caller: &Identity,
) -> Result<(Vec<String>, Vec<String>)> {
    let domain = caller.domain_name.clone().unwrap_or_default();
    let groups: Vec<String> = groups::Entity::find()
        .select_only()
        .column(groups::Column::Name)
        .filter(groups::Column::DomainName.eq(domain.as_str()))
        .filter(groups::Column::IsActive.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let scaling_groups = scaling_groups::allowed(db, &domain, None, &caller.access_key).await?;
    Ok((groups, scaling_groups))
}

/// Where an import task would run.
pub struct LaunchOptions {
    pub group: String,
    pub scaling_group: String,
}

/// Checks that the caller may run an import in `launch.group`, then refuses: the build runs
/// as a batch session, which this manager cannot schedule yet.
pub async fn import(
    db: &DatabaseConnection,
    caller: &Identity,
    launch: &LaunchOptions,
) -> Result<std::convert::Infallible> {
    let domain = caller.domain_name.clone().unwrap_or_default();
    let group = super::groups::resolve(
        db,
        Some(&domain),
        &super::groups::GroupRef::Name(launch.group.clone()),
    )
    .await?
    .ok_or_else(|| Error::InvalidInput("Invalid domain or group.".into()))?;
    if !super::groups::is_member(db, caller.user_uuid, group.0).await? {
        return Err(Error::InvalidInput(
            "You do not belong to the given group.".into(),
        ));
    }
    let allowed = scaling_groups::allowed(db, &domain, Some(group.0), &caller.access_key).await?;
    if !allowed.contains(&launch.scaling_group) {
        return Err(Error::InvalidInput(format!(
            "scaling group {:?} is not allowed for the group {:?}",
            launch.scaling_group, launch.group
        )));
    }
    Err(Error::Unavailable(
        "Image import runs as a batch session on an agent, and this manager does not schedule \
         sessions yet"
            .into(),
    ))
}
