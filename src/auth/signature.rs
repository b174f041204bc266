//! 21.03's HMAC request signatures (`api/auth.py`), as the official clients compute them:
//!
//! ```text
//! Authorization: BackendAI signMethod=HMAC-SHA256, credential=<ACCESS_KEY>:<SIGNATURE>
//!
//! signed string = METHOD \n PATH?QUERY \n RAW-DATE \n host:HOST \n content-type:MIME-TYPE \n
//!                 x-backendai-version:VERSION \n HEX(HASH(body))
//! signing key   = HMAC(HMAC(secret key, date as YYYYMMDD), HOST)
//! signature     = HEX(HMAC(signing key, signed string))
//! ```
//!
//! The body is hashed only for API versions before `v4.20181215`; later ones sign the hash of an
//! empty body. The date is the request's own (`Date` or `X-BackendAI-Date`), which must be
//! within 15 minutes of the server's clock, and its calendar day is taken in its own offset.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Mac, SimpleHmac};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Why a request's credentials were refused, in 21.03's two categories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// 400 `invalid-auth-params`: the request does not carry usable credentials.
    #[error("{0}")]
    InvalidParameters(&'static str),
    /// 401 `auth-failed`: the credentials do not match.
    #[error("{0}")]
    Failed(&'static str),
}

/// The parts of an `Authorization: BackendAI …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    pub sign_method: String,
    pub access_key: String,
    pub signature: String,
}

/// Parses `BackendAI signMethod=…, credential=AK:SIG` (or the legacy `Sorna` scheme).
pub fn parse_authorization(value: &str) -> Result<AuthHeader, AuthError> {
    let (scheme, params) = value.split_once(' ').ok_or(AuthError::InvalidParameters(
        "Malformed authorization header",
    ))?;
    if scheme != "BackendAI" && scheme != "Sorna" {
        return Err(AuthError::InvalidParameters(
            "Invalid authorization type name",
        ));
    }
    let malformed = AuthError::InvalidParameters("Missing or malformed authorization parameters");
    let (mut sign_method, mut credential) = (None, None);
    for param in params.split(',') {
        let (key, val) = param.split_once('=').ok_or(malformed.clone())?;
        match key.trim() {
            "signMethod" => sign_method = Some(val.trim()),
            "credential" => credential = Some(val.trim()),
            _ => {}
        }
    }
    let (access_key, signature) = credential
        .and_then(|c| c.split_once(':'))
        .ok_or(malformed.clone())?;
    Ok(AuthHeader {
        sign_method: sign_method.ok_or(malformed)?.to_owned(),
        access_key: access_key.to_owned(),
        signature: signature.to_owned(),
    })
}

/// Reads a request date as 21.03's `dateutil` does for what clients send: ISO 8601 with or
/// without an offset (none means UTC), or an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_date(raw: &str) -> Option<DateTime<FixedOffset>> {
    let raw = raw.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Some(dt);
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(raw) {
        return Some(dt);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(raw, format) {
            return Some(dt);
        }
    }
    let naive = raw
        .strip_suffix(" GMT")
        .or_else(|| raw.strip_suffix(" UTC"))
        .unwrap_or(raw);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%a, %d %b %Y %H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(dt.and_utc().fixed_offset());
        }
    }
    None
}

/// Whether a request date is within 15 minutes of `now`, as 21.03 requires.
pub fn date_is_fresh(date: DateTime<FixedOffset>, now: DateTime<Utc>) -> bool {
    let skew = Duration::minutes(15);
    now - skew < date && date < now + skew
}

/// The media type of a `Content-Type` header without its parameters, lower-cased;
/// `application/octet-stream` when absent, as aiohttp reports it to 21.03.
pub fn media_type(header: Option<&str>) -> String {
    match header.map(|h| h.split(';').next().unwrap_or("").trim()) {
        Some(t) if !t.is_empty() => t.to_ascii_lowercase(),
        _ => "application/octet-stream".to_owned(),
    }
}

/// Everything of a request that its signature covers.
#[derive(Debug, Clone)]
pub struct SignedParts<'a> {
    pub method: &'a str,
    /// The raw path and query, as sent (not decoded).
    pub path_and_query: &'a str,
    /// The date header's value, as sent.
    pub raw_date: &'a str,
    pub date: DateTime<FixedOffset>,
    pub host: &'a str,
    /// See [`media_type`].
    pub content_type: &'a str,
    pub api_version: &'a str,
    /// The version came in the legacy `X-Sorna-Version` header.
    pub legacy_version_header: bool,
    /// The body; signed only for API versions before `v4.20181215`.
    pub body: &'a [u8],
}

