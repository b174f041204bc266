//! `/config/*` and `/manager/*`: etcd-backed configuration and the shared manager status, with
//! 21.03's access rules and answers; routing errors and CORS as 21.03 meant them.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::http::{spawn_api, DOMAIN_ADMIN, SUPERADMIN, USER};

#[tokio::test]
async fn config_routes_read_and_edit_etcd() {
    let api = spawn_api().await;
    let etcd = &api.etcd.etcd;
    etcd.put("config/resource_slots/cuda.device", "count")
        .await
        .unwrap();
    etcd.put("config/resource_slots/cuda.shares", "count")
        .await
        .unwrap();

    // Public: slots (cpu and mem first, once the configuration watch has seen the change)
    // and folder types (user when none is configured).
    let mut slots = String::new();
    for _ in 0..50 {
        let (status, body) = api
            .anonymous(Method::GET, "/config/resource-slots", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        slots = serde_json::to_string(&body).unwrap();
        if slots.contains("cuda.shares") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        slots,
        r#"{"cpu":"count","mem":"bytes","cuda.device":"count","cuda.shares":"count"}"#
    );
    let (_, body) = api
        .anonymous(Method::GET, "/config/vfolder-types", None)
        .await;
    assert_eq!(body, json!(["user"]));
    etcd.put("volumes/_types/group", "").await.unwrap();
    etcd.put("volumes/_types/user", "").await.unwrap();
    let (_, body) = api
        .anonymous(Method::GET, "/config/vfolder-types", None)
        .await;
    assert_eq!(body, json!(["group", "user"]));

    // Superadmins set a nested value, read it back whole or by key, and delete it.
    let value = json!({"": "top", "a": "1", "b": {"c": true, "d": null}, "n": 5});
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/set",
            Some(json!({"key": "test/x", "value": value})),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"result": "ok"})));
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/get",
            Some(json!({"key": "test/x", "prefix": true})),
        )
        .await;
    assert_eq!(
        body,
        json!({"result": {"": "top", "a": "1", "b": {"c": "True", "d": "None"}, "n": "5"}})
    );
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/get",
            Some(json!({"key": "test/x/a"})),
        )
        .await;
    assert_eq!(body, json!({"result": "1"}));
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/get",
            Some(json!({"key": "test/none"})),
        )
        .await;
    assert_eq!(body, json!({"result": null}));
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/delete",
            Some(json!({"key": "test/x", "prefix": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/get",
            Some(json!({"key": "test/x", "prefix": true})),
        )
        .await;
    assert_eq!(body, json!({"result": {}}));

    // Validation: too many keys at once, a non-boolean prefix, a missing key, a number value,
    // and wiping the namespace.
    let many: serde_json::Map<String, serde_json::Value> =
        (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/set",
            Some(json!({"key": "test/y", "value": many})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["msg"],
        "Too large update! Split into smaller key-value pair sets."
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/get",
            Some(json!({"key": "a", "prefix": "yes"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["data"],
        json!({"prefix": "value should be True or False"})
    );
    let (_, body) = api
        .rest(SUPERADMIN, Method::POST, "/config/get", Some(json!({})))
        .await;
    assert_eq!(body["data"], json!({"key": "is required"}));
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/set",
            Some(json!({"key": "a", "value": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/config/delete",
            Some(json!({"key": "/", "prefix": true})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Registries come from the shared configuration (none in a bare namespace).
    let (status, body) = api
        .rest(SUPERADMIN, Method::GET, "/config/docker-registries", None)
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));

    // Others get 21.03's 401, and nothing is written.
    for who in [DOMAIN_ADMIN, USER] {
        let (status, body) = api
            .rest(
                who,
                Method::POST,
                "/config/set",
                Some(json!({"key": "test/z", "value": "v"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["type"], "https://api.backend.ai/probs/auth-failed");
    }
    assert_eq!(etcd.get("test/z").await.unwrap(), None);
    // Without credentials, 21.03 first complained about the missing date.
    let (status, body) = api
        .anonymous(Method::POST, "/config/get", Some(json!({"key": "a"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/invalid-auth-params"
    );
}

#[tokio::test]
async fn manager_status_freezes_and_announces() {
    let api = spawn_api().await;
    let (status, body) = api.anonymous(Method::GET, "/manager/status", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "running");
    assert_eq!(body["nodes"][0]["status"], "running");
    assert_eq!(body["nodes"][0]["version"], "21.03.32");
    assert_eq!(body["nodes"][0]["api_version"], json!([6, "20210815"]));
    assert!(body["active_sessions"].is_u64(), "{body}");

    // Freezing (with the client's lowercase value) refuses session-starting work but not reads.
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::PUT,
            "/manager/status",
            Some(json!({"status": "frozen", "force_kill": false})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = api.anonymous(Method::GET, "/manager/status", None).await;
    assert_eq!(body["status"], "frozen");
    assert_eq!(
        api.etcd
            .etcd
            .get("manager/status")
            .await
            .unwrap()
            .as_deref(),
        Some("frozen")
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            "/resource/watcher?agent_id=i-none",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "frozen still reads: {body}");
    // GraphQL mutations wait while frozen; queries do not.
    let mutation =
        json!({"query": "mutation { create_domain(name: \"frozen-dom\", props: {}) { ok msg } }"});
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/admin/gql",
            Some(mutation.clone()),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"],
        "The server is frozen due to maintenance. Please try again later.",
        "{body}"
    );
    let (_, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/admin/gql",
            Some(json!({"query": "{ domains { name } }"})),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::PUT,
            "/manager/status",
            Some(json!({"status": "RUNNING"})),
        )
        .await;
    let (_, body) = api
        .rest(SUPERADMIN, Method::POST, "/admin/gql", Some(mutation))
        .await;
    assert_eq!(body["data"]["create_domain"]["ok"], true, "{body}");
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::PUT,
            "/manager/status",
            Some(json!({"status": "melted"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = api
        .rest(
            USER,
            Method::PUT,
            "/manager/status",
            Some(json!({"status": "frozen"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Announcements: none, set, refused empty, removed.
    let (_, body) = api
        .anonymous(Method::GET, "/manager/announcement", None)
        .await;
    assert_eq!(body, json!({"enabled": false, "message": ""}));
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/manager/announcement",
            Some(json!({"enabled": true, "message": "Maintenance at 18:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = api
        .anonymous(Method::GET, "/manager/announcement", None)
        .await;
    assert_eq!(
        body,
        json!({"enabled": true, "message": "Maintenance at 18:00"})
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/manager/announcement",
            Some(json!({"enabled": "true"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["msg"],
        "Empty message not allowed to enable announcement"
    );
    let (status, _) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/manager/announcement",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = api
        .anonymous(Method::GET, "/manager/announcement", None)
        .await;
    assert_eq!(body["enabled"], false);
}

#[tokio::test]
async fn scheduler_operations_switch_agents_all_or_none() {
    let api = spawn_api().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &api.db.conn,
        "INSERT INTO agents (id, status, region, scaling_group, schedulable, available_slots, \
         occupied_slots, addr, first_contact, version, compute_plugins) VALUES \
         ('i-s1', 'ALIVE', 'local', 'default', true, '{}', '{}', 'tcp://127.0.0.1:1', now(), '21.03.5', '{}'), \
         ('i-s2', 'ALIVE', 'local', 'default', true, '{}', '{}', 'tcp://127.0.0.1:2', now(), '21.03.5', '{}')",
    )
    .await
    .unwrap();
    let schedulable = || async {
        crate::helpers::scalar::<String>(
            &api.db.conn,
            "SELECT string_agg(id || '=' || schedulable, ',' ORDER BY id) FROM agents",
        )
        .await
    };
    let op = |op: &'static str, args: serde_json::Value| {
        api.rest(
            SUPERADMIN,
            Method::POST,
            "/manager/scheduler/operation",
            Some(json!({"op": op, "args": args})),
        )
    };
    assert_eq!(
        op("exclude-agents", json!(["i-s1", "i-s2"])).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(schedulable().await, "i-s1=false,i-s2=false");
    // An unknown agent changes nothing.
    let (status, body) = op("include-agents", json!(["i-s1", "i-nope"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/instance-not-found"
    );
    assert_eq!(schedulable().await, "i-s1=false,i-s2=false");
    assert_eq!(
        op("include-agents", json!(["i-s2"])).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(schedulable().await, "i-s1=false,i-s2=true");
    let (status, body) = op("include-agents", json!("i-s1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = op("reboot-agents", json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["data"]["op"].is_string(), "{body}");
}

#[tokio::test]
async fn routing_errors_and_cors_as_21_03_meant_them() {
    let api = spawn_api().await;
    let (status, body) = api.anonymous(Method::GET, "/no/such/path", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"type": "https://api.backend.ai/probs/generic-not-found",
               "title": "Unknown URL path.", "msg": "Unknown URL path: /no/such/path"})
    );
    let (status, body) = api
        .anonymous(Method::DELETE, "/config/resource-slots", None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/method-not-allowed"
    );
    assert_eq!(body["msg"], "DELETE");

    // A preflight is answered for what it asks; actual responses name the origin and expose
    // the rate-limit headers.
    let resp = api
        .client
        .request(Method::OPTIONS, format!("{}/auth/test", api.base))
        .header("Origin", "https://ui.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,x-backendai-date",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "https://ui.example.com");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert_eq!(
        h["access-control-allow-headers"],
        "AUTHORIZATION,X-BACKENDAI-DATE"
    );
    let resp = api
        .client
        .get(format!("{}/manager/announcement", api.base))
        .header("Origin", "https://ui.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://ui.example.com"
    );
    assert!(resp.headers().contains_key("access-control-expose-headers"));
}
