//! `/admin`: the GraphQL API. `POST /admin/gql` answers in the standard `{data, errors}` shape;
//! `POST /admin/graphql` in 21.03's legacy shape (the bare `data`, or an HTTP error).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{json, Value};

use super::error::ApiError;
use super::params::{self, Checker};
use crate::gql;
use crate::services::auth::Identity;
use crate::AppState;

/// What a GraphQL request body may hold (21.03's `check_api_params`).
struct GqlBody {
    query: String,
    variables: Option<Value>,
    operation_name: Option<String>,
}

fn parse_body(query: &HashMap<String, String>, body: &[u8]) -> Result<GqlBody, ApiError> {
    let mut p = Checker::new(params::read(query, body)?);
    let gql = GqlBody {
        query: p.string("query"),
        variables: p.optional_object("variables"),
        operation_name: p
            .optional_string("operation_name")
            .or_else(|| p.optional_string("operationName")),
    };
    p.finish(false)?;
    Ok(gql)
}

async fn run(
    state: AppState,
    identity: Identity,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<async_graphql::Response, ApiError> {
    let body = parse_body(query, body)?;
    let request = gql::variables::legacy_request(body.query, body.variables, body.operation_name);
    Ok(gql::execute(state, identity, request).await)
}

/// `POST /admin/gql`: always 200 with `{data, errors}` for anything the engine ran.
async fn gql_standard(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let response = run(state, identity, &query, &body).await?;
    Ok(json_answer(gql::response::standard(&response)))
}

/// `POST /admin/graphql`: the bare `data`, or 400 `graphql-error` with the errors.
async fn gql_legacy(
    State(state): State<AppState>,
    Extension(identity): Extension<Identity>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let response = run(state, identity, &query, &body).await?;
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
    Ok(json_answer(gql::response::value(&response.data)))
}

/// A JSON body written by `gql::response` (the engine's own serialization would not do: see
/// there).
fn json_answer(body: Vec<u8>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
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
