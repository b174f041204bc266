//! `ComputeSession`, `ComputeContainer`, their lists, and the pre-20.09 `LegacyComputeSession`.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SelectionField, ID};
use entities::enums::ClusterMode;
use entities::kernels;
use entities::resource_slot::SlotAmount;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::ActiveEnum;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::items::{clamp_count, Items};
use super::loaders::{
    load, page_containers, prime, ContainersOfSession, DependenciesOfSession, LiveStatOf,
};
use super::scalars::{BigInt, DateTime, JsonString};
use super::RequestContext;
use crate::services::live_stats::KernelStat;
use crate::services::sessions::{total_occupied, Kernel, KernelColumns, SessionRow};

/// A kernel's statistics, the live ones through the request's loader.
async fn kernel_stat(ctx: &Context<'_>, k: &Kernel) -> Result<Option<KernelStat>> {
    if KernelStat::is_live(k) {
        Ok(load(ctx, LiveStatOf(k.id.to_string()))
            .await?
            .map(KernelStat::Live))
    } else {
        Ok(k.last_stat.as_ref().map(|s| KernelStat::Stored(s.value())))
    }
}

/// The fields of `ComputeSession` that show a kernel's JSON documents.
const SESSION_DOCUMENT_FIELDS: &[&str] =
    &["status_data", "resource_opts", "service_ports", "mounts"];

/// The kernel columns a page of sessions (`list`, a `compute_session_list` field) reads for
/// what the document selects of its `items`: all but the JSON documents unless a field shows
/// them, and all that their containers show (the page's main kernels serve as containers too).
pub fn page_columns(list: SelectionField<'_>) -> KernelColumns {
    let mut columns = KernelColumns::without_documents();
    for items in list.selection_set().filter(|f| f.name() == "items") {
        if items
            .selection_set()
            .any(|f| SESSION_DOCUMENT_FIELDS.contains(&f.name()))
        {
            return KernelColumns::ALL;
        }
        columns = columns.union(container_columns(items));
    }
    columns
}

/// The optional kernel columns each field of `ComputeContainer` shows (fields of required
/// columns need none; `live_stat` falls back to `last_stat`).
const CONTAINER_FIELD_COLUMNS: &[(&str, &[kernels::Column])] = {
    use kernels::Column as C;
    &[
        ("__typename", &[]),
        ("id", &[]),
        ("idx", &[]),
        ("role", &[]),
        ("hostname", &[]),
        ("cluster_idx", &[]),
        ("cluster_role", &[]),
        ("cluster_hostname", &[]),
        ("session_id", &[]),
        ("status", &[]),
        ("occupied_slots", &[]),
        ("image", &[C::Image]),
        ("registry", &[C::Registry]),
        ("status_changed", &[C::StatusChanged]),
        ("status_info", &[C::StatusInfo]),
        ("status_data", &[C::StatusData]),
        ("created_at", &[C::CreatedAt]),
        ("terminated_at", &[C::TerminatedAt]),
        ("starts_at", &[C::StartsAt]),
        ("agent", &[C::Agent]),
        ("container_id", &[C::ContainerId]),
        ("resource_opts", &[C::ResourceOpts]),
        ("live_stat", &[C::LastStat]),
        ("last_stat", &[C::LastStat]),
    ]
};

/// The kernel columns the containers of a page of sessions need: those the `containers`
/// selections of `items` show (all of them for a field not in the table above).
fn container_columns(items: SelectionField<'_>) -> KernelColumns {
    let mut columns = KernelColumns::REQUIRED;
    for containers in items.selection_set().filter(|f| f.name() == "containers") {
        for field in containers.selection_set() {
            match CONTAINER_FIELD_COLUMNS
                .iter()
                .find(|(name, _)| *name == field.name())
            {
                Some((_, shown)) => columns = shown.iter().fold(columns, |c, col| c.with(*col)),
                None => return KernelColumns::ALL,
            }
        }
    }
    columns
}

/// The containers of a session, in cluster order.
type Containers = Arc<[Arc<Kernel>]>;

#[derive(Clone)]
pub struct ComputeSession {
    row: Arc<SessionRow>,
    /// What the document shows of the containers; `containers` and `occupied_slots` share
    /// one read of them.
    containers: KernelColumns,
    /// The containers once read (those of a page all at once, by `ComputeSessionList::items`).
    containers_found: Arc<OnceCell<Containers>>,
}

impl From<SessionRow> for ComputeSession {
    fn from(r: SessionRow) -> Self {
        ComputeSession::from(&Arc::new(r))
    }
}

