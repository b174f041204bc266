//! `/manager/*`: the status all managers share (freeze for maintenance), the announcement, and
//! the scheduler's agent switches (21.03 `api/manager.py`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::access::SuperadminCaller;
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use super::version::ApiVersion;
use super::COMPAT_MANAGER_VERSION;
use crate::services::manager::{self, ManagerStatus};
use crate::AppState;

/// `GET /manager/status`: this manager and the shared status (no authentication).
async fn status(
    State(state): State<AppState>,
    Extension(version): Extension<ApiVersion>,
) -> Result<Json<Value>, ApiError> {
    let report = manager::report(&state).await?;
    let config = &state.local.manager;
    let status = report.status.as_str();
    Ok(Json(json!({
        "nodes": [{
            "id": config.id,
            "num_proc": config.num_proc,
            "service_addr": config.service_addr.to_string(),
            "heartbeat_timeout": config.heartbeat_timeout.as_secs_f64(),
            "ssl_enabled": config.ssl_enabled,
            "active_sessions": report.active_sessions,
            "status": status,
            "version": COMPAT_MANAGER_VERSION,
            "api_version": [version.0, version.1],
        }],
        "status": status,
        "active_sessions": report.active_sessions,
    })))
}

/// `PUT /manager/status`: freezes or unfreezes all managers.
async fn update_status(
    State(state): State<AppState>,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let raw = p.string("status");
    let force_kill = p.to_bool("force_kill", false);
    p.finish(false)?;
    let status = ManagerStatus::parse(&raw).ok_or_else(|| {
        ApiError::invalid_api_params(format!(
            "status: {raw:?} is not one of running, frozen, terminated, preparing"
        ))
    })?;
    manager::set_status(&state, status, force_kill).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn announcement(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let message = manager::announcement(&state.etcd).await?;
    Ok(Json(json!({
        "enabled": message.is_some(),
        "message": message.unwrap_or_default(),
    })))
}

async fn update_announcement(
    State(state): State<AppState>,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let enabled = p.to_bool("enabled", false);
    let message = p.optional_string("message");
    p.finish(false)?;
    manager::set_announcement(&state.etcd, enabled, message).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /manager/scheduler/operation`: `include-agents` / `exclude-agents` with agent ids.
async fn scheduler_operation(
    State(state): State<AppState>,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let op = p.choice("op", &["include-agents", "exclude-agents"]);
    let args = p.any("args");
    p.finish(false)?;
    let agent_ids: Vec<String> = match &args {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<_>>(),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::invalid_api_params(format!(
            "Input validation failed for args with {op}: a list of agent ids is expected"
        ))
    })?;
    manager::set_schedulable(&state, &agent_ids, op == "include-agents").await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router(state: AppState) -> Router<AppState> {
    let public = Router::new()
        .route("/manager/status", get(status))
        .route("/manager/announcement", get(announcement));
    let superadmin = Router::new()
        .route("/manager/status", axum::routing::put(update_status))
        .route("/manager/announcement", post(update_announcement))
        .route("/manager/scheduler/operation", post(scheduler_operation))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ));
    public.merge(superadmin)
}
