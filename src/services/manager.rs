//! The manager's own state, shared by all managers through etcd: its status (running or
//! frozen for maintenance), the announcement shown to users, and the scheduler switches of
//! agents (21.03 `api/manager.py`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use entities::enums::AgentStatus;
use entities::{agents, kernels};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, TransactionTrait,
};

use super::sessions::{ACTIVE_STATUSES, MAIN_ROLE};
use super::{Error, Named, Result};
use crate::config::etcd::Etcd;
use crate::events::Event;
use crate::rpc::agent::AgentRpc;
use crate::AppState;

/// The etcd key of the status (relative to the namespace).
pub const STATUS_KEY: &str = "manager/status";
/// The etcd key of the announcement; absent when there is none.
pub const ANNOUNCEMENT_KEY: &str = "manager/announcement";

/// How long a manager trusts the status it read; another manager's change shows within this.
const STATUS_MAX_AGE: Duration = Duration::from_secs(2);
/// How long a forced freeze waits for an agent to drop its kernels.
const FORCE_KILL_TIMEOUT: Duration = Duration::from_secs(30);

/// 21.03's `ManagerStatus` (terminated and preparing are kept only to read old values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerStatus {
    Terminated,
    Preparing,
    Running,
    Frozen,
}

impl ManagerStatus {
    const ALL: [ManagerStatus; 4] = [
        ManagerStatus::Terminated,
        ManagerStatus::Preparing,
        ManagerStatus::Running,
        ManagerStatus::Frozen,
    ];

    /// The value stored in etcd and shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            ManagerStatus::Terminated => "terminated",
            ManagerStatus::Preparing => "preparing",
            ManagerStatus::Running => "running",
            ManagerStatus::Frozen => "frozen",
        }
    }

    /// A status by value or by name, in any case: 21.03 validated names (`FROZEN`) while its
    /// client sends values (`frozen`), so it never accepted a change; both work here.
    pub fn parse(raw: &str) -> Option<ManagerStatus> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

/// What a route needs of the status (21.03's `server_status_required`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Running or frozen: reads and most writes.
    ReadAllowed,
    /// Running only: what starts new work (sessions, image imports).
    AllAllowed,
}

impl Requirement {
    fn allows(self, status: ManagerStatus) -> bool {
        match self {
            Requirement::ReadAllowed => {
                matches!(status, ManagerStatus::Running | ManagerStatus::Frozen)
            }
            Requirement::AllAllowed => status == ManagerStatus::Running,
        }
    }

    fn names(self) -> &'static str {
        match self {
            Requirement::ReadAllowed => "running, frozen",
            Requirement::AllAllowed => "running",
        }
    }

    /// Refuses a request the current status does not allow, as 21.03 did.
    pub fn check(self, status: ManagerStatus) -> Result<()> {
        if self.allows(status) {
            Ok(())
        } else if status == ManagerStatus::Frozen {
            Err(Error::Named(Named::ServerFrozen, None))
        } else {
            Err(Error::Unavailable(format!(
                "Server is not in the required status: {}",
                self.names()
            )))
        }
    }
}

/// The status as last read from etcd, for a short while.
#[derive(Default)]
pub struct StatusCache {
    read: Mutex<Option<(Instant, ManagerStatus)>>,
}

impl StatusCache {
    fn fresh(&self) -> Option<ManagerStatus> {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.filter(|(at, _)| at.elapsed() < STATUS_MAX_AGE)
            .map(|(_, status)| status)
    }

    fn remember(&self, status: ManagerStatus) {
        *self.read.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), status));
    }

    /// The current status; a missing key means terminated (21.03).
    pub async fn get(&self, etcd: &Etcd) -> Result<ManagerStatus> {
        if let Some(status) = self.fresh() {
            return Ok(status);
        }
        let status = read_status(etcd).await?;
        self.remember(status);
        Ok(status)
    }

    async fn set(&self, etcd: &Etcd, status: ManagerStatus) -> Result<()> {
        etcd.put(STATUS_KEY, status.as_str()).await?;
        self.remember(status);
        Ok(())
    }
}

async fn read_status(etcd: &Etcd) -> Result<ManagerStatus> {
    let raw = etcd.get(STATUS_KEY).await?;
    match raw {
        None => Ok(ManagerStatus::Terminated),
        Some(raw) => ManagerStatus::parse(&raw).ok_or_else(|| {
            Error::Internal(format!(
                "etcd key {STATUS_KEY} holds the unknown status {raw:?}"
            ))
        }),
    }
}

