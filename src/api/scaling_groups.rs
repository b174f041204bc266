//! `GET /scaling-groups`: the scaling groups a caller may start sessions in with a group
//! (21.03 `api/scaling_group.py`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::access::{Caller, ReadAllowed};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::groups::GroupRef;
use crate::services::scaling_groups;
use crate::AppState;

async fn list_available(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let group = p.string_of(&["group", "group_id", "group_name"]);
    p.finish(false)?;
    let names = scaling_groups::available(&state.db, &caller, &GroupRef::parse(&group)).await?;
    let items: Vec<Value> = names
        .into_iter()
        .map(|name| json!({ "name": name }))
        .collect();
    Ok(Json(json!({ "scaling_groups": items })))
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/scaling-groups", get(list_available))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
