//! Compute sessions and their containers (kernels) as the admin API reads them. A session is
//! its main kernel (`cluster_role = 'main'`, whose id is the session id); its containers are all
//! kernels with its `session_id`.

use std::collections::HashMap;
use std::sync::Arc;

use entities::enums::{KernelStatus, SessionResult, SessionTypes};
use entities::{kernels, session_dependencies, RawJson, ResourceSlot};
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::sqlx::types::Json;
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter,
};
use uuid::Uuid;

use super::auth::Identity;
use super::listing::{any_of, fetch_page, group_by, label, none_of, ListQuery, PageRequest};
use super::rows::{self, RowReader};
use super::scope::{parse_status_list, scoped, Scope};
use super::shared_docs::{SharedDoc, RESOURCE_SLOTS};
use super::{list_fields, Error, Result};

/// The role of a session's main kernel.
pub const MAIN_ROLE: &str = "main";

/// Kernel statuses that hold resources on an agent (21.03's
/// `AGENT_RESOURCE_OCCUPYING_KERNEL_STATUSES`): all but pending, terminated and cancelled.
pub const ACTIVE_STATUSES: &[KernelStatus] = &[
    KernelStatus::Scheduled,
    KernelStatus::Preparing,
    KernelStatus::Building,
    KernelStatus::Pulling,
    KernelStatus::Running,
    KernelStatus::Restarting,
    KernelStatus::Resizing,
    KernelStatus::Suspended,
    KernelStatus::Terminating,
    KernelStatus::Error,
];

/// A kernel as the API shows it: the columns of `kernels` that some answer uses (not the
/// environment, internal data, ports or logs, which lists would read and drop). JSON documents
/// stay text until a field shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub id: Uuid,
    pub session_id: Uuid,
    pub session_name: Option<String>,
    pub session_type: SessionTypes,
    pub cluster_mode: String,
    pub cluster_size: i32,
    pub cluster_role: String,
    pub cluster_idx: i32,
    pub cluster_hostname: String,
    pub scaling_group: Option<String>,
    pub agent: Option<String>,
    pub domain_name: String,
    pub group_id: Uuid,
    pub user_uuid: Uuid,
    pub access_key: Option<String>,
    pub image: Option<String>,
    pub registry: Option<String>,
    pub tag: Option<String>,
    pub container_id: Option<String>,
    pub occupied_slots: Arc<SharedDoc<ResourceSlot>>,
    pub occupied_shares: Option<RawJson>,
    pub mounts: Option<Vec<String>>,
    pub resource_opts: Option<RawJson>,
    pub service_ports: Option<RawJson>,
    pub created_at: Option<DateTimeWithTimeZone>,
    pub terminated_at: Option<DateTimeWithTimeZone>,
    pub starts_at: Option<DateTimeWithTimeZone>,
    pub status: KernelStatus,
    pub status_changed: Option<DateTimeWithTimeZone>,
    pub status_info: Option<String>,
    pub status_data: Option<RawJson>,
    pub startup_command: Option<String>,
    pub result: SessionResult,
    pub num_queries: Option<i64>,
    pub last_stat: Option<RawJson>,
}

