//! The agent RPC client: the callosum 0.9 protocol over ZeroMQ that 21.03 agents serve.
//!
//! Each call opens a DEALER socket of its own to the agent's ROUTER (as 21.03 opens a peer per
//! call context), so that no long-lived connection can be cut silently by a middlebox (#497),
//! with TCP keepalive as `config/network/rpc/keepalive-timeout` says (#484, #485; 21.03 meant
//! to read that key but never did). Frames are `[header, body]`:
//! header `{type, meth, okey, seq, zip}`, body `{meta, body}`, msgpack as in [`frame`].
//!
//! Agents answer an unknown method with nothing at all, so calls take a timeout; a call whose
//! caller gives up (timeout, or its future dropped) sends callosum's CANCEL and closes.

pub mod agent;
pub mod frame;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmpv::Value;

pub use frame::MessageType;

/// How often a waiting call checks whether its caller gave up.
const POLL_SLICE: Duration = Duration::from_millis(100);
/// The largest answer accepted (a 21.03 agent sends at most 1 MiB files).
const MAX_MESSAGE_SIZE: i64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    #[error("the agent at {addr} did not answer {method} within {after:?}")]
    Timeout {
        addr: String,
        method: String,
        after: Duration,
    },
    /// The function raised on the agent (callosum FAILURE; 21.03's `AgentError`).
    #[error("{method} failed on the agent at {addr}: {repr}")]
    Failure {
        addr: String,
        method: String,
        name: String,
        repr: String,
        traceback: String,
    },
    /// callosum itself failed on the agent (ERROR).
    #[error("the RPC layer of the agent at {addr} failed on {method}: {repr}")]
    Internal {
        addr: String,
        method: String,
        name: String,
        repr: String,
        traceback: String,
    },
    #[error("the agent at {addr} cancelled {method}")]
    Cancelled { addr: String, method: String },
    #[error("cannot talk to the agent at {addr}: {why}")]
    Transport { addr: String, why: String },
    #[error("the agent at {addr} answered {method} with a malformed message: {why}")]
    Protocol {
        addr: String,
        method: String,
        why: String,
    },
}

/// TCP keepalive of agent connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Idle time before the first probe; probes follow every third of it (at least 2 s), three
    /// of them, as 21.03 sets them.
    pub idle: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(60),
        }
    }
}

/// Calls functions of agents. Cheap to clone; one ZeroMQ context per manager.
#[derive(Clone)]
pub struct RpcClient {
    context: zmq::Context,
    keepalive: Keepalive,
}

impl RpcClient {
    pub fn new(keepalive: Keepalive) -> Self {
        RpcClient {
            context: zmq::Context::new(),
            keepalive,
        }
    }

    /// Calls `method(*args, **kwargs)` on the agent at `addr` (`tcp://host:port`); `timeout`
    /// bounds the whole call (none: until the caller gives up).
    pub async fn call(
        &self,
        addr: &str,
        method: &str,
        args: Vec<Value>,
        kwargs: Vec<(&str, Value)>,
        timeout: Option<Duration>,
    ) -> Result<Value, RpcError> {
        let call = Call {
            addr: addr.to_owned(),
            method: method.to_owned(),
            request: frame::function_call(method, args, kwargs),
            timeout,
        };
        let abandoned = Arc::new(AtomicBool::new(false));
        // Dropping the caller's future lets the blocking side know it should cancel and close.
        let _guard = AbandonOnDrop(abandoned.clone());
        let (context, keepalive) = (self.context.clone(), self.keepalive);
        let transport = |why: String| RpcError::Transport {
            addr: addr.to_owned(),
            why,
        };
        tokio::task::spawn_blocking(move || call.run(&context, keepalive, &abandoned))
            .await
            .map_err(|e| transport(format!("the call's thread failed: {e}")))?
    }
}

struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

struct Call {
    addr: String,
    method: String,
    request: frame::Request,
    timeout: Option<Duration>,
}

impl Call {
    fn transport(&self, e: impl std::fmt::Display) -> RpcError {
        RpcError::Transport {
            addr: self.addr.clone(),
            why: e.to_string(),
        }
    }

    fn socket(
        &self,
        context: &zmq::Context,
        keepalive: Keepalive,
    ) -> Result<zmq::Socket, RpcError> {
        let socket = context.socket(zmq::DEALER).map_err(|e| self.transport(e))?;
        let idle = keepalive.idle.as_secs().max(1) as i32;
        let configured = socket
            .set_linger(100)
            .and_then(|()| socket.set_maxmsgsize(MAX_MESSAGE_SIZE))
            .and_then(|()| socket.set_tcp_keepalive(1))
            .and_then(|()| socket.set_tcp_keepalive_idle(idle))
            .and_then(|()| socket.set_tcp_keepalive_intvl((idle / 3).max(2)))
            .and_then(|()| socket.set_tcp_keepalive_cnt(3))
            .and_then(|()| socket.connect(&self.addr));
        configured.map_err(|e| self.transport(e))?;
        Ok(socket)
    }

    fn run(
        self,
        context: &zmq::Context,
        keepalive: Keepalive,
        abandoned: &AtomicBool,
    ) -> Result<Value, RpcError> {
        let socket = self.socket(context, keepalive)?;
        socket
            .send_multipart([&self.request.header[..], &self.request.body[..]], 0)
            .map_err(|e| self.transport(e))?;
        let started = Instant::now();
        loop {
            let remaining = match self.timeout {
                Some(limit) => match limit.checked_sub(started.elapsed()) {
                    Some(left) => left,
                    None => {
                        self.cancel(&socket);
                        return Err(RpcError::Timeout {
                            addr: self.addr,
                            method: self.method,
                            after: limit,
                        });
                    }
                },
                None => POLL_SLICE,
            };
            if abandoned.load(Ordering::Acquire) {
                self.cancel(&socket);
                return Err(RpcError::Cancelled {
                    addr: self.addr,
                    method: self.method,
                });
            }
            let wait = remaining.min(POLL_SLICE).as_millis() as i64;
            let ready = socket
                .poll(zmq::POLLIN, wait)
                .map_err(|e| self.transport(e))?;
            if ready == 0 {
                continue;
            }
            let frames = socket.recv_multipart(0).map_err(|e| self.transport(e))?;
            match frame::read_reply(&frames, &self.request) {
                Ok(Some(reply)) => return self.outcome(reply),
                // An answer to another request (none are sent on this socket): ignored.
                Ok(None) => continue,
                Err(why) => {
                    return Err(RpcError::Protocol {
                        addr: self.addr,
                        method: self.method,
                        why,
                    })
                }
            }
        }
    }

    /// callosum's CANCEL for the request, sent before the socket closes (its linger lets it
    /// leave); 0.9 agents let the function run to its end anyway.
    fn cancel(&self, socket: &zmq::Socket) {
        let cancel = frame::cancel(&self.request);
        let _ = socket.send_multipart([&cancel.header[..], &cancel.body[..]], zmq::DONTWAIT);
    }

    fn outcome(self, reply: frame::Reply) -> Result<Value, RpcError> {
        let (addr, method) = (self.addr, self.method);
        match reply {
            frame::Reply::Result(value) => Ok(value),
            frame::Reply::Failure {
                name,
                repr,
                traceback,
            } => Err(RpcError::Failure {
                addr,
                method,
                name,
                repr,
                traceback,
            }),
            frame::Reply::Error {
                name,
                repr,
                traceback,
            } => Err(RpcError::Internal {
                addr,
                method,
                name,
                repr,
                traceback,
            }),
            frame::Reply::Cancelled => Err(RpcError::Cancelled { addr, method }),
        }
    }
}
