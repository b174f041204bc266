//! The mini-languages of 21.03's paginated list queries (`filter: String`, `order: String`),
//! parsed to small trees and compiled to sea-query expressions with every value bound.
//!
//! - [`parse_filter`] reads filters such as `status == "RUNNING" & (name like "py%" | n > 1)`,
//!   grouped exactly as 21.03 groups them (see [`filter`]);
//! - [`parse_order`] reads orders such as `-created_at,+name`;
//! - [`compile_filter`] and [`compile_order`] turn them into sea-query expressions for the
//!   [`FieldSpec`] a query declares.

pub mod compile;
pub mod filter;
mod order;

pub use compile::{compile_filter, compile_order, CompileError, Field, FieldKind, FieldSpec};
pub use filter::{
    parse_filter, CombineOp, CompareOp, Expr, Value, MAX_CONDITIONS, MAX_DEPTH, MAX_FILTER_LEN,
};
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
