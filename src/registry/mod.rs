//! What the manager does in answer to the cluster: agents joining, beating and leaving, the
//! cleanup of old error logs (and, later, the session lifecycle).

pub mod agents;
pub mod log_cleanup;
