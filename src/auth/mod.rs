//! Request authentication: 21.03's HMAC keypair signatures (more of `auth` follows with the
//! authenticated API).

pub mod signature;
