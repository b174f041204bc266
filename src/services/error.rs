//! The error of the domain layer, and the one place that says how 21.03 presents each kind:
//! its HTTP status, problem type and title. Adapters use [`Error::problem`]: `api/` renders it
//! as problem+json, `gql/` as an error message (`"{title} ({msg})"`, as graphene printed it).

use sea_orm::DbErr;

use crate::db::AsDbErr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is wrong; the message names what and why.
    #[error("{0}")]
    InvalidInput(String),
    /// A named object does not exist (or is outside the caller's scope).
    #[error("{0} not found")]
    NotFound(String),
    /// 21.03's `GenericNotFound` ("Unknown URL path."), which some queries raise.
    #[error("{0}")]
    GenericNotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 21.03's `GenericForbidden`: the caller's role may not do this.
    #[error("forbidden operation")]
    Forbidden(Option<String>),
    /// 21.03's `InsufficientPrivilege`: outside the caller's domain or groups.
    #[error("insufficient privilege")]
    InsufficientPrivilege,
    /// The request carries no usable credentials (21.03's `invalid-auth-params`, 400).
    #[error("{0}")]
    InvalidAuthParameters(String),
    /// The credentials do not match (21.03's `auth-failed`, 401).
    #[error("{0}")]
    AuthFailed(String),
    /// A hook plugin refused the request (21.03's `RejectedByHook`).
    #[error("rejected by the hook plugin {plugin}: {reason}")]
    RejectedByHook { plugin: String, reason: String },
    /// The caller's request rate is over its keypair's limit (429).
    #[error("the API query rate limit was reached")]
    RateLimited,
    /// A dependency outside the database (agent RPC, storage proxy) cannot serve the request.
    #[error("{0}")]
    Unavailable(String),
    /// One of 21.03's errors that name their condition in the title (see [`Named`]), with an
    /// optional detail.
    #[error("{}", .0.parts().2)]
    Named(Named, Option<String>),
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("{0}")]
    Internal(String),
}

/// 21.03's exception classes that carry no more than a title (`api/exceptions.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    ServerFrozen,
    InstanceNotFound,
    DomainNotFound,
    GroupNotFound,
    TaskTemplateNotFound,
    DotfileNotFound,
    DotfileAlreadyExists,
    DotfileCreationFailed,
    GenericBadRequest,
}

impl Named {
    /// HTTP status, problem type (last segment) and title, as 21.03 sends them.
    fn parts(self) -> (u16, &'static str, &'static str) {
        match self {
            Named::ServerFrozen => (
                503,
                "server-frozen",
                "The server is frozen due to maintenance. Please try again later.",
            ),
            Named::InstanceNotFound => (404, "instance-not-found", "No such instance."),
            Named::DomainNotFound => (404, "domain-not-found", "No such domain."),
            Named::GroupNotFound => (404, "group-not-found", "No such user group."),
            Named::TaskTemplateNotFound => {
                (404, "task-template-not-found", "No such task template.")
            }
            // 21.03 gave the dotfile errors the generic types.
            Named::DotfileNotFound => (404, "generic-not-found", "Requested Dotfile not found."),
            Named::DotfileAlreadyExists => (400, "generic-bad-request", "Dotfile already exists."),
            Named::DotfileCreationFailed => {
                (400, "generic-bad-request", "Dotfile creation has failed.")
            }
            Named::GenericBadRequest => (400, "generic-bad-request", "Bad request."),
        }
    }
}

/// How 21.03 presents an error: HTTP status, the last segment of the problem type
/// (`https://api.backend.ai/probs/{kind}`), the title and the optional detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub title: &'static str,
    pub msg: Option<String>,
    /// Structured details (21.03's `extra_data`).
    pub data: Option<serde_json::Value>,
}

impl Problem {
    /// The text graphene gave a `BackendError`: the title, with the detail in parentheses.
    pub fn message(&self) -> String {
        match &self.msg {
            Some(msg) => format!("{} ({msg})", self.title),
            None => self.title.to_owned(),
        }
    }
}

impl Error {
    /// The role is not one 21.03 knows how to scope (monitors, in most queries).
    pub fn unknown_role() -> Self {
        Error::InvalidInput("Unknown client role".into())
    }

    pub fn superadmin_required() -> Self {
        Error::Forbidden(Some("superadmin privilege required".into()))
    }

    pub fn problem(&self) -> Problem {
        let p = |status, kind, title, msg: Option<String>| Problem {
            status,
            kind,
            title,
            msg,
            data: None,
        };
        match self {
            Error::InvalidInput(msg) => p(
                400,
                "invalid-api-params",
                "Missing or invalid API parameters.",
                Some(msg.clone()),
            ),
            Error::InvalidAuthParameters(msg) => p(
                400,
                "invalid-auth-params",
                "Missing or invalid authorization parameters.",
                Some(msg.clone()),
            ),
            Error::AuthFailed(msg) => p(
                401,
                "auth-failed",
                "Credential/signature mismatch.",
                Some(msg.clone()),
            ),
            Error::NotFound(what) => p(
                404,
                "object-not-found",
                "No such object.",
                Some(format!("{what} not found")),
            ),
            Error::GenericNotFound(msg) => p(
                404,
                "generic-not-found",
                "Unknown URL path.",
                Some(msg.clone()),
            ),
            Error::Forbidden(msg) => p(
                403,
                "generic-forbidden",
                "Forbidden operation.",
                msg.clone(),
            ),
            Error::InsufficientPrivilege => p(
                403,
                "insufficient-privilege",
                "Insufficient privilege.",
                None,
            ),
            Error::RejectedByHook { plugin, reason } => Problem {
                data: Some(serde_json::json!({ "plugins": plugin })),
                ..p(
                    400,
                    "rejected-by-hook",
                    "Operation rejected by a hook plugin.",
                    Some(reason.clone()),
                )
            },
            Error::RateLimited => p(
                429,
                "rate-limit-exceeded",
                "You have reached your API query rate limit.",
                None,
            ),
            Error::Conflict(msg) => p(
                400,
                "generic-bad-request",
                "Bad request.",
                Some(msg.clone()),
            ),
            Error::Unavailable(msg) => p(
                503,
                "service-unavailable",
                "Serivce unavailable.",
                Some(msg.clone()),
            ),
            Error::Named(named, msg) => {
                let (status, kind, title) = named.parts();
                p(status, kind, title, msg.clone())
            }
            Error::Database(_) | Error::Internal(_) => {
                // The cause stays in the log; clients get no internals.
                tracing::error!(error = %self, "request failed");
                p(500, "internal-server-error", "Internal server error.", None)
            }
        }
    }
}

impl From<crate::config::etcd::EtcdError> for Error {
    fn from(e: crate::config::etcd::EtcdError) -> Self {
        Error::Internal(e.to_string())
    }
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