impl From<&Arc<SessionRow>> for ComputeSession {
    fn from(r: &Arc<SessionRow>) -> Self {
        ComputeSession {
            row: r.clone(),
            containers: KernelColumns::ALL,
            containers_found: Arc::default(),
        }
    }
}

impl ComputeSession {
    fn k(&self) -> &Kernel {
        &self.row.kernel
    }
    fn containers_key(&self) -> ContainersOfSession {
        ContainersOfSession(self.k().session_id, self.containers)
    }
    async fn containers_of(&self, ctx: &Context<'_>) -> Result<Containers> {
        let found = self
            .containers_found
            .get_or_try_init(|| load(ctx, self.containers_key()))
            .await?;
        Ok(found.clone())
    }
}

#[Object(rename_fields = "snake_case")]
impl ComputeSession {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.k().id.to_string())))
    }
    async fn tag(&self) -> Option<&str> {
        self.k().tag.as_deref()
    }
    async fn name(&self) -> Option<&str> {
        self.k().session_name.as_deref()
    }
    #[graphql(name = "type")]
    async fn session_type(&self) -> Option<String> {
        Some(self.k().session_type.to_value())
    }
    async fn session_id(&self) -> Option<Uuid> {
        Some(self.k().session_id)
    }
    async fn image(&self) -> Option<&str> {
        self.k().image.as_deref()
    }
    async fn registry(&self) -> Option<&str> {
        self.k().registry.as_deref()
    }
    /// Sessions are not created from cluster templates in 21.03.
    async fn cluster_template(&self) -> Option<&str> {
        None
    }
    async fn cluster_mode(&self) -> Option<String> {
        let stored = &self.k().cluster_mode;
        Some(ClusterMode::from_stored(stored).map_or_else(|| stored.clone(), |m| m.to_value()))
    }
    async fn cluster_size(&self) -> Option<i32> {
        Some(self.k().cluster_size)
    }
    async fn domain_name(&self) -> Option<&str> {
        Some(&self.k().domain_name)
    }
    async fn group_name(&self) -> Option<&str> {
        self.row.group_name.as_deref()
    }
    async fn group_id(&self) -> Option<Uuid> {
        Some(self.k().group_id)
    }
    async fn user_email(&self) -> Option<&str> {
        self.row.user_email.as_deref()
    }
    async fn user_id(&self) -> Option<Uuid> {
        Some(self.k().user_uuid)
    }
    async fn access_key(&self) -> Option<&str> {
        self.k().access_key.as_deref()
    }
    /// 21.03 does not record who created a session on another's behalf.
    async fn created_user_email(&self) -> Option<&str> {
        None
    }
    async fn created_user_id(&self) -> Option<Uuid> {
        None
    }
    async fn status(&self) -> Option<String> {
        Some(self.k().status.to_value())
    }
    async fn status_changed(&self) -> Option<DateTime> {
        self.k().status_changed.map(DateTime)
    }
    async fn status_info(&self) -> Option<&str> {
        self.k().status_info.as_deref()
    }
    async fn status_data(&self) -> Option<JsonString> {
        JsonString::raw(self.k().status_data.as_ref())
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.k().created_at.map(DateTime)
    }
    async fn terminated_at(&self) -> Option<DateTime> {
        self.k().terminated_at.map(DateTime)
    }
    async fn starts_at(&self) -> Option<DateTime> {
        self.k().starts_at.map(DateTime)
    }
    async fn startup_command(&self) -> Option<&str> {
        self.k().startup_command.as_deref()
    }
    async fn result(&self) -> Option<String> {
        Some(self.k().result.to_value())
    }
    async fn resource_opts(&self) -> Option<JsonString> {
        JsonString::raw(self.k().resource_opts.as_ref())
    }
    async fn scaling_group(&self) -> Option<&str> {
        self.k().scaling_group.as_deref()
    }
    async fn service_ports(&self) -> Option<JsonString> {
        JsonString::raw(self.k().service_ports.as_ref())
    }
    async fn mounts(&self) -> Option<Vec<Option<&str>>> {
        self.k()
            .mounts
            .as_ref()
            .map(|m| m.iter().map(|s| Some(s.as_str())).collect())
    }
    /// The sum over all containers of the session.
    async fn occupied_slots(&self, ctx: &Context<'_>) -> Result<Option<JsonString>> {
        let containers = self.containers_of(ctx).await?;
        Ok(Some(match &containers[..] {
            // Most sessions have one container: its document, rendered once.
            [only] => JsonString::shared(&only.occupied_slots),
            all => JsonString::slots(&total_occupied(all)),
        }))
    }
    async fn num_queries(&self) -> Option<BigInt> {
        Some(BigInt(self.k().num_queries.unwrap_or(0)))
    }
    async fn containers(&self, ctx: &Context<'_>) -> Result<Option<Items<ComputeContainer>>> {
        let rows = self.containers_of(ctx).await?;
        Ok(Some(ComputeContainer::items(ctx, &rows)))
    }
    async fn dependencies(&self, ctx: &Context<'_>) -> Result<Option<Vec<Option<ComputeSession>>>> {
        let rows = load(ctx, DependenciesOfSession(self.k().session_id)).await?;
        Ok(Some(rows.iter().map(|s| Some(s.into())).collect()))
    }
}

