//! The Redis stream `events` (database 4): producing events, and dispatching them to handlers
//! with 21.03's two semantics.
//!
//! - *consume*: each event is handled by exactly one manager, through the consumer group
//!   `manager`. Unlike 21.03 (which acknowledged on read and lost what a crashing manager held),
//!   an entry is acknowledged only after its handlers ran; entries left pending by a manager
//!   that died are claimed by another after [`DispatcherConfig::reclaim_idle`].
//! - *subscribe*: every manager sees every event.
//!
//! A malformed or unknown event is logged and skipped (and acknowledged, so that it does not
//! come back); a Redis outage is waited out with reconnection, and the loops never end on
//! their own. The stream is trimmed only below what the consumer group has been given and
//! acknowledged, never past entries still unread.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::Event;
use crate::config::shared::RedisConfig;

/// The stream key, as 21.03 names it.
pub const STREAM: &str = "events";
/// The consumer group of all managers.
pub const GROUP: &str = "manager";
/// Entries read per round.
const BATCH: usize = 64;
/// Wait after a Redis error before trying again (the connection reconnects meanwhile).
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// Sources whose events are handled side by side.
const PARALLEL_SOURCES: usize = 16;
/// How often the stream is trimmed.
const TRIM_INTERVAL: Duration = Duration::from_secs(30);

/// Writes events to the stream.
#[derive(Clone)]
pub struct EventProducer {
    conn: ConnectionManager,
    stream: String,
}

impl EventProducer {
    pub fn new(conn: ConnectionManager) -> Self {
        Self::on_stream(conn, STREAM)
    }

    /// A producer writing to another stream than 21.03's (for tests sharing one Redis).
    pub fn on_stream(conn: ConnectionManager, stream: impl Into<String>) -> Self {
        EventProducer {
            conn,
            stream: stream.into(),
        }
    }

    /// `XADD events * name … source … args …`, as 21.03 writes it; `source` is `manager`
    /// or, for events the manager raises on an agent's behalf, the agent id.
    pub async fn produce(&self, event: &Event, source: &str) -> redis::RedisResult<String> {
        redis::cmd("XADD")
            .arg(&self.stream)
            .arg("*")
            .arg("name")
            .arg(event.name())
            .arg("source")
            .arg(source)
            .arg("args")
            .arg(event.encode_args())
            .query_async(&mut self.conn.clone())
            .await
    }
}

/// A handler's answer; an error is logged, and the event still counts as handled.
pub type HandlerResult = anyhow::Result<()>;
type Handler = Arc<dyn Fn(String, Event) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

/// Bursts of an event folded into one handler call: the call comes `max_wait` after the first
/// event of a burst (or at once when `max_batch_size` events are waiting) with the latest one.
#[derive(Debug, Clone, Copy)]
pub struct Coalescing {
    pub max_wait: Duration,
    pub max_batch_size: usize,
}

/// 21.03's setting for the scheduler's triggers.
pub const SCHEDULER_COALESCING: Coalescing = Coalescing {
    max_wait: Duration::from_millis(500),
    max_batch_size: 32,
};

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// This manager's stable id (`manager.id`, else `i-<hostname>`), which names its consumer.
    pub node_id: String,
    /// How long an entry may stay unacknowledged with another consumer before it is taken
    /// over (that manager is presumed dead).
    pub reclaim_idle: Duration,
    /// How long one read waits for new entries.
    pub block: Duration,
    /// The stream read: [`STREAM`] but in tests that share one Redis.
    pub stream: String,
}

impl DispatcherConfig {
    pub fn new(node_id: impl Into<String>) -> Self {
        DispatcherConfig {
            node_id: node_id.into(),
            reclaim_idle: Duration::from_secs(60),
            block: Duration::from_secs(10),
            stream: STREAM.to_owned(),
        }
    }
}

/// A coalesced handler's queue: the events with the signal to send once handled.
type CoalescedQueue = mpsc::UnboundedSender<(String, Event, oneshot::Sender<()>)>;

#[derive(Clone)]
enum Registered {
    Direct(Handler),
    Coalesced(CoalescedQueue),
}

/// Handlers by event name, registered before [`EventDispatcher::start`].
#[derive(Default)]
pub struct EventDispatcher {
    consumers: HashMap<&'static str, Vec<Registered>>,
    subscribers: HashMap<&'static str, Vec<Handler>>,
    coalescers: Vec<JoinHandle<()>>,
}

