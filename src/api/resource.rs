//! `/resource/*` (21.03 `api/resource.py`): resource presets and what a keypair may still
//! allocate, the recount of occupied resources, usage reports, and superadmins' access to
//! agents' watchers.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use serde_json::{json, Map, Value};

use super::access::{Caller, ReadAllowed, SuperadminCaller};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::auth::Identity;
use crate::services::resource_usage::{self, KnownSlots, PresetAvailability, Standing};
use crate::services::usage_stats::{self, Period, StatsBin};
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

fn known_slots(state: &AppState) -> KnownSlots {
    state.shared.borrow().resource_slots.clone()
}

fn slots_json(slots: &entities::ResourceSlot) -> Value {
    serde_json::to_value(slots).unwrap_or_default()
}

/// `GET /resource/presets`: 21.03 showed an unset or zero shared memory as null here.
async fn presets(State(state): State<AppState>, _: Caller) -> Result<Json<Value>, ApiError> {
    let presets = resource_usage::presets(&state.db, &known_slots(&state)).await?;
    let presets: Vec<Value> = presets
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "shared_memory": p.shared_memory.filter(|m| *m != 0).map(|m| m.to_string()),
                "resource_slots": slots_json(&p.resource_slots),
            })
        })
        .collect();
    Ok(Json(json!({ "presets": presets })))
}

fn preset_json(p: &PresetAvailability) -> Value {
    json!({
        "name": p.preset.name,
        "resource_slots": slots_json(&p.preset.resource_slots),
        "shared_memory": p.preset.shared_memory.map(|m| m.to_string()),
        "allocatable": p.allocatable,
    })
}

/// `POST /resource/check-presets`.
async fn check_presets(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let scaling_group = p.optional_string("scaling_group");
    let group = p
        .optional_string("group")
        .unwrap_or_else(|| "default".into());
    p.finish(false)?;
    let show_group = resource_usage::group_figures_visible(&state.etcd).await?;
    let check = resource_usage::check_presets(
        &state.db,
        &caller,
        known_slots(&state),
        &group,
        scaling_group.as_deref(),
        show_group,
    )
    .await?;
    let scaling_groups: Map<String, Value> = check
        .scaling_groups
        .iter()
        .map(|sg| {
            let figures =
                json!({"using": slots_json(&sg.using), "remaining": slots_json(&sg.remaining)});
            (sg.name.clone(), figures)
        })
        .collect();
    let hidden: Map<String, Value> = check
        .known
        .keys()
        .map(|k| (k.clone(), Value::from("NaN")))
        .collect();
    let group = |pick: fn(&Standing) -> &entities::ResourceSlot| match &check.group {
        Some(g) => slots_json(pick(g)),
        None => Value::Object(hidden.clone()),
    };
    Ok(Json(json!({
        "keypair_limits": slots_json(&check.keypair.limits),
        "keypair_using": slots_json(&check.keypair.using),
        "keypair_remaining": slots_json(&check.keypair.remaining),
        "scaling_group_remaining": slots_json(&check.scaling_group_remaining),
        "scaling_groups": scaling_groups,
        "presets": check.presets.iter().map(preset_json).collect::<Vec<_>>(),
        "group_limits": group(|g| &g.limits),
        "group_using": group(|g| &g.using),
        "group_remaining": group(|g| &g.remaining),
    })))
}

/// `POST /resource/recalculate-usage`.
async fn recalculate_usage(
    State(state): State<AppState>,
    _: ReadAllowed,
    _: SuperadminCaller,
) -> Result<Json<Value>, ApiError> {
    let recount = resource_usage::recalculate(&state.db).await?;
    tracing::info!(
        agents = recount.agents,
        keypairs = recount.keypairs,
        "recalculated the resource usage"
    );
    Ok(Json(json!({})))
}

/// The digits a 21.03 date pattern accepts: `month` takes the first six of a longer text
/// (its pattern had no end anchor), dates exactly eight.
fn digits(p: &mut Checker, key: &str, count: usize, exact: bool) -> String {
    let raw = p.string(key);
    let head: String = raw.chars().take(count).collect();
    let ok = head.len() == count
        && head.chars().all(|c| c.is_ascii_digit())
        && (!exact || raw.len() == count);
    if raw.is_empty() {
        return raw;
    }
    if !ok {
        let anchor = if exact { "$" } else { "" };
        p.reject(
            key,
            &format!("does not match pattern ^\\d{{{count}}}{anchor}"),
        );
    }
    head
}

