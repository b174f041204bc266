//! `/resource/watcher*`: superadmins reach an agent's watcher through the manager (21.03
//! `api/resource.py`). The other `/resource` routes come with the REST layer.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::access::{ReadAllowed, SuperadminCaller};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::auth::Identity;
use crate::services::watcher::{self, WatcherReply, WatcherRequest};
use crate::AppState;

async fn relay(
    state: AppState,
    identity: Identity,
    query: HashMap<String, String>,
    body: Bytes,
    request: WatcherRequest,
) -> Result<Response, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let agent_id = p.string_of(&["agent_id", "agent"]);
    p.finish(false)?;
    let token = state.shared.borrow().watcher_token.clone();
    let reply = watcher::call(&state.etcd, token.as_deref(), &identity, &agent_id, request).await?;
    Ok(match reply {
        WatcherReply::Json(data) => Json(data).into_response(),
        WatcherReply::Text { status, text } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response(),
    })
}

/// `GET /resource/watcher`: the agent's and the watcher's status.
async fn status(
    State(state): State<AppState>,
    _: ReadAllowed,
    SuperadminCaller(identity): SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    relay(state, identity, query, body, WatcherRequest::Status).await
}

/// `POST /resource/watcher/agent/{start,stop,restart}`.
async fn control(
    State(state): State<AppState>,
    _: ReadAllowed,
    SuperadminCaller(identity): SuperadminCaller,
    Path(action): Path<String>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = match action.as_str() {
        "start" => WatcherRequest::Start,
        "stop" => WatcherRequest::Stop,
        "restart" => WatcherRequest::Restart,
        _ => return Ok(StatusCode::NOT_FOUND.into_response()),
    };
    relay(state, identity, query, body, request).await
}

/// The watcher routes, all authenticated.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/resource/watcher", get(status))
        .route("/resource/watcher/agent/{action}", post(control))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
