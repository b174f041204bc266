//! The functions a 21.03 agent serves (`agent/server.py`), with their arguments as the agent
//! takes them and the time limits 21.03's manager gives them. Kernel and session ids travel as
//! UUID strings; documents (configs, options) as msgpack maps.

use std::time::Duration;

use rmpv::Value;
use uuid::Uuid;

use super::{RpcClient, RpcError};

/// One agent, reached at its RPC address (`agents.addr`, `tcp://host:port`).
#[derive(Clone)]
pub struct AgentRpc {
    client: RpcClient,
    addr: String,
}

fn id(id: Uuid) -> Value {
    Value::from(id.to_string())
}

fn text(value: &Value, what: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} is not a string"))
}

impl AgentRpc {
    pub fn new(client: RpcClient, addr: impl Into<String>) -> Self {
        AgentRpc {
            client,
            addr: addr.into(),
        }
    }

    async fn call(
        &self,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
        timeout: Option<Duration>,
    ) -> Result<Value, RpcError> {
        self.client
            .call(&self.addr, method, args, kwargs, timeout)
            .await
    }

    fn malformed(&self, method: &str, why: String) -> RpcError {
        RpcError::Protocol {
            addr: self.addr.clone(),
            method: method.to_owned(),
            why,
        }
    }

    /// `ping(msg)`: the agent echoes `msg`.
    pub async fn ping(&self, msg: &str, timeout: Duration) -> Result<String, RpcError> {
        let reply = self
            .call("ping", vec![msg.into()], vec![], Some(timeout))
            .await?;
        text(&reply, "the echo").map_err(|why| self.malformed("ping", why))
    }

    /// `gather_hwinfo()`: per compute plugin, `{status, status_info, metadata}`.
    pub async fn gather_hwinfo(&self, timeout: Option<Duration>) -> Result<Value, RpcError> {
        self.call("gather_hwinfo", vec![], vec![], timeout).await
    }

    /// `create_kernels(creation_id, session_id, kernel_ids, configs, cluster_info)`: one
    /// answer per kernel, in order.
    pub async fn create_kernels(
        &self,
        creation_id: &str,
        session_id: Uuid,
        kernel_ids: &[Uuid],
        configs: Vec<Value>,
        cluster_info: Value,
    ) -> Result<Vec<Value>, RpcError> {
        let args = vec![
            creation_id.into(),
            id(session_id),
            Value::Array(kernel_ids.iter().copied().map(id).collect()),
            Value::Array(configs),
            cluster_info,
        ];
        match self.call("create_kernels", args, vec![], None).await? {
            Value::Array(created) => Ok(created),
            _ => Err(self.malformed("create_kernels", "the answer is not a list".into())),
        }
    }

    /// `destroy_kernel(kernel_id, reason, suppress_events=…)`.
    pub async fn destroy_kernel(
        &self,
        kernel_id: Uuid,
        reason: &str,
        suppress_events: bool,
    ) -> Result<(), RpcError> {
        let kwargs = vec![("suppress_events", Value::from(suppress_events))];
        self.call(
            "destroy_kernel",
            vec![id(kernel_id), reason.into()],
            kwargs,
            None,
        )
        .await
        .map(drop)
    }

    /// `restart_kernel(creation_id, session_id, kernel_id, updated_config)`.
    pub async fn restart_kernel(
        &self,
        creation_id: &str,
        session_id: Uuid,
        kernel_id: Uuid,
        updated_config: Value,
    ) -> Result<Value, RpcError> {
        let args = vec![
            creation_id.into(),
            id(session_id),
            id(kernel_id),
            updated_config,
        ];
        self.call("restart_kernel", args, vec![], None).await
    }

    /// `interrupt_kernel(kernel_id)` (21.03: 30 s).
    pub async fn interrupt_kernel(&self, kernel_id: Uuid) -> Result<(), RpcError> {
        self.call(
            "interrupt_kernel",
            vec![id(kernel_id)],
            vec![],
            Some(Duration::from_secs(30)),
        )
        .await
        .map(drop)
    }

