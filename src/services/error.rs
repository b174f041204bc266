//! The error of the domain layer. Adapters map it once: `api/` to 21.03's problem+json, `gql/`
//! to GraphQL errors, the CLI to a message and a non-zero exit.

use sea_orm::DbErr;

use crate::db::AsDbErr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is wrong; the message names what and why.
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request carries no usable credentials (21.03's `invalid-auth-params`, 400).
    #[error("{0}")]
    InvalidAuthParameters(String),
    /// The credentials do not match (21.03's `auth-failed`, 401).
    #[error("{0}")]
    AuthFailed(String),
    /// The caller's request rate is over its keypair's limit (429).
    #[error("the API query rate limit was reached")]
    RateLimited,
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("{0}")]
    Internal(String),
}

impl AsDbErr for Error {
    fn as_db_err(&self) -> Option<&DbErr> {
        match self {
            Error::Database(e) => Some(e),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
