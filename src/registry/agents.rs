//! The agent registry: the handlers of agents' events and the check that finds agents whose
//! heartbeats stopped (21.03 `registry.py`, `api/session.py`).
//!
//! Each heartbeat records the time it was seen in Redis (database 2, hash `agent.last_seen`, as
//! 21.03 keeps it). Once a second, one manager of the cluster (whichever holds the advisory
//! lock) looks for agents not seen for `manager.heartbeat-timeout` and announces
//! `agent_terminated` with the reason `agent-lost` on their behalf; the handler of that event
//! marks them LOST and forgets their last-seen time.

use std::sync::Arc;
use std::time::Duration;

use entities::enums::AgentStatus;
use redis::aio::ConnectionManager;

use crate::config::etcd::Etcd;
use crate::config::SharedConfig;
use crate::db::{try_advisory_lock, LockId};
use crate::events::bus::{EventDispatcher, EventProducer, HandlerResult};
use crate::events::Event;
use crate::services::agent_registry::{self, AgentInfo, Heartbeat};
use crate::services::images::ImageRef;

/// The Redis hash (database 2) of agent id → last heartbeat (UNIX time, seconds).
pub const LAST_SEEN_KEY: &str = "agent.last_seen";
/// The advisory lock of the lost-agent check (not one of 21.03's, which ran it on every worker
/// without a lock).
pub const LOST_CHECK_LOCK: LockId = 201;
/// How often the lost-agent check runs.
const LOST_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Everything the registry's handlers use.
#[derive(Clone)]
pub struct AgentRegistry {
    pub db: sea_orm::DatabaseConnection,
    pub etcd: Etcd,
    pub shared: tokio::sync::watch::Receiver<Arc<SharedConfig>>,
    /// Redis database 2.
    pub live: ConnectionManager,
    /// Redis database 3 (which agents have which images).
    pub images: ConnectionManager,
    pub events: EventProducer,
    pub heartbeat_timeout: Duration,
    /// [`LAST_SEEN_KEY`] but in tests that share one Redis.
    pub last_seen_key: String,
}

impl AgentRegistry {
    /// The registry of a manager: its connections, its heartbeat timeout, 21.03's hash.
    pub fn new(state: &crate::AppState) -> Self {
        AgentRegistry {
            db: state.db.clone(),
            etcd: state.etcd.clone(),
            shared: state.shared.clone(),
            live: state.redis_live.clone(),
            images: state.redis_image.clone(),
            events: state.events.clone(),
            heartbeat_timeout: state.local.manager.heartbeat_timeout,
            last_seen_key: LAST_SEEN_KEY.to_owned(),
        }
    }

    /// Registers the handlers of the agent events (each handled by one manager).
    pub fn register(self: &Arc<Self>, dispatcher: &mut EventDispatcher) {
        let registry = self.clone();
        dispatcher.consume("agent_heartbeat", None, move |source, event| {
            let registry = registry.clone();
            async move { registry.on_heartbeat(source, event).await }
        });
        let registry = self.clone();
        dispatcher.consume("agent_started", None, move |source, _| {
            let registry = registry.clone();
            async move {
                agent_registry::mark_started(&registry.db, &source).await?;
                Ok(())
            }
        });
        let registry = self.clone();
        dispatcher.consume("agent_terminated", None, move |source, event| {
            let registry = registry.clone();
            async move { registry.on_terminated(source, event).await }
        });
    }

    async fn on_heartbeat(&self, agent_id: String, event: Event) -> HandlerResult {
        let Event::AgentHeartbeat { agent_info } = event else {
            return Ok(());
        };
        let info = AgentInfo::from_msgpack(&agent_info)
            .map_err(|why| anyhow::anyhow!("heartbeat of agent {agent_id}: {why}"))?;
        let outcome = agent_registry::record_heartbeat(&self.db, &agent_id, &info).await?;
        // Seen only once registered: an agent the manager refuses is not watched either.
        let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        let _: () = redis::cmd("HSET")
            .arg(&self.last_seen_key)
            .arg(&agent_id)
            .arg(now)
            .query_async(&mut self.live.clone())
            .await?;
        if outcome.wrote_slots() {
            self.register_slot_units(&info).await?;
        }
        self.register_images(&agent_id, &info.images).await?;
        if outcome == Heartbeat::Revived {
            let revived = Event::AgentStarted {
                reason: "revived".into(),
            };
            self.events.produce(&revived, &agent_id).await?;
        }
        Ok(())
    }