/// One kernel. `agent` and `container_id` are hidden from non-superadmins when the manager is
/// configured with `hide-agents`.
#[derive(Clone)]
pub struct ComputeContainer {
    pub row: Arc<Kernel>,
    pub hide_agents: bool,
}

impl ComputeContainer {
    pub fn new(ctx: &Context<'_>, row: impl Into<Arc<Kernel>>) -> Self {
        ComputeContainer {
            row: row.into(),
            hide_agents: ctx.data_unchecked::<RequestContext>().hide_agents(),
        }
    }

    /// A list of containers, written as a page's items are (see `Items`).
    pub fn items(ctx: &Context<'_>, rows: &[Arc<Kernel>]) -> Items<Self> {
        Items(rows.iter().map(|k| Self::new(ctx, k.clone())).collect())
    }
}

#[Object(rename_fields = "snake_case")]
impl ComputeContainer {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.row.id.to_string())))
    }
    async fn idx(&self) -> Option<i32> {
        Some(self.row.cluster_idx)
    }
    async fn role(&self) -> Option<&str> {
        Some(&self.row.cluster_role)
    }
    async fn hostname(&self) -> Option<&str> {
        Some(&self.row.cluster_hostname)
    }
    async fn cluster_idx(&self) -> Option<i32> {
        Some(self.row.cluster_idx)
    }
    async fn cluster_role(&self) -> Option<&str> {
        Some(&self.row.cluster_role)
    }
    async fn cluster_hostname(&self) -> Option<&str> {
        Some(&self.row.cluster_hostname)
    }
    async fn session_id(&self) -> Option<Uuid> {
        Some(self.row.session_id)
    }
    async fn image(&self) -> Option<&str> {
        self.row.image.as_deref()
    }
    async fn registry(&self) -> Option<&str> {
        self.row.registry.as_deref()
    }
    async fn status(&self) -> Option<String> {
        Some(self.row.status.to_value())
    }
    async fn status_changed(&self) -> Option<DateTime> {
        self.row.status_changed.map(DateTime)
    }
    async fn status_info(&self) -> Option<&str> {
        self.row.status_info.as_deref()
    }
    async fn status_data(&self) -> Option<JsonString> {
        JsonString::raw(self.row.status_data.as_ref())
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.row.created_at.map(DateTime)
    }
    async fn terminated_at(&self) -> Option<DateTime> {
        self.row.terminated_at.map(DateTime)
    }
    async fn starts_at(&self) -> Option<DateTime> {
        self.row.starts_at.map(DateTime)
    }
    async fn agent(&self) -> Option<&str> {
        if self.hide_agents {
            return None;
        }
        self.row.agent.as_deref()
    }
    async fn container_id(&self) -> Option<&str> {
        if self.hide_agents {
            return None;
        }
        self.row.container_id.as_deref()
    }
    async fn resource_opts(&self) -> Option<JsonString> {
        JsonString::raw(self.row.resource_opts.as_ref())
    }
    async fn occupied_slots(&self) -> Option<JsonString> {
        Some(JsonString::shared(&self.row.occupied_slots))
    }
    async fn live_stat(&self, ctx: &Context<'_>) -> Result<Option<JsonString>> {
        Ok(kernel_stat(ctx, &self.row).await?.map(|s| match s {
            KernelStat::Live(live) => JsonString::stat(&live),
            stored => JsonString::of(&stored),
        }))
    }
    async fn last_stat(&self) -> Option<JsonString> {
        JsonString::raw(self.row.last_stat.as_ref())
    }
}

pub struct ComputeSessionList {
    pub rows: Vec<Arc<SessionRow>>,
    pub total_count: i64,
    /// The kernel columns the rows were read with.
    pub columns: KernelColumns,
}

