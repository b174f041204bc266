//! Domain operations, one module per area. Adapters (HTTP, GraphQL, CLI) call these; rules,
//! permissions and SQL live here and nowhere else.

pub mod accounts;
pub mod agent_registry;
pub mod agents;
pub mod auth;
pub mod cluster_config;
pub mod domains;
pub mod dotfiles;
pub mod error;
pub mod error_logs;
pub mod fixtures;
pub mod groups;
pub mod image_import;
pub mod images;
pub mod keypair_cache;
pub mod keypairs;
pub mod list_fields;
pub mod listing;
pub mod live_stats;
pub mod manager;
pub mod mutation;
pub mod rate_limit;
pub mod resource_presets;
pub mod resource_usage;
pub mod rows;
pub mod scaling_groups;
pub mod scope;
pub mod sessions;
pub mod shared_docs;
pub mod templates;
pub mod usage_stats;
pub mod users;
pub mod vfolders;
pub mod watcher;

pub use error::{Error, Named, Result};
