//! Resource presets: named resource slot bundles every user may read.

use entities::resource_presets;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use super::{Error, Result};

pub async fn get(
    db: &DatabaseConnection,
    name: Option<String>,
) -> Result<Option<resource_presets::Model>> {
    let name = name.ok_or_else(|| Error::InvalidInput("name is required".into()))?;
    Ok(resource_presets::Entity::find_by_id(name).one(db).await?)
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<resource_presets::Model>> {
    Ok(resource_presets::Entity::find()
        .order_by_asc(resource_presets::Column::Name)
        .all(db)
        .await?)
}