fn boxed<F, Fut>(f: F) -> Handler
where
    F: Fn(String, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(move |source, event| Box::pin(f(source, event)))
}

impl EventDispatcher {
    /// Handles `name` events on exactly one manager. `f(source, event)`.
    pub fn consume<F, Fut>(&mut self, name: &'static str, coalescing: Option<Coalescing>, f: F)
    where
        F: Fn(String, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let handler = boxed(f);
        let registered = match coalescing {
            None => Registered::Direct(handler),
            Some(options) => {
                let (tx, rx) = mpsc::unbounded_channel();
                self.coalescers
                    .push(tokio::spawn(coalesce(name, options, handler, rx)));
                Registered::Coalesced(tx)
            }
        };
        self.consumers.entry(name).or_default().push(registered);
    }

    /// Handles `name` events on every manager. `f(source, event)`.
    pub fn subscribe<F, Fut>(&mut self, name: &'static str, f: F)
    where
        F: Fn(String, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.subscribers.entry(name).or_default().push(boxed(f));
    }

    /// Starts reading the stream; the handlers run until the returned handle is dropped.
    pub async fn start(
        self,
        redis: &RedisConfig,
        config: DispatcherConfig,
    ) -> anyhow::Result<RunningDispatcher> {
        let db = crate::redis::STREAM_DB;
        let consume_conn = crate::redis::connect_blocking(redis, db, config.block).await?;
        let subscribe_conn = crate::redis::connect_blocking(redis, db, config.block).await?;
        let config = Arc::new(config);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let loops = vec![
            tokio::spawn(consume_loop(
                consume_conn,
                config.clone(),
                Arc::new(self.consumers),
                stopped.clone(),
            )),
            tokio::spawn(subscribe_loop(
                subscribe_conn,
                config,
                Arc::new(self.subscribers),
                stopped,
            )),
        ];
        Ok(RunningDispatcher {
            loops,
            coalescers: self.coalescers,
            stop,
        })
    }
}

/// The dispatcher's tasks; dropping this stops them at once.
pub struct RunningDispatcher {
    loops: Vec<JoinHandle<()>>,
    coalescers: Vec<JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RunningDispatcher {
    /// Stops reading and lets the handlers of what was read finish, for up to `grace`. What
    /// is left unacknowledged is taken over by another manager.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let loops = futures::future::join_all(self.loops.iter_mut());
        if tokio::time::timeout(grace, loops).await.is_err() {
            tracing::warn!("event handlers still running after {grace:?}; stopping them");
        }
    }
}

impl Drop for RunningDispatcher {
    fn drop(&mut self) {
        for task in self.loops.iter().chain(&self.coalescers) {
            task.abort();
        }
    }
}

/// Runs `handler` once per burst, then signals every event of the burst as handled.
async fn coalesce(
    name: &'static str,
    options: Coalescing,
    handler: Handler,
    mut queue: mpsc::UnboundedReceiver<(String, Event, oneshot::Sender<()>)>,
) {
    while let Some(first) = queue.recv().await {
        let deadline = tokio::time::Instant::now() + options.max_wait;
        let mut burst = vec![first];
        while burst.len() < options.max_batch_size.max(1) {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(next)) => burst.push(next),
                Ok(None) | Err(_) => break,
            }
        }
        let Some((source, event, _)) = burst.last() else {
            continue;
        };
        if let Err(e) = handler(source.clone(), event.clone()).await {
            tracing::error!(
                event = name,
                count = burst.len(),
                "event handler failed: {e:#}"
            );
        }
        for (_, _, done) in burst {
            let _ = done.send(());
        }
    }
}

/// What an entry holds, read from its fields.
fn read_entry(entry: &StreamId) -> Result<(String, String, Event), String> {
    let field = |key: &str| -> Result<Vec<u8>, String> {
        match entry.map.get(key) {
            Some(redis::Value::BulkString(bytes)) => Ok(bytes.clone()),
            Some(redis::Value::SimpleString(s)) => Ok(s.as_bytes().to_vec()),
            _ => Err(format!("the entry has no {key} field")),
        }
    };
    let text = |key: &str| -> Result<String, String> {
        String::from_utf8(field(key)?).map_err(|_| format!("the {key} field is not UTF-8"))
    };
    let name = text("name")?;
    let source = text("source")?;
    let event = Event::decode(&name, &field("args")?).map_err(|e| e.to_string())?;
    Ok((name, source, event))
}

