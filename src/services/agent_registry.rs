//! The `agents` table as agents' events keep it (21.03 `registry.py`): a heartbeat registers
//! a new agent, refreshes a known one or brings a lost one back; `agent_started` and
//! `agent_terminated` move its status.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use entities::enums::AgentStatus;
use entities::resource_slot::SlotAmount;
use entities::{agents, ResourceSlot};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    QueryFilter, QuerySelect,
};

use super::{Error, Result};
use crate::db::{self, RetryPolicy};

/// The unit of each resource slot (`count`, `bytes`, `unique`).
pub type SlotUnits = BTreeMap<String, String>;

/// What an agent reports about itself in each heartbeat (`agent_info`), checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentInfo {
    pub region: String,
    pub scaling_group: String,
    pub addr: String,
    pub available_slots: ResourceSlot,
    pub slot_units: SlotUnits,
    pub version: String,
    pub compute_plugins: serde_json::Value,
    /// The image references the agent has (`repo:tag`, as it names them).
    pub images: Vec<String>,
}

fn text<'a>(map: &'a [(rmpv::Value, rmpv::Value)], key: &str) -> Option<&'a rmpv::Value> {
    map.iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

impl AgentInfo {
    /// Reads `agent_info`; the error names the field at fault.
    pub fn from_msgpack(info: &rmpv::Value) -> std::result::Result<AgentInfo, String> {
        let map = info.as_map().ok_or("agent_info must be a map")?.as_slice();
        let string = |key: &str, default: Option<&str>| -> std::result::Result<String, String> {
            match (text(map, key), default) {
                (Some(v), _) => v
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("agent_info.{key} must be a string")),
                (None, Some(default)) => Ok(default.to_owned()),
                (None, None) => Err(format!("agent_info.{key} is missing")),
            }
        };
        let mut available_slots = ResourceSlot::new();
        let mut slot_units = SlotUnits::new();
        let slots = text(map, "resource_slots")
            .ok_or("agent_info.resource_slots is missing")?
            .as_map()
            .ok_or("agent_info.resource_slots must be a map")?;
        for (slot, spec) in slots {
            let slot = slot
                .as_str()
                .ok_or("agent_info.resource_slots has a key that is not a string")?;
            let bad = || format!("agent_info.resource_slots.{slot} must be [unit, amount]");
            let [unit, amount] = spec.as_array().map(Vec::as_slice).ok_or_else(bad)? else {
                return Err(bad());
            };
            let unit = unit.as_str().ok_or_else(bad)?;
            if !matches!(unit, "count" | "bytes" | "unique") {
                return Err(format!(
                    "agent_info.resource_slots.{slot} has the unknown unit {unit:?}"
                ));
            }
            let amount = match amount {
                rmpv::Value::String(s) => s.as_str().and_then(|s| SlotAmount::from_str(s).ok()),
                rmpv::Value::Integer(i) => i.as_i64().map(SlotAmount::from),
                _ => None,
            }
            .ok_or_else(|| format!("agent_info.resource_slots.{slot} has a bad amount"))?;
            available_slots.insert(slot, amount);
            slot_units.insert(slot.to_owned(), unit.to_owned());
        }
        Ok(AgentInfo {
            region: string("region", Some(""))?,
            scaling_group: string("scaling_group", Some("default"))?,
            addr: string("addr", None)?,
            available_slots,
            slot_units,
            version: string("version", Some(""))?,
            compute_plugins: match text(map, "compute_plugins") {
                Some(v) => to_json(v)
                    .filter(serde_json::Value::is_object)
                    .ok_or("agent_info.compute_plugins must be a map of plain values")?,
                None => serde_json::json!({}),
            },
            images: match text(map, "images") {
                Some(v) => read_images(v).map_err(|why| format!("agent_info.images {why}"))?,
                None => Vec::new(),
            },
        })
    }
}

