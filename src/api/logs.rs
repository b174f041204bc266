//! `/logs/error`: error logs filed by clients, listed and cleared (21.03 `api/logs.py`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::access::{Caller, ReadAllowed};
use super::error::ApiError;
use super::params::{self, Checker, QueryParams};
use crate::services::error_logs::{self, NewLog, MAX_PAGE_SIZE};
use crate::AppState;

/// `POST /logs/error`.
async fn append(
    State(state): State<AppState>,
    _: ReadAllowed,
    Caller(caller): Caller,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    p.ignore("owner_access_key");
    let raw_severity = p.string("severity");
    let severity = error_logs::parse_severity(&raw_severity);
    if severity.is_none() && !raw_severity.is_empty() {
        p.reject("severity", "value is not one of critical, error, warning");
    }
    let source = p.string("source");
    let message = p.string("message");
    let context_lang = p.string("context_lang");
    // 21.03 took the environment as a string of JSON; an object is taken as it is.
    let context_env = match p.any("context_env") {
        Value::String(text) => serde_json::from_str(&text).unwrap_or_else(|_| {
            p.reject("context_env", "value is not a valid JSON string");
            Value::Null
        }),
        other => other,
    };
    let request_url = p.optional_string("request_url");
    let request_status = p.optional_int("request_status");
    let traceback = p.optional_text("traceback");
    p.finish(false)?;
    let log = NewLog {
        severity: severity.expect("checked above"),
        source,
        message,
        context_lang,
        context_env,
        request_url,
        request_status,
        traceback,
    };
    error_logs::append(&state.db, &caller, log).await?;
    Ok(Json(json!({"success": true})))
}

/// `GET /logs/error`: `page_size` (at most 100), `page_no` and `mark_read`.
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut p = Checker::new(params::read(&query, &body)?);
    p.ignore("owner_access_key");
    let mark_read = p.to_bool("mark_read", false);
    let page_size = p.to_int("page_size", 20, 0..=MAX_PAGE_SIZE);
    let page_no = p.to_int("page_no", 1, 1..=i64::from(i32::MAX));
    p.finish(false)?;
    let (logs, count) = error_logs::list(&state.db, &caller, page_size, page_no, mark_read).await?;
    let shows_cleared = error_logs::shows_cleared(&caller);
    let logs: Vec<Value> = logs
        .into_iter()
        .map(|l| {
            let mut item = json!({
                "log_id": l.id.to_string(),
                "created_at": l.created_at.map(|t| t.timestamp_micros() as f64 / 1e6),
                "severity": l.severity.map(|s| sea_orm::ActiveEnum::to_value(&s)),
                "source": l.source,
                "user": l.user.map(|u| u.to_string()),
                "is_read": l.is_read.unwrap_or(false),
                "message": l.message,
                "context_lang": l.context_lang,
                "context_env": l.context_env,
                "request_url": l.request_url,
                "request_status": l.request_status,
                "traceback": l.traceback,
            });
            if shows_cleared {
                item["is_cleared"] = Value::Bool(l.is_cleared.unwrap_or(false));
            }
            item
        })
        .collect();
    Ok(Json(json!({"logs": logs, "count": count})))
}

/// `POST /logs/error/{log_id}/clear`.
async fn clear(
    State(state): State<AppState>,
    Caller(caller): Caller,
    _: ReadAllowed,
    Path(log_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = uuid::Uuid::parse_str(&log_id)
        .map_err(|_| ApiError::invalid_api_params(format!("log id {log_id:?} is not a UUID")))?;
    error_logs::clear(&state.db, &caller, id).await?;
    Ok(Json(json!({"success": true})))
}

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/logs/error", get(list).post(append))
        .route("/logs/error/{log_id}/clear", post(clear))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
