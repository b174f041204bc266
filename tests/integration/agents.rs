//! The agent registry over the real event bus: agents register with heartbeats, one that stops
//! turns LOST after the timeout (with two managers running), comes back with a heartbeat, an
//! unknown scaling group is refused with a message, and `agent_terminated` moves the status.

use std::sync::Arc;
use std::time::Duration;

use bai_manager::events::bus::{
    DispatcherConfig, EventDispatcher, EventProducer, RunningDispatcher,
};
use bai_manager::events::Event;
use bai_manager::registry::agents::AgentRegistry;
use rmpv::Value;
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{unique, TestDb, TestEtcd};

fn heartbeat(scaling_group: &str, cpu: &str) -> Event {
    let s = |t: &str| Value::from(t);
    Event::AgentHeartbeat {
        agent_info: Value::Map(vec![
            (s("ip"), s("127.0.0.1")),
            (s("region"), s("local")),
            (s("scaling_group"), s(scaling_group)),
            (s("addr"), s("tcp://127.0.0.1:6001")),
            (
                s("resource_slots"),
                Value::Map(vec![
                    (s("cpu"), Value::Array(vec![s("count"), s(cpu)])),
                    (s("mem"), Value::Array(vec![s("bytes"), s("8589934592")])),
                    (s("cuda.shares"), Value::Array(vec![s("count"), s("2.5")])),
                ]),
            ),
            (s("version"), s("21.03.7")),
            (
                s("compute_plugins"),
                Value::Map(vec![(
                    s("cuda"),
                    Value::Map(vec![(s("version"), s("11.2"))]),
                )]),
            ),
            (s("images"), Value::Binary(vec![])),
        ]),
    }
}

struct Cluster {
    db: TestDb,
    _etcd: TestEtcd,
    stream: String,
    producer: EventProducer,
    last_seen_key: String,
    /// The first manager's state, for GraphQL.
    state: bai_manager::AppState,
    _managers: Vec<(RunningDispatcher, tokio::task::JoinHandle<()>)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, lost_check) in &self._managers {
            lost_check.abort();
        }
        // The stream (database 4) and the last-seen hash (database 2) of this test.
        let (stream, key) = (self.stream.clone(), self.last_seen_key.clone());
        tokio::spawn(async move {
            for (db, name) in [(4, stream), (2, key)] {
                let addr = std::env::var("BAI_TEST_REDIS_ADDR")
                    .unwrap_or_else(|_| "127.0.0.1:6379".into());
                if let Ok(client) = redis::Client::open(format!("redis://{addr}/{db}")) {
                    if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                        let _: redis::RedisResult<()> =
                            redis::cmd("DEL").arg(name).query_async(&mut conn).await;
                    }
                }
            }
        });
    }
}

/// `managers` managers sharing one database, one stream and one last-seen hash.
async fn cluster(managers: usize) -> Cluster {
    let db = TestDb::with_example_keypairs().await;
    let etcd = TestEtcd::new().await;
    let config = Arc::new(crate::helpers::test_config(&db.name, &etcd.namespace));
    let stream = unique("events");
    let last_seen_key = unique("agent.last_seen");
    let mut running = Vec::new();
    let mut producer = None;
    let mut first_state = None;
    for i in 0..managers {
        let (state, _publish) = bai_manager::server::connect(config.clone()).await.unwrap();
        let events = EventProducer::on_stream(
            bai_manager::redis::connect(
                &state.shared.borrow().redis,
                bai_manager::redis::STREAM_DB,
            )
            .await
            .unwrap(),
            &stream,
        );
        producer.get_or_insert_with(|| events.clone());
        first_state.get_or_insert_with(|| state.clone());
        let registry = Arc::new(AgentRegistry {
            events,
            heartbeat_timeout: Duration::from_millis(1500),
            last_seen_key: last_seen_key.clone(),
            ..AgentRegistry::new(&state)
        });
        let mut dispatcher = EventDispatcher::default();
        registry.register(&mut dispatcher);
        let mut dispatcher_config = DispatcherConfig::new(format!("manager-{i}"));
        dispatcher_config.stream = stream.clone();
        dispatcher_config.block = Duration::from_millis(200);
        let redis = state.shared.borrow().redis.clone();
        let dispatcher = dispatcher.start(&redis, dispatcher_config).await.unwrap();
        running.push((dispatcher, registry.spawn_lost_check()));
    }
    // Every consumer has joined the group before agents speak.
    tokio::time::sleep(Duration::from_millis(400)).await;
    Cluster {
        db,
        _etcd: etcd,
        stream,
        producer: producer.unwrap(),
        last_seen_key,
        state: first_state.unwrap(),
        _managers: running,
    }
}

