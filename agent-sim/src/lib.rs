//! A simulated 21.03 agent, as the manager sees one on the wire: it announces itself and beats
//! on the event stream, serves the agent RPC functions (callosum over ZeroMQ) on a ROUTER
//! socket, and emits the kernel lifecycle events of what it is asked to create and destroy,
//! after configurable delays and with injected failures. One process can run hundreds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bai_manager::events::bus::EventProducer;
use bai_manager::events::{Event, KernelCreationStage};
use bai_manager::rpc::frame::{answer, read_call, IncomingCall};
use rmpv::Value;
use uuid::Uuid;

/// How one simulated agent behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub id: String,
    pub region: String,
    pub scaling_group: String,
    /// `(slot, unit, amount)`, e.g. `("cpu", "count", "8")`.
    pub slots: Vec<(String, String, String)>,
    pub heartbeat_interval: Duration,
    /// The host to bind the RPC socket on; the port is picked freely.
    pub rpc_host: String,
    /// Time between the lifecycle events of a kernel being created.
    pub create_delay: Duration,
    /// Functions answered with a failure (`RuntimeError`).
    pub failing: HashSet<String>,
    /// Functions never answered (the caller times out).
    pub silent: HashSet<String>,
    /// The images it reports having (`registry/name:tag`).
    pub images: Vec<String>,
    /// Dies in the middle of `create_kernels` (after the first `kernel_preparing`): no answer,
    /// no more heartbeats, as a crashed agent.
    pub die_mid_creation: bool,
}

impl SimConfig {
    pub fn new(id: impl Into<String>) -> Self {
        SimConfig {
            id: id.into(),
            region: "local".into(),
            scaling_group: "default".into(),
            slots: vec![
                ("cpu".into(), "count".into(), "8".into()),
                ("mem".into(), "bytes".into(), "17179869184".into()),
            ],
            heartbeat_interval: Duration::from_secs(3),
            rpc_host: "127.0.0.1".into(),
            create_delay: Duration::from_millis(100),
            failing: HashSet::new(),
            silent: HashSet::new(),
            images: Vec::new(),
            die_mid_creation: false,
        }
    }
}

/// A running simulated agent.
pub struct SimAgent {
    config: Arc<SimConfig>,
    addr: String,
    events: EventProducer,
    stopped: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
    rpc_thread: Option<std::thread::JoinHandle<()>>,
}