impl Kernel {
    /// The next columns of a row, [`KERNEL_COLUMNS`] in order (every kernel read selects them
    /// first): read by position, as names would cost a lookup and an allocation per column.
    fn read(r: &mut RowReader) -> Result<Kernel, sea_orm::DbErr> {
        let json = |r: &mut RowReader| -> Result<Option<RawJson>, sea_orm::DbErr> {
            Ok(r.get::<Option<Json<RawJson>>>()?.map(|j| j.0))
        };
        // The fields are read in the order of KERNEL_COLUMNS.
        Ok(Kernel {
            id: r.get()?,
            session_id: r.get()?,
            session_name: r.get()?,
            session_type: r.label()?,
            cluster_mode: r.get()?,
            cluster_size: r.get()?,
            cluster_role: r.get()?,
            cluster_idx: r.get()?,
            cluster_hostname: r.get()?,
            scaling_group: r.get()?,
            agent: r.get()?,
            domain_name: r.get()?,
            group_id: r.get()?,
            user_uuid: r.get()?,
            access_key: r.get()?,
            image: r.get()?,
            registry: r.get()?,
            tag: r.get()?,
            container_id: r.get()?,
            occupied_slots: r.shared_doc(&RESOURCE_SLOTS)?,
            occupied_shares: json(r)?,
            mounts: r.get()?,
            resource_opts: json(r)?,
            service_ports: json(r)?,
            created_at: r.get()?,
            terminated_at: r.get()?,
            starts_at: r.get()?,
            status: r.label()?,
            status_changed: r.get()?,
            status_info: r.get()?,
            status_data: json(r)?,
            startup_command: r.get()?,
            result: r.label()?,
            num_queries: r.get()?,
            last_stat: json(r)?,
        })
    }
}

/// What a session occupies: the sum over its containers (unlimited if a sum overflows).
pub fn total_occupied(containers: &[Arc<Kernel>]) -> ResourceSlot {
    let mut total = ResourceSlot::new();
    for c in containers {
        for (slot, amount) in c.occupied_slots.iter() {
            let sum = total
                .amount(slot)
                .checked_add(amount)
                .unwrap_or(entities::resource_slot::SlotAmount::Infinity);
            total.insert(slot, sum);
        }
    }
    total
}

/// The columns of [`Kernel`], in its order.
const KERNEL_COLUMNS: &[kernels::Column] = {
    use kernels::Column as C;
    &[
        C::Id,
        C::SessionId,
        C::SessionName,
        C::SessionType,
        C::ClusterMode,
        C::ClusterSize,
        C::ClusterRole,
        C::ClusterIdx,
        C::ClusterHostname,
        C::ScalingGroup,
        C::Agent,
        C::DomainName,
        C::GroupId,
        C::UserUuid,
        C::AccessKey,
        C::Image,
        C::Registry,
        C::Tag,
        C::ContainerId,
        C::OccupiedSlots,
        C::OccupiedShares,
        C::Mounts,
        C::ResourceOpts,
        C::ServicePorts,
        C::CreatedAt,
        C::TerminatedAt,
        C::StartsAt,
        C::Status,
        C::StatusChanged,
        C::StatusInfo,
        C::StatusData,
        C::StartupCommand,
        C::Result,
        C::NumQueries,
        C::LastStat,
    ]
};

/// Which of a kernel's optional columns a read fetches; the others read as NULL, and the
/// fields showing them answer null. Lists fetch only what the document shows: decoding the
/// columns of every row was the largest cost of a page of sessions. Required columns are
/// always read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelColumns(u64);

impl KernelColumns {
    pub const ALL: KernelColumns = KernelColumns(u64::MAX);
    /// Only the required columns.
    pub const REQUIRED: KernelColumns = KernelColumns(0);

    fn bit(column: kernels::Column) -> u64 {
        // The table has fewer than 64 columns (checked by a test).
        1 << (column as u64)
    }

    pub fn with(self, column: kernels::Column) -> KernelColumns {
        KernelColumns(self.0 | Self::bit(column))
    }

    /// The columns of both.
    pub fn union(self, other: KernelColumns) -> KernelColumns {
        KernelColumns(self.0 | other.0)
    }

    /// Whether a read of these columns reads all of `other`'s.
    pub fn covers(self, other: KernelColumns) -> bool {
        other.0 & !self.0 == 0
    }

    /// Every column but the JSON documents, which lists seldom show and which cost more to
    /// read than all the other columns together.
    pub fn without_documents() -> KernelColumns {
        use kernels::Column as C;
        let documents = [
            C::OccupiedShares,
            C::Mounts,
            C::ResourceOpts,
            C::ServicePorts,
            C::StatusData,
            C::LastStat,
        ];
        KernelColumns(
            documents
                .iter()
                .fold(u64::MAX, |mask, c| mask & !Self::bit(*c)),
        )
    }