impl Cluster {
    /// `agent_list` as the superadmin reads it: (id, status) of each agent.
    async fn agent_list(&self) -> Vec<(String, String)> {
        let identity = bai_manager::services::auth::authenticate_access_key(
            &self.state.db,
            &Default::default(),
            crate::http::ADMIN_AK,
        )
        .await
        .unwrap();
        let query = "{ agent_list(limit: 100, offset: 0, order: \"id\") { items { id status } } }";
        let response = bai_manager::gql::execute(
            self.state.clone(),
            identity,
            async_graphql::Request::new(query),
        )
        .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let data = bai_manager::gql::response::to_json(&response.data);
        data["agent_list"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let text = |k: &str| a[k].as_str().unwrap().to_owned();
                (text("id"), text("status"))
            })
            .collect()
    }

    async fn beat(&self, agent: &str, scaling_group: &str) {
        self.producer
            .produce(&heartbeat(scaling_group, "8"), agent)
            .await
            .unwrap();
    }

    /// (status, lost_at is set, status_changed is set, first_contact is set) of an agent.
    async fn agent(&self, id: &str) -> Option<(String, bool, bool, bool)> {
        let row = self
            .db
            .conn
            .query_one_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT status::text, lost_at IS NOT NULL, status_changed IS NOT NULL, \
                        first_contact IS NOT NULL FROM agents WHERE id = $1",
                [id.into()],
            ))
            .await
            .unwrap()?;
        Some((
            row.try_get_by_index(0).unwrap(),
            row.try_get_by_index(1).unwrap(),
            row.try_get_by_index(2).unwrap(),
            row.try_get_by_index(3).unwrap(),
        ))
    }

    async fn status(&self, id: &str) -> Option<String> {
        self.agent(id).await.map(|a| a.0)
    }

    /// Waits until the agent has `status`, sending heartbeats for `alive` meanwhile.
    async fn wait_for(&self, id: &str, status: &str, alive: &[&str]) {
        for _ in 0..100 {
            if self.status(id).await.as_deref() == Some(status) {
                return;
            }
            for agent in alive {
                self.beat(agent, "default").await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "agent {id} never became {status}: {:?}",
            self.agent(id).await
        );
    }
}

