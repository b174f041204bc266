//! A manager served on a loopback port for black-box HTTP tests, and requests signed as the
//! 21.03 client signs them.

use std::sync::Arc;

use bai_manager::auth::signature::{parse_date, SignedParts};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestDb, TestEtcd};

pub const ADMIN_AK: &str = "AKIAIOSFODNN7EXAMPLE";
pub const ADMIN_SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A keypair of the example fixtures: access key and secret key.
pub type Keypair = (&'static str, &'static str);
pub const SUPERADMIN: Keypair = (ADMIN_AK, ADMIN_SK);
pub const DOMAIN_ADMIN: Keypair = (
    "AKIAHUKCHDEZGEXAMPLE",
    "cWbsM_vBB4CzTW7JdORRMx8SjGI3-wEXAMPLEKEY",
);
pub const USER: Keypair = (
    "AKIANABBDUSEREXAMPLE",
    "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf",
);

pub struct Api {
    pub base: String,
    pub host: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub etcd: TestEtcd,
}

pub async fn spawn_api() -> Api {
    spawn_api_with(None, |_| {}).await
}

/// A manager over the example keypairs plus `seed_sql`; `adjust` may change its state (e.g. to
/// observe the statements it runs).
pub async fn spawn_api_with(
    seed_sql: Option<&str>,
    adjust: impl FnOnce(&mut bai_manager::AppState),
) -> Api {
    let db = TestDb::with_example_keypairs().await;
    if let Some(sql) = seed_sql {
        sea_orm::ConnectionTrait::execute_unprepared(&db.conn, sql)
            .await
            .unwrap();
    }
    let etcd = TestEtcd::new().await;
    let config = crate::helpers::test_config(&db.name, &etcd.namespace);
    forget_fixture_rate_windows().await;
    let (mut state, publish) = bai_manager::server::connect(Arc::new(config))
        .await
        .unwrap();
    // Changes the tests make under `config/` reach the manager as in production.
    bai_manager::server::watch_shared_config(state.etcd.clone(), publish);
    adjust(&mut state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, bai_manager::api::router(state)).await });
    Api {
        base: format!("http://{host}"),
        host,
        client: reqwest::Client::new(),
        db,
        etcd,
    }
}

impl Api {
    /// Sends a request signed with the admin keypair, as the 21.03 client signs it.
    pub async fn signed(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        secret: &str,
    ) -> (StatusCode, String, Value) {
        read(self.send_signed(method, path, body, ADMIN_AK, secret).await).await
    }

    pub async fn send_signed(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        access_key: &str,
        secret: &str,
    ) -> reqwest::Response {
        let raw_date = chrono::Utc::now().to_rfc3339();
        let content_type = if body.is_some() {
            "application/json"
        } else {
            "application/octet-stream"
        };
        let parts = SignedParts {
            method: method.as_str(),
            path_and_query: path,
            raw_date: &raw_date,
            date: parse_date(&raw_date).unwrap(),
            host: &self.host,
            content_type,
            api_version: "v6.20210815",
            legacy_version_header: false,
            body: b"",
        };
        let signature = parts.signature("HMAC-SHA256", secret).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-BackendAI-Date", &raw_date)
            .header("X-BackendAI-Version", "v6.20210815")
            .header(
                "Authorization",
                format!("BackendAI signMethod=HMAC-SHA256, credential={access_key}:{signature}"),
            );
        if let Some(body) = body {
            request = request
                .header("Content-Type", content_type)
                .body(body.to_string());
        }
        request.send().await.unwrap()
    }
}

impl Api {
    /// A signed REST call as `who`; the body read as JSON (`Null` when empty, a string when
    /// it is not JSON).
    pub async fn rest(
        &self,
        who: Keypair,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        body_of(self.send_signed(method, path, body, who.0, who.1).await).await
    }

    /// An unsigned REST call.
    pub async fn anonymous(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-BackendAI-Version", "v6.20210815");
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        body_of(request.send().await.unwrap()).await
    }
}

pub async fn body_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

pub async fn read(resp: reqwest::Response) -> (StatusCode, String, Value) {
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, resp.json().await.unwrap())
}

/// Tests share one Redis: a load benchmark run shortly before would leave the example
/// keypairs over their limits. Tests that count requests use keypairs of their own.
async fn forget_fixture_rate_windows() {
    let client = redis::Client::open("redis://127.0.0.1:6379/1").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(FIXTURE_ACCESS_KEYS)
        .query_async(&mut conn)
        .await
        .unwrap();
}

const FIXTURE_ACCESS_KEYS: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAHUKCHDEZGEXAMPLE",
    "AKIANABBDUSEREXAMPLE",
    "AKIANAMONITOREXAMPLE",
    "AKIAOTHERADMINEXAMPL",
];
