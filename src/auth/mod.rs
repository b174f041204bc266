//! Request authentication: 21.03's HMAC keypair signatures, bearer tokens, and the hook points
//! that plugins use to authenticate by other means.

pub mod hooks;
pub mod signature;
pub mod token;
