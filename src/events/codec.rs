//! The msgpack argument arrays of the events, as backend.ai-common 21.03 packs them
//! (`use_bin_type=True`: text as str, bytes as bin, the most compact integer forms, floats as
//! float64) and unpacks them.

use rmp::encode as enc;
use rmpv::Value;
use uuid::Uuid;

use super::{
    BgtaskEnd, Event, ExecutionStage, KernelCreationStage, LogSeverity, Progress,
    SessionCreationStage,
};

/// Nesting deeper than this is refused rather than risking the stack (agent_info is 3 deep).
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("unknown event {0:?}")]
    UnknownName(String),
    #[error("malformed {name} event: {why}")]
    Malformed { name: String, why: String },
}

// Writing into a Vec cannot fail.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let _ = enc::write_str(out, s);
}

fn write_uuid(out: &mut Vec<u8>, id: &Uuid) {
    write_str(
        out,
        id.hyphenated().encode_lower(&mut Uuid::encode_buffer()),
    );
}

fn write_int(out: &mut Vec<u8>, i: i64) {
    // Python packs non-negative integers with the unsigned forms.
    let _ = if i >= 0 {
        enc::write_uint(out, i as u64)
    } else {
        enc::write_sint(out, i)
    };
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => {
            let _ = enc::write_nil(out);
        }
    }
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    let _ = rmpv::encode::write_value(out, v);
}

fn write_progress(out: &mut Vec<u8>, p: Progress) {
    match p {
        Progress::Int(i) => write_int(out, i),
        Progress::Float(f) => {
            let _ = enc::write_f64(out, f);
        }
    }
}

fn array(out: &mut Vec<u8>, len: u32) {
    let _ = enc::write_array_len(out, len);
}

pub(super) fn encode(event: &Event) -> Vec<u8> {
    use Event::*;
    let mut out = Vec::with_capacity(64);
    let o = &mut out;
    match event {
        DoSchedule | DoPrepare | DoIdleCheck | DoLogCleanup => array(o, 0),
        DoTerminateSession { session_id, reason } | SessionTerminated { session_id, reason } => {
            array(o, 2);
            write_uuid(o, session_id);
            write_str(o, reason);
        }
        AgentStarted { reason } | AgentTerminated { reason } => {
            array(o, 1);
            write_str(o, reason);
        }
        AgentError {
            message,
            traceback,
            user,
            context_env,
            severity,
        } => {
            array(o, 5);
            write_str(o, message);
            write_opt_str(o, traceback.as_deref());
            write_value(o, user);
            write_value(o, context_env);
            write_str(o, severity.as_str());
        }
        AgentHeartbeat { agent_info } => {
            array(o, 1);
            write_value(o, agent_info);
        }
        KernelCreation {
            kernel_id: id,
            creation_id,
            reason,
            ..
        }
        | SessionCreation {
            session_id: id,
            creation_id,
            reason,
            ..
        } => {
            array(o, 3);
            write_uuid(o, id);
            write_str(o, creation_id);
            write_str(o, reason);
        }
        KernelTerminating {
            kernel_id: id,
            reason,
            exit_code,
        }
        | KernelTerminated {
            kernel_id: id,
            reason,
            exit_code,
        }
        | SessionSuccess {
            session_id: id,
            reason,
            exit_code,
        }
        | SessionFailure {
            session_id: id,
            reason,
            exit_code,
        } => {
            array(o, 3);
            write_uuid(o, id);
            write_str(o, reason);
            write_int(o, *exit_code);
        }
        DoSyncKernelLogs {
            kernel_id,
            container_id,
        } => {
            array(o, 2);
            write_uuid(o, kernel_id);
            write_str(o, container_id);
        }
        DoSyncKernelStats { kernel_ids } => {
            array(o, 1);
            array(o, kernel_ids.len() as u32);
            for id in kernel_ids {
                write_uuid(o, id);
            }
        }
        Execution { session_id, .. } => {
            array(o, 1);
            write_uuid(o, session_id);
        }
        BgtaskUpdated {
            task_id,
            current_progress,
            total_progress,
            message,
        } => {
            array(o, 4);
            write_uuid(o, task_id);
            write_progress(o, *current_progress);
            write_progress(o, *total_progress);
            write_opt_str(o, message.as_deref());
        }
        BgtaskEnded {
            task_id, message, ..
        } => {
            array(o, 2);
            write_uuid(o, task_id);
            write_opt_str(o, message.as_deref());
        }
    }
    out
}

