//! The event bus that 21.03 managers and agents share: every event type of backend.ai-common
//! 21.03 (`events.py`) with its name and msgpack argument array, byte for byte as the Python
//! side writes them, and the Redis stream they travel on ([`bus`]).
//!
//! Decoding follows 21.03's rules (each element at a fixed position; a shorter array is an
//! error, extra trailing elements are ignored) but reports what is wrong instead of raising.

pub mod bus;
mod codec;

use uuid::Uuid;

pub use codec::EventError;

/// Where a kernel is on its way to running (`KernelCreationEventArgs` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelCreationStage {
    Enqueued,
    Preparing,
    Pulling,
    Creating,
    Started,
    Cancelled,
}

/// Where a session is on its way to running (`SessionCreationEventArgs` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCreationStage {
    Enqueued,
    Scheduled,
    Preparing,
    Cancelled,
    Started,
}

/// What happened to a code execution in a kernel (`GenericSessionEventArgs` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStage {
    Started,
    Finished,
    Timeout,
    Cancelled,
}

/// How a background task ended (`BgtaskDoneEventArgs` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BgtaskEnd {
    Done,
    Cancelled,
    Failed,
}

/// 21.03's `LogSeverity` (the last element of `agent_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSeverity {
    Critical,
    Error,
    Warning,
    Info,
    Debug,
}

impl LogSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            LogSeverity::Critical => "critical",
            LogSeverity::Error => "error",
            LogSeverity::Warning => "warning",
            LogSeverity::Info => "info",
            LogSeverity::Debug => "debug",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            LogSeverity::Critical,
            LogSeverity::Error,
            LogSeverity::Warning,
            LogSeverity::Info,
            LogSeverity::Debug,
        ]
        .into_iter()
        .find(|severity| severity.as_str() == s)
    }
}

/// A progress figure of `bgtask_updated`: Python sends whichever number it holds, usually an
/// integer; kept as sent so that re-encoding gives the same bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    Int(i64),
    Float(f64),
}

impl Progress {
    pub fn as_f64(self) -> f64 {
        match self {
            Progress::Int(i) => i as f64,
            Progress::Float(f) => f,
        }
    }
}

/// An event of the 21.03 bus with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    DoSchedule,
    DoPrepare,
    DoIdleCheck,
    /// Defined by the 21.03 manager (`api/logs.py`), not by backend.ai-common.
    DoLogCleanup,
    DoTerminateSession {
        session_id: Uuid,
        reason: String,
    },
    AgentStarted {
        reason: String,
    },
    AgentTerminated {
        reason: String,
    },
    AgentError {
        message: String,
        traceback: Option<String>,
        /// Whatever the sender attached (nil from agents).
        user: rmpv::Value,
        /// A map (empty from agents).
        context_env: rmpv::Value,
        severity: LogSeverity,
    },
    /// `agent_info`: a map of the agent's address, region, scaling group, slots, images, …;
    /// read by the agent registry.
    AgentHeartbeat {
        agent_info: rmpv::Value,
    },
    KernelCreation {
        stage: KernelCreationStage,
        kernel_id: Uuid,
        creation_id: String,
        reason: String,
    },
    KernelTerminating {
        kernel_id: Uuid,
        reason: String,
        exit_code: i64,
    },
    KernelTerminated {
        kernel_id: Uuid,
        reason: String,
        exit_code: i64,
    },
    SessionCreation {
        stage: SessionCreationStage,
        session_id: Uuid,
        creation_id: String,
        reason: String,
    },
    SessionTerminated {
        session_id: Uuid,
        reason: String,
    },
    SessionSuccess {
        session_id: Uuid,
        reason: String,
        exit_code: i64,
    },
    SessionFailure {
        session_id: Uuid,
        reason: String,
        exit_code: i64,
    },
    DoSyncKernelLogs {
        kernel_id: Uuid,
        container_id: String,
    },
    DoSyncKernelStats {
        kernel_ids: Vec<Uuid>,
    },
    Execution {
        stage: ExecutionStage,
        session_id: Uuid,
    },
    BgtaskUpdated {
        task_id: Uuid,
        current_progress: Progress,
        total_progress: Progress,
        message: Option<String>,
    },
    BgtaskEnded {
        end: BgtaskEnd,
        task_id: Uuid,
        message: Option<String>,
    },
}