impl ComputeSessionList {
    /// A page whose rows were read with `columns`.
    pub fn new((rows, total_count): (Vec<SessionRow>, i64), columns: KernelColumns) -> Self {
        ComputeSessionList {
            rows: rows.into_iter().map(Arc::new).collect(),
            total_count,
            columns,
        }
    }
}

#[Object(rename_fields = "snake_case")]
impl ComputeSessionList {
    pub async fn items(&self, ctx: &Context<'_>) -> Result<Items<ComputeSession>> {
        let containers = container_columns(ctx.field());
        let items: Vec<ComputeSession> = self
            .rows
            .iter()
            .map(|row| ComputeSession {
                row: row.clone(),
                containers,
                containers_found: Arc::default(),
            })
            .collect();
        let containers_shown = ["containers", "occupied_slots"];
        let found = if self.columns.covers(containers) {
            page_containers(ctx, &containers_shown, &self.rows, containers).await
        } else {
            let keys = items.iter().map(ComputeSession::containers_key);
            prime(ctx, &containers_shown, keys).await
        };
        if let Some(found) = found {
            for session in &items {
                // A session missing from what was found has none, as a load would answer.
                let containers = found.get(&session.containers_key()).cloned();
                // Already set only if a field of this session read its own first.
                let _ = session
                    .containers_found
                    .set(containers.unwrap_or_else(|| Arc::new([])));
            }
        }
        let ids = items
            .iter()
            .map(|s| DependenciesOfSession(s.k().session_id));
        prime(ctx, &["dependencies"], ids).await;
        Ok(Items(items))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}

pub struct ComputeContainerList {
    pub items: Vec<ComputeContainer>,
    pub total_count: i64,
}

#[Object(rename_fields = "snake_case")]
impl ComputeContainerList {
    pub async fn items(&self, _ctx: &Context<'_>) -> Result<Items<ComputeContainer>> {
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}

/// A session in the shape of the pre-20.09 API (one kernel per session, flat metrics).
#[derive(Clone)]
pub struct LegacyComputeSession {
    pub row: Arc<SessionRow>,
    pub hide_agents: bool,
}

impl LegacyComputeSession {
    pub fn new(ctx: &Context<'_>, row: SessionRow) -> Self {
        LegacyComputeSession {
            row: Arc::new(row),
            hide_agents: ctx.data_unchecked::<RequestContext>().hide_agents(),
        }
    }

    fn k(&self) -> &Kernel {
        &self.row.kernel
    }

    fn slot(&self, slot: &str) -> Option<f64> {
        match self.k().occupied_slots.amount(slot) {
            SlotAmount::Finite(d) => d.to_f64(),
            _ => None,
        }
    }