/// The elements of an argument array, read by position as 21.03 reads them.
struct Args<'a> {
    name: &'a str,
    items: Vec<Value>,
}

impl Args<'_> {
    fn error(&self, why: impl Into<String>) -> EventError {
        EventError::Malformed {
            name: self.name.to_owned(),
            why: why.into(),
        }
    }

    fn at(&self, i: usize, what: &str) -> Result<&Value, EventError> {
        self.items.get(i).ok_or_else(|| {
            self.error(format!(
                "{what} (element {}) is missing: the array has {} element(s)",
                i + 1,
                self.items.len()
            ))
        })
    }

    fn string(&self, i: usize, what: &str) -> Result<String, EventError> {
        match self.at(i, what)? {
            Value::String(s) => s
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| self.error(format!("{what} is not valid UTF-8"))),
            other => Err(self.error(format!("{what} must be a string, not {}", kind(other)))),
        }
    }

    fn opt_string(&self, i: usize, what: &str) -> Result<Option<String>, EventError> {
        match self.at(i, what)? {
            Value::Nil => Ok(None),
            _ => self.string(i, what).map(Some),
        }
    }

    fn uuid(&self, i: usize, what: &str) -> Result<Uuid, EventError> {
        uuid_of(self, self.at(i, what)?, what)
    }

    fn int(&self, i: usize, what: &str) -> Result<i64, EventError> {
        match self.at(i, what)? {
            Value::Integer(n) => n
                .as_i64()
                .ok_or_else(|| self.error(format!("{what} {n} is out of range"))),
            other => Err(self.error(format!("{what} must be an integer, not {}", kind(other)))),
        }
    }

    fn progress(&self, i: usize, what: &str) -> Result<Progress, EventError> {
        match self.at(i, what)? {
            Value::Integer(n) => n
                .as_i64()
                .map(Progress::Int)
                .ok_or_else(|| self.error(format!("{what} {n} is out of range"))),
            Value::F64(f) => Ok(Progress::Float(*f)),
            Value::F32(f) => Ok(Progress::Float(f64::from(*f))),
            other => Err(self.error(format!("{what} must be a number, not {}", kind(other)))),
        }
    }

    fn map(&self, i: usize, what: &str) -> Result<Value, EventError> {
        match self.at(i, what)? {
            map @ Value::Map(_) => Ok(map.clone()),
            other => Err(self.error(format!("{what} must be a map, not {}", kind(other)))),
        }
    }
}

