//! `/auth` over HTTP with signed requests, and 21.03's error bodies.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::http::{read, spawn_api, ADMIN_SK};

#[tokio::test]
async fn auth_test_answers_signed_requests() {
    let api = spawn_api().await;
    let (status, _, body) = api
        .signed(Method::GET, "/auth/test?echo=hi", None, ADMIN_SK)
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"authorized": "yes", "echo": "hi"}))
    );
    let (status, _, body) = api
        .signed(
            Method::POST,
            "/auth",
            Some(json!({"echo": "from body"})),
            ADMIN_SK,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"authorized": "yes", "echo": "from body"})
        )
    );
}

#[tokio::test]
async fn refusals_carry_21_03_problem_bodies() {
    let api = spawn_api().await;
    let (status, content_type, body) = api
        .signed(Method::GET, "/auth/test?echo=hi", None, "wrong-secret")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(
        body,
        json!({"type": "https://api.backend.ai/probs/auth-failed", "title": "Credential/signature mismatch.", "msg": "Signature mismatch"})
    );

    let (status, _, body) = api.signed(Method::GET, "/auth/test", None, ADMIN_SK).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/invalid-api-params"
    );

    let (status, _, body) = read(
        api.client
            .get(format!("{}/auth/test?echo=x", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["msg"], "Date/time sync error");

    let unsigned = api
        .client
        .get(format!("{}/auth/test?echo=x", api.base))
        .header("X-BackendAI-Date", chrono::Utc::now().to_rfc3339())
        .send()
        .await
        .unwrap();
    let (status, _, body) = read(unsigned).await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::UNAUTHORIZED, json!("Unauthorized access"))
    );

    // Public routes stay public.
    let (status, _, _) = read(
        api.client
            .get(format!("{}/", api.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn redis(db: u8) -> redis::aio::ConnectionManager {
    let addr = std::env::var("BAI_TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    let client = redis::Client::open(format!("redis://{addr}/{db}")).unwrap();
    redis::aio::ConnectionManager::new(client).await.unwrap()
}

#[tokio::test]
async fn requests_are_counted_and_rate_limited_per_keypair() {
    // Keypairs of this test only, so that the shared Redis windows and counters stay ours.
    let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
    let user_ak = format!("AKIACOUNT{suffix}X");
    let monitor_ak = format!("AKIALIMIT{suffix}X");
    const USER_SK: &str = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf";
    const MONITOR_SK: &str = "7tuEwF1J7FfK41vOM4uSSyWCUWjPBolpVwvgkSBu";
    let api = spawn_api().await;
    use sea_orm::ConnectionTrait;
    for (ak, sk, email) in [
        (user_ak.as_str(), USER_SK, "user@lablup.com"),
        (monitor_ak.as_str(), MONITOR_SK, "monitor@lablup.com"),
    ] {
        api.db
            .conn
            .execute_unprepared(&format!(
                "INSERT INTO keypairs (user_id, access_key, secret_key, is_active, is_admin, rate_limit, \
                 num_queries, \"user\", resource_policy, dotfiles, bootstrap_script) \
                 SELECT email, '{ak}', '{sk}', true, false, 30000, 0, uuid, 'default', '\\x90', '' \
                 FROM users WHERE email = '{email}'"
            ))
            .await
            .unwrap();
    }
    let mut stat = redis(0).await;
    let counter = format!("kp:{user_ak}:num_queries");
    let before: Option<i64> = redis::cmd("GET")
        .arg(&counter)
        .query_async(&mut stat)
        .await
        .unwrap();

    let resp = api
        .send_signed(Method::GET, "/auth/test?echo=1", None, &user_ak, USER_SK)
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-ratelimit-limit"], "30000");
    assert_eq!(resp.headers()["x-ratelimit-window"], "900");
    let remaining: i64 = resp.headers()["x-ratelimit-remaining"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(remaining < 30000);
    let after: Option<i64> = redis::cmd("GET")
        .arg(&counter)
        .query_async(&mut stat)
        .await
        .unwrap();
    assert_eq!(
        after.unwrap_or(0),
        before.unwrap_or(0) + 1,
        "KeyPair.num_queries counts in Redis as in 21.03"
    );

    // With a limit of 2, the third request in the window is refused.
    api.db
        .conn
        .execute_unprepared(&format!(
            "UPDATE keypairs SET rate_limit = 2 WHERE access_key = '{monitor_ak}'"
        ))
        .await
        .unwrap();
    for expected_remaining in ["1", "0"] {
        let resp = api
            .send_signed(
                Method::GET,
                "/auth/test?echo=1",
                None,
                &monitor_ak,
                MONITOR_SK,
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["x-ratelimit-remaining"], expected_remaining);
    }
    let (status, _, body) = read(
        api.send_signed(
            Method::GET,
            "/auth/test?echo=1",
            None,
            &monitor_ak,
            MONITOR_SK,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/rate-limit-exceeded"
    );

    // Anonymous responses advertise 21.03's default allowance.
    let resp = api
        .client
        .get(format!("{}/", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-ratelimit-limit"], "1000");
    assert_eq!(resp.headers()["x-ratelimit-remaining"], "1000");
}

const USER_AK: &str = "AKIANABBDUSEREXAMPLE";
const USER_SK: &str = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf";

async fn auth_test_as(api: &crate::http::Api, access_key: &str, secret: &str) -> StatusCode {
    api.send_signed(Method::GET, "/auth/test?echo=x", None, access_key, secret)
        .await
        .status()
}

/// Polls until `/auth/test` answers `want` for the keypair (the database announces a change
/// made behind the manager's back asynchronously); fails after 10 s.
async fn wait_for(api: &crate::http::Api, access_key: &str, secret: &str, want: StatusCode) {
    for _ in 0..200 {
        if auth_test_as(api, access_key, secret).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{access_key} never got {want}");
}

/// Authenticated keypairs are cached; changes written by others (psql, another manager, the
/// Python manager) reach the cache through the database's notifications.
#[tokio::test]
async fn changes_made_in_the_database_apply_to_cached_keypairs() {
    let api = spawn_api().await;
    let sql = |s: &'static str| sea_orm::ConnectionTrait::execute_unprepared(&api.db.conn, s);
    assert_eq!(auth_test_as(&api, USER_AK, USER_SK).await, StatusCode::OK);

    sql("UPDATE keypairs SET is_active = false WHERE access_key = 'AKIANABBDUSEREXAMPLE'")
        .await
        .unwrap();
    wait_for(&api, USER_AK, USER_SK, StatusCode::UNAUTHORIZED).await;
    sql("UPDATE keypairs SET is_active = true WHERE access_key = 'AKIANABBDUSEREXAMPLE'")
        .await
        .unwrap();
    wait_for(&api, USER_AK, USER_SK, StatusCode::OK).await;

    sql("UPDATE users SET status = 'inactive' WHERE email = 'user@lablup.com'")
        .await
        .unwrap();
    wait_for(&api, USER_AK, USER_SK, StatusCode::UNAUTHORIZED).await;
    sql("UPDATE users SET status = 'active' WHERE email = 'user@lablup.com'")
        .await
        .unwrap();
    wait_for(&api, USER_AK, USER_SK, StatusCode::OK).await;

    sql("UPDATE keypairs SET secret_key = 'rotated' WHERE access_key = 'AKIANABBDUSEREXAMPLE'")
        .await
        .unwrap();
    wait_for(&api, USER_AK, "rotated", StatusCode::OK).await;
    assert_eq!(
        auth_test_as(&api, USER_AK, USER_SK).await,
        StatusCode::UNAUTHORIZED
    );
}

/// A change made through this manager applies to the very next request, without waiting for
/// the database's announcement.
#[tokio::test]
async fn a_keypair_deactivated_through_the_api_is_refused_at_once() {
    let api = spawn_api().await;
    assert_eq!(auth_test_as(&api, USER_AK, USER_SK).await, StatusCode::OK);
    let (status, _, body) = api
        .signed(
            Method::POST,
            "/admin/gql",
            Some(json!({"query": "mutation { modify_keypair(access_key: \"AKIANABBDUSEREXAMPLE\", props: {is_active: false}) { ok msg } }"})),
            ADMIN_SK,
        )
        .await;
    assert_eq!(
        (status, &body["data"]["modify_keypair"]["ok"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    assert_eq!(
        auth_test_as(&api, USER_AK, USER_SK).await,
        StatusCode::UNAUTHORIZED
    );
}