    /// A metric of the live statistics, 0 when absent (as 21.03).
    async fn metric(&self, ctx: &Context<'_>, path: &[&str]) -> Result<f64> {
        let stat = kernel_stat(ctx, self.k()).await?;
        Ok(stat.and_then(|s| s.number(path)).unwrap_or(0.0))
    }
}

#[Object(rename_fields = "snake_case")]
impl LegacyComputeSession {
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<Option<ID>> {
        Ok(Some(ID(self.k().id.to_string())))
    }
    async fn tag(&self) -> Option<&str> {
        self.k().tag.as_deref()
    }
    async fn sess_id(&self) -> Option<&str> {
        self.k().session_name.as_deref()
    }
    async fn sess_type(&self) -> Option<String> {
        Some(self.k().session_type.to_value())
    }
    async fn session_name(&self) -> Option<&str> {
        self.k().session_name.as_deref()
    }
    async fn session_type(&self) -> Option<String> {
        Some(self.k().session_type.to_value())
    }
    async fn role(&self) -> Option<&str> {
        Some(&self.k().cluster_role)
    }
    async fn image(&self) -> Option<&str> {
        self.k().image.as_deref()
    }
    async fn registry(&self) -> Option<&str> {
        self.k().registry.as_deref()
    }
    async fn domain_name(&self) -> Option<&str> {
        Some(&self.k().domain_name)
    }
    async fn group_name(&self) -> Option<&str> {
        self.row.group_name.as_deref()
    }
    async fn group_id(&self) -> Option<Uuid> {
        Some(self.k().group_id)
    }
    async fn scaling_group(&self) -> Option<&str> {
        self.k().scaling_group.as_deref()
    }
    async fn user_uuid(&self) -> Option<Uuid> {
        Some(self.k().user_uuid)
    }
    async fn access_key(&self) -> Option<&str> {
        self.k().access_key.as_deref()
    }
    async fn status(&self) -> Option<String> {
        Some(self.k().status.to_value())
    }
    async fn status_changed(&self) -> Option<DateTime> {
        self.k().status_changed.map(DateTime)
    }
    async fn status_info(&self) -> Option<&str> {
        self.k().status_info.as_deref()
    }
    async fn created_at(&self) -> Option<DateTime> {
        self.k().created_at.map(DateTime)
    }
    async fn terminated_at(&self) -> Option<DateTime> {
        self.k().terminated_at.map(DateTime)
    }
    async fn startup_command(&self) -> Option<&str> {
        self.k().startup_command.as_deref()
    }
    async fn result(&self) -> Option<String> {
        Some(self.k().result.to_value())
    }
    async fn agent(&self) -> Option<&str> {
        if self.hide_agents {
            return None;
        }
        self.k().agent.as_deref()
    }
    async fn container_id(&self) -> Option<&str> {
        if self.hide_agents {
            return None;
        }
        self.k().container_id.as_deref()
    }
    async fn service_ports(&self) -> Option<JsonString> {
        JsonString::raw(self.k().service_ports.as_ref())
    }
    async fn occupied_slots(&self) -> Option<JsonString> {
        Some(JsonString::shared(&self.k().occupied_slots))
    }
    async fn occupied_shares(&self) -> Option<JsonString> {
        JsonString::raw(self.k().occupied_shares.as_ref())
    }
    /// Each mount as a one-element list (21.03 stored mounts as strings, not pairs).
    async fn mounts(&self) -> Option<Vec<Option<Vec<Option<&str>>>>> {
        self.k()
            .mounts
            .as_ref()
            .map(|m| m.iter().map(|s| Some(vec![Some(s.as_str())])).collect())
    }
    async fn resource_opts(&self) -> Option<JsonString> {
        JsonString::raw(self.k().resource_opts.as_ref())
    }
    async fn num_queries(&self) -> Option<BigInt> {
        Some(BigInt(self.k().num_queries.unwrap_or(0)))
    }
    async fn live_stat(&self, ctx: &Context<'_>) -> Result<Option<JsonString>> {
        Ok(kernel_stat(ctx, self.k()).await?.map(|s| match s {
            KernelStat::Live(live) => JsonString::stat(&live),
            stored => JsonString::of(&stored),
        }))
    }
    async fn last_stat(&self) -> Option<JsonString> {
        JsonString::raw(self.k().last_stat.as_ref())
    }
    async fn user_email(&self) -> Option<&str> {
        self.row.user_email.as_deref()
    }
    async fn lang(&self) -> Option<&str> {
        self.k().image.as_deref()
    }
    async fn mem_slot(&self) -> Option<i32> {
        self.slot("mem").map(|m| (m / f64::from(1 << 20)) as i32)
    }
    async fn cpu_slot(&self) -> Option<f64> {
        self.slot("cpu")
    }
    async fn gpu_slot(&self) -> Option<f64> {
        self.slot("cuda.device")
    }
    async fn tpu_slot(&self) -> Option<f64> {
        self.slot("tpu.device")
    }
    async fn cpu_used(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["cpu_used", "current"]).await? as i64,
        )))
    }
    async fn cpu_using(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(Some(self.metric(ctx, &["cpu_util", "pct"]).await?))
    }
    async fn mem_max_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["mem", "stats.max"]).await? as i64,
        )))
    }
    async fn mem_cur_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["mem", "current"]).await? as i64,
        )))
    }
    async fn net_rx_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["net_rx", "stats.rate"]).await? as i64,
        )))
    }
    async fn net_tx_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["net_tx", "stats.rate"]).await? as i64,
        )))
    }
    async fn io_read_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["io_read", "current"]).await? as i64,
        )))
    }
    async fn io_write_bytes(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["io_write", "current"]).await? as i64,
        )))
    }
    async fn io_max_scratch_size(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["io_scratch_size", "stats.max"]).await? as i64,
        )))
    }
    async fn io_cur_scratch_size(&self, ctx: &Context<'_>) -> Result<Option<BigInt>> {
        Ok(Some(BigInt(
            self.metric(ctx, &["io_scratch_size", "current"]).await? as i64,
        )))
    }
}

pub struct LegacyComputeSessionList {
    pub items: Vec<LegacyComputeSession>,
    pub total_count: i64,
}

#[Object(rename_fields = "snake_case")]
impl LegacyComputeSessionList {
    pub async fn items(&self, _ctx: &Context<'_>) -> Result<Items<LegacyComputeSession>> {
        Ok(Items(self.items.clone()))
    }
    pub async fn total_count(&self, _ctx: &Context<'_>) -> Result<i32> {
        Ok(clamp_count(self.total_count))
    }
}
