//! CORS as 21.03 configured it (aiohttp_cors, every origin, no credentials): preflights are
//! answered for whatever they ask, and responses to cross-origin requests name their origin
//! and expose every header that is not a simple one (the rate-limit headers, above all).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Headers browsers expose anyway, left out of `Access-Control-Expose-Headers`.
const SIMPLE_HEADERS: [header::HeaderName; 6] = [
    header::CACHE_CONTROL,
    header::CONTENT_LANGUAGE,
    header::CONTENT_TYPE,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::PRAGMA,
];

fn preflight(origin: HeaderValue, request_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if let Some(method) = request_headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, method.clone());
    }
    if let Some(asked) = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(value) = HeaderValue::from_str(&asked.to_uppercase()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
    }
    response
}

pub async fn cors(request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    if request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(origin, request.headers());
    }
    let mut response = next.run(request).await;
    let exposed: Vec<&str> = response
        .headers()
        .keys()
        .filter(|name| !SIMPLE_HEADERS.contains(name))
        .map(|name| name.as_str())
        .collect();
    let exposed = HeaderValue::from_str(&exposed.join(",")).ok();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if let Some(exposed) = exposed.filter(|v| !v.is_empty()) {
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, exposed);
    }
    response
}