#[tokio::test]
async fn agents_register_turn_lost_and_come_back() {
    let cluster = cluster(2).await;
    let agents = ["i-sim-a", "i-sim-b", "i-sim-c"];
    for agent in agents {
        cluster.beat(agent, "default").await;
    }
    for agent in agents {
        cluster.wait_for(agent, "ALIVE", &[]).await;
    }
    let (_, lost_at, status_changed, first_contact) = cluster.agent("i-sim-a").await.unwrap();
    assert!(
        !lost_at && !status_changed && first_contact,
        "a new agent as 21.03 inserts it"
    );
    let slots: serde_json::Value = crate::helpers::scalar(
        &cluster.db.conn,
        "SELECT available_slots FROM agents WHERE id = 'i-sim-a'",
    )
    .await;
    assert_eq!(
        slots,
        serde_json::json!({"cpu": "8", "mem": "8589934592", "cuda.shares": "2.5"})
    );

    // i-sim-c stops beating: LOST after the timeout; the others stay ALIVE.
    cluster
        .wait_for("i-sim-c", "LOST", &["i-sim-a", "i-sim-b"])
        .await;
    let (_, lost_at, status_changed, _) = cluster.agent("i-sim-c").await.unwrap();
    assert!(lost_at && status_changed);
    assert_eq!(cluster.status("i-sim-a").await.as_deref(), Some("ALIVE"));
    assert_eq!(cluster.status("i-sim-b").await.as_deref(), Some("ALIVE"));

    // It comes back with a heartbeat.
    cluster.beat("i-sim-c", "default").await;
    cluster.wait_for("i-sim-c", "ALIVE", &[]).await;
    let (_, lost_at, _, _) = cluster.agent("i-sim-c").await.unwrap();
    assert!(!lost_at, "lost_at is cleared on return");

    // A regular shutdown, and an agent restarting.
    cluster
        .producer
        .produce(
            &Event::AgentTerminated {
                reason: "shutdown".into(),
            },
            "i-sim-b",
        )
        .await
        .unwrap();
    cluster.wait_for("i-sim-b", "TERMINATED", &[]).await;
    cluster
        .producer
        .produce(
            &Event::AgentTerminated {
                reason: "agent-restart".into(),
            },
            "i-sim-a",
        )
        .await
        .unwrap();
    cluster.wait_for("i-sim-a", "RESTARTING", &[]).await;
    cluster
        .producer
        .produce(
            &Event::AgentStarted {
                reason: "self-started".into(),
            },
            "i-sim-a",
        )
        .await
        .unwrap();
    cluster.wait_for("i-sim-a", "ALIVE", &[]).await;
}

#[tokio::test]
async fn an_unknown_scaling_group_is_refused_and_the_bus_goes_on() {
    let cluster = cluster(1).await;
    cluster.beat("i-sim-stray", "no-such-group").await;
    // Malformed heartbeats do not stop the handling of the next ones either.
    cluster
        .producer
        .produce(
            &Event::AgentHeartbeat {
                agent_info: Value::Map(vec![(Value::from("addr"), Value::from(1))]),
            },
            "i-sim-bad",
        )
        .await
        .unwrap();
    cluster.beat("i-sim-good", "default").await;
    cluster.wait_for("i-sim-good", "ALIVE", &[]).await;
    assert_eq!(cluster.agent("i-sim-stray").await, None);
    assert_eq!(cluster.agent("i-sim-bad").await, None);
    // Neither is watched for heartbeats.
    let mut live =
        bai_manager::redis::connect(&crate::events::redis_config(), bai_manager::redis::LIVE_DB)
            .await
            .unwrap();
    let watched: Vec<String> = redis::cmd("HKEYS")
        .arg(&cluster.last_seen_key)
        .query_async(&mut live)
        .await
        .unwrap();
    assert_eq!(watched, ["i-sim-good"]);
}

