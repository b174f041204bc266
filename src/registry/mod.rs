//! What the manager does in answer to the cluster: agents joining, beating and leaving (and,
//! later, the session lifecycle).

pub mod agents;
