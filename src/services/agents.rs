//! Agents as the admin API reads them (superadmins only), and the containers they run.

use std::sync::{Arc, LazyLock};

use entities::enums::AgentStatus;
use entities::{agents, ResourceSlot};
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Select,
};

use super::auth::Identity;
use super::listing::{fetch_page, label, ListQuery, PageRequest};
use super::rows::{self, RowReader};
use super::scope::{parse_status_list, require_superadmin};
use super::shared_docs::{DocCache, SharedDoc, RESOURCE_SLOTS};
use super::{list_fields, Result};

/// An agent as the admin API shows it: its row, with its JSON documents shared with the other
/// rows holding the same text (see `shared_docs`).
pub struct AgentRow {
    pub id: String,
    pub status: AgentStatus,
    pub status_changed: Option<DateTimeWithTimeZone>,
    pub region: String,
    pub scaling_group: String,
    pub schedulable: bool,
    pub available_slots: Arc<SharedDoc<ResourceSlot>>,
    pub occupied_slots: Arc<SharedDoc<ResourceSlot>>,
    pub addr: String,
    pub first_contact: Option<DateTimeWithTimeZone>,
    pub lost_at: Option<DateTimeWithTimeZone>,
    pub version: String,
    pub compute_plugins: Arc<SharedDoc<serde_json::Value>>,
}

/// The `compute_plugins` documents of agents read so far.
static COMPUTE_PLUGINS: LazyLock<DocCache<serde_json::Value>> = LazyLock::new(DocCache::default);

/// Agent statuses from an argument: one name, or several separated by commas.
pub fn parse_statuses(raw: &str) -> Result<Vec<AgentStatus>> {
    parse_status_list(
        raw,
        |s| AgentStatus::try_from_value(&s.to_uppercase()).ok(),
        "agent",
    )
}

pub async fn get(db: &DatabaseConnection, caller: &Identity, id: &str) -> Result<Option<AgentRow>> {
    require_superadmin(caller)?;
    let found = select(db, agents::Entity::find_by_id(id)).await?;
    Ok(found.into_iter().next())
}

/// `agents`: every agent, optionally of one scaling group and statuses.
pub async fn list(
    db: &DatabaseConnection,
    caller: &Identity,
    scaling_group: Option<String>,
    status: Option<String>,
) -> Result<Vec<AgentRow>> {
    require_superadmin(caller)?;
    let mut q = agents::Entity::find();
    if let Some(sg) = scaling_group {
        q = q.filter(agents::Column::ScalingGroup.eq(sg));
    }
    if let Some(status) = status {
        q = q.filter(agents::Column::Status.is_in(parse_statuses(&status)?));
    }
    select(db, q.order_by_asc(agents::Column::Id)).await
}

/// The agents `query` finds, read as [`AgentRow`]s.
async fn select(db: &DatabaseConnection, query: Select<agents::Entity>) -> Result<Vec<AgentRow>> {
    let stmt = query
        .select_only()
        .columns(AGENT_COLUMNS)
        .build(db.get_database_backend());
    let rows = db.query_all_raw(stmt).await?;
    Ok(rows::read_all(&rows, read_agent)?)
}