async fn consume_loop(
    mut conn: ConnectionManager,
    config: Arc<DispatcherConfig>,
    handlers: Arc<HashMap<&'static str, Vec<Registered>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let consumer = format!("{}:bai-manager", config.node_id);
    let mut last_trim = tokio::time::Instant::now();
    loop {
        let read = async {
            let mut entries = claim_abandoned(&mut conn, &consumer, &config).await?;
            entries.extend(read_new(&mut conn, &consumer, &config).await?);
            Ok::<_, redis::RedisError>(entries)
        };
        // Shutting down interrupts a read, never the handling of what was read.
        let read = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            read = read => read,
        };
        let round = async {
            let entries = read?;
            // Each source's events in order (a kernel's lifecycle comes from one agent);
            // different sources side by side.
            let by_source = in_order_by_source(entries);
            futures::stream::iter(by_source)
                .for_each_concurrent(PARALLEL_SOURCES, |entries| {
                    let (conn, handlers, stream) = (&conn, &handlers, &config.stream);
                    async move {
                        for entry in entries {
                            handle_consumed(conn, stream, handlers, entry).await;
                        }
                    }
                })
                .await;
            if last_trim.elapsed() >= TRIM_INTERVAL {
                last_trim = tokio::time::Instant::now();
                trim(&mut conn, &config.stream).await?;
            }
            Ok::<_, redis::RedisError>(())
        };
        if let Err(e) = round.await {
            if e.code() == Some("NOGROUP") {
                create_group(&mut conn, &config.stream).await;
            } else {
                tracing::warn!("reading the event stream failed, retrying: {e}");
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
    }
}

/// Entries grouped by their `source` field, each group in stream order.
fn in_order_by_source(entries: Vec<StreamId>) -> Vec<Vec<StreamId>> {
    let mut groups: Vec<(Option<redis::Value>, Vec<StreamId>)> = Vec::new();
    for entry in entries {
        let source = entry.map.get("source").cloned();
        match groups.iter_mut().find(|(s, _)| *s == source) {
            Some((_, group)) => group.push(entry),
            None => groups.push((source, vec![entry])),
        }
    }
    groups.into_iter().map(|(_, group)| group).collect()
}

/// The group starts at the stream's end, as in 21.03: events from before any manager ran are
/// not replayed.
async fn create_group(conn: &mut ConnectionManager, stream: &str) {
    let created: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(GROUP)
        .arg("$")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    if let Err(e) = created {
        if e.code() != Some("BUSYGROUP") {
            tracing::warn!("cannot create the consumer group {GROUP}: {e}");
            tokio::time::sleep(RETRY_DELAY).await;
        }
    }
}

/// Entries another consumer (or this one, before a restart) took but never acknowledged.
async fn claim_abandoned(
    conn: &mut ConnectionManager,
    consumer: &str,
    config: &DispatcherConfig,
) -> redis::RedisResult<Vec<StreamId>> {
    let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
        .arg(&config.stream)
        .arg(GROUP)
        .arg(consumer)
        .arg(config.reclaim_idle.as_millis() as u64)
        .arg("0-0")
        .arg("COUNT")
        .arg(BATCH)
        .query_async(conn)
        .await?;
    Ok(reply.claimed)
}

async fn read_new(
    conn: &mut ConnectionManager,
    consumer: &str,
    config: &DispatcherConfig,
) -> redis::RedisResult<Vec<StreamId>> {
    let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(GROUP)
        .arg(consumer)
        .arg("COUNT")
        .arg(BATCH)
        .arg("BLOCK")
        .arg(config.block.as_millis() as u64)
        .arg("STREAMS")
        .arg(&config.stream)
        .arg(">")
        .query_async(conn)
        .await?;
    Ok(entries_of(reply).collect())
}

/// The entries of a stream read (none when the read timed out).
fn entries_of(reply: Option<StreamReadReply>) -> impl Iterator<Item = StreamId> {
    reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids)
}

