//! `Agent` and `AgentList`.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use entities::resource_slot::{SlotAmount, SlotUnit};
use entities::ResourceSlot;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::ActiveEnum;
use tokio::sync::OnceCell;

use super::error::to_gql;
use super::items::{clamp_count, Items};
use super::loaders::{load, prime, ContainersOfAgent, LiveStatOf};
use super::scalars::{DateTime, JsonString};
use super::session::ComputeContainer;
use super::RequestContext;
use crate::services::agents::AgentRow;
use crate::services::live_stats::LiveStat;

#[derive(Clone)]
pub struct Agent {
    row: Arc<AgentRow>,
    /// Its live statistics once read (those of a page all at once, by `AgentList::items`):
    /// three fields show them.
    stat: Arc<OnceCell<Option<Arc<LiveStat>>>>,
}

impl From<AgentRow> for Agent {
    fn from(row: AgentRow) -> Self {
        Agent {
            row: Arc::new(row),
            stat: Arc::default(),
        }
    }
}

/// A slot amount as a float (`cpu_slots`, …); absent slots are 0.
fn slot_f64(slots: &ResourceSlot, slot: &str) -> f64 {
    match slots.amount(slot) {
        SlotAmount::Finite(d) => d.to_f64().unwrap_or(0.0),
        SlotAmount::Infinity => f64::INFINITY,
        SlotAmount::NegInfinity => f64::NEG_INFINITY,
    }
}

/// A memory slot in MiB, as 21.03's `mem_slots` shows it.
fn slot_mib(slots: &ResourceSlot, slot: &str) -> Option<i32> {
    debug_assert_eq!(SlotUnit::guess(slot), SlotUnit::Bytes);
    match slots.amount(slot) {
        SlotAmount::Finite(d) => (d / rust_decimal::Decimal::from(1 << 20)).trunc().to_i32(),
        _ => None,
    }
}

impl Agent {
    async fn stat(&self, ctx: &Context<'_>) -> Result<Option<Arc<LiveStat>>> {
        let stat = self
            .stat
            .get_or_try_init(|| load(ctx, LiveStatOf(self.row.id.clone())))
            .await?;
        Ok(stat.clone())
    }
}

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl Agent {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.row.id.clone())))
    }
    async fn status(&self) -> Option<String> {
        Some(self.row.status.to_value())
    }
    async fn status_changed(&self) -> Option<DateTime> {
        self.row.status_changed.map(DateTime)
    }
    async fn region(&self) -> Option<&str> {
        Some(&self.row.region)
    }
    async fn scaling_group(&self) -> Option<&str> {
        Some(&self.row.scaling_group)
    }
    async fn schedulable(&self) -> Option<bool> {
        Some(self.row.schedulable)
    }
    async fn available_slots(&self) -> Option<JsonString> {
        Some(JsonString::shared(&self.row.available_slots))
    }
    async fn occupied_slots(&self) -> Option<JsonString> {
        Some(JsonString::shared(&self.row.occupied_slots))
    }
    async fn addr(&self) -> Option<&str> {
        Some(&self.row.addr)
    }
    async fn first_contact(&self) -> Option<DateTime> {
        self.row.first_contact.map(DateTime)
    }
    async fn lost_at(&self) -> Option<DateTime> {
        self.row.lost_at.map(DateTime)
    }
    async fn live_stat(&self, ctx: &Context<'_>) -> Result<Option<JsonString>> {
        Ok(self.stat(ctx).await?.map(|s| JsonString::stat(&s)))
    }
    async fn version(&self) -> Option<&str> {
        Some(&self.row.version)
    }
    async fn compute_plugins(&self) -> Option<JsonString> {
        Some(JsonString::shared(&self.row.compute_plugins))
    }
    // Asked of the agent itself over RPC.
    async fn hardware_metadata(&self, ctx: &Context<'_>) -> Result<Option<JsonString>> {
        let rpc = &ctx.data_unchecked::<RequestContext>().state.rpc;
        let metadata = crate::services::agents::hardware_metadata(rpc, &self.row)
            .await
            .map_err(|e| to_gql(&e))?;
        Ok(Some(JsonString::of(&metadata)))
    }
    async fn mem_slots(&self) -> Option<i32> {
        slot_mib(&self.row.available_slots, "mem")
    }
    async fn cpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.available_slots, "cpu"))
    }
    async fn gpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.available_slots, "cuda.device"))
    }
    async fn tpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.available_slots, "tpu.device"))
    }
    async fn used_mem_slots(&self) -> Option<i32> {
        slot_mib(&self.row.occupied_slots, "mem").or(Some(0))
    }
    async fn used_cpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.occupied_slots, "cpu"))
    }
    async fn used_gpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.occupied_slots, "cuda.device"))
    }
    async fn used_tpu_slots(&self) -> Option<f64> {
        Some(slot_f64(&self.row.occupied_slots, "tpu.device"))
    }
    async fn cpu_cur_pct(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let stat = self.stat(ctx).await?;
        Ok(Some(
            stat.and_then(|s| s.number(&["node", "cpu_util", "pct"]))
                .unwrap_or(0.0),
        ))
    }
    async fn mem_cur_bytes(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        let stat = self.stat(ctx).await?;
        Ok(Some(
            stat.and_then(|s| s.number(&["node", "mem", "current"]))
                .unwrap_or(0.0),
        ))
    }
    /// The containers on this agent, optionally of some statuses (comma-separated names).
    async fn compute_containers(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
    ) -> Result<Option<Items<ComputeContainer>>> {
        let rows = load(ctx, ContainersOfAgent(self.row.id.clone(), status)).await?;
        Ok(Some(ComputeContainer::items(ctx, &rows)))
    }
}

pub struct AgentList {
    pub items: Vec<Agent>,
    pub total_count: i64,
}

impl AgentList {
    pub fn new((rows, total_count): (Vec<AgentRow>, i64)) -> Self {
        AgentList {
            items: rows.into_iter().map(Agent::from).collect(),
            total_count,
        }
    }
}

#[Object(rename_fields = "snake_case")]
impl AgentList {
    pub async fn items(&self, ctx: &Context<'_>) -> Result<Items<Agent>> {
        let stats = ["live_stat", "cpu_cur_pct", "mem_cur_bytes"];
        let keys = self.items.iter().map(|a| LiveStatOf(a.row.id.clone()));
        if let Some(found) = prime(ctx, &stats, keys).await {
            for agent in &self.items {
                let stat = found.get(&LiveStatOf(agent.row.id.clone())).cloned();
                // Already set only if a field of this agent read its own first.
                let _ = agent.stat.set(stat.flatten());
            }
        }
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
