//! The mini-languages of 21.03's paginated list queries.
//!
//! This crate starts with the order language (`order: String` arguments): a comma-separated list
//! of field names, each optionally prefixed with `+` (ascending, the default) or `-`
//! (descending), with whitespace ignored and an empty string meaning "no ordering", exactly as
//! 21.03's `models/minilang/ordering.py` accepts. The filter language and the compilation to
//! sea-query follow in the same crate.

mod order;

pub use order::{parse_order, Direction, OrderItem, MAX_ORDER_LEN};

/// A syntax error with the 1-based column where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{language} syntax error at column {column}: found {found}, expected {expected}")]
pub struct ParseError {
    pub language: &'static str,
    pub column: usize,
    pub found: String,
    pub expected: &'static str,
}
