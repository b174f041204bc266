//! Authentication of signed requests against the keypairs in the database.

use bai_manager::auth::signature::{parse_authorization, parse_date, AuthHeader, SignedParts};
use bai_manager::services::auth::{authenticate_signed, Identity};
use bai_manager::services::keypair_cache::KeypairCache;
use bai_manager::services::Error;
use chrono::{Duration, Utc};
use entities::enums::UserRole;
use sea_orm::ConnectionTrait;

use crate::helpers::TestDb;

const ADMIN_AK: &str = "AKIAIOSFODNN7EXAMPLE";
const ADMIN_SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

async fn loaded() -> TestDb {
    TestDb::with_example_keypairs().await
}

fn parts<'a>(raw_date: &'a str, path: &'a str) -> SignedParts<'a> {
    SignedParts {
        method: "GET",
        path_and_query: path,
        raw_date,
        date: parse_date(raw_date).unwrap(),
        host: "127.0.0.1:8081",
        content_type: "application/octet-stream",
        api_version: "v6.20210815",
        legacy_version_header: false,
        body: b"",
    }
}

fn signed(ak: &str, sk: &str, p: &SignedParts<'_>) -> AuthHeader {
    let sig = p.signature("HMAC-SHA256", sk).unwrap();
    parse_authorization(&format!(
        "BackendAI signMethod=HMAC-SHA256, credential={ak}:{sig}"
    ))
    .unwrap()
}

/// Authenticates with a cache that nothing keeps current, so that every call reads the
/// database (the cache has tests of its own in `api_auth`).
async fn authenticate(
    db: &sea_orm::DatabaseConnection,
    header: &AuthHeader,
    parts: &SignedParts<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<Identity, Error> {
    authenticate_signed(db, &KeypairCache::default(), header, parts, now).await
}

#[tokio::test]
async fn signed_requests_identify_their_caller() {
    let db = loaded().await;
    let now = Utc::now();
    let raw = now.to_rfc3339();
    let p = parts(&raw, "/auth?echo=hi");
    let who = authenticate(&db.conn, &signed(ADMIN_AK, ADMIN_SK, &p), &p, now)
        .await
        .unwrap();
    assert_eq!(who.email, "admin@lablup.com");
    assert_eq!(who.role, UserRole::Superadmin);
    assert!(who.is_superadmin && who.is_admin);
    assert_eq!(who.domain_name.as_deref(), Some("default"));
    assert_eq!(who.resource_policy.name, "default");

    let user = parts(&raw, "/auth");
    let who = authenticate(
        &db.conn,
        &signed(
            "AKIANABBDUSEREXAMPLE",
            "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf",
            &user,
        ),
        &user,
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (who.role, who.is_admin, who.is_superadmin),
        (UserRole::User, false, false)
    );
}

fn failure(result: Result<bai_manager::services::auth::Identity, Error>) -> String {
    match result {
        Err(Error::AuthFailed(why)) => format!("auth-failed: {why}"),
        Err(Error::InvalidAuthParameters(why)) => format!("invalid-auth-params: {why}"),
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_credentials_are_refused_as_21_03_refuses_them() {
    let db = loaded().await;
    let now = Utc::now();
    let raw = now.to_rfc3339();
    let p = parts(&raw, "/auth?echo=hi");

    let wrong_secret = signed(ADMIN_AK, "not-the-secret", &p);
    assert_eq!(
        failure(authenticate(&db.conn, &wrong_secret, &p, now).await),
        "auth-failed: Signature mismatch"
    );

    let good = signed(ADMIN_AK, ADMIN_SK, &p);
    let tampered = parts(&raw, "/auth?echo=bye");
    assert_eq!(
        failure(authenticate(&db.conn, &good, &tampered, now).await),
        "auth-failed: Signature mismatch"
    );

    let skewed_raw = (now - Duration::minutes(16)).to_rfc3339();
    let skewed = parts(&skewed_raw, "/auth");
    let header = signed(ADMIN_AK, ADMIN_SK, &skewed);
    assert_eq!(
        failure(authenticate(&db.conn, &header, &skewed, now).await),
        "invalid-auth-params: Date/time sync error"
    );

    let unknown = signed("AKIAUNKNOWNEXAMPLE00", ADMIN_SK, &p);
    assert_eq!(
        failure(authenticate(&db.conn, &unknown, &p, now).await),
        "auth-failed: Access key not found"
    );

    db.conn
        .execute_unprepared(
            "UPDATE keypairs SET is_active = false WHERE access_key = 'AKIAIOSFODNN7EXAMPLE'",
        )
        .await
        .unwrap();
    assert_eq!(
        failure(authenticate(&db.conn, &good, &p, now).await),
        "auth-failed: Access key not found"
    );

    let monitor = signed(
        "AKIANAMONITOREXAMPLE",
        "7tuEwF1J7FfK41vOM4uSSyWCUWjPBolpVwvgkSBu",
        &p,
    );
    db.conn
        .execute_unprepared(
            "UPDATE users SET status = 'inactive' WHERE email = 'monitor@lablup.com'",
        )
        .await
        .unwrap();
    assert_eq!(
        failure(authenticate(&db.conn, &monitor, &p, now).await),
        "auth-failed: The user of this keypair is not active"
    );
}

/// Signatures produced by the official `backend.ai-client==21.3.11` (tests/data/hmac-vectors.json):
/// ours must match every one, and the parsed header must carry it.
#[test]
fn signatures_match_the_official_21_03_client() {
    let data = crate::helpers::repo_json("tests/data/hmac-vectors.json");
    let vectors = data["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 8);
    for v in vectors {
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("{k} missing in {v}"))
        };
        let parts = SignedParts {
            method: s("method"),
            path_and_query: s("path_with_query"),
            raw_date: s("date_header"),
            date: parse_date(s("date_header")).unwrap(),
            host: s("host"),
            content_type: s("content_type"),
            api_version: s("api_version"),
            legacy_version_header: false,
            body: b"",
        };
        assert_eq!(
            parts.signature("HMAC-SHA256", s("secret_key")).unwrap(),
            s("signature"),
            "vector {}",
            v["id"]
        );
        let header = parse_authorization(s("authorization_header")).unwrap();
        assert_eq!(
            (header.access_key.as_str(), header.signature.as_str()),
            (s("access_key"), s("signature"))
        );
        parts.verify(&header, s("secret_key")).unwrap();
    }
}
