//! API version negotiation (21.03's `api_middleware`): a request may name one of the versions
//! this manager speaks in `X-BackendAI-Version` (or the older `X-Sorna-Version`); any other
//! is refused before authentication.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;

/// The versions 21.03 accepts, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &[
    "v4.20181215",
    "v4.20190115",
    "v4.20190315",
    "v4.20190615",
    "v5.20191215",
    "v6.20200815",
    "v6.20210815",
];

/// The version a request asked for: `(major, revision date)`; without a header, 21.03 assumed
/// `(5, "20191215")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u8, pub &'static str);

impl ApiVersion {
    pub const DEFAULT: ApiVersion = ApiVersion(5, "20191215");

    pub fn parse(header: &str) -> Option<ApiVersion> {
        let known = SUPPORTED_VERSIONS.iter().find(|v| **v == header)?;
        let (major, date) = known[1..].split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, date))
    }
}

pub async fn negotiate(mut request: Request, next: Next) -> Result<Response, ApiError> {
    let header = ["x-backendai-version", "x-sorna-version"]
        .iter()
        .filter_map(|name| request.headers().get(*name))
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .find(|v| !v.is_empty());
    let version = match header {
        None => ApiVersion::DEFAULT,
        Some(v) => ApiVersion::parse(v).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "generic-bad-request",
                "Bad request.",
                "Unsupported API version.".to_owned(),
            )
        })?,
    };
    request.extensions_mut().insert(version);
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_versions_parse() {
        assert_eq!(
            ApiVersion::parse("v6.20210815"),
            Some(ApiVersion(6, "20210815"))
        );
        assert_eq!(
            ApiVersion::parse("v4.20181215"),
            Some(ApiVersion(4, "20181215"))
        );
        assert_eq!(ApiVersion::parse("v6.20210816"), None);
        assert_eq!(ApiVersion::parse("v6.20210815 "), None);
        assert_eq!(ApiVersion::parse("v3.20170615"), None);
    }
}
