//! `/admin`: the GraphQL API. `POST /admin/gql` answers in the standard `{data, errors}` shape;
//! `POST /admin/graphql` in 21.03's legacy shape (the bare `data`, or an HTTP error).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::error::ApiError;
use crate::gql;
use crate::services::auth::Identity;
use crate::AppState;

/// What a GraphQL request body may hold (21.03's `check_api_params`).
struct GqlBody {
    query: String,
    variables: Option<Value>,
    operation_name: Option<String>,
}

fn parse_body(body: &[u8]) -> Result<GqlBody, ApiError> {
    let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
        return Err(ApiError::invalid_api_params("Malformed body"));
    };
    let invalid =
        |why: String| ApiError::invalid_api_params(format!("Input validation error: {why}"));
    let query = match fields.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err(invalid("query: value is not a string".into())),
        None => return Err(invalid("query: is required".into())),
    };
    let variables = match fields.remove("variables") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v),
        Some(_) => return Err(invalid("variables: value is not an object".into())),
    };
    let mut operation_name = None;
    for key in ["operation_name", "operationName"] {
        match fields.remove(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(name)) => operation_name = Some(name),
            Some(_) => return Err(invalid(format!("{key}: value is not a string"))),
        }
    }
    if let Some(extra) = fields.keys().next() {
        return Err(invalid(format!("{extra}: is not allowed")));
    }
    Ok(GqlBody {
        query,
        variables,
        operation_name,
    })
}

async fn run(
    state: AppState,
    identity: Identity,
    body: &[u8],
) -> Result<async_graphql::Response, ApiError> {
    let body = parse_body(body)?;
    let request = gql::variables::legacy_request(body.query, body.variables, body.operation_name);
    Ok(gql::execute(state, identity, request).await)
}

/// `POST /admin/gql`: always 200 with `{data, errors}` for anything the engine ran.
async fn gql_standard(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let response = run(state, identity, &body).await?;
    Ok(Json(response).into_response())
}

/// `POST /admin/graphql`: the bare `data`, or 400 `graphql-error` with the errors.
async fn gql_legacy(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let response = run(state, identity, &body).await?;
    if !response.errors.is_empty() {
        let errors = serde_json::to_value(&response.errors).unwrap_or_else(|_| json!([]));
        let body = json!({
            "type": "https://api.backend.ai/probs/graphql-error",
            "title": "GraphQL-generated error.",
            "data": errors,
        });
        let mut res = (StatusCode::BAD_REQUEST, body.to_string()).into_response();
        res.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        return Ok(res);
    }
    let data = response
        .data
        .into_json()
        .unwrap_or(Value::Object(Map::new()));
    Ok(Json(data).into_response())
}

/// The `/admin` routes, all authenticated.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin/gql", post(gql_standard))
        .route("/admin/graphql", post(gql_legacy))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            super::auth::require_auth,
        ))
}