    fn reads(self, column: kernels::Column) -> bool {
        !is_optional(column) || self.0 & Self::bit(column) != 0
    }
}

/// The columns of [`Kernel`] that may be NULL (so may be left unread).
fn is_optional(column: kernels::Column) -> bool {
    use kernels::Column as C;
    !matches!(
        column,
        C::Id
            | C::SessionId
            | C::SessionType
            | C::ClusterMode
            | C::ClusterSize
            | C::ClusterRole
            | C::ClusterIdx
            | C::ClusterHostname
            | C::DomainName
            | C::GroupId
            | C::UserUuid
            | C::OccupiedSlots
            | C::Status
            | C::Result
    )
}

/// Adds the columns of [`Kernel`] to a statement, in its order.
fn kernel_columns(s: &mut SelectStatement, read: KernelColumns) {
    for &column in KERNEL_COLUMNS {
        if read.reads(column) {
            s.column((kernels::Entity, column));
        } else {
            s.expr(Expr::cust("NULL"));
        }
    }
}

/// Kernels matching `filter`, in cluster order.
async fn select_kernels(
    db: &DatabaseConnection,
    filter: Condition,
    columns: KernelColumns,
) -> Result<Vec<Kernel>> {
    let mut q = Query::select().from(kernels::Entity).to_owned();
    kernel_columns(&mut q, columns);
    q.cond_where(filter)
        .order_by(kernels::Column::ClusterIdx, Order::Asc)
        .order_by(kernels::Column::Id, Order::Asc);
    let stmt = db.get_database_backend().build(&q);
    let rows = db.query_all_raw(stmt).await?;
    Ok(rows::read_all(&rows, Kernel::read)?)
}

/// A session: its main kernel with the names of its group and user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub kernel: Arc<Kernel>,
    pub group_name: Option<String>,
    pub user_email: Option<String>,
}

fn k(c: &str) -> Expr {
    Expr::col((Alias::new("kernels"), Alias::new(c)))
}

/// Kernel statuses from an argument: names separated by commas (`"RUNNING,PENDING"`).
pub fn parse_statuses(raw: &str) -> Result<Vec<KernelStatus>> {
    parse_status_list(
        raw,
        |s| KernelStatus::try_from_value(&s.to_uppercase()).ok(),
        "kernel",
    )
}

fn status_in(statuses: Vec<KernelStatus>) -> Expr {
    k("status").is_in(
        statuses
            .into_iter()
            .map(|s| label(s.to_value()).cast_as(Alias::new("kernelstatus"))),
    )
}

/// `cluster_role = 'main'`.
fn is_main() -> Expr {
    k("cluster_role").eq(label(MAIN_ROLE.into()))
}

fn parse_uuid(what: &str, raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::InvalidInput(format!("{what} {raw:?} is not a UUID")))
}

/// The caller's scope over sessions: by access key (users: their own; admins: their domain).
pub fn scope(
    caller: &Identity,
    domain_name: Option<String>,
    access_key: Option<String>,
) -> Result<Scope<String>> {
    scoped(
        caller,
        domain_name,
        access_key,
        caller.access_key.clone(),
        false,
    )
}

fn scope_conditions(scope: Scope<String>) -> Vec<Expr> {
    let mut conditions = Vec::new();
    if let Some(d) = scope.domain_name {
        conditions.push(k("domain_name").eq(d));
    }
    if let Some(ak) = scope.owner {
        conditions.push(k("access_key").eq(ak));
    }
    conditions
}

/// The most recent change of a kernel, 21.03's default order.
fn last_updated() -> Expr {
    Func::greatest([k("created_at"), k("terminated_at"), k("status_changed")]).into()
}