impl SimAgent {
    /// Binds the RPC socket, sends the first heartbeat and `agent_started` (`self-started`),
    /// and keeps beating.
    pub async fn start(config: SimConfig, events: EventProducer) -> anyhow::Result<SimAgent> {
        let config = Arc::new(config);
        let stopped = Arc::new(AtomicBool::new(false));
        let (addr, rpc_thread) = serve_rpc(config.clone(), events.clone(), stopped.clone())?;
        let info = agent_info(&config, &addr);
        events
            .produce(
                &Event::AgentHeartbeat {
                    agent_info: info.clone(),
                },
                &config.id,
            )
            .await?;
        let started = Event::AgentStarted {
            reason: "self-started".into(),
        };
        events.produce(&started, &config.id).await?;
        let heartbeat = {
            let (config, events, stopped) = (config.clone(), events.clone(), stopped.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(config.heartbeat_interval);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if stopped.load(Ordering::Acquire) {
                        return;
                    }
                    let beat = Event::AgentHeartbeat {
                        agent_info: info.clone(),
                    };
                    if let Err(e) = events.produce(&beat, &config.id).await {
                        tracing::warn!(agent = %config.id, "cannot send a heartbeat: {e}");
                    }
                }
            })
        };
        Ok(SimAgent {
            config,
            addr,
            events,
            stopped,
            heartbeat,
            rpc_thread: Some(rpc_thread),
        })
    }

    /// The RPC address, as the agent reports it (`tcp://host:port`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Stops beating and serving; with `announce`, says so (`agent_terminated`, `shutdown`),
    /// else it just goes silent as a crashed agent would.
    pub async fn stop(mut self, announce: bool) -> anyhow::Result<()> {
        self.halt();
        if announce {
            let terminated = Event::AgentTerminated {
                reason: "shutdown".into(),
            };
            self.events.produce(&terminated, &self.config.id).await?;
        }
        Ok(())
    }

    fn halt(&mut self) {
        self.heartbeat.abort();
        self.stopped.store(true, Ordering::Release);
        if let Some(thread) = self.rpc_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SimAgent {
    fn drop(&mut self) {
        self.halt();
    }
}

/// `agent_info` as a 21.03 agent sends it.
fn agent_info(config: &SimConfig, addr: &str) -> Value {
    let s = |t: &str| Value::from(t);
    let slots = config
        .slots
        .iter()
        .map(|(slot, unit, amount)| (s(slot), Value::Array(vec![s(unit), s(amount)])))
        .collect();
    // `[[repo_tag, digest], ...]`, msgpack, snappy-compressed (raw).
    let list = Value::Array(
        config
            .images
            .iter()
            .map(|image| Value::Array(vec![s(image), s("sha256:0")]))
            .collect(),
    );
    let mut packed = Vec::new();
    let _ = rmpv::encode::write_value(&mut packed, &list);
    let images = snap::raw::Encoder::new()
        .compress_vec(&packed)
        .unwrap_or_default();
    Value::Map(vec![
        (s("ip"), s(&config.rpc_host)),
        (s("region"), s(&config.region)),
        (s("scaling_group"), s(&config.scaling_group)),
        (s("addr"), s(addr)),
        (s("resource_slots"), Value::Map(slots)),
        (s("version"), s("21.03.0-sim")),
        (s("compute_plugins"), Value::Map(vec![])),
        (s("images"), Value::Binary(images)),
    ])
}

/// The functions of a 21.03 agent (`agent/server.py`).
pub const FUNCTIONS: &[&str] = &[
    "ping",
    "gather_hwinfo",
    "ping_kernel",
    "create_kernels",
    "destroy_kernel",
    "interrupt_kernel",
    "get_completions",
    "get_logs",
    "restart_kernel",
    "execute",
    "execute_batch",
    "start_service",
    "shutdown_service",
    "upload_file",
    "download_file",
    "list_files",
    "shutdown_agent",
    "create_overlay_network",
    "destroy_overlay_network",
    "create_local_network",
    "destroy_local_network",
    "reset_agent",
];

/// An answer waiting to go out on the socket: the caller's identity and the two frames.
type Outgoing = (Vec<u8>, [Vec<u8>; 2]);

/// Serves RPC on a ROUTER socket in a thread of its own (ZeroMQ sockets stay on one thread);
/// the functions run as tasks, and their answers come back through a channel.
fn serve_rpc(
    config: Arc<SimConfig>,
    events: EventProducer,
    stopped: Arc<AtomicBool>,
) -> anyhow::Result<(String, std::thread::JoinHandle<()>)> {
    let context = zmq::Context::new();
    let socket = context.socket(zmq::ROUTER)?;
    socket.set_linger(100)?;
    socket.bind(&format!("tcp://{}:*", config.rpc_host))?;
    let addr = socket
        .get_last_endpoint()?
        .map_err(|_| anyhow::anyhow!("the bound address is not text"))?;
    let runtime = tokio::runtime::Handle::current();
    let thread = std::thread::spawn(move || {
        let _context = context;
        let (reply_tx, reply_rx) = mpsc::channel::<Outgoing>();
        while !stopped.load(Ordering::Acquire) {
            while let Ok((identity, [header, body])) = reply_rx.try_recv() {
                let _ = socket.send_multipart([identity, header, body], 0);
            }
            match socket.poll(zmq::POLLIN, 20) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(_) => break,
            }
            let Ok(frames) = socket.recv_multipart(0) else {
                continue;
            };
            let [identity, .., header, body] = frames.as_slice() else {
                continue;
            };
            let call = match read_call(header, body) {
                Ok(Some(call)) => call,
                Ok(None) => continue,
                Err(why) => {
                    tracing::warn!(agent = %config.id, "unreadable RPC message: {why}");
                    continue;
                }
            };
            // A 21.03 agent does not answer a function it does not have.
            if config.silent.contains(&call.method) || !FUNCTIONS.contains(&call.method.as_str()) {
                continue;
            }
            let (config, events, reply_tx, identity, stopped) = (
                config.clone(),
                events.clone(),
                reply_tx.clone(),
                identity.clone(),
                stopped.clone(),
            );
            runtime.spawn(async move {
                if let Some(outcome) = handle(&config, &events, &stopped, &call).await {
                    let _ = reply_tx.send((identity, answer(&call, outcome)));
                }
            });
        }
    });
    Ok((addr, thread))
}

fn arg_uuid(call: &IncomingCall, i: usize) -> Result<Uuid, (String, String)> {
    call.args
        .get(i)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            let what = format!("argument {} of {} is not a UUID", i + 1, call.method);
            ("ValueError".to_owned(), format!("ValueError({what:?})"))
        })
}