/// Runs the consumers of one entry, then acknowledges it; coalesced handlers acknowledge in
/// the background once their burst ran, so that the loop goes on meanwhile.
async fn handle_consumed(
    conn: &ConnectionManager,
    stream: &str,
    handlers: &HashMap<&'static str, Vec<Registered>>,
    entry: StreamId,
) {
    let mut pending = Vec::new();
    match read_entry(&entry) {
        Err(why) => tracing::warn!(id = %entry.id, "skipping an event: {why}"),
        Ok((name, source, event)) => {
            for handler in handlers.get(name.as_str()).into_iter().flatten() {
                match handler {
                    Registered::Direct(handler) => {
                        if let Err(e) = handler(source.clone(), event.clone()).await {
                            tracing::error!(event = %name, "event handler failed: {e:#}");
                        }
                    }
                    Registered::Coalesced(queue) => {
                        let (done, handled) = oneshot::channel();
                        if queue.send((source.clone(), event.clone(), done)).is_ok() {
                            pending.push(handled);
                        }
                    }
                }
            }
        }
    }
    let mut conn = conn.clone();
    let stream = stream.to_owned();
    let acknowledge = async move {
        for handled in pending {
            // A closed channel means the coalescer stopped (shutdown): leave it pending.
            if handled.await.is_err() {
                return;
            }
        }
        let acked: redis::RedisResult<i64> = redis::cmd("XACK")
            .arg(&stream)
            .arg(GROUP)
            .arg(&entry.id)
            .query_async(&mut conn)
            .await;
        if let Err(e) = acked {
            // Not acknowledged: another manager will take it over and handle it again.
            tracing::warn!(id = %entry.id, "cannot acknowledge an event: {e}");
        }
    };
    tokio::spawn(acknowledge);
}

/// Drops the entries every consumer group has been given and acknowledged.
async fn trim(conn: &mut ConnectionManager, stream: &str) -> redis::RedisResult<()> {
    let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(conn)
        .await?;
    let mut floor: Option<StreamEntryId> = None;
    for group in &groups {
        let name: Option<String> = group
            .get("name")
            .and_then(|v| redis::from_redis_value(v.clone()).ok());
        let delivered = group
            .get("last-delivered-id")
            .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
            .and_then(|id| StreamEntryId::parse(&id));
        let Some((name, mut group_floor)) = name.zip(delivered) else {
            return Ok(()); // Unreadable: better not trim at all.
        };
        let summary: redis::Value = redis::cmd("XPENDING")
            .arg(stream)
            .arg(&name)
            .query_async(conn)
            .await?;
        if let redis::Value::Array(items) = summary {
            if let Some(oldest) = items
                .get(1)
                .and_then(|v| redis::from_redis_value::<String>(v.clone()).ok())
                .and_then(|id| StreamEntryId::parse(&id))
            {
                group_floor = group_floor.min(oldest);
            }
        }
        floor = Some(floor.map_or(group_floor, |f| f.min(group_floor)));
    }
    if let Some(floor) = floor {
        let _: i64 = redis::cmd("XTRIM")
            .arg(stream)
            .arg("MINID")
            .arg("~")
            .arg(floor.to_string())
            .query_async(conn)
            .await?;
    }
    Ok(())
}

/// A stream entry id (`<ms>-<seq>`), ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct StreamEntryId(u64, u64);

impl StreamEntryId {
    fn parse(id: &str) -> Option<Self> {
        let (ms, seq) = id.split_once('-')?;
        Some(StreamEntryId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl std::fmt::Display for StreamEntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

async fn subscribe_loop(
    mut conn: ConnectionManager,
    config: Arc<DispatcherConfig>,
    handlers: Arc<HashMap<&'static str, Vec<Handler>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    // Only events from now on; after a reconnection, from the last one seen.
    let mut last_id = "$".to_owned();
    loop {
        let mut command = redis::cmd("XREAD");
        command
            .arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(config.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&config.stream)
            .arg(&last_id);
        let read = command.query_async::<Option<StreamReadReply>>(&mut conn);
        let read = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            read = read => read,
        };
        let entries = match read {
            Ok(reply) => entries_of(reply),
            Err(e) => {
                tracing::warn!("reading the event stream failed, retrying: {e}");
                tokio::time::sleep(RETRY_DELAY).await;
                continue;
            }
        };
        for entry in entries {
            last_id.clone_from(&entry.id);
            match read_entry(&entry) {
                Err(why) => tracing::warn!(id = %entry.id, "skipping an event: {why}"),
                Ok((name, source, event)) => {
                    for handler in handlers.get(name.as_str()).into_iter().flatten() {
                        if let Err(e) = handler(source.clone(), event.clone()).await {
                            tracing::error!(event = %name, "event handler failed: {e:#}");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_order_as_redis_orders_them() {
        let a = StreamEntryId::parse("1700000000000-2").unwrap();
        let b = StreamEntryId::parse("1700000000000-10").unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "1700000000000-10");
        assert_eq!(StreamEntryId::parse("x-1"), None);
    }
}
