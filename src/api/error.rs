//! The one mapping from domain errors to 21.03's RFC 7807 responses
//! (`application/problem+json` with `type`, `title` and an optional `msg`).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::services::Error;

/// An HTTP error in 21.03's shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The last segment of the problem type, e.g. `auth-failed`.
    pub kind: &'static str,
    pub title: &'static str,
    pub msg: Option<String>,
    /// Structured details; boxed to keep the error small on the happy path.
    pub data: Option<Box<serde_json::Value>>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        msg: impl Into<Option<String>>,
    ) -> Self {
        ApiError {
            status,
            kind,
            title,
            msg: msg.into(),
            data: None,
        }
    }

    pub fn invalid_api_params(msg: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-api-params",
            "Missing or invalid API parameters.",
            msg.into(),
        )
    }

    pub fn auth_failed(msg: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "auth-failed",
            "Credential/signature mismatch.",
            msg.into(),
        )
    }

    pub fn invalid_auth_params(msg: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-auth-params",
            "Missing or invalid authorization parameters.",
            msg.into(),
        )
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let problem = e.problem();
        ApiError {
            status: StatusCode::from_u16(problem.status)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            kind: problem.kind,
            title: problem.title,
            msg: problem.msg,
            data: problem.data.map(Box::new),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://api.backend.ai/probs/{}", self.kind),
            "title": self.title,
        });
        if let Some(msg) = self.msg {
            body["msg"] = msg.into();
        }
        if let Some(data) = self.data {
            body["data"] = *data;
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