/// `images`: snappy-compressed msgpack of `[[repo_tag, digest], ...]`.
fn read_images(value: &rmpv::Value) -> std::result::Result<Vec<String>, String> {
    let compressed = match value {
        rmpv::Value::Binary(bytes) => bytes,
        _ => return Err("must be binary".into()),
    };
    // Nothing at all stands for no images.
    if compressed.is_empty() {
        return Ok(Vec::new());
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(compressed)
        .map_err(|e| format!("is not snappy-compressed: {e}"))?;
    let mut slice = raw.as_slice();
    let list = rmpv::decode::read_value_with_max_depth(&mut slice, 8)
        .map_err(|e| format!("is not msgpack: {e}"))?;
    list.as_array()
        .ok_or("must hold a list")?
        .iter()
        .map(|item| {
            item.as_array()
                .and_then(|pair| pair.first())
                .and_then(rmpv::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| "must hold [repo_tag, digest] pairs".to_owned())
        })
        .collect()
}

/// A msgpack document as JSON (none for binary data, extension values or non-text keys).
fn to_json(v: &rmpv::Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        rmpv::Value::Nil => J::Null,
        rmpv::Value::Boolean(b) => J::Bool(*b),
        rmpv::Value::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => J::from(n),
            (None, Some(n)) => J::from(n),
            _ => return None,
        },
        rmpv::Value::F32(f) => J::from(f64::from(*f)),
        rmpv::Value::F64(f) => J::from(*f),
        rmpv::Value::String(s) => J::String(s.as_str()?.to_owned()),
        rmpv::Value::Array(items) => J::Array(items.iter().map(to_json).collect::<Option<_>>()?),
        rmpv::Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| Some((k.as_str()?.to_owned(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        rmpv::Value::Binary(_) | rmpv::Value::Ext(..) => return None,
    })
}

/// What a heartbeat did to the agent's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// A new agent: inserted, ALIVE.
    Registered,
    /// A known, alive agent: the columns that changed were written (none if nothing did).
    Refreshed { changed: bool },
    /// A LOST or TERMINATED agent back: ALIVE again (21.03 then announces `agent_started`
    /// with the reason `revived`).
    Revived,
    /// An agent restarting: left as is until it announces itself.
    Restarting,
}

impl Heartbeat {
    /// Whether the slots the agent reports may be new to the cluster.
    pub fn wrote_slots(self) -> bool {
        !matches!(
            self,
            Heartbeat::Refreshed { changed: false } | Heartbeat::Restarting
        )
    }
}

/// Records a heartbeat of `agent_id` in one transaction. A scaling group that does not exist is
/// refused with a message naming it (21.03 #443), and nothing is written.
pub async fn record_heartbeat(
    db: &sea_orm::DatabaseConnection,
    agent_id: &str,
    info: &AgentInfo,
) -> Result<Heartbeat> {
    let (agent_id, info) = (agent_id.to_owned(), info.clone());
    db::serializable(db, RetryPolicy::default(), move |txn| {
        let (agent_id, info) = (agent_id.clone(), info.clone());
        Box::pin(async move { heartbeat_in(txn, &agent_id, &info).await })
    })
    .await
}

