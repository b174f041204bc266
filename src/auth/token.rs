//! Bearer tokens: `/auth/authorize` with `type: "jwt"` (which 21.03 declared but refused) issues
//! a JWT naming the keypair; `Authorization: Bearer <token>` then authenticates any request as
//! that keypair, without signing each one. Tokens are HS256-signed with `[manager] secret`, so
//! every manager sharing that secret accepts them.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long a token is valid.
pub const TOKEN_LIFETIME_SECS: i64 = 3600;
const ISSUER: &str = "bai-manager";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The access key the token acts as.
    sub: String,
    iss: String,
    iat: i64,
    exp: i64,
}

/// A new token for `access_key`, valid for [`TOKEN_LIFETIME_SECS`] from `now` (seconds).
pub fn issue(secret: &str, access_key: &str, now: i64) -> Result<String, String> {
    let claims = Claims {
        sub: access_key.to_owned(),
        iss: ISSUER.to_owned(),
        iat: now,
        exp: now + TOKEN_LIFETIME_SECS,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}

/// The access key of a valid token; why not, otherwise.
pub fn verify(secret: &str, token: &str) -> Result<String, &'static str> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.leeway = 0;
    decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map(|data| data.claims.sub)
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => "The token has expired",
        _ => "Invalid token",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_checked() {
        let now = chrono::Utc::now().timestamp();
        let token = issue("s3cret", "AKIATEST", now).unwrap();
        assert_eq!(verify("s3cret", &token), Ok("AKIATEST".to_owned()));
        assert_eq!(verify("other", &token), Err("Invalid token"));
        assert_eq!(verify("s3cret", "garbage"), Err("Invalid token"));
        let old = issue("s3cret", "AKIATEST", now - 2 * TOKEN_LIFETIME_SECS).unwrap();
        assert_eq!(verify("s3cret", &old), Err("The token has expired"));
    }
}
