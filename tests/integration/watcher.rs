//! `/resource/watcher*`: superadmins reach an agent's watcher where the agent registered it in
//! etcd, with the watcher token; answers are passed on as 21.03 passes them.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{json, Value};

use crate::http::{spawn_api, ADMIN_AK, ADMIN_SK};

/// A watcher that wants 21.03's default token, as an agent host runs it.
async fn fake_watcher() -> u16 {
    async fn status(headers: HeaderMap) -> Result<Json<Value>, (StatusCode, &'static str)> {
        match headers
            .get("x-backendai-watcher-token")
            .map(|v| v.as_bytes())
        {
            Some(b"insecure") => Ok(Json(
                json!({"agent-status": "active", "watcher-status": "active"}),
            )),
            _ => Err((StatusCode::FORBIDDEN, "Forbidden")),
        }
    }
    let app = Router::new()
        .route("/", get(status))
        .route(
            "/agent/start",
            post(|| async { Json(json!({"result": "ok"})) }),
        )
        .route(
            "/agent/stop",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "systemctl stop failed") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test]
async fn superadmins_reach_the_agents_watcher() {
    let port = fake_watcher().await;
    let api = spawn_api().await;
    api.etcd
        .etcd
        .put("nodes/agents/i-w/ip", "127.0.0.1")
        .await
        .unwrap();
    api.etcd
        .etcd
        .put("nodes/agents/i-w/watcher_port", &port.to_string())
        .await
        .unwrap();
    let text = |resp: reqwest::Response| async move { (resp.status(), resp.text().await.unwrap()) };

    let (status, body) = text(
        api.send_signed(
            Method::GET,
            "/resource/watcher?agent_id=i-w",
            None,
            ADMIN_AK,
            ADMIN_SK,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"agent-status": "active", "watcher-status": "active"})
    );
    let (status, body) = text(
        api.send_signed(
            Method::POST,
            "/resource/watcher/agent/start",
            Some(json!({"agent": "i-w"})),
            ADMIN_AK,
            ADMIN_SK,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"result":"ok"}"#)
    );
    // A failure of the watcher is passed on with its status and text.
    let (status, body) = text(
        api.send_signed(
            Method::POST,
            "/resource/watcher/agent/stop",
            Some(json!({"agent_id": "i-w"})),
            ADMIN_AK,
            ADMIN_SK,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "systemctl stop failed")
    );

    // An agent without a registered watcher, and a missing parameter, are named.
    let (status, body) = text(
        api.send_signed(
            Method::GET,
            "/resource/watcher?agent_id=i-none",
            None,
            ADMIN_AK,
            ADMIN_SK,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("agent i-none has no watcher address"),
        "{body}"
    );
    let (status, _) = text(
        api.send_signed(Method::GET, "/resource/watcher", None, ADMIN_AK, ADMIN_SK)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = text(
        api.send_signed(
            Method::POST,
            "/resource/watcher/agent/explode",
            Some(json!({"agent_id": "i-w"})),
            ADMIN_AK,
            ADMIN_SK,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only superadmins (21.03 refused others with 401).
    let (status, body) = text(
        api.send_signed(
            Method::GET,
            "/resource/watcher?agent_id=i-w",
            None,
            "AKIANABBDUSEREXAMPLE",
            "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