    /// Makes the slots an agent offers known to the cluster (`config/resource_slots/<slot>` in
    /// etcd), as 21.03 does, where they are new or their unit changed.
    async fn register_slot_units(&self, info: &AgentInfo) -> anyhow::Result<()> {
        let known = self.shared.borrow().resource_slots.clone();
        for (slot, unit) in &info.slot_units {
            if known.get(slot) != Some(unit) {
                self.etcd
                    .put(&format!("config/resource_slots/{slot}"), unit)
                    .await?;
            }
        }
        Ok(())
    }

    /// Adds the agent to the set of each image it has (database 3, keyed by the canonical
    /// reference), as 21.03 does on every heartbeat.
    async fn register_images(&self, agent_id: &str, images: &[String]) -> anyhow::Result<()> {
        if images.is_empty() {
            return Ok(());
        }
        let known: Vec<String> = self.shared.borrow().registries.keys().cloned().collect();
        let mut pipe = redis::pipe();
        for image in images {
            match ImageRef::parse(image, &known) {
                Ok(image) => {
                    pipe.sadd(image.canonical(), agent_id).ignore();
                }
                Err(e) => tracing::warn!(agent = %agent_id, "skipping an image it reports: {e}"),
            }
        }
        let _: () = pipe.query_async(&mut self.images.clone()).await?;
        Ok(())
    }

    /// Removes a departed agent from every image set (what 21.03 meant to do, but its pipeline
    /// never ran).
    async fn forget_images(&self, agent_id: &str) -> anyhow::Result<()> {
        let mut conn = self.images.clone();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.srem(key, agent_id).ignore();
                }
                let _: () = pipe.query_async(&mut conn).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn on_terminated(&self, agent_id: String, event: Event) -> HandlerResult {
        let Event::AgentTerminated { reason } = event else {
            return Ok(());
        };
        if reason == "agent-restart" {
            agent_registry::mark_restarting(&self.db, &agent_id).await?;
            return Ok(());
        }
        let status = if reason == "agent-lost" {
            AgentStatus::Lost
        } else {
            AgentStatus::Terminated
        };
        let _: () = redis::cmd("HDEL")
            .arg(&self.last_seen_key)
            .arg(&agent_id)
            .query_async(&mut self.live.clone())
            .await?;
        if agent_registry::mark_gone(&self.db, &agent_id, status).await? {
            tracing::info!(agent = %agent_id, %reason, "agent {status:?}");
            self.forget_images(&agent_id).await?;
        }
        Ok(())
    }

    /// Announces `agent-lost` for the agents not seen for the heartbeat timeout; returns them.
    pub async fn check_lost(&self) -> anyhow::Result<Vec<String>> {
        let seen: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&self.last_seen_key)
            .query_async(&mut self.live.clone())
            .await?;
        let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        let timeout = self.heartbeat_timeout.as_secs_f64();
        let mut lost = Vec::new();
        for (agent_id, at) in seen {
            // An unreadable time (written by something else) counts as long ago.
            let at: f64 = at.parse().unwrap_or(0.0);
            if now - at > timeout {
                let event = Event::AgentTerminated {
                    reason: "agent-lost".into(),
                };
                self.events.produce(&event, &agent_id).await?;
                lost.push(agent_id);
            }
        }
        Ok(lost)
    }

    /// Runs the lost-agent check every second on whichever manager holds the lock.
    pub fn spawn_lost_check(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LOST_CHECK_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let checked = try_advisory_lock(&self.db, LOST_CHECK_LOCK, || self.check_lost());
                match checked.await {
                    Ok(Some(Err(e))) => tracing::warn!("checking for lost agents failed: {e:#}"),
                    Err(e) => tracing::warn!("checking for lost agents failed: {e}"),
                    Ok(_) => {}
                }
            }
        })
    }
}
