//! `/template/session` and `/template/cluster`: templates of sessions and clusters (21.03
//! `session_template.py`, `cluster_template.py`; the two differ only in the kind of template).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use entities::enums::TemplateType;
use serde_json::{json, Value};
use uuid::Uuid;

use super::access::{Caller, ReadAllowed};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::auth::Identity;
use crate::services::scope::acting_for;
use crate::services::templates;
use crate::services::usage_stats::python_datetime;
use crate::AppState;

/// The kind of template a path names (`session` or `cluster`); other names are not routes.
fn kind_of(name: &str) -> Result<TemplateType, ApiError> {
    match name {
        "session" => Ok(TemplateType::Task),
        "cluster" => Ok(TemplateType::Cluster),
        _ => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "generic-not-found",
            "Unknown URL path.",
            format!("Unknown URL path: /template/{name}"),
        )),
    }
}

fn template_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::invalid_api_params(format!("template id {raw:?} is not a UUID")))
}

fn checker(query: &HashMap<String, String>, body: &Bytes) -> Result<Checker, ApiError> {
    let mut p = Checker::new(params::read(query, body)?);
    p.ignore("owner_access_key");
    Ok(p)
}

/// Checks that the caller may act for the query string's `owner_access_key`, if any.
async fn owner_checked(
    state: &AppState,
    caller: &Identity,
    query: &HashMap<String, String>,
) -> Result<crate::services::scope::ActingFor, ApiError> {
    let owner = query.get("owner_access_key").map(String::as_str);
    Ok(acting_for(&state.db, caller, owner).await?)
}

async fn create(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let mut p = checker(&query, &body)?;
    let group = p.optional_string_of(&["group", "groupName", "group_name"]);
    let domain = p.optional_string_of(&["domain", "domainName", "domain_name"]);
    let payload = p.string("payload");
    p.finish(false)?;
    let owner = owner_checked(&state, &caller, &query).await?;
    let created = templates::create(
        &state.db,
        &owner,
        domain.as_deref().unwrap_or("default"),
        group.as_deref().unwrap_or("default"),
        kind,
        &payload,
    )
    .await?;
    Ok(Json(json!({
        "id": created.id.simple().to_string(),
        "user": created.user.simple().to_string(),
    })))
}

async fn list(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let mut p = checker(&query, &body)?;
    let all = p.to_bool("all", false);
    let group_id = p.optional_uuid_of(&["group_id", "groupId"]);
    p.finish(false)?;
    owner_checked(&state, &caller, &query).await?;
    let listed = templates::list(&state.db, &caller, kind, all, group_id).await?;
    let shown = |id: Option<Uuid>| id.map_or_else(|| "None".to_owned(), |u| u.to_string());
    let items: Vec<Value> = listed
        .into_iter()
        .map(|t| {
            json!({
                "name": t.name,
                "id": t.id.simple().to_string(),
                "created_at": python_datetime(t.created_at),
                "is_owner": t.is_owner,
                "user": shown(t.user),
                "group": shown(t.group),
                "user_email": t.user_email,
                "group_name": t.group_name,
                "type": if t.user.is_some() { "user" } else { "group" },
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn get_one(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    let kind = kind_of(&kind)?;
    let id = template_id(&id)?;
    let mut p = checker(&query, &body)?;
    let format = p.optional_string("format");
    p.finish(false)?;
    owner_checked(&state, &caller, &query).await?;
    let template = templates::get(&state.db, &caller, kind, id).await?;
    match format.as_deref().unwrap_or("yaml") {
        "yaml" => Ok((
            [(header::CONTENT_TYPE, "text/yaml; charset=utf-8")],
            templates::to_yaml(&template)?,
        )
            .into_response()),
        "json" => Ok(Json(template).into_response()),
        _ => Err(ApiError::invalid_api_params(
            "format should be \"yaml\" or \"json\"",
        )),
    }
}

async fn put(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let id = template_id(&id)?;
    let mut p = checker(&query, &body)?;
    let payload = p.string("payload");
    p.finish(false)?;
    owner_checked(&state, &caller, &query).await?;
    templates::put(&state.db, &caller, kind, id, &payload).await?;
    Ok(Json(json!({"success": true})))
}

async fn delete(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&kind)?;
    let id = template_id(&id)?;
    owner_checked(&state, &caller, &query).await?;
    templates::delete(&state.db, &caller, kind, id).await?;
    Ok(Json(json!({"success": true})))
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/template/{kind}", get(list).post(create))
        .route(
            "/template/{kind}/{template_id}",
            get(get_one).put(put).delete(delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
