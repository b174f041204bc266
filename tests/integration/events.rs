//! The event bus: argument arrays byte for byte as the Python 21.03 side packs them (the real
//! `msgpack`, and backend.ai-common where it imports), and the dispatcher on a real Redis
//! (exactly-once consumption across managers, broadcast subscription, acknowledgement after
//! handling, take-over from a dead manager, coalescing, malformed entries skipped).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bai_manager::config::reader::HostPort;
use bai_manager::config::shared::RedisConfig;
use bai_manager::events::bus::{
    Coalescing, DispatcherConfig, EventDispatcher, EventProducer, RunningDispatcher,
};
use bai_manager::events::{
    BgtaskEnd, Event, ExecutionStage, KernelCreationStage, LogSeverity, Progress,
    SessionCreationStage,
};
use rmpv::Value;
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::helpers::unique;

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn heartbeat_info() -> Value {
    let s = |t: &str| Value::from(t);
    Value::Map(vec![
        (s("ip"), s("10.0.0.5")),
        (s("region"), s("local")),
        (s("scaling_group"), s("default")),
        (s("addr"), s("tcp://10.0.0.5:6001")),
        (
            s("resource_slots"),
            Value::Map(vec![
                (s("cpu"), Value::Array(vec![s("count"), s("8")])),
                (s("mem"), Value::Array(vec![s("bytes"), s("17179869184")])),
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
        (s("images"), Value::Binary(vec![0x01, 0x02, 0xff])),
    ])
}

/// One event of every name, with the tuple 21.03's `serialize()` returns for it (in JSON, or
/// null where JSON cannot say it, such as binary data).
fn samples() -> Vec<(Event, Json)> {
    let u = |n| id(n).to_string();
    let mut samples = vec![
        (Event::DoSchedule, json!([])),
        (Event::DoPrepare, json!([])),
        (Event::DoIdleCheck, json!([])),
        (Event::DoLogCleanup, json!([])),
        (
            Event::DoTerminateSession {
                session_id: id(1),
                reason: "idle-timeout".into(),
            },
            json!([u(1), "idle-timeout"]),
        ),
        (
            Event::AgentStarted {
                reason: "self-started".into(),
            },
            json!(["self-started"]),
        ),
        (
            Event::AgentTerminated {
                reason: "agent-lost".into(),
            },
            json!(["agent-lost"]),
        ),
        (
            Event::AgentError {
                message: "disk full".into(),
                traceback: Some("Traceback ...".into()),
                user: Value::Nil,
                context_env: Value::Map(vec![]),
                severity: LogSeverity::Error,
            },
            json!(["disk full", "Traceback ...", null, {}, "error"]),
        ),
        (
            Event::AgentHeartbeat {
                agent_info: heartbeat_info(),
            },
            Json::Null,
        ),
        (
            Event::KernelTerminating {
                kernel_id: id(3),
                reason: "user-requested".into(),
                exit_code: -1,
            },
            json!([u(3), "user-requested", -1]),
        ),
        (
            Event::KernelTerminated {
                kernel_id: id(3),
                reason: "self-terminated".into(),
                exit_code: 137,
            },
            json!([u(3), "self-terminated", 137]),
        ),
        (
            Event::SessionTerminated {
                session_id: id(4),
                reason: "".into(),
            },
            json!([u(4), ""]),
        ),
        (
            Event::SessionSuccess {
                session_id: id(4),
                reason: "task-done".into(),
                exit_code: 0,
            },
            json!([u(4), "task-done", 0]),
        ),
        (
            Event::SessionFailure {
                session_id: id(4),
                reason: "task-timeout".into(),
                exit_code: -2,
            },
            json!([u(4), "task-timeout", -2]),
        ),
        (
            Event::DoSyncKernelLogs {
                kernel_id: id(5),
                container_id: "c0ffee".into(),
            },
            json!([u(5), "c0ffee"]),
        ),
        (
            Event::DoSyncKernelStats {
                kernel_ids: vec![id(5), id(6)],
            },
            json!([[u(5), u(6)]]),
        ),
        (
            Event::BgtaskUpdated {
                task_id: id(7),
                current_progress: Progress::Int(3),
                total_progress: Progress::Float(10.5),
                message: Some("pulling".into()),
            },
            json!([u(7), 3, 10.5, "pulling"]),
        ),
    ];
    for stage in [
        KernelCreationStage::Enqueued,
        KernelCreationStage::Preparing,
        KernelCreationStage::Pulling,
        KernelCreationStage::Creating,
        KernelCreationStage::Started,
        KernelCreationStage::Cancelled,
    ] {
        samples.push((
            Event::KernelCreation {
                stage,
                kernel_id: id(2),
                creation_id: "Zq3yf".into(),
                reason: "".into(),
            },
            json!([u(2), "Zq3yf", ""]),
        ));
    }
    for stage in [
        SessionCreationStage::Enqueued,
        SessionCreationStage::Scheduled,
        SessionCreationStage::Preparing,
        SessionCreationStage::Cancelled,
        SessionCreationStage::Started,
    ] {
        samples.push((
            Event::SessionCreation {
                stage,
                session_id: id(8),
                creation_id: "Zq3yf".into(),
                reason: "failed-to-start".into(),
            },
            json!([u(8), "Zq3yf", "failed-to-start"]),
        ));
    }
    for stage in [
        ExecutionStage::Started,
        ExecutionStage::Finished,
        ExecutionStage::Timeout,
        ExecutionStage::Cancelled,
    ] {
        samples.push((
            Event::Execution {
                stage,
                session_id: id(9),
            },
            json!([u(9)]),
        ));
    }
    for end in [BgtaskEnd::Done, BgtaskEnd::Cancelled, BgtaskEnd::Failed] {
        samples.push((
            Event::BgtaskEnded {
                end,
                task_id: id(7),
                message: None,
            },
            json!([u(7), null]),
        ));
    }
    samples
}

/// The Python of the test virtualenv (`scripts/test.sh` makes it, with `msgpack` and
/// `backend.ai-common==21.3.14`).
pub fn python() -> String {
    let python = std::env::var("BAI_TEST_PYTHON")
        .unwrap_or_else(|_| "/var/tmp/bai-test-venv/bin/python".into());
    assert!(
        std::path::Path::new(&python).is_file(),
        "{python} is missing: run the tests through scripts/test.sh, which makes the virtualenv"
    );
    python
}

#[test]
fn arguments_are_byte_for_byte_those_of_python() {
    use std::io::Write;
    let samples = samples();
    let names: std::collections::BTreeSet<_> = samples.iter().map(|(e, _)| e.name()).collect();
    assert_eq!(
        names.len(),
        bai_manager::events::EVENT_NAMES.len(),
        "a sample of every event"
    );
    let mut child = std::process::Command::new(python())
        .arg(crate::helpers::repo_path("tests/interop/events_wire.py"))
        .env("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for (event, python) in &samples {
        let line =
            json!({"name": event.name(), "args": hex(&event.encode_args()), "python": python});
        input.push_str(&format!("{line}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the Python side failed");
    let lines: Vec<Json> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), samples.len());
    // Every event of backend.ai-common (all but the manager's do_log_cleanup) went through its
    // own deserialize() and serialize().
    let by_common = lines.iter().filter(|l| !l["common"].is_null()).count();
    assert_eq!(
        by_common,
        samples.len() - 1,
        "backend.ai-common 21.3 must import"
    );
    for ((event, _), answer) in samples.iter().zip(&lines) {
        let ours = hex(&event.encode_args());
        assert_eq!(
            answer["repacked"],
            json!(ours),
            "{}: msgpack round trip",
            event.name()
        );
        if !answer["packed"].is_null() {
            assert_eq!(
                answer["packed"],
                json!(ours),
                "{}: as Python packs it",
                event.name()
            );
        }
        if !answer["common"].is_null() {
            assert_eq!(
                answer["common"],
                json!(ours),
                "{}: backend.ai-common",
                event.name()
            );
        }
        // What Python sends, we read back to the same event.
        let bytes = unhex(answer["repacked"].as_str().unwrap());
        assert_eq!(&Event::decode(event.name(), &bytes).unwrap(), event);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The shared test Redis (`BAI_TEST_REDIS_ADDR`).
pub fn redis_config() -> RedisConfig {
    let addr = std::env::var("BAI_TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    RedisConfig {
        addr: HostPort::parse(&addr).unwrap(),
        sentinel: Vec::new(),
        service_name: None,
        password: None,
    }
}

async fn stream_conn() -> redis::aio::ConnectionManager {
    bai_manager::redis::connect(&redis_config(), bai_manager::redis::STREAM_DB)
        .await
        .unwrap()
}

/// A stream of its own (tests share one Redis), dropped at the end.
struct TestStream {
    name: String,
    conn: redis::aio::ConnectionManager,
}

impl TestStream {
    async fn new() -> TestStream {
        TestStream {
            name: unique("events"),
            conn: stream_conn().await,
        }
    }

    fn config(&self, node: &str) -> DispatcherConfig {
        let mut config = DispatcherConfig::new(node);
        config.stream = self.name.clone();
        config.block = Duration::from_millis(200);
        config
    }

    fn producer(&self) -> EventProducer {
        EventProducer::on_stream(self.conn.clone(), &self.name)
    }

    async fn pending(&self) -> i64 {
        let summary: Vec<redis::Value> = redis::cmd("XPENDING")
            .arg(&self.name)
            .arg("manager")
            .query_async(&mut self.conn.clone())
            .await
            .unwrap();
        redis::from_redis_value(summary[0].clone()).unwrap()
    }

    async fn raw_entry(&self, fields: &[(&str, &[u8])]) {
        let mut cmd = redis::cmd("XADD");
        cmd.arg(&self.name).arg("*");
        for (k, v) in fields {
            cmd.arg(*k).arg(*v);
        }
        let _: String = cmd.query_async(&mut self.conn.clone()).await.unwrap();
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let mut conn = self.conn.clone();
        let name = self.name.clone();
        tokio::spawn(async move {
            let _: redis::RedisResult<()> =
                redis::cmd("DEL").arg(name).query_async(&mut conn).await;
        });
    }
}

type Seen = Arc<Mutex<Vec<(String, String, Event)>>>;

/// A dispatcher that records what its handlers see, by node name.
async fn recording(
    stream: &TestStream,
    node: &str,
    consume: &[&'static str],
    subscribe: &[&'static str],
    seen: &Seen,
) -> RunningDispatcher {
    let mut dispatcher = EventDispatcher::default();
    for name in consume {
        let (seen, node) = (seen.clone(), node.to_owned());
        dispatcher.consume(name, None, move |source, event| {
            let (seen, node) = (seen.clone(), node.clone());
            async move {
                seen.lock().unwrap().push((node, source, event));
                Ok(())
            }
        });
    }
    for name in subscribe {
        let (seen, node) = (seen.clone(), format!("{node}/sub"));
        dispatcher.subscribe(name, move |source, event| {
            let (seen, node) = (seen.clone(), node.clone());
            async move {
                seen.lock().unwrap().push((node, source, event));
                Ok(())
            }
        });
    }
    dispatcher
        .start(&redis_config(), stream.config(node))
        .await
        .unwrap()
}

/// Waits until `done` holds (the dispatchers work in the background); fails after 10 s.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn each_event_is_consumed_once_and_seen_by_every_subscriber() {
    let stream = TestStream::new().await;
    let seen: Seen = Default::default();
    let _a = recording(&stream, "a", &["agent_started"], &["kernel_started"], &seen).await;
    let _b = recording(&stream, "b", &["agent_started"], &["kernel_started"], &seen).await;
    // Both consumers have joined the group before anything is produced.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let producer = stream.producer();
    for i in 0..20 {
        let event = Event::AgentStarted {
            reason: format!("r{i}"),
        };
        producer
            .produce(&event, &format!("i-agent{i}"))
            .await
            .unwrap();
    }
    let started = Event::KernelCreation {
        stage: KernelCreationStage::Started,
        kernel_id: id(1),
        creation_id: "c".into(),
        reason: "".into(),
    };
    producer.produce(&started, "i-agent0").await.unwrap();

    let count = |pred: &dyn Fn(&(String, String, Event)) -> bool| {
        seen.lock().unwrap().iter().filter(|s| pred(s)).count()
    };
    eventually("20 agent_started consumed", || {
        count(&|(_, _, e)| e.name() == "agent_started") >= 20
    })
    .await;
    eventually("kernel_started seen by both", || {
        count(&|(_, _, e)| e.name() == "kernel_started") >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.lock().unwrap().clone();
    let mut reasons: Vec<_> = seen
        .iter()
        .filter_map(|(_, source, e)| match e {
            Event::AgentStarted { reason } => Some(format!("{source}:{reason}")),
            _ => None,
        })
        .collect();
    reasons.sort();
    reasons.dedup();
    assert_eq!(reasons.len(), 20, "each once: {seen:?}");
    assert_eq!(count_by(&seen, "agent_started"), 20, "no event twice");
    let subscribers: Vec<_> = seen
        .iter()
        .filter(|(_, _, e)| e.name() == "kernel_started")
        .map(|(node, _, _)| node.as_str())
        .collect();
    assert_eq!(subscribers.len(), 2);
    assert!(subscribers.contains(&"a/sub") && subscribers.contains(&"b/sub"));
    eventually_pending_zero(&stream).await;
}

fn count_by(seen: &[(String, String, Event)], name: &str) -> usize {
    seen.iter().filter(|(_, _, e)| e.name() == name).count()
}

async fn eventually_pending_zero(stream: &TestStream) {
    for _ in 0..100 {
        if stream.pending().await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("events left unacknowledged");
}

#[tokio::test]
async fn malformed_and_unknown_entries_are_skipped() {
    let stream = TestStream::new().await;
    let seen: Seen = Default::default();
    let _a = recording(&stream, "a", &["agent_started"], &["agent_started"], &seen).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream
        .raw_entry(&[
            ("name", b"agent_started"),
            ("source", b"x"),
            ("args", b"\xc1"),
        ])
        .await;
    stream
        .raw_entry(&[
            ("name", b"agent_started"),
            ("source", b"x"),
            ("args", b"\x91\x01"),
        ])
        .await;
    stream
        .raw_entry(&[
            ("name", b"no_such_event"),
            ("source", b"x"),
            ("args", b"\x90"),
        ])
        .await;
    stream.raw_entry(&[("source", b"x")]).await;
    stream
        .raw_entry(&[("name", b"\xff\xfe"), ("source", b"x"), ("args", b"\x90")])
        .await;
    let good = Event::AgentStarted {
        reason: "after the bad ones".into(),
    };
    stream.producer().produce(&good, "i-a").await.unwrap();
    eventually("the good event consumed and seen", || {
        seen.lock().unwrap().len() >= 2
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|(_, _, e)| *e == good), "{seen:?}");
    eventually_pending_zero(&stream).await;
}

#[tokio::test]
async fn a_dead_managers_unacknowledged_events_are_taken_over() {
    let stream = TestStream::new().await;
    // Manager "a" takes the event but never finishes handling it, then dies.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(Mutex::new(Some(started_tx)));
    let mut stuck = EventDispatcher::default();
    stuck.consume("do_prepare", None, move |_, _| {
        if let Some(tx) = started_tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        std::future::pending::<anyhow::Result<()>>()
    });
    let a = stuck
        .start(&redis_config(), stream.config("a"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream
        .producer()
        .produce(&Event::DoPrepare, "manager")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), started_rx)
        .await
        .unwrap()
        .unwrap();
    drop(a);
    assert_eq!(
        stream.pending().await,
        1,
        "not acknowledged before handling"
    );

    // Manager "b" takes it over once it has been idle long enough.
    let seen: Seen = Default::default();
    let mut config = stream.config("b");
    config.reclaim_idle = Duration::from_millis(300);
    let mut dispatcher = EventDispatcher::default();
    let recorder = seen.clone();
    dispatcher.consume("do_prepare", None, move |source, event| {
        let recorder = recorder.clone();
        async move {
            recorder.lock().unwrap().push(("b".into(), source, event));
            Ok(())
        }
    });
    let _b = dispatcher.start(&redis_config(), config).await.unwrap();
    eventually("b handles the abandoned event", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(seen.lock().unwrap()[0].2, Event::DoPrepare);
    eventually_pending_zero(&stream).await;
}

#[tokio::test]
async fn bursts_of_a_coalesced_event_run_the_handler_once() {
    let stream = TestStream::new().await;
    let calls = Arc::new(Mutex::new(Vec::<Event>::new()));
    let mut dispatcher = EventDispatcher::default();
    let recorder = calls.clone();
    dispatcher.consume(
        "do_terminate_session",
        Some(Coalescing {
            max_wait: Duration::from_millis(700),
            max_batch_size: 100,
        }),
        move |_, event| {
            let recorder = recorder.clone();
            async move {
                recorder.lock().unwrap().push(event);
                Ok(())
            }
        },
    );
    let _d = dispatcher
        .start(&redis_config(), stream.config("a"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let producer = stream.producer();
    for i in 0..10 {
        let event = Event::DoTerminateSession {
            session_id: id(i),
            reason: "burst".into(),
        };
        producer.produce(&event, "manager").await.unwrap();
    }
    eventually("the burst handled", || !calls.lock().unwrap().is_empty()).await;
    eventually_pending_zero(&stream).await;
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one call for the burst: {calls:?}");
    assert_eq!(
        calls[0],
        Event::DoTerminateSession {
            session_id: id(9),
            reason: "burst".into()
        },
        "with the latest event"
    );
}

/// A Redis of the test's own (the shared one must not restart under other tests).
struct PrivateRedis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.restart();
        redis
    }

    /// (Re)starts the server on the same port, with an empty data set (as after a crash
    /// without persistence: the stream and the consumer group are gone).
    fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (installed by scripts/services.sh)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the private redis-server did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn config(&self) -> RedisConfig {
        RedisConfig {
            addr: HostPort::parse(&format!("127.0.0.1:{}", self.port)).unwrap(),
            sentinel: Vec::new(),
            service_name: None,
            password: None,
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn the_dispatcher_survives_a_redis_restart() {
    let mut redis = PrivateRedis::start();
    let seen: Seen = Default::default();
    let mut dispatcher = EventDispatcher::default();
    let recorder = seen.clone();
    dispatcher.consume("agent_started", None, move |source, event| {
        let recorder = recorder.clone();
        async move {
            recorder.lock().unwrap().push(("a".into(), source, event));
            Ok(())
        }
    });
    let mut config = DispatcherConfig::new("a");
    config.block = Duration::from_millis(200);
    let _running = dispatcher.start(&redis.config(), config).await.unwrap();
    let producer = EventProducer::new(
        bai_manager::redis::connect(&redis.config(), bai_manager::redis::STREAM_DB)
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = Event::AgentStarted {
        reason: "before".into(),
    };
    producer.produce(&before, "i-a").await.unwrap();
    eventually("the first event", || seen.lock().unwrap().len() == 1).await;

    redis.restart();
    // Producing retries until Redis is back and the dispatcher has made its group again.
    let after = Event::AgentStarted {
        reason: "after".into(),
    };
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= 2 {
            break;
        }
        let _ = producer.produce(&after, "i-a").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].2, before);
    assert!(seen[1..].iter().all(|(_, _, e)| *e == after), "{seen:?}");
    assert!(seen.len() >= 2, "nothing handled after the restart");
}