/// Agents simulated by `agent-sim` register, answer RPC (with their lifecycle events), and one
/// that dies silently turns LOST while the others stay ALIVE.
#[tokio::test]
async fn simulated_agents_register_answer_rpc_and_turn_lost() {
    use agent_sim::{SimAgent, SimConfig};
    use bai_manager::rpc::agent::AgentRpc;
    use bai_manager::rpc::{Keepalive, RpcClient, RpcError};

    let cluster = cluster(1).await;
    let mut agents = Vec::new();
    for i in 0..3 {
        let mut config = SimConfig::new(format!("i-agentsim-{i}"));
        config.heartbeat_interval = Duration::from_millis(300);
        config.create_delay = Duration::from_millis(10);
        config.failing.insert("restart_kernel".into());
        config.images = vec![format!("cr.backend.ai/testing/sim-{i}:1.0")];
        agents.push(
            SimAgent::start(config, cluster.producer.clone())
                .await
                .unwrap(),
        );
    }
    for agent in &agents {
        cluster.wait_for(agent.id(), "ALIVE", &[]).await;
    }
    let alive = |id: &str| (id.to_owned(), "ALIVE".to_owned());
    assert_eq!(
        cluster.agent_list().await,
        [
            alive("i-agentsim-0"),
            alive("i-agentsim-1"),
            alive("i-agentsim-2")
        ]
    );
    let addr: String = crate::helpers::scalar(
        &cluster.db.conn,
        "SELECT addr FROM agents WHERE id = 'i-agentsim-0'",
    )
    .await;
    assert_eq!(addr, agents[0].addr());

    let rpc = AgentRpc::new(RpcClient::new(Keepalive::default()), addr);
    assert_eq!(
        rpc.ping("hello", Duration::from_secs(5)).await.unwrap(),
        "hello"
    );
    let (session, kernel) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let created = rpc
        .create_kernels(
            "c1",
            session,
            &[kernel],
            vec![Value::Map(vec![])],
            Value::Map(vec![]),
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    match rpc
        .restart_kernel("c2", session, kernel, Value::Map(vec![]))
        .await
    {
        Err(RpcError::Failure { name, .. }) => assert_eq!(name, "RuntimeError"),
        other => panic!("{other:?}"),
    }
    // The creation announced the kernel's lifecycle on the stream.
    let mut conn = bai_manager::redis::connect(
        &crate::events::redis_config(),
        bai_manager::redis::STREAM_DB,
    )
    .await
    .unwrap();
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&cluster.stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let names: Vec<String> = entries
        .ids
        .iter()
        .filter_map(|e| e.get::<String>("name"))
        .filter(|n| n.starts_with("kernel_"))
        .collect();
    assert_eq!(
        names,
        ["kernel_preparing", "kernel_creating", "kernel_started"]
    );

    // Which agents have which images (database 3).
    let mut image_db =
        bai_manager::redis::connect(&crate::events::redis_config(), bai_manager::redis::IMAGE_DB)
            .await
            .unwrap();
    let image_key = "cr.backend.ai/testing/sim-2:1.0";
    let holders: Vec<String> = redis::cmd("SMEMBERS")
        .arg(image_key)
        .query_async(&mut image_db)
        .await
        .unwrap();
    assert_eq!(holders, ["i-agentsim-2"]);

    // One dies without a word: LOST after the timeout; the others beat on.
    let dead = agents.remove(2);
    dead.stop(false).await.unwrap();
    cluster.wait_for("i-agentsim-2", "LOST", &[]).await;
    let holders: Vec<String> = redis::cmd("SMEMBERS")
        .arg(image_key)
        .query_async(&mut image_db)
        .await
        .unwrap();
    assert!(
        holders.is_empty(),
        "a lost agent no longer counts as having images"
    );
    assert_eq!(
        cluster.status("i-agentsim-0").await.as_deref(),
        Some("ALIVE")
    );
    assert_eq!(
        cluster.status("i-agentsim-1").await.as_deref(),
        Some("ALIVE")
    );
}

/// An agent that dies in the middle of creating a kernel: the call times out, and the agent
/// turns LOST.
#[tokio::test]
async fn an_agent_dying_mid_creation_times_out_the_call_and_turns_lost() {
    use agent_sim::{SimAgent, SimConfig};
    use bai_manager::rpc::{Keepalive, RpcClient, RpcError};

    let cluster = cluster(1).await;
    let mut config = SimConfig::new("i-agentsim-dying");
    config.heartbeat_interval = Duration::from_millis(300);
    config.create_delay = Duration::from_millis(10);
    config.die_mid_creation = true;
    let agent = SimAgent::start(config, cluster.producer.clone())
        .await
        .unwrap();
    cluster.wait_for(agent.id(), "ALIVE", &[]).await;
    let client = RpcClient::new(Keepalive::default());
    let created = client
        .call(
            agent.addr(),
            "create_kernels",
            vec![
                "c1".into(),
                uuid::Uuid::new_v4().to_string().into(),
                Value::Array(vec![uuid::Uuid::new_v4().to_string().into()]),
                Value::Array(vec![Value::Map(vec![])]),
                Value::Map(vec![]),
            ],
            vec![],
            Some(Duration::from_secs(2)),
        )
        .await;
    assert!(
        matches!(created, Err(RpcError::Timeout { .. })),
        "{created:?}"
    );
    cluster.wait_for(agent.id(), "LOST", &[]).await;
}