fn arg_str(call: &IncomingCall, i: usize) -> String {
    call.args
        .get(i)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

/// One agent function, as 21.03's `agent/server.py` answers it; `None` when the agent died
/// before answering.
async fn handle(
    config: &SimConfig,
    events: &EventProducer,
    stopped: &AtomicBool,
    call: &IncomingCall,
) -> Option<Result<Value, (String, String)>> {
    let outcome = answer_call(config, events, stopped, call).await;
    (!stopped.load(Ordering::Acquire)).then_some(outcome)
}

async fn answer_call(
    config: &SimConfig,
    events: &EventProducer,
    stopped: &AtomicBool,
    call: &IncomingCall,
) -> Result<Value, (String, String)> {
    if config.failing.contains(&call.method) {
        return Err((
            "RuntimeError".into(),
            format!("RuntimeError('injected failure of {}')", call.method),
        ));
    }
    let emit = |event: Event| async move {
        if let Err(e) = events.produce(&event, &config.id).await {
            tracing::warn!(agent = %config.id, "cannot send {}: {e}", event.name());
        }
    };
    Ok(match call.method.as_str() {
        "ping" => call.args.first().cloned().unwrap_or(Value::Nil),
        "gather_hwinfo" => map(vec![]),
        "create_kernels" => {
            let creation_id = arg_str(call, 0);
            let kernel_ids: Vec<Uuid> = call
                .args
                .get(2)
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| id.as_str().and_then(|s| Uuid::parse_str(s).ok()))
                        .collect()
                })
                .unwrap_or_default();
            let mut created = Vec::new();
            for kernel_id in kernel_ids {
                for stage in [
                    KernelCreationStage::Preparing,
                    KernelCreationStage::Creating,
                    KernelCreationStage::Started,
                ] {
                    tokio::time::sleep(config.create_delay).await;
                    emit(Event::KernelCreation {
                        stage,
                        kernel_id,
                        creation_id: creation_id.clone(),
                        reason: String::new(),
                    })
                    .await;
                    if config.die_mid_creation {
                        stopped.store(true, Ordering::Release);
                        return Ok(Value::Nil);
                    }
                }
                created.push(map(vec![
                    ("id", kernel_id.to_string().into()),
                    ("kernel_host", config.rpc_host.as_str().into()),
                    ("repl_in_port", 2000.into()),
                    ("repl_out_port", 2001.into()),
                    ("stdin_port", 2002.into()),
                    ("stdout_port", 2003.into()),
                    ("service_ports", Value::Array(vec![])),
                    ("container_id", format!("sim-{}", kernel_id.simple()).into()),
                    ("resource_spec", map(vec![])),
                    ("attached_devices", map(vec![])),
                ]));
            }
            Value::Array(created)
        }
        "destroy_kernel" => {
            let kernel_id = arg_uuid(call, 0)?;
            let reason = match arg_str(call, 1) {
                r if r.is_empty() => "user-requested".to_owned(),
                r => r,
            };
            emit(Event::KernelTerminating {
                kernel_id,
                reason: reason.clone(),
                exit_code: -1,
            })
            .await;
            emit(Event::KernelTerminated {
                kernel_id,
                reason,
                exit_code: 0,
            })
            .await;
            Value::Nil
        }
        "restart_kernel" => {
            let kernel_id = arg_uuid(call, 2)?;
            map(vec![
                ("container_id", format!("sim-{}", kernel_id.simple()).into()),
                ("repl_in_port", 2000.into()),
                ("repl_out_port", 2001.into()),
                ("stdin_port", 2002.into()),
                ("stdout_port", 2003.into()),
                ("service_ports", Value::Array(vec![])),
            ])
        }
        "execute" => map(vec![
            ("runId", call.args.get(2).cloned().unwrap_or(Value::Nil)),
            ("status", "finished".into()),
            ("exitCode", 0.into()),
            ("options", Value::Nil),
            ("console", Value::Array(vec![])),
            ("files", Value::Array(vec![])),
        ]),
        "get_logs" => map(vec![("logs", "".into())]),
        "list_files" => map(vec![
            ("files", "[]".into()),
            ("errors", "".into()),
            ("abspath", arg_str(call, 1).into()),
        ]),
        "download_file" => Value::Binary(Vec::new()),
        "start_service" => map(vec![("status", "started".into())]),
        // The others return nothing (`FUNCTIONS` keeps unknown names away).
        _ => Value::Nil,
    })
}
