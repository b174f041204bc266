//! `/config/*`: the known resource slots and folder types for everyone; registries and raw
//! etcd keys for superadmins (21.03 `api/etcd.py`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::access::SuperadminCaller;
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::cluster_config;
use crate::AppState;

async fn resource_slots(State(state): State<AppState>) -> Json<Value> {
    let shared = state.shared.borrow().clone();
    Json(Value::Object(cluster_config::resource_slots(&shared)))
}

async fn vfolder_types(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(
        cluster_config::vfolder_types(&state.etcd).await?
    )))
}

async fn docker_registries(State(state): State<AppState>, _: SuperadminCaller) -> Json<Value> {
    let shared = state.shared.borrow().clone();
    Json(Value::Object(cluster_config::docker_registries(&shared)))
}

/// `key` and `prefix` of a get or delete.
fn key_and_prefix(query: &QueryParams, body: &Bytes) -> Result<(String, bool), ApiError> {
    let mut p = Checker::new(params::read(&query.0, body)?);
    let key = p.string("key");
    let prefix = p.bool("prefix", false);
    p.finish(false)?;
    Ok((key, prefix))
}

async fn get_config(
    State(state): State<AppState>,
    _: SuperadminCaller,
    query: QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (key, prefix) = key_and_prefix(&query, &body)?;
    let result = cluster_config::get(&state.etcd, &key, prefix).await?;
    Ok(Json(json!({ "result": result })))
}

async fn set_config(
    State(state): State<AppState>,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let key = p.string("key");
    let value = p.any("value");
    p.finish(false)?;
    cluster_config::set(&state.etcd, &key, &value).await?;
    Ok(Json(json!({"result": "ok"})))
}

async fn delete_config(
    State(state): State<AppState>,
    _: SuperadminCaller,
    query: QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (key, prefix) = key_and_prefix(&query, &body)?;
    cluster_config::delete(&state.etcd, &key, prefix).await?;
    Ok(Json(json!({"result": "ok"})))
}

pub fn router(state: AppState) -> Router<AppState> {
    let public = Router::new()
        .route("/config/resource-slots", get(resource_slots))
        .route("/config/vfolder-types", get(vfolder_types));
    let superadmin = Router::new()
        .route("/config/docker-registries", get(docker_registries))
        .route("/config/get", post(get_config))
        .route("/config/set", post(set_config))
        .route("/config/delete", post(delete_config))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ));
    public.merge(superadmin)
}