fn group_uuids(ids: &[String]) -> Result<Vec<uuid::Uuid>, ApiError> {
    ids.iter()
        .map(|id| {
            uuid::Uuid::parse_str(id)
                .map_err(|_| ApiError::invalid_api_params(format!("group id {id:?} is not a UUID")))
        })
        .collect()
}

async fn usage_report(
    state: &AppState,
    period: Period,
    groups: &[uuid::Uuid],
) -> Result<Json<Value>, ApiError> {
    let tz = state.shared.borrow().timezone.clone();
    let usage = usage_stats::containers(&state.db, &tz, period, groups).await?;
    Ok(Json(serde_json::to_value(usage).unwrap_or_default()))
}

/// `GET /resource/usage/month`: `group_ids` (required; empty for all) and `month` (YYYYMM).
async fn usage_per_month(
    State(state): State<AppState>,
    _: ReadAllowed,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let group_ids = p.string_list("group_ids");
    let month = digits(&mut p, "month", 6, false);
    p.finish(false)?;
    let period = Period::month(&month)?;
    usage_report(&state, period, &group_uuids(&group_ids)?).await
}

/// `GET /resource/usage/period`: `group_id` (required, may be null), `start_date` and
/// `end_date` (YYYYMMDD, the end included).
async fn usage_per_period(
    State(state): State<AppState>,
    _: ReadAllowed,
    _: SuperadminCaller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    let group_id = p.required_nullable_string("group_id");
    let start = digits(&mut p, "start_date", 8, true);
    let end = digits(&mut p, "end_date", 8, true);
    p.finish(false)?;
    let period = Period::days(&start, &end)?;
    let groups: Vec<String> = group_id.into_iter().collect();
    usage_report(&state, period, &group_uuids(&groups)?).await
}

fn bins_json(bins: Vec<StatsBin>) -> Json<Value> {
    let figure = |value: Value, unit: &str| json!({"value": value, "unit_hint": unit});
    Json(Value::Array(
        bins.into_iter()
            .map(|b| {
                json!({
                    "date": b.date,
                    "num_sessions": figure(b.num_sessions.into(), "count"),
                    "cpu_allocated": figure(b.cpu_allocated.into(), "count"),
                    "mem_allocated": figure(b.mem_allocated.into(), "bytes"),
                    "gpu_allocated": figure(b.gpu_allocated.into(), "count"),
                    "io_read_bytes": figure(b.io_read_bytes.into(), "bytes"),
                    "io_write_bytes": figure(b.io_write_bytes.into(), "bytes"),
                    // 21.03's key has a trailing space; its clients read it so.
                    "disk_used": {"value ": b.disk_used, "unit_hint": "bytes"},
                })
            })
            .collect(),
    ))
}

/// `GET /resource/stats/user/month`: the caller's own kernels.
async fn user_month_stats(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let bins = usage_stats::monthly_bins(&state.db, Some(caller.user_uuid)).await?;
    Ok(bins_json(bins))
}

/// `GET /resource/stats/admin/month`: everyone's kernels.
async fn admin_month_stats(
    State(state): State<AppState>,
    _: ReadAllowed,
    _: SuperadminCaller,
) -> Result<Json<Value>, ApiError> {
    Ok(bins_json(usage_stats::monthly_bins(&state.db, None).await?))
}

/// The `/resource` routes, all authenticated.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/resource/presets", get(presets))
        .route("/resource/check-presets", post(check_presets))
        .route("/resource/recalculate-usage", post(recalculate_usage))
        .route("/resource/usage/month", get(usage_per_month))
        .route("/resource/usage/period", get(usage_per_period))
        .route("/resource/stats/user/month", get(user_month_stats))
        .route("/resource/stats/admin/month", get(admin_month_stats))
        .route("/resource/watcher", get(status))
        .route("/resource/watcher/agent/{action}", post(control))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
