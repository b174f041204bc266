//! The HTTP API: axum routers, one module per REST prefix, as thin adapters over `services`.

pub mod admin;
pub mod auth;
pub mod error;
pub mod params;
pub mod resource;
pub mod version;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{map_response, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::AppState;

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

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(hello))
        .merge(auth::router(state.clone()))
        .merge(admin::router(state.clone()))
        .merge(resource::router(state.clone()))
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(version::negotiate))
        .layer(map_response(auth::anonymous_rate_limit_headers))
        .layer(map_response(server_header))
        .with_state(state)
}
