//! `start-server`: connects to PostgreSQL and etcd, loads and watches the shared configuration,
//! serves the API, and shuts down gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::etcd::Etcd;
use crate::config::{LocalConfig, SharedConfig};
use crate::events::bus::{DispatcherConfig, EventDispatcher, EventProducer, RunningDispatcher};
use crate::registry::agents::AgentRegistry;
use crate::services::keypair_cache::KeypairCache;
use crate::{api, db, AppState};

/// Reads and validates `config/` from etcd.
pub async fn load_shared_config(etcd: &Etcd) -> anyhow::Result<SharedConfig> {
    let tree = etcd.get_prefix("config/").await?;
    Ok(SharedConfig::from_tree(&tree)?)
}

/// Re-reads the shared configuration after changes under `config/` settle (200 ms without
/// further events, as 21.03 debounces plugin-config watches). An invalid change is logged with
/// the keys at fault and the last valid configuration stays in force.
pub fn watch_shared_config(
    etcd: Etcd,
    publish: watch::Sender<Arc<SharedConfig>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (changed_tx, mut changed_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let watcher = {
            let etcd = etcd.clone();
            tokio::spawn(async move {
                etcd.watch_prefix("config/", move |key| {
                    let _ = changed_tx.send(key);
                })
                .await
            })
        };
        while let Some(first) = changed_rx.recv().await {
            let mut keys = vec![first];
            while let Ok(Some(key)) =
                tokio::time::timeout(Duration::from_millis(200), changed_rx.recv()).await
            {
                keys.push(key);
            }
            match load_shared_config(&etcd).await {
                Ok(config) => {
                    tracing::info!(changed = ?keys, "shared configuration reloaded");
                    publish.send_replace(Arc::new(config));
                }
                Err(e) => {
                    tracing::error!(changed = ?keys, "shared configuration change rejected: {e:#}")
                }
            }
        }
        watcher.abort();
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down...");
}

/// Builds the state every handler shares.
pub async fn connect(
    local: Arc<LocalConfig>,
) -> anyhow::Result<(AppState, watch::Sender<Arc<SharedConfig>>)> {
    let db = db::connect(&local.db).await.with_context(|| {
        format!(
            "cannot connect to PostgreSQL at {}/{}",
            local.db.addr, local.db.name
        )
    })?;
    let (schema, migrations) = migration::status(&db).await?;
    if schema == migration::SchemaState::Empty {
        bail!(
            "the database {} has no schema; run `bai-manager schema oneshot` first",
            local.db.name
        )
    }
    if migrations.iter().any(|(_, applied)| !applied) {
        tracing::warn!("the database has pending migrations; run `bai-manager schema migrate`")
    }
    let keypair_cache = Arc::new(KeypairCache::default());
    let has_notifications = migrations
        .iter()
        .any(|(name, applied)| *applied && name == migration::AUTH_NOTIFICATIONS_MIGRATION);
    // Without the triggers nothing would announce changes: every request reads the database.
    if has_notifications {
        tokio::spawn(
            keypair_cache
                .clone()
                .follow_changes(db.get_postgres_connection_pool().clone()),
        );
    }
    let etcd = Etcd::connect(&local.etcd).await?;
    let status = crate::services::manager::settle_status_on_start(&etcd).await?;
    tracing::info!(status = status.as_str(), "manager status");
    let shared = load_shared_config(&etcd).await?;
    if shared.registries.is_empty() {
        tracing::warn!("no Docker registry is configured under config/docker/registry/ in etcd");
    }
    let redis_stat = crate::redis::connect(&shared.redis, crate::redis::STAT_DB).await?;
    let redis_live = crate::redis::connect(&shared.redis, crate::redis::LIVE_DB).await?;
    let redis_image = crate::redis::connect(&shared.redis, crate::redis::IMAGE_DB).await?;
    let events =
        EventProducer::new(crate::redis::connect(&shared.redis, crate::redis::STREAM_DB).await?);
    let redis_rate_limit =
        crate::redis::connect(&shared.redis, crate::redis::RATE_LIMIT_DB).await?;
    let rpc = crate::rpc::RpcClient::new(crate::rpc::Keepalive {
        idle: shared.network.rpc_keepalive_timeout,
    });
    let (tx, rx) = watch::channel(Arc::new(shared));
    let state = AppState {
        db,
        etcd,
        local,
        shared: rx,
        redis_stat,
        redis_rate_limit,
        redis_live,
        redis_image,
        events,
        rpc,
        hooks: crate::auth::hooks::Hooks::default(),
        keypair_cache,
        live_stats: Arc::default(),
        manager_status: Arc::default(),
    };
    Ok((state, tx))
}

/// Follows the cluster: agents' events through the dispatcher, the lost-agent check, and the
/// error log cleanup.
pub async fn start_agent_plane(
    state: &AppState,
) -> anyhow::Result<(RunningDispatcher, Vec<tokio::task::JoinHandle<()>>)> {
    let registry = Arc::new(AgentRegistry::new(state));
    let mut dispatcher = EventDispatcher::default();
    registry.register(&mut dispatcher);
    crate::registry::log_cleanup::register(state, &mut dispatcher);
    let redis = state.shared.borrow().redis.clone();
    let running = dispatcher
        .start(
            &redis,
            DispatcherConfig::new(state.local.manager.id.clone()),
        )
        .await?;
    let timers = vec![
        registry.spawn_lost_check(),
        crate::registry::log_cleanup::spawn_timer(state),
    ];
    Ok((running, timers))
}

/// glibc gives every thread that contends for the allocator an arena of its own (up to eight per
/// core), which grows the resident memory of a busy server by tens of MiB for no speed gain
/// here; two are enough for a runtime of a few worker threads.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called before any worker thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Serves the API on `listener` until a shutdown signal arrives.
pub async fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// The whole `start-server` command.
pub async fn run(local: LocalConfig) -> anyhow::Result<()> {
    if local.manager.ssl_enabled {
        // Refuse rather than serve plain HTTP where TLS was asked for.
        bail!("manager.ssl-enabled: TLS termination is not built into bai-manager yet; serve it behind a TLS-terminating proxy and set ssl-enabled = false");
    }
    let local = Arc::new(local);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), id = %local.manager.id, "bai-manager starting");
    let (state, publish) = connect(local.clone()).await?;
    let watcher = watch_shared_config(state.etcd.clone(), publish);
    let (dispatcher, timers) = start_agent_plane(&state).await?;
    let addr = &local.manager.service_addr;
    let listener = TcpListener::bind((addr.host.as_str(), addr.port))
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // The PID file is written while still privileged (it usually lives in a root-owned
    // directory), then privileges are dropped, as 21.03 does.
    let pid_file = local.manager.pid_file.clone();
    if let Some(path) = &pid_file {
        std::fs::write(path, std::process::id().to_string())
            .with_context(|| format!("cannot write the PID file {}", path.display()))?;
    }
    crate::privileges::drop_privileges(
        local.manager.user.as_deref(),
        local.manager.group.as_deref(),
    )?;
    tracing::info!("started handling API requests at {addr}");
    let served = serve(listener, state).await;
    watcher.abort();
    timers.iter().for_each(|t| t.abort());
    dispatcher.shutdown(Duration::from_secs(5)).await;
    if let Some(path) = &pid_file {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!("cannot remove the PID file {}: {e}", path.display());
        }
    }
    tracing::info!("terminated.");
    served
}
