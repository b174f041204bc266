//! The HTTP API: axum routers, one module per REST prefix, as thin adapters over `services`.

pub mod access;
pub mod admin;
pub mod auth;
pub mod config;
pub mod cors;
pub mod dotfiles;
pub mod error;
pub mod image;
pub mod logs;
pub mod manager;
pub mod params;
pub mod resource;
pub mod scaling_groups;
pub mod templates;
pub mod version;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{map_response, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;
use error::ApiError;

/// The API version this manager speaks (21.03's `LATEST_API_VERSION`).
pub const API_VERSION: &str = "v6.20210815";
/// The manager release whose behaviour this one reproduces; clients compare against it.
pub const COMPAT_MANAGER_VERSION: &str = "21.03.32";

/// `GET /`: the API version and the manager version, without authentication.
async fn hello() -> Json<Value> {
    Json(json!({"version": API_VERSION, "manager": COMPAT_MANAGER_VERSION}))
}

/// 21.03 marks every response with `Server: BackendAI`.
async fn server_header(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("BackendAI"));
    res
}

/// Runs each request to completion in a task of its own, even when the client goes away
/// midway. Dropping a request's future abandoned its database statements mid-flight, and the
/// connections they held came back to the pool late: under load, other requests then waited
/// seconds for a connection.
async fn run_to_completion(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!("a request handler failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Routing failures as 21.03 meant to answer them: problem+json naming the unknown path, or
/// the method with the allowed ones (21.03's own 405 answer failed with a plain-text 500).
/// Responses of handlers carry a content type and pass unchanged.
async fn routing_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().to_string();
    let response = next.run(request).await;
    if response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    match response.status() {
        StatusCode::NOT_FOUND => ApiError::new(
            StatusCode::NOT_FOUND,
            "generic-not-found",
            "Unknown URL path.",
            format!("Unknown URL path: {path}"),
        )
        .into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = response.headers().get(header::ALLOW).cloned();
            let allowed: Vec<Value> = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(',').map(|m| Value::from(m.trim())).collect())
                .unwrap_or_default();
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "HTTP Method Not Allowed.",
                method,
            );
            error.data = Some(Box::new(Value::Array(allowed)));
            let mut answer = error.into_response();
            if let Some(allow) = allow {
                answer.headers_mut().insert(header::ALLOW, allow);
            }
            answer
        }
        _ => response,
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(hello))
        .merge(auth::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(resource::router(state.clone()))
        .merge(config::router(state.clone()))
        .merge(manager::router(state.clone()))
        .merge(scaling_groups::router(state.clone()))
        .merge(dotfiles::router(state.clone()))
        .merge(logs::router(state.clone()))
        .merge(templates::router(state.clone()))
        .merge(image::router(state.clone()))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(version::negotiate))
        .layer(map_response(auth::anonymous_rate_limit_headers))
        .layer(axum::middleware::from_fn(routing_errors))
        .layer(map_response(server_header))
        .layer(axum::middleware::from_fn(cors::cors))
        .with_state(state)
}
