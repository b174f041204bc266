//! `agent-sim`: runs simulated 21.03 agents against a manager's Redis until interrupted.
//!
//! `agent-sim --redis 127.0.0.1:6379 --count 500 --heartbeat-interval 3` starts agents
//! `i-sim-0000` … `i-sim-0499`, each with its own RPC socket on loopback.

use std::time::Duration;

use agent_sim::{SimAgent, SimConfig};
use bai_manager::events::bus::{EventProducer, STREAM};
use clap::Parser;

#[derive(Parser)]
#[command(version, about = "Simulated Backend.AI 21.03 agents")]
struct Args {
    /// Redis `host:port` (the manager's `config/redis/addr`).
    #[arg(long, default_value = "127.0.0.1:6379")]
    redis: String,
    /// How many agents to run.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Agent ids are this prefix and a number.
    #[arg(long, default_value = "i-sim-")]
    id_prefix: String,
    #[arg(long, default_value = "default")]
    scaling_group: String,
    /// Seconds between heartbeats (21.03 agents: 3).
    #[arg(long, default_value_t = 3.0)]
    heartbeat_interval: f64,
    /// CPU cores each agent offers.
    #[arg(long, default_value = "8")]
    cpu: String,
    /// Memory each agent offers, in bytes.
    #[arg(long, default_value = "17179869184")]
    mem: String,
    /// Milliseconds between the lifecycle events of a kernel being created.
    #[arg(long, default_value_t = 100)]
    create_delay_ms: u64,
    /// Functions to answer with a failure (repeatable).
    #[arg(long = "fail")]
    failing: Vec<String>,
    /// Functions never to answer (repeatable).
    #[arg(long = "silent")]
    silent: Vec<String>,
    /// Die in the middle of creating kernels (no answer, no more heartbeats).
    #[arg(long)]
    die_mid_creation: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    if !(args.heartbeat_interval > 0.0 && args.heartbeat_interval.is_finite()) {
        anyhow::bail!("--heartbeat-interval must be a positive number of seconds");
    }
    let client = redis::Client::open(format!(
        "redis://{}/{}",
        args.redis,
        bai_manager::redis::STREAM_DB
    ))?;
    let events =
        EventProducer::on_stream(redis::aio::ConnectionManager::new(client).await?, STREAM);
    let mut agents = Vec::with_capacity(args.count);
    for i in 0..args.count {
        let mut config = SimConfig::new(format!("{}{i:04}", args.id_prefix));
        config.scaling_group.clone_from(&args.scaling_group);
        config.heartbeat_interval = Duration::from_secs_f64(args.heartbeat_interval);
        config.create_delay = Duration::from_millis(args.create_delay_ms);
        config.slots = vec![
            ("cpu".into(), "count".into(), args.cpu.clone()),
            ("mem".into(), "bytes".into(), args.mem.clone()),
        ];
        config.failing = args.failing.iter().cloned().collect();
        config.silent = args.silent.iter().cloned().collect();
        config.die_mid_creation = args.die_mid_creation;
        agents.push(SimAgent::start(config, events.clone()).await?);
    }
    tracing::info!(
        "{} simulated agent(s) running; Ctrl-C stops them",
        agents.len()
    );
    tokio::signal::ctrl_c().await?;
    for agent in agents {
        agent.stop(true).await?;
    }
    Ok(())
}
