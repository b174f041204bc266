//! Extractors that state what a route requires, as 21.03's decorators did: the manager's
//! status (`ReadAllowed`, `AllAllowed`) and the caller's standing (`Caller`, `AdminCaller`,
//! `SuperadminCaller`). A handler lists them first among its arguments; they run in that order.
//! The rules themselves live in `services`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::services::auth::Identity;
use crate::services::manager::Requirement;
use crate::services::scope::RouteAccess;
use crate::AppState;

fn identity(parts: &Parts, access: RouteAccess) -> Result<Identity, ApiError> {
    // Routes with these extractors sit behind `require_auth`, which stores the identity.
    let identity = parts
        .extensions
        .get::<Identity>()
        .cloned()
        .ok_or_else(|| ApiError::auth_failed("Unauthorized access"))?;
    access.check(&identity)?;
    Ok(identity)
}

/// Any authenticated caller.
pub struct Caller(pub Identity);
/// A caller with an admin keypair.
pub struct AdminCaller(pub Identity);
/// A superadmin.
pub struct SuperadminCaller(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        identity(parts, RouteAccess::User).map(Caller)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        identity(parts, RouteAccess::Admin).map(AdminCaller)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SuperadminCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        identity(parts, RouteAccess::Superadmin).map(SuperadminCaller)
    }
}

async fn require(state: &AppState, requirement: Requirement) -> Result<(), ApiError> {
    let status = state.manager_status.get(&state.etcd).await?;
    Ok(requirement.check(status)?)
}

/// The manager is running or frozen.
pub struct ReadAllowed;
/// The manager is running (not frozen).
pub struct AllAllowed;

impl FromRequestParts<AppState> for ReadAllowed {
    type Rejection = ApiError;
    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(state, Requirement::ReadAllowed)
            .await
            .map(|()| ReadAllowed)
    }
}

impl FromRequestParts<AppState> for AllAllowed {
    type Rejection = ApiError;
    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        require(state, Requirement::AllAllowed)
            .await
            .map(|()| AllAllowed)
    }
}