fn uuid_of(args: &Args<'_>, value: &Value, what: &str) -> Result<Uuid, EventError> {
    match value {
        Value::String(s) => s
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| args.error(format!("{what} {s} is not a UUID"))),
        other => Err(args.error(format!("{what} must be a UUID string, not {}", kind(other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "a boolean",
        Value::Integer(_) => "an integer",
        Value::F32(_) | Value::F64(_) => "a float",
        Value::String(_) => "a string",
        Value::Binary(_) => "binary data",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        Value::Ext(..) => "an extension value",
    }
}

fn kernel_creation_stage(name: &str) -> Option<KernelCreationStage> {
    Some(match name {
        "kernel_enqueued" => KernelCreationStage::Enqueued,
        "kernel_preparing" => KernelCreationStage::Preparing,
        "kernel_pulling" => KernelCreationStage::Pulling,
        "kernel_creating" => KernelCreationStage::Creating,
        "kernel_started" => KernelCreationStage::Started,
        "kernel_cancelled" => KernelCreationStage::Cancelled,
        _ => return None,
    })
}

fn session_creation_stage(name: &str) -> Option<SessionCreationStage> {
    Some(match name {
        "session_enqueued" => SessionCreationStage::Enqueued,
        "session_scheduled" => SessionCreationStage::Scheduled,
        "session_preparing" => SessionCreationStage::Preparing,
        "session_cancelled" => SessionCreationStage::Cancelled,
        "session_started" => SessionCreationStage::Started,
        _ => return None,
    })
}

fn execution_stage(name: &str) -> Option<ExecutionStage> {
    Some(match name {
        "execution_started" => ExecutionStage::Started,
        "execution_finished" => ExecutionStage::Finished,
        "execution_timeout" => ExecutionStage::Timeout,
        "execution_cancelled" => ExecutionStage::Cancelled,
        _ => return None,
    })
}

fn bgtask_end(name: &str) -> Option<BgtaskEnd> {
    Some(match name {
        "bgtask_done" => BgtaskEnd::Done,
        "bgtask_cancelled" => BgtaskEnd::Cancelled,
        "bgtask_failed" => BgtaskEnd::Failed,
        _ => return None,
    })
}

/// Reads the whole of `bytes` as one msgpack array.
fn read_array(name: &str, mut bytes: &[u8]) -> Result<Vec<Value>, EventError> {
    let malformed = |why: String| EventError::Malformed {
        name: name.to_owned(),
        why,
    };
    let value = rmpv::decode::read_value_with_max_depth(&mut bytes, MAX_DEPTH)
        .map_err(|e| malformed(format!("the arguments are not msgpack: {e}")))?;
    if !bytes.is_empty() {
        return Err(malformed(format!(
            "{} byte(s) follow the arguments",
            bytes.len()
        )));
    }
    match value {
        Value::Array(items) => Ok(items),
        other => Err(malformed(format!(
            "the arguments must be an array, not {}",
            kind(&other)
        ))),
    }
}

pub(super) fn decode(name: &str, bytes: &[u8]) -> Result<Event, EventError> {
    use Event::*;
    if !super::EVENT_NAMES.contains(&name) {
        return Err(EventError::UnknownName(name.to_owned()));
    }
    let a = Args {
        name,
        items: read_array(name, bytes)?,
    };
    if let Some(stage) = kernel_creation_stage(name) {
        return Ok(KernelCreation {
            stage,
            kernel_id: a.uuid(0, "kernel_id")?,
            creation_id: a.string(1, "creation_id")?,
            reason: a.string(2, "reason")?,
        });
    }
    if let Some(stage) = session_creation_stage(name) {
        return Ok(SessionCreation {
            stage,
            session_id: a.uuid(0, "session_id")?,
            creation_id: a.string(1, "creation_id")?,
            reason: a.string(2, "reason")?,
        });
    }
    if let Some(stage) = execution_stage(name) {
        return Ok(Execution {
            stage,
            session_id: a.uuid(0, "session_id")?,
        });
    }
    if let Some(end) = bgtask_end(name) {
        return Ok(BgtaskEnded {
            end,
            task_id: a.uuid(0, "task_id")?,
            message: a.opt_string(1, "message")?,
        });
    }
    Ok(match name {
        "do_schedule" => DoSchedule,
        "do_prepare" => DoPrepare,
        "do_idle_check" => DoIdleCheck,
        "do_log_cleanup" => DoLogCleanup,
        "do_terminate_session" => DoTerminateSession {
            session_id: a.uuid(0, "session_id")?,
            reason: a.string(1, "reason")?,
        },
        "agent_started" => AgentStarted {
            reason: a.string(0, "reason")?,
        },
        "agent_terminated" => AgentTerminated {
            reason: a.string(0, "reason")?,
        },
        "agent_error" => AgentError {
            message: a.string(0, "message")?,
            traceback: a.opt_string(1, "traceback")?,
            user: a.at(2, "user")?.clone(),
            context_env: a.map(3, "context_env")?,
            severity: {
                let s = a.string(4, "severity")?;
                LogSeverity::parse(&s).ok_or_else(|| a.error(format!("unknown severity {s:?}")))?
            },
        },
        "agent_heartbeat" => AgentHeartbeat {
            agent_info: a.map(0, "agent_info")?,
        },
        "kernel_terminating" | "kernel_terminated" => {
            let (kernel_id, reason, exit_code) = (
                a.uuid(0, "kernel_id")?,
                a.string(1, "reason")?,
                a.int(2, "exit_code")?,
            );
            if name == "kernel_terminating" {
                KernelTerminating {
                    kernel_id,
                    reason,
                    exit_code,
                }
            } else {
                KernelTerminated {
                    kernel_id,
                    reason,
                    exit_code,
                }
            }
        }
        "session_terminated" => SessionTerminated {
            session_id: a.uuid(0, "session_id")?,
            reason: a.string(1, "reason")?,
        },
        "session_success" | "session_failure" => {
            let (session_id, reason, exit_code) = (
                a.uuid(0, "session_id")?,
                a.string(1, "reason")?,
                a.int(2, "exit_code")?,
            );
            if name == "session_success" {
                SessionSuccess {
                    session_id,
                    reason,
                    exit_code,
                }
            } else {
                SessionFailure {
                    session_id,
                    reason,
                    exit_code,
                }
            }
        }
        "do_sync_kernel_logs" => DoSyncKernelLogs {
            kernel_id: a.uuid(0, "kernel_id")?,
            container_id: a.string(1, "container_id")?,
        },
        "do_sync_kernel_stats" => DoSyncKernelStats {
            kernel_ids: match a.at(0, "kernel_ids")? {
                Value::Array(ids) => ids
                    .iter()
                    .map(|id| uuid_of(&a, id, "an id of kernel_ids"))
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(a.error(format!("kernel_ids must be an array, not {}", kind(other))))
                }
            },
        },
        "bgtask_updated" => BgtaskUpdated {
            task_id: a.uuid(0, "task_id")?,
            current_progress: a.progress(1, "current_progress")?,
            total_progress: a.progress(2, "total_progress")?,
            message: a.opt_string(3, "message")?,
        },
        // Every name of EVENT_NAMES is handled above.
        other => return Err(EventError::UnknownName(other.to_owned())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id() -> Uuid {
        Uuid::parse_str("0b2c4f1e-7d3a-4c5b-9e8f-1a2b3c4d5e6f").unwrap()
    }

    #[test]
    fn bytes_as_python_packs_them() {
        // From the 21.03 wire notes: msgpack.packb(event.serialize(), use_bin_type=True).
        assert_eq!(Event::DoSchedule.encode_args(), [0x90]);
        assert_eq!(
            Event::AgentStarted {
                reason: "one".into()
            }
            .encode_args(),
            [0x91, 0xa3, b'o', b'n', b'e']
        );
        let error = Event::AgentError {
            message: "r".into(),
            traceback: None,
            user: Value::Nil,
            context_env: Value::Map(vec![]),
            severity: LogSeverity::Error,
        };
        assert_eq!(
            error.encode_args(),
            [&[0x95, 0xa1, b'r', 0xc0, 0xc0, 0x80, 0xa5][..], b"error"].concat()
        );
        let terminated = Event::KernelTerminated {
            kernel_id: id(),
            reason: "r".into(),
            exit_code: -1,
        };
        let bytes = terminated.encode_args();
        assert_eq!(&bytes[..2], [0x93, 0xd9]);
        assert_eq!(bytes[2], 36);
        assert_eq!(&bytes[39..], [0xa1, b'r', 0xff]);
    }

    #[test]
    fn every_name_is_known() {
        // Events without arguments read an empty array; the others refuse it, naming what is
        // missing.
        for name in crate::events::EVENT_NAMES {
            match Event::decode(name, &[0x90]) {
                Ok(event) => {
                    assert_eq!(event.name(), *name);
                    assert_eq!(event.encode_args(), [0x90]);
                }
                Err(EventError::Malformed { why, .. }) => {
                    assert!(why.contains("missing"), "{name}: {why}")
                }
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }

    #[test]
    fn malformed_arguments_are_named() {
        let err = Event::decode("kernel_started", &[0x91, 0xa1, b'x']).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed kernel_started event: kernel_id \"x\" is not a UUID"
        );
        let err = Event::decode("agent_started", &[0x91, 0x01]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed agent_started event: reason must be a string, not an integer"
        );
        let err = Event::decode("agent_started", &[0x91, 0xa1, b'x', 0x00]).unwrap_err();
        assert!(err.to_string().contains("1 byte(s) follow"), "{err}");
        assert_eq!(
            Event::decode("no_such_event", &[0x90]).unwrap_err(),
            EventError::UnknownName("no_such_event".into())
        );
        // Extra trailing elements are ignored, as in 21.03.
        assert_eq!(
            Event::decode("agent_started", &[0x92, 0xa1, b'x', 0x01]).unwrap(),
            Event::AgentStarted { reason: "x".into() }
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(name_idx in 0usize..35, bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let name = crate::events::EVENT_NAMES[name_idx];
            if let Ok(event) = Event::decode(name, &bytes) {
                // What decodes re-encodes to bytes that decode to the same bytes again.
                let encoded = event.encode_args();
                let again = Event::decode(name, &encoded).unwrap().encode_args();
                prop_assert_eq!(again, encoded);
            }
        }
    }
}