impl SignedParts<'_> {
    fn signed_string(&self, body_hash: &str) -> String {
        format!(
            "{}\n{}\n{}\nhost:{}\ncontent-type:{}\nx-{}-version:{}\n{}",
            self.method,
            self.path_and_query,
            self.raw_date,
            self.host,
            self.content_type,
            if self.legacy_version_header {
                "sorna"
            } else {
                "backendai"
            },
            self.api_version,
            body_hash,
        )
    }

    fn compute<D>(&self, secret_key: &str) -> String
    where
        D: Digest + hmac::digest::core_api::BlockSizeUser,
    {
        // API versions compare as strings in 21.03 (`vN.YYYYMMDD`).
        let body: &[u8] = if self.api_version < "v4.20181215" {
            self.body
        } else {
            b""
        };
        let body_hash = hex(&D::digest(body));
        let mac = |key: &[u8], data: &[u8]| {
            let mut m =
                <SimpleHmac<D> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            Mac::update(&mut m, data);
            m.finalize().into_bytes()
        };
        let day = self.date.format("%Y%m%d").to_string();
        let key = mac(secret_key.as_bytes(), day.as_bytes());
        let key = mac(&key, self.host.as_bytes());
        hex(&mac(&key, self.signed_string(&body_hash).as_bytes()))
    }

    /// The hex signature for `sign_method` (`HMAC-SHA256`, or another SHA-2 size).
    pub fn signature(&self, sign_method: &str, secret_key: &str) -> Result<String, AuthError> {
        let (mac_type, hash_type) = sign_method
            .split_once('-')
            .ok_or(AuthError::Failed("Invalid signature"))?;
        if !mac_type.eq_ignore_ascii_case("hmac") {
            return Err(AuthError::InvalidParameters(
                "Unsupported request signing method (MAC type)",
            ));
        }
        match hash_type.to_ascii_lowercase().as_str() {
            "sha256" => Ok(self.compute::<Sha256>(secret_key)),
            "sha224" => Ok(self.compute::<Sha224>(secret_key)),
            "sha384" => Ok(self.compute::<Sha384>(secret_key)),
            "sha512" => Ok(self.compute::<Sha512>(secret_key)),
            _ => Err(AuthError::InvalidParameters(
                "Unsupported request signing method (hash type)",
            )),
        }
    }

    /// Checks `header`'s signature against the keypair's secret, in constant time.
    pub fn verify(&self, header: &AuthHeader, secret_key: &str) -> Result<(), AuthError> {
        let expected = self.signature(&header.sign_method, secret_key)?;
        if constant_time_eq(expected.as_bytes(), header.signature.as_bytes()) {
            Ok(())
        } else {
            Err(AuthError::Failed("Signature mismatch"))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Compares without an early exit, so that timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_headers() {
        let h = parse_authorization(
            "BackendAI signMethod=HMAC-SHA256, credential=AKIAIOSFODNN7EXAMPLE:abc:def",
        )
        .unwrap();
        assert_eq!(h.sign_method, "HMAC-SHA256");
        assert_eq!(h.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(h.signature, "abc:def");
        assert!(parse_authorization("Sorna signMethod=HMAC-SHA256,credential=A:B").is_ok());
        let invalid = |v: &str| parse_authorization(v).unwrap_err();
        assert_eq!(
            invalid("BackendAI"),
            AuthError::InvalidParameters("Malformed authorization header")
        );
        assert_eq!(
            invalid("Bearer x"),
            AuthError::InvalidParameters("Invalid authorization type name")
        );
        for v in [
            "BackendAI credential=A:B",
            "BackendAI signMethod=HMAC-SHA256",
            "BackendAI signMethod=x, credential=AB",
            "BackendAI junk",
        ] {
            assert_eq!(
                invalid(v),
                AuthError::InvalidParameters("Missing or malformed authorization parameters"),
                "{v}"
            );
        }
    }

    #[test]
    fn dates_as_clients_send_them() {
        let iso = parse_date("2021-08-15T12:34:56.789012+00:00").unwrap();
        assert_eq!(iso.to_rfc3339(), "2021-08-15T12:34:56.789012+00:00");
        assert_eq!(
            parse_date("Sun, 15 Aug 2021 12:34:56 GMT")
                .unwrap()
                .timestamp(),
            iso.timestamp()
        );
        assert_eq!(
            parse_date("2021-08-15T12:34:56")
                .unwrap()
                .offset()
                .local_minus_utc(),
            0
        );
        assert_eq!(
            parse_date("2021-08-15T21:34:56+09:00").unwrap().timestamp(),
            iso.timestamp()
        );
        assert!(parse_date("yesterday").is_none());
        let now = Utc::now();
        assert!(date_is_fresh(now.fixed_offset(), now));
        assert!(date_is_fresh(
            (now - Duration::minutes(14)).fixed_offset(),
            now
        ));
        assert!(!date_is_fresh(
            (now - Duration::minutes(16)).fixed_offset(),
            now
        ));
        assert!(!date_is_fresh(
            (now + Duration::minutes(16)).fixed_offset(),
            now
        ));
    }

    #[test]
    fn media_types() {
        assert_eq!(
            media_type(Some("application/json; charset=utf-8")),
            "application/json"
        );
        assert_eq!(media_type(Some("Application/JSON")), "application/json");
        assert_eq!(media_type(None), "application/octet-stream");
        assert_eq!(media_type(Some("")), "application/octet-stream");
    }

    #[test]
    fn unsupported_methods_are_refused() {
        let date = parse_date("2021-08-15T12:34:56+00:00").unwrap();
        let parts = SignedParts {
            method: "GET",
            path_and_query: "/",
            raw_date: "2021-08-15T12:34:56+00:00",
            date,
            host: "localhost",
            content_type: "application/json",
            api_version: "v6.20210815",
            legacy_version_header: false,
            body: b"",
        };
        assert_eq!(
            parts.signature("RSA-SHA256", "s").unwrap_err(),
            AuthError::InvalidParameters("Unsupported request signing method (MAC type)")
        );
        assert_eq!(
            parts.signature("HMAC-MD4", "s").unwrap_err(),
            AuthError::InvalidParameters("Unsupported request signing method (hash type)")
        );
        let good = parts.signature("HMAC-SHA256", "secret").unwrap();
        assert_eq!(good.len(), 64);
        let header = AuthHeader {
            sign_method: "HMAC-SHA256".into(),
            access_key: "A".into(),
            signature: good,
        };
        assert!(parts.verify(&header, "secret").is_ok());
        assert_eq!(
            parts.verify(&header, "other").unwrap_err(),
            AuthError::Failed("Signature mismatch")
        );
    }
}
