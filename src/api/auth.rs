//! `/auth`: 21.03's keypair-authenticated routes, and the middleware that authenticates
//! requests to every route that requires it.

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::auth::signature::{media_type, parse_authorization, parse_date, SignedParts};
use crate::services::auth::{authenticate_signed, Identity};
use crate::services::rate_limit;
use crate::AppState;

/// API versions before this one signed the body too.
const FIRST_VERSION_WITHOUT_BODY_HASH: &str = "v4.20181215";
/// Bodies of legacy signed requests are read up to this size.
const MAX_SIGNED_BODY: usize = 16 << 20;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticates the request (21.03's `auth_middleware` for `auth_required` handlers) and
/// makes the caller's [`Identity`] available to the handler.
pub async fn require_auth(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    let raw_date = header_str(headers, "date")
        .or_else(|| header_str(headers, "x-backendai-date"))
        .or_else(|| header_str(headers, "x-sorna-date"))
        .map(str::to_owned);
    let date = raw_date.as_deref().and_then(parse_date);
    let (Some(raw_date), Some(date)) = (raw_date, date) else {
        return Err(ApiError::invalid_auth_params("Date/time sync error"));
    };
    let Some(authorization) = header_str(headers, "authorization") else {
        return Err(ApiError::auth_failed("Unauthorized access"));
    };
    let auth = parse_authorization(authorization).map_err(crate::services::Error::from)?;
    let (version, legacy_version_header) = match header_str(headers, "x-backendai-version") {
        Some(v) => (v.to_owned(), false),
        None => match header_str(headers, "x-sorna-version") {
            Some(v) => (v.to_owned(), true),
            None => {
                return Err(ApiError::invalid_auth_params(
                    "API version missing in request headers",
                ))
            }
        },
    };
    let host = header_str(headers, "host").unwrap_or_default().to_owned();
    let content_type = media_type(header_str(headers, "content-type"));
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());

    // Only requests of versions before v4.20181215 sign their body; read it just for them.
    let (request, body) = if version.as_str() < FIRST_VERSION_WITHOUT_BODY_HASH {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY)
            .await
            .map_err(|_| {
                ApiError::invalid_api_params("the request body is too large or unreadable")
            })?;
        (
            Request::from_parts(parts, Body::from(bytes.clone())),
            bytes.to_vec(),
        )
    } else {
        (request, Vec::new())
    };
    let parts = SignedParts {
        method: &method,
        path_and_query: &path_and_query,
        raw_date: &raw_date,
        date,
        host: &host,
        content_type: &content_type,
        api_version: &version,
        legacy_version_header,
        body: &body,
    };
    let identity = authenticate_signed(&state.db, &auth, &parts, chrono::Utc::now()).await?;
    // The counter and the limit live in different Redis databases: ask both at once.
    let (counted, standing) = tokio::join!(
        rate_limit::count_query(&state.redis_stat, &identity.access_key),
        rate_limit::consume(
            &state.redis_rate_limit,
            &identity.access_key,
            identity.rate_limit,
        ),
    );
    counted?;
    let standing = standing?;
    let mut request = request;
    request.extensions_mut().insert(identity);
    let mut response = next.run(request).await;
    set_rate_limit_headers(response.headers_mut(), standing.limit, standing.remaining);
    Ok(response)
}

fn set_rate_limit_headers(headers: &mut HeaderMap, limit: i64, remaining: i64) {
    for (name, value) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-window", rate_limit::WINDOW_SECS.to_string()),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(&value).expect("digits are a valid header value"),
        );
    }
}

/// Responses that went through no keypair's limit advertise 21.03's anonymous allowance.
pub async fn anonymous_rate_limit_headers(mut response: Response) -> Response {
    if !response.headers().contains_key("x-ratelimit-limit") {
        let anonymous = rate_limit::ANONYMOUS_LIMIT;
        set_rate_limit_headers(response.headers_mut(), anonymous, anonymous);
    }
    response
}

#[derive(Deserialize)]
struct EchoParams {
    echo: Option<Value>,
}

/// `GET|POST /auth[/test]`: confirms the credentials and echoes `echo` (21.03's `test`).
async fn test(
    Extension(identity): Extension<Identity>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    // Parameters come from the JSON body when there is one, else from the query string.
    let echo = if !body.is_empty() {
        let params: EchoParams = serde_json::from_slice(&body)
            .map_err(|_| ApiError::invalid_api_params("Malformed body"))?;
        params.echo
    } else {
        query.get("echo").cloned().map(Value::String)
    };
    match echo {
        Some(Value::String(echo)) => {
            tracing::info!("AUTH.TEST(ak:{})", identity.access_key);
            Ok(Json(json!({"authorized": "yes", "echo": echo})))
        }
        Some(_) => Err(ApiError::invalid_api_params(
            "Input validation error: echo: value is not a string",
        )),
        None => Err(ApiError::invalid_api_params(
            "Input validation error: echo: is required",
        )),
    }
}

/// The `/auth` routes.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/auth", get(test).post(test))
        .route("/auth/test", get(test).post(test))
        .route_layer(axum::middleware::from_fn_with_state(state, require_auth))
}