/// The kernel columns with the names of the group and the user. Subqueries rather than joins:
/// PostgreSQL plans them far faster, and a page reads few rows (see `ListFields::base_from`).
fn session_columns(s: &mut SelectStatement, columns: KernelColumns) {
    kernel_columns(s, columns);
    s.expr_as(
        Expr::cust("(SELECT name FROM groups WHERE groups.id = kernels.group_id)"),
        Alias::new("group_name"),
    )
    .expr_as(
        Expr::cust("(SELECT email FROM users WHERE users.uuid = kernels.user_uuid)"),
        Alias::new("user_email"),
    );
}

/// A row of [`session_columns`].
fn session_row(r: &mut RowReader) -> Result<SessionRow, sea_orm::DbErr> {
    Ok(SessionRow {
        kernel: Arc::new(Kernel::read(r)?),
        group_name: r.get()?,
        user_email: r.get()?,
    })
}

/// Sessions matching `conditions`, with their group and user (no paging).
async fn select_sessions(
    db: &DatabaseConnection,
    conditions: Vec<Expr>,
) -> Result<Vec<SessionRow>> {
    let mut q = Query::select().from(kernels::Entity).to_owned();
    session_columns(&mut q, KernelColumns::ALL);
    q.and_where(is_main());
    for c in conditions {
        q.and_where(c);
    }
    q.order_by_expr(last_updated(), Order::Desc);
    let stmt = db.get_database_backend().build(&q);
    let rows = db.query_all_raw(stmt).await?;
    Ok(rows::read_all(&rows, session_row)?)
}

/// `compute_session(id)`, within the caller's scope.
pub async fn get(
    db: &DatabaseConnection,
    caller: &Identity,
    id: Uuid,
) -> Result<Option<SessionRow>> {
    let mut conditions = scope_conditions(scope(caller, None, None)?);
    conditions.push(k("id").eq(id));
    Ok(select_sessions(db, conditions).await?.into_iter().next())
}

/// The filters of `compute_session_list` beyond the caller's own.
pub struct SessionFilter {
    pub domain_name: Option<String>,
    pub group_id: Option<String>,
    pub access_key: Option<String>,
    pub status: Option<String>,
}

fn session_conditions(caller: &Identity, f: SessionFilter) -> Result<Vec<Expr>> {
    let mut conditions = scope_conditions(scope(caller, f.domain_name, f.access_key)?);
    conditions.push(is_main());
    if let Some(gid) = f.group_id {
        conditions.push(k("group_id").eq(parse_uuid("group_id", &gid)?));
    }
    if let Some(status) = f.status {
        conditions.push(status_in(parse_statuses(&status)?));
    }
    Ok(conditions)
}