/// `agent_list`: one page, by default ordered by status, scaling group and id as 21.03 did.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    scaling_group: Option<String>,
    status: Option<String>,
) -> Result<(Vec<AgentRow>, i64)> {
    require_superadmin(caller)?;
    let a = |c: &str| Expr::col((Alias::new("agents"), Alias::new(c)));
    let mut conditions = Vec::new();
    if let Some(sg) = scaling_group {
        conditions.push(a("scaling_group").eq(sg));
    }
    if let Some(status) = status {
        let values = parse_statuses(&status)?
            .into_iter()
            .map(|s| label(s.to_value()).cast_as(Alias::new("agentstatus")));
        conditions.push(a("status").is_in(values));
    }
    let query = ListQuery {
        fields: list_fields::agents(),
        columns: |s| {
            s.columns(AGENT_COLUMNS.map(|c| (agents::Entity, c)));
        },
        conditions,
        default_order: vec![
            (a("status"), Order::Asc),
            (a("scaling_group"), Order::Asc),
            (a("id"), Order::Asc),
        ],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = rows::read_all(&page.rows, read_agent)?;
    Ok((rows, page.total_count))
}

/// The columns of [`AgentRow`], in its order.
const AGENT_COLUMNS: [agents::Column; 13] = {
    use agents::Column as C;
    [
        C::Id,
        C::Status,
        C::StatusChanged,
        C::Region,
        C::ScalingGroup,
        C::Schedulable,
        C::AvailableSlots,
        C::OccupiedSlots,
        C::Addr,
        C::FirstContact,
        C::LostAt,
        C::Version,
        C::ComputePlugins,
    ]
};

/// A row of [`AGENT_COLUMNS`], read by position (see `rows`).
fn read_agent(r: &mut RowReader) -> Result<AgentRow, DbErr> {
    Ok(AgentRow {
        id: r.get()?,
        status: r.label()?,
        status_changed: r.get()?,
        region: r.get()?,
        scaling_group: r.get()?,
        schedulable: r.get()?,
        available_slots: r.shared_doc(&RESOURCE_SLOTS)?,
        occupied_slots: r.shared_doc(&RESOURCE_SLOTS)?,
        addr: r.get()?,
        first_contact: r.get()?,
        lost_at: r.get()?,
        version: r.get()?,
        compute_plugins: r.shared_doc(&COMPUTE_PLUGINS)?,
    })
}

/// How long `hardware_metadata` waits for an agent (21.03 waited forever).
const HWINFO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `Agent.hardware_metadata`: what the agent's compute plugins report about their devices
/// (`gather_hwinfo`), each entry checked as 21.03's `HardwareMetadata`: a `status` of
/// healthy/degraded/offline/unavailable, a `status_info` text or null, `metadata` of texts.
pub async fn hardware_metadata(
    rpc: &crate::rpc::RpcClient,
    agent: &AgentRow,
) -> Result<serde_json::Value> {
    let unavailable = |why: String| {
        super::Error::Unavailable(format!(
            "cannot read the hardware metadata of agent {}: {why}",
            agent.id
        ))
    };
    let reply = crate::rpc::agent::AgentRpc::new(rpc.clone(), agent.addr.clone())
        .gather_hwinfo(Some(HWINFO_TIMEOUT))
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let plugins = reply
        .as_map()
        .ok_or_else(|| unavailable("the answer is not a map".into()))?;
    let mut checked = serde_json::Map::new();
    for (plugin, info) in plugins {
        let plugin = plugin
            .as_str()
            .ok_or_else(|| unavailable("a plugin name is not text".into()))?;
        let entry = hardware_entry(info)
            .map_err(|why| unavailable(format!("the entry of {plugin}: {why}")))?;
        checked.insert(plugin.to_owned(), entry);
    }
    Ok(serde_json::Value::Object(checked))
}

fn hardware_entry(info: &rmpv::Value) -> std::result::Result<serde_json::Value, String> {
    let map = info.as_map().ok_or("not a map")?;
    let get = |key: &str| {
        map.iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    let status = get("status")
        .and_then(rmpv::Value::as_str)
        .ok_or("no status")?;
    if !matches!(status, "healthy" | "degraded" | "offline" | "unavailable") {
        return Err(format!("unknown status {status:?}"));
    }
    let status_info = match get("status_info") {
        None | Some(rmpv::Value::Nil) => serde_json::Value::Null,
        Some(v) => v.as_str().ok_or("status_info is not text")?.into(),
    };
    let mut metadata = serde_json::Map::new();
    for (k, v) in get("metadata")
        .and_then(rmpv::Value::as_map)
        .ok_or("no metadata map")?
    {
        match (k.as_str(), v.as_str()) {
            (Some(k), Some(v)) => metadata.insert(k.to_owned(), v.into()),
            _ => return Err("metadata holds something other than texts".into()),
        };
    }
    Ok(serde_json::json!({"status": status, "status_info": status_info, "metadata": metadata}))
}