    /// `get_completions(kernel_id, text, opts)` (21.03: 10 s).
    pub async fn get_completions(
        &self,
        kernel_id: Uuid,
        text: &str,
        opts: Value,
    ) -> Result<Value, RpcError> {
        let args = vec![id(kernel_id), text.into(), opts];
        self.call(
            "get_completions",
            args,
            vec![],
            Some(Duration::from_secs(10)),
        )
        .await
    }

    /// `get_logs(kernel_id)` (21.03: 30 s): the container's logs.
    pub async fn get_logs(&self, kernel_id: Uuid) -> Result<String, RpcError> {
        let reply = self
            .call(
                "get_logs",
                vec![id(kernel_id)],
                vec![],
                Some(Duration::from_secs(30)),
            )
            .await?;
        let logs = reply
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("logs")))
            .map(|(_, v)| v)
            .ok_or_else(|| self.malformed("get_logs", "the answer has no logs".into()))?;
        text(logs, "logs").map_err(|why| self.malformed("get_logs", why))
    }

    /// `execute(kernel_id, api_version, run_id, mode, code, opts, flush_timeout)` (21.03: 30 s).
    #[allow(clippy::too_many_arguments)]
    pub async fn execute(
        &self,
        kernel_id: Uuid,
        api_version: u32,
        run_id: Option<&str>,
        mode: &str,
        code: &str,
        opts: Value,
        flush_timeout: Option<f64>,
    ) -> Result<Value, RpcError> {
        let args = vec![
            id(kernel_id),
            api_version.into(),
            run_id.map_or(Value::Nil, Value::from),
            mode.into(),
            code.into(),
            opts,
            flush_timeout.map_or(Value::Nil, Value::from),
        ];
        self.call("execute", args, vec![], Some(Duration::from_secs(30)))
            .await
    }

    /// `start_service(kernel_id, service, opts)`.
    pub async fn start_service(
        &self,
        kernel_id: Uuid,
        service: &str,
        opts: Value,
    ) -> Result<Value, RpcError> {
        let args = vec![id(kernel_id), service.into(), opts];
        self.call("start_service", args, vec![], None).await
    }

    /// `shutdown_service(kernel_id, service)`.
    pub async fn shutdown_service(&self, kernel_id: Uuid, service: &str) -> Result<(), RpcError> {
        let args = vec![id(kernel_id), service.into()];
        self.call("shutdown_service", args, vec![], None)
            .await
            .map(drop)
    }

    /// `upload_file(kernel_id, filename, filedata)`.
    pub async fn upload_file(
        &self,
        kernel_id: Uuid,
        filename: &str,
        data: Vec<u8>,
    ) -> Result<(), RpcError> {
        let args = vec![id(kernel_id), filename.into(), Value::Binary(data)];
        self.call("upload_file", args, vec![], None).await.map(drop)
    }

    /// `download_file(kernel_id, filepath)`: a tar archive of the path.
    pub async fn download_file(&self, kernel_id: Uuid, path: &str) -> Result<Vec<u8>, RpcError> {
        match self
            .call(
                "download_file",
                vec![id(kernel_id), path.into()],
                vec![],
                None,
            )
            .await?
        {
            Value::Binary(bytes) => Ok(bytes),
            _ => Err(self.malformed("download_file", "the archive is not binary".into())),
        }
    }

    /// `list_files(kernel_id, path)` (21.03: 30 s).
    pub async fn list_files(&self, kernel_id: Uuid, path: &str) -> Result<Value, RpcError> {
        let args = vec![id(kernel_id), path.into()];
        self.call("list_files", args, vec![], Some(Duration::from_secs(30)))
            .await
    }

    /// `create_local_network(name)` (single-node clusters of several containers).
    pub async fn create_local_network(&self, name: &str) -> Result<(), RpcError> {
        self.call("create_local_network", vec![name.into()], vec![], None)
            .await
            .map(drop)
    }

    /// `destroy_local_network(name)`.
    pub async fn destroy_local_network(&self, name: &str) -> Result<(), RpcError> {
        self.call("destroy_local_network", vec![name.into()], vec![], None)
            .await
            .map(drop)
    }

    /// `reset_agent()`: the agent destroys all its kernels.
    pub async fn reset_agent(&self) -> Result<(), RpcError> {
        self.call("reset_agent", vec![], vec![], None)
            .await
            .map(drop)
    }
}
