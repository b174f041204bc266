//! The agent watcher (21.03 `api/resource.py`): a small HTTP service beside each agent that
//! reports, starts, stops and restarts it. Superadmins reach it through the manager, which finds
//! it where the agent registered it in etcd (`nodes/agents/<id>/ip` and `watcher_port`, 6009 by
//! default) and signs with `config/watcher/token` (`insecure` when unset, as in 21.03).

use std::time::Duration;

use super::auth::Identity;
use super::scope::require_superadmin;
use super::{Error, Result};
use crate::config::etcd::Etcd;

/// What a superadmin asks of a watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherRequest {
    Status,
    Start,
    Stop,
    Restart,
}

impl WatcherRequest {
    fn path_and_timeout(self) -> (&'static str, Duration) {
        match self {
            WatcherRequest::Status => ("/", Duration::from_secs(5)),
            WatcherRequest::Start => ("/agent/start", Duration::from_secs(20)),
            WatcherRequest::Stop => ("/agent/stop", Duration::from_secs(20)),
            WatcherRequest::Restart => ("/agent/restart", Duration::from_secs(20)),
        }
    }
}

/// The watcher's answer, passed on as 21.03 does: a JSON document when it succeeded, else its
/// status and text.
#[derive(Debug, Clone, PartialEq)]
pub enum WatcherReply {
    Json(serde_json::Value),
    Text { status: u16, text: String },
}

const DEFAULT_PORT: &str = "6009";

pub async fn call(
    etcd: &Etcd,
    token: Option<&str>,
    caller: &Identity,
    agent_id: &str,
    request: WatcherRequest,
) -> Result<WatcherReply> {
    require_superadmin(caller)?;
    let key = |leaf: &str| format!("nodes/agents/{agent_id}/{leaf}");
    let etcd_error = |e| Error::Internal(format!("reading the watcher address from etcd: {e}"));
    let ip = etcd
        .get(&key("ip"))
        .await
        .map_err(etcd_error)?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "agent {agent_id} has no watcher address (etcd {} is not set)",
                key("ip")
            ))
        })?;
    let port = etcd
        .get(&key("watcher_port"))
        .await
        .map_err(etcd_error)?
        .unwrap_or_else(|| DEFAULT_PORT.to_owned());
    if port.parse::<u16>().is_err() {
        return Err(Error::Internal(format!(
            "etcd {} is not a port number: {port:?}",
            key("watcher_port")
        )));
    }
    let (path, timeout) = request.path_and_timeout();
    let url = format!("http://{ip}:{port}{path}");
    let client = reqwest::Client::new();
    let builder = match request {
        WatcherRequest::Status => client.get(&url),
        _ => client.post(&url),
    };
    let unreachable = |e: reqwest::Error| {
        Error::Unavailable(format!(
            "the watcher of agent {agent_id} at {url} did not answer: {e}"
        ))
    };
    let response = builder
        .header("X-BackendAI-Watcher-Token", token.unwrap_or("insecure"))
        .timeout(timeout)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(unreachable)?;
    if status != 200 {
        return Ok(WatcherReply::Text { status, text });
    }
    serde_json::from_str(&text)
        .map(WatcherReply::Json)
        .map_err(|_| {
            Error::Unavailable(format!(
                "the watcher of agent {agent_id} at {url} answered with something other than JSON"
            ))
        })
}