/// `compute_session_list`: one page, most recently changed first by default.
pub async fn page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    filter: SessionFilter,
    hide_agents: bool,
    columns: KernelColumns,
) -> Result<(Vec<SessionRow>, i64)> {
    let query = ListQuery {
        fields: list_fields::sessions(hide_agents),
        columns: |s: &mut SelectStatement| session_columns(s, columns),
        conditions: session_conditions(caller, filter)?,
        default_order: vec![(last_updated(), Order::Desc), (k("id"), Order::Asc)],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = rows::read_all(&page.rows, session_row)?;
    Ok((rows, page.total_count))
}

/// `legacy_compute_session_list`: as [`page`], ordered by a column name instead of a filter.
pub async fn legacy_page(
    db: &DatabaseConnection,
    caller: &Identity,
    limit: i32,
    offset: i32,
    order_key: Option<String>,
    order_asc: bool,
    filter: SessionFilter,
) -> Result<(Vec<SessionRow>, i64)> {
    let order = order_key.map(|key| format!("{}{key}", if order_asc { "+" } else { "-" }));
    page(
        db,
        caller,
        &PageRequest::new(limit, offset, None, order),
        filter,
        false,
        KernelColumns::ALL,
    )
    .await
}

/// `legacy_compute_session(sess_id)`: the running session of that name (or id).
pub async fn legacy_get(
    db: &DatabaseConnection,
    caller: &Identity,
    sess_id: &str,
    domain_name: Option<String>,
    access_key: Option<String>,
) -> Result<Option<SessionRow>> {
    let mut conditions = scope_conditions(scope(caller, domain_name, access_key)?);
    conditions.push(status_in(vec![KernelStatus::Running]));
    conditions.push(match Uuid::parse_str(sess_id) {
        Ok(id) => k("session_id").eq(id),
        Err(_) => k("session_name").eq(sess_id),
    });
    let mut rows = select_sessions(db, conditions).await?;
    if rows.len() > 1 {
        return Err(Error::Conflict(
            "There are two or more matching kernels.".into(),
        ));
    }
    Ok(rows.pop())
}

/// `compute_container(id)`, within the caller's scope.
pub async fn container(
    db: &DatabaseConnection,
    caller: &Identity,
    id: Uuid,
) -> Result<Option<Kernel>> {
    let scope = scope(caller, None, None)?;
    let mut filter = Condition::all().add(kernels::Column::Id.eq(id));
    if let Some(d) = scope.domain_name {
        filter = filter.add(kernels::Column::DomainName.eq(d));
    }
    if let Some(ak) = scope.owner {
        filter = filter.add(kernels::Column::AccessKey.eq(ak));
    }
    Ok(select_kernels(db, filter, KernelColumns::ALL).await?.pop())
}

/// `compute_container_list`: the containers of one session.
pub async fn container_page(
    db: &DatabaseConnection,
    caller: &Identity,
    page: &PageRequest,
    session_id: &str,
    role: Option<String>,
    hide_agents: bool,
) -> Result<(Vec<Kernel>, i64)> {
    let mut conditions = scope_conditions(scope(caller, None, None)?);
    conditions.push(k("session_id").eq(parse_uuid("session_id", session_id)?));
    if let Some(role) = role {
        conditions.push(k("cluster_role").eq(role));
    }
    let query = ListQuery {
        fields: list_fields::containers(hide_agents),
        columns: |s: &mut SelectStatement| kernel_columns(s, KernelColumns::ALL),
        conditions,
        default_order: vec![
            (last_updated(), Order::Desc),
            (k("cluster_idx"), Order::Asc),
        ],
    };
    let page = fetch_page(db, query, page).await?;
    let rows = rows::read_all(&page.rows, Kernel::read)?;
    Ok((rows, page.total_count))
}

/// The containers of each session, in cluster order; one statement.
pub async fn containers_of(
    db: &DatabaseConnection,
    session_ids: &[Uuid],
    columns: KernelColumns,
) -> Result<HashMap<Uuid, Vec<Kernel>>> {
    let filter = Condition::all().add(any_of(
        (kernels::Entity, kernels::Column::SessionId),
        session_ids.to_vec(),
    ));
    let rows = select_kernels(db, filter, columns).await?;
    Ok(group_by(rows.into_iter().map(|k| (k.session_id, k))))
}

/// The containers of the sessions of `known` kernels (a page's main kernels, read with
/// `columns` or more), in cluster order: the known kernels with the other kernels of their
/// sessions, which alone are read (one statement). A single-node session's kernel is so read
/// once, not twice.
pub async fn containers_with(
    db: &DatabaseConnection,
    known: &[Arc<Kernel>],
    columns: KernelColumns,
) -> Result<HashMap<Uuid, Vec<Arc<Kernel>>>> {
    let mut session_ids: Vec<Uuid> = known.iter().map(|k| k.session_id).collect();
    session_ids.sort();
    session_ids.dedup();
    let known_ids: Vec<Uuid> = known.iter().map(|k| k.id).collect();
    let filter = Condition::all()
        .add(any_of(
            (kernels::Entity, kernels::Column::SessionId),
            session_ids,
        ))
        .add(none_of((kernels::Entity, kernels::Column::Id), known_ids));
    let others = select_kernels(db, filter, columns).await?;
    let mut containers = group_by(
        known
            .iter()
            .cloned()
            .chain(others.into_iter().map(Arc::new))
            .map(|k| (k.session_id, k)),
    );
    for kernels in containers.values_mut() {
        // The order of `select_kernels`.
        kernels.sort_by_key(|k| (k.cluster_idx, k.id));
    }
    Ok(containers)
}

/// The containers on each of `agents`, optionally only those in `statuses`; one statement.
pub async fn containers_on(
    db: &DatabaseConnection,
    agents: &[String],
    statuses: Option<Vec<KernelStatus>>,
) -> Result<HashMap<String, Vec<Kernel>>> {
    let mut filter = Condition::all().add(kernels::Column::Agent.is_in(agents.iter().cloned()));
    if let Some(statuses) = statuses {
        filter = filter.add(kernels::Column::Status.is_in(statuses));
    }
    let rows = select_kernels(db, filter, KernelColumns::ALL).await?;
    Ok(group_by(
        rows.into_iter().filter_map(|k| Some((k.agent.clone()?, k))),
    ))
}

/// The sessions each session depends on; one statement.
pub async fn dependencies_of(
    db: &DatabaseConnection,
    session_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<SessionRow>>> {
    let deps = session_dependencies::Entity::find()
        .filter(session_dependencies::Column::SessionId.is_in(session_ids.iter().copied()))
        .all(db)
        .await?;
    if deps.is_empty() {
        return Ok(HashMap::new());
    }
    let targets = Query::select()
        .column(session_dependencies::Column::DependsOn)
        .from(session_dependencies::Entity)
        .and_where(
            Expr::col(session_dependencies::Column::SessionId).is_in(session_ids.iter().copied()),
        )
        .to_owned();
    let sessions = select_sessions(db, vec![k("session_id").in_subquery(targets)]).await?;
    let by_id: HashMap<Uuid, SessionRow> = sessions
        .into_iter()
        .map(|s| (s.kernel.session_id, s))
        .collect();
    let mut result: HashMap<Uuid, Vec<SessionRow>> = HashMap::new();
    for dep in deps {
        if let Some(s) = by_id.get(&dep.depends_on) {
            result.entry(dep.session_id).or_default().push(s.clone());
        }
    }
    Ok(result)
}

/// The sessions of each keypair, optionally only in `statuses`; one statement.
pub async fn of_keypairs(
    db: &DatabaseConnection,
    access_keys: &[String],
    statuses: Option<Vec<KernelStatus>>,
) -> Result<HashMap<String, Vec<SessionRow>>> {
    let mut conditions = vec![k("access_key").is_in(access_keys.iter().cloned())];
    if let Some(statuses) = statuses {
        conditions.push(status_in(statuses));
    }
    let rows = select_sessions(db, conditions).await?;
    Ok(group_by(
        rows.into_iter()
            .filter_map(|s| Some((s.kernel.access_key.clone()?, s))),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_column_has_a_bit() {
        use sea_orm::Iterable;
        assert!(kernels::Column::iter().all(|c| (c as u64) < 64));
        let all = KernelColumns::ALL;
        let none = KernelColumns::REQUIRED;
        assert!(none.reads(kernels::Column::Status));
        assert!(!none.reads(kernels::Column::Agent));
        assert!(none
            .with(kernels::Column::Agent)
            .reads(kernels::Column::Agent));
        assert!(all.reads(kernels::Column::LastStat));
        assert!(!KernelColumns::without_documents().reads(kernels::Column::LastStat));
        assert!(KernelColumns::without_documents().reads(kernels::Column::Agent));
    }
}
