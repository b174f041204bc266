//! Domain operations, one module per area. Adapters (HTTP, GraphQL, CLI) call these; rules,
//! permissions and SQL live here and nowhere else.

pub mod auth;
pub mod error;
pub mod fixtures;
pub mod list_fields;
pub mod rate_limit;

pub use error::{Error, Result};
