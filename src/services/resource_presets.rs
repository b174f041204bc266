//! Resource presets: named resource slot bundles every user may read; superadmins manage them.

use entities::resource_presets;
use entities::resource_slot::{parse_binary_size, SlotAmount};
use rust_decimal::prelude::ToPrimitive;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::auth::Identity;
use super::mutation::{affected, insert_one, json_of, slots_input, Outcome};
use super::scope::require_superadmin;
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

/// A resource preset's properties (`CreateResourcePresetInput` / `ModifyResourcePresetInput`).
#[derive(Debug, Clone, Default)]
pub struct PresetProps {
    pub resource_slots: Option<serde_json::Value>,
    /// A binary size (`"1g"`); in a change, `""` clears it.
    pub shared_memory: Option<String>,
}

fn shared_memory(raw: &str) -> Result<Option<i64>> {
    if raw.is_empty() {
        return Ok(None);
    }
    match parse_binary_size(raw) {
        Some(SlotAmount::Finite(d)) => d
            .trunc()
            .to_i64()
            .map(Some)
            .ok_or_else(|| Error::InvalidInput(format!("shared_memory {raw:?} is too large"))),
        _ => Err(Error::InvalidInput(format!(
            "shared_memory {raw:?} is not a binary size (e.g. 64m, 1g)"
        ))),
    }
}

/// `create_resource_preset` (superadmins).
pub async fn create(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    props: PresetProps,
) -> Result<Outcome<resource_presets::Model>> {
    require_superadmin(caller)?;
    let slots = props
        .resource_slots
        .as_ref()
        .ok_or_else(|| Error::InvalidInput("resource_slots is required".into()))?;
    let row = resource_presets::ActiveModel {
        name: Set(name),
        resource_slots: Set(slots_input(slots, "resource_slots")?),
        shared_memory: Set(props
            .shared_memory
            .as_deref()
            .map(shared_memory)
            .transpose()?
            .flatten()),
    };
    insert_one(db, row).await
}

/// `modify_resource_preset` (superadmins).
pub async fn modify(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
    changes: PresetProps,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    let mut update =
        resource_presets::Entity::update_many().filter(resource_presets::Column::Name.eq(name));
    if changes.resource_slots.is_none() && changes.shared_memory.is_none() {
        return Ok(Outcome::Refused("nothing to update".into()));
    }
    if let Some(v) = &changes.resource_slots {
        update = update.col_expr(
            resource_presets::Column::ResourceSlots,
            Expr::value(json_of(&slots_input(v, "resource_slots")?)),
        );
    }
    if let Some(v) = &changes.shared_memory {
        update = update.col_expr(
            resource_presets::Column::SharedMemory,
            Expr::value(shared_memory(v)?),
        );
    }
    affected(db, update).await
}

/// `delete_resource_preset` (superadmins).
pub async fn delete(
    db: &DatabaseConnection,
    caller: &Identity,
    name: String,
) -> Result<Outcome<()>> {
    require_superadmin(caller)?;
    affected(
        db,
        resource_presets::Entity::delete_many().filter(resource_presets::Column::Name.eq(name)),
    )
    .await
}
