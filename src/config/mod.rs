//! Configuration: `manager.toml` (per host) and the shared configuration in etcd.

pub mod etcd;
pub mod local;
pub mod reader;
pub mod shared;

pub use local::{LoadError, LocalConfig};
pub use reader::{ConfigErrors, ConfigIssue, HostPort};
pub use shared::SharedConfig;