async fn heartbeat_in(txn: &DatabaseTransaction, id: &str, info: &AgentInfo) -> Result<Heartbeat> {
    let group_exists = entities::scaling_groups::Entity::find_by_id(info.scaling_group.clone())
        .select_only()
        .column(entities::scaling_groups::Column::Name)
        .into_tuple::<String>()
        .one(txn)
        .await?
        .is_some();
    if !group_exists {
        return Err(Error::InvalidInput(format!(
            "agent {id} names the scaling group {:?}, which does not exist: create it, or set \
             the agent's scaling group to an existing one",
            info.scaling_group
        )));
    }
    let row = agents::Entity::find_by_id(id.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?;
    let now = Utc::now().fixed_offset();
    let Some(row) = row else {
        let insert = agents::ActiveModel {
            id: Set(id.to_owned()),
            status: Set(AgentStatus::Alive),
            status_changed: Set(None),
            region: Set(info.region.clone()),
            scaling_group: Set(info.scaling_group.clone()),
            schedulable: Set(true),
            available_slots: Set(info.available_slots.clone()),
            occupied_slots: Set(ResourceSlot::new()),
            addr: Set(info.addr.clone()),
            first_contact: Set(Some(now)),
            lost_at: Set(None),
            version: Set(info.version.clone()),
            compute_plugins: Set(info.compute_plugins.clone()),
        };
        // Two heartbeats of a new agent handled at once by two managers: the second one waits
        // on the first's row and then counts as a refresh (serialization retry).
        agents::Entity::insert(insert)
            .on_conflict(
                OnConflict::column(agents::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        return Ok(Heartbeat::Registered);
    };
    let mut update = agents::Entity::update_many().filter(agents::Column::Id.eq(id));
    let outcome = match row.status {
        AgentStatus::Restarting => return Ok(Heartbeat::Restarting),
        AgentStatus::Lost | AgentStatus::Terminated => {
            update = update
                .col_expr(agents::Column::Status, status_value(AgentStatus::Alive))
                .col_expr(agents::Column::Region, Expr::value(info.region.clone()))
                .col_expr(
                    agents::Column::LostAt,
                    Expr::value(None::<chrono::DateTime<chrono::FixedOffset>>),
                );
            Heartbeat::Revived
        }
        AgentStatus::Alive => Heartbeat::Refreshed { changed: true },
    };
    // Only what changed is written: a steady stream of identical heartbeats writes nothing.
    let mut changed = outcome == Heartbeat::Revived;
    if row.available_slots != info.available_slots {
        update = update.col_expr(
            agents::Column::AvailableSlots,
            Expr::value(info.available_slots.clone()),
        );
        changed = true;
    }
    if row.scaling_group != info.scaling_group {
        update = update.col_expr(
            agents::Column::ScalingGroup,
            Expr::value(info.scaling_group.clone()),
        );
        changed = true;
    }
    if row.addr != info.addr {
        update = update.col_expr(agents::Column::Addr, Expr::value(info.addr.clone()));
        changed = true;
    }
    if row.version != info.version {
        update = update.col_expr(agents::Column::Version, Expr::value(info.version.clone()));
        changed = true;
    }
    if row.compute_plugins != info.compute_plugins {
        update = update.col_expr(
            agents::Column::ComputePlugins,
            Expr::value(info.compute_plugins.clone()),
        );
        changed = true;
    }
    if changed {
        update.exec(txn).await?;
    }
    Ok(match outcome {
        Heartbeat::Refreshed { .. } => Heartbeat::Refreshed { changed },
        other => other,
    })
}

/// A status as the `agentstatus` column takes it.
fn status_value(status: AgentStatus) -> Expr {
    Expr::val(status.to_value()).cast_as(Alias::new("agentstatus"))
}

/// `agent_started`: the agent is ALIVE (if it is known).
pub async fn mark_started(db: &impl ConnectionTrait, agent_id: &str) -> Result<()> {
    set_status(db, agent_id, AgentStatus::Alive).await
}

/// `agent_terminated` with the reason `agent-restart`: RESTARTING until it starts again.
pub async fn mark_restarting(db: &impl ConnectionTrait, agent_id: &str) -> Result<()> {
    set_status(db, agent_id, AgentStatus::Restarting).await
}

/// `agent_terminated` (`agent-lost` gives LOST, other reasons TERMINATED): an ALIVE or
/// RESTARTING agent changes status, with `status_changed` and `lost_at` set to now; one
/// already LOST or TERMINATED is left alone. Returns whether the row changed.
pub async fn mark_gone(
    db: &impl ConnectionTrait,
    agent_id: &str,
    status: AgentStatus,
) -> Result<bool> {
    let now = Utc::now().fixed_offset();
    let result = agents::Entity::update_many()
        .col_expr(agents::Column::Status, status_value(status))
        .col_expr(agents::Column::StatusChanged, Expr::value(Some(now)))
        .col_expr(agents::Column::LostAt, Expr::value(Some(now)))
        .filter(agents::Column::Id.eq(agent_id))
        .filter(agents::Column::Status.is_in([AgentStatus::Alive, AgentStatus::Restarting]))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Sets the status alone, without `status_changed`, as 21.03 does for these two.
async fn set_status(db: &impl ConnectionTrait, agent_id: &str, to: AgentStatus) -> Result<()> {
    agents::Entity::update_many()
        .col_expr(agents::Column::Status, status_value(to))
        .filter(agents::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    fn info(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )
    }

    fn slots(spec: Value) -> Value {
        info(vec![
            ("addr", Value::from("tcp://10.0.0.1:6001")),
            ("resource_slots", spec),
        ])
    }

    #[test]
    fn heartbeat_info_is_read_with_21_03_defaults() {
        let spec = Value::Map(vec![(
            Value::from("cpu"),
            Value::Array(vec![Value::from("count"), Value::from("4")]),
        )]);
        let read = AgentInfo::from_msgpack(&slots(spec)).unwrap();
        assert_eq!(read.scaling_group, "default");
        assert_eq!(read.available_slots, [("cpu", 4)].into_iter().collect());
        assert_eq!(read.slot_units["cpu"], "count");
        assert_eq!(read.compute_plugins, serde_json::json!({}));
        assert!(read.images.is_empty());
    }

    #[test]
    fn bad_heartbeat_info_names_the_field() {
        let err = |v: Value| AgentInfo::from_msgpack(&v).unwrap_err();
        assert_eq!(err(Value::from(1)), "agent_info must be a map");
        assert_eq!(
            err(info(vec![("resource_slots", Value::Map(vec![]))])),
            "agent_info.addr is missing"
        );
        let spec = |unit: &str, amount: Value| {
            slots(Value::Map(vec![(
                Value::from("mem"),
                Value::Array(vec![Value::from(unit), amount]),
            )]))
        };
        assert_eq!(
            err(spec("liters", Value::from("1"))),
            "agent_info.resource_slots.mem has the unknown unit \"liters\""
        );
        assert_eq!(
            err(spec("bytes", Value::from("lots"))),
            "agent_info.resource_slots.mem has a bad amount"
        );
        assert_eq!(
            err(slots(Value::Map(vec![(
                Value::from("mem"),
                Value::from("1")
            )]))),
            "agent_info.resource_slots.mem must be [unit, amount]"
        );
    }
}