/// At start-up, a status other than running or frozen (a fresh cluster, a legacy value)
/// becomes running, as 21.03 does.
pub async fn settle_status_on_start(etcd: &Etcd) -> Result<ManagerStatus> {
    let status = match read_status(etcd).await {
        Ok(s @ (ManagerStatus::Running | ManagerStatus::Frozen)) => return Ok(s),
        _ => ManagerStatus::Running,
    };
    etcd.put(STATUS_KEY, status.as_str()).await?;
    Ok(status)
}

/// What `GET /manager/status` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub status: ManagerStatus,
    /// Sessions holding resources (their main kernels in an occupying status, errors included).
    pub active_sessions: u64,
}

pub async fn report(state: &AppState) -> Result<StatusReport> {
    let status = state.manager_status.get(&state.etcd).await?;
    let active_sessions = kernels::Entity::find()
        .filter(kernels::Column::ClusterRole.eq(MAIN_ROLE))
        .filter(kernels::Column::Status.is_in(ACTIVE_STATUSES.iter().cloned()))
        .count(&state.db)
        .await?;
    Ok(StatusReport {
        status,
        active_sessions,
    })
}

/// Changes the status of all managers. With `force_kill`, every alive agent first drops all
/// its kernels (21.03 called a function agents do not have, and waited forever).
pub async fn set_status(state: &AppState, status: ManagerStatus, force_kill: bool) -> Result<()> {
    if force_kill {
        kill_all_sessions(state).await?;
    }
    state.manager_status.set(&state.etcd, status).await
}

async fn kill_all_sessions(state: &AppState) -> Result<()> {
    let alive: Vec<(String, String)> = agents::Entity::find()
        .select_only()
        .columns([agents::Column::Id, agents::Column::Addr])
        .filter(agents::Column::Status.eq(AgentStatus::Alive))
        .into_tuple()
        .all(&state.db)
        .await?;
    let resets = alive.into_iter().map(|(id, addr)| {
        let agent = AgentRpc::new(state.rpc.clone(), addr);
        async move {
            match tokio::time::timeout(FORCE_KILL_TIMEOUT, agent.reset_agent()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(agent = %id, "force-kill on freeze failed: {e}"),
                Err(_) => tracing::warn!(agent = %id, "force-kill on freeze timed out"),
            }
        }
    });
    futures::future::join_all(resets).await;
    Ok(())
}

/// The announcement, if one is shown.
pub async fn announcement(etcd: &Etcd) -> Result<Option<String>> {
    Ok(etcd.get(ANNOUNCEMENT_KEY).await?)
}

/// Shows `message` to users, or removes the announcement when not `enabled`.
pub async fn set_announcement(etcd: &Etcd, enabled: bool, message: Option<String>) -> Result<()> {
    let result = if enabled {
        let message = message.filter(|m| !m.is_empty()).ok_or_else(|| {
            Error::InvalidInput("Empty message not allowed to enable announcement".into())
        })?;
        etcd.put(ANNOUNCEMENT_KEY, &message).await
    } else {
        etcd.delete(ANNOUNCEMENT_KEY).await.map(drop)
    };
    Ok(result?)
}

/// Makes `agent_ids` schedulable or not, all or none: an unknown (or repeated) id changes
/// nothing. Including agents asks the scheduler to run.
pub async fn set_schedulable(
    state: &AppState,
    agent_ids: &[String],
    schedulable: bool,
) -> Result<()> {
    let txn = state.db.begin().await?;
    let updated = agents::Entity::update_many()
        .col_expr(agents::Column::Schedulable, Expr::value(schedulable))
        .filter(agents::Column::Id.is_in(agent_ids.iter().cloned()))
        .exec(&txn)
        .await?
        .rows_affected;
    if updated < agent_ids.len() as u64 {
        return Err(Error::Named(Named::InstanceNotFound, None));
    }
    txn.commit().await?;
    if schedulable {
        if let Err(e) = state
            .events
            .produce(&Event::DoSchedule, &state.local.manager.id)
            .await
        {
            tracing::warn!("cannot ask the scheduler to run: {e}");
        }
    }
    Ok(())
}
