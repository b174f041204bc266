//! bai-manager: the Backend.AI 21.03 manager, wire-compatible, in Rust.
//!
//! The folders are the architecture (see DESIGN.md): `config` and `db` are the foundations,
//! `services` hold the domain rules, `api` adapts them to HTTP, `cli` to the command line.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod events;
pub mod gql;
pub mod keys;
pub mod logging;
pub mod percent;
pub mod privileges;
pub mod redis;
pub mod registry;
pub mod rpc;
pub mod server;
pub mod services;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::config::etcd::Etcd;
use crate::config::{LocalConfig, SharedConfig};

/// What every request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub etcd: Etcd,
    pub local: Arc<LocalConfig>,
    /// The latest valid shared configuration; updated when etcd changes.
    pub shared: watch::Receiver<Arc<SharedConfig>>,
    /// Redis database 0 (statistics, counters).
    pub redis_stat: ::redis::aio::ConnectionManager,
    /// Redis database 1 (rate limits).
    pub redis_rate_limit: ::redis::aio::ConnectionManager,
    /// Redis database 2 (live state: when agents were last seen).
    pub redis_live: ::redis::aio::ConnectionManager,
    /// Redis database 3 (images installed on agents).
    pub redis_image: ::redis::aio::ConnectionManager,
    /// Writes to the event stream shared with agents and other managers.
    pub events: events::bus::EventProducer,
    /// Calls functions of agents.
    pub rpc: rpc::RpcClient,
    /// The hook plugins registered at start-up.
    pub hooks: auth::hooks::Hooks,
    /// Recently authenticated keypairs (see `services::keypair_cache`).
    pub keypair_cache: Arc<services::keypair_cache::KeypairCache>,
    /// Live statistics documents read recently (see `services::live_stats`).
    pub live_stats: Arc<services::live_stats::StatCache>,
    /// The status all managers share (running or frozen), as recently read.
    pub manager_status: Arc<services::manager::StatusCache>,
}