/// Every event name of 21.03, as it appears in the stream's `name` field.
pub const EVENT_NAMES: &[&str] = &[
    "do_schedule",
    "do_prepare",
    "do_idle_check",
    "do_log_cleanup",
    "do_terminate_session",
    "agent_started",
    "agent_terminated",
    "agent_error",
    "agent_heartbeat",
    "kernel_enqueued",
    "kernel_preparing",
    "kernel_pulling",
    "kernel_creating",
    "kernel_started",
    "kernel_cancelled",
    "kernel_terminating",
    "kernel_terminated",
    "session_enqueued",
    "session_scheduled",
    "session_preparing",
    "session_cancelled",
    "session_started",
    "session_terminated",
    "session_success",
    "session_failure",
    "do_sync_kernel_logs",
    "do_sync_kernel_stats",
    "execution_started",
    "execution_finished",
    "execution_timeout",
    "execution_cancelled",
    "bgtask_updated",
    "bgtask_done",
    "bgtask_cancelled",
    "bgtask_failed",
];

impl Event {
    /// The event's name on the wire.
    pub fn name(&self) -> &'static str {
        use Event::*;
        match self {
            DoSchedule => "do_schedule",
            DoPrepare => "do_prepare",
            DoIdleCheck => "do_idle_check",
            DoLogCleanup => "do_log_cleanup",
            DoTerminateSession { .. } => "do_terminate_session",
            AgentStarted { .. } => "agent_started",
            AgentTerminated { .. } => "agent_terminated",
            AgentError { .. } => "agent_error",
            AgentHeartbeat { .. } => "agent_heartbeat",
            KernelCreation { stage, .. } => match stage {
                KernelCreationStage::Enqueued => "kernel_enqueued",
                KernelCreationStage::Preparing => "kernel_preparing",
                KernelCreationStage::Pulling => "kernel_pulling",
                KernelCreationStage::Creating => "kernel_creating",
                KernelCreationStage::Started => "kernel_started",
                KernelCreationStage::Cancelled => "kernel_cancelled",
            },
            KernelTerminating { .. } => "kernel_terminating",
            KernelTerminated { .. } => "kernel_terminated",
            SessionCreation { stage, .. } => match stage {
                SessionCreationStage::Enqueued => "session_enqueued",
                SessionCreationStage::Scheduled => "session_scheduled",
                SessionCreationStage::Preparing => "session_preparing",
                SessionCreationStage::Cancelled => "session_cancelled",
                SessionCreationStage::Started => "session_started",
            },
            SessionTerminated { .. } => "session_terminated",
            SessionSuccess { .. } => "session_success",
            SessionFailure { .. } => "session_failure",
            DoSyncKernelLogs { .. } => "do_sync_kernel_logs",
            DoSyncKernelStats { .. } => "do_sync_kernel_stats",
            Execution { stage, .. } => match stage {
                ExecutionStage::Started => "execution_started",
                ExecutionStage::Finished => "execution_finished",
                ExecutionStage::Timeout => "execution_timeout",
                ExecutionStage::Cancelled => "execution_cancelled",
            },
            BgtaskUpdated { .. } => "bgtask_updated",
            BgtaskEnded { end, .. } => match end {
                BgtaskEnd::Done => "bgtask_done",
                BgtaskEnd::Cancelled => "bgtask_cancelled",
                BgtaskEnd::Failed => "bgtask_failed",
            },
        }
    }

    /// The msgpack argument array, as 21.03's `msgpack.packb(event.serialize())` writes it.
    pub fn encode_args(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Reads an event from its stream fields.
    pub fn decode(name: &str, args: &[u8]) -> Result<Event, EventError> {
        codec::decode(name, args)
    }
}
