//! Connections to the Redis databases 21.03 shares between managers and agents, numbered as
//! 21.03 numbers them. Each is a connection manager that reconnects after Redis restarts.

use anyhow::{bail, Context};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::shared::RedisConfig;

/// Statistics and counters (`kp:{access_key}:num_queries`, live stats of kernels).
pub const STAT_DB: u8 = 0;
/// Per-keypair request rate limiting.
pub const RATE_LIMIT_DB: u8 = 1;
/// Live state: when each agent was last seen (`agent.last_seen`).
pub const LIVE_DB: u8 = 2;
/// Which agents have which images (a set of agent ids per canonical image reference).
pub const IMAGE_DB: u8 = 3;
/// The event stream `events` shared with agents and other managers.
pub const STREAM_DB: u8 = 4;

fn url(config: &RedisConfig, db: u8) -> String {
    match &config.password {
        Some(password) => format!(
            "redis://:{}@{}/{db}",
            crate::percent::encode(password),
            config.addr
        ),
        None => format!("redis://{}/{db}", config.addr),
    }
}

/// Opens a connection to one database of the configured Redis.
pub async fn connect(config: &RedisConfig, db: u8) -> anyhow::Result<ConnectionManager> {
    connect_with(config, db, ConnectionManagerConfig::new()).await
}

/// A connection of its own for commands that block for up to `block` (stream reads), which
/// would hold up every other command on a shared connection.
pub async fn connect_blocking(
    config: &RedisConfig,
    db: u8,
    block: Duration,
) -> anyhow::Result<ConnectionManager> {
    let manager_config =
        ConnectionManagerConfig::new().set_response_timeout(Some(block + Duration::from_secs(5)));
    connect_with(config, db, manager_config).await
}

async fn connect_with(
    config: &RedisConfig,
    db: u8,
    manager_config: ConnectionManagerConfig,
) -> anyhow::Result<ConnectionManager> {
    if !config.sentinel.is_empty() {
        bail!("config/redis/sentinel is set, but Redis Sentinel is not supported by bai-manager yet; set config/redis/addr instead");
    }
    let client = redis::Client::open(url(config, db))
        .with_context(|| format!("bad Redis address {}", config.addr))?;
    ConnectionManager::new_with_config(client, manager_config)
        .await
        .with_context(|| format!("cannot connect to Redis at {} (database {db})", config.addr))
}
