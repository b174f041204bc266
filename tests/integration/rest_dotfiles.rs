//! `/user-config`, `/group-config`, `/domain-config` (dotfiles, bootstrap script) and
//! `/logs/error`, with 21.03's limits, shapes and access rules.

use bai_manager::services::dotfiles::{encode, Dotfile};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::scalar;
use crate::http::{spawn_api, DOMAIN_ADMIN, SUPERADMIN, USER};

const DEFAULT_GROUP: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";

fn file(path: &str, data: &str) -> serde_json::Value {
    json!({"path": path, "permission": "644", "data": data})
}

#[tokio::test]
async fn user_dotfiles_and_bootstrap_script() {
    let api = spawn_api().await;
    let path = "/user-config/dotfiles";
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            path,
            Some(file(".bashrc", "alias ll='ls -l'")),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = api
        .rest(USER, Method::POST, path, Some(file(".bashrc", "again")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["title"], "Dotfile already exists.");
    let (status, body) = api
        .rest(USER, Method::POST, path, Some(file(".ssh", "x")))
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("dotfile path is reserved for internal operations.")
        )
    );
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            path,
            Some(json!({"path": ".vimrc", "permission": "0644", "data": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["data"],
        json!({"permission": "does not match pattern ^[0-7]{3}$"})
    );
    api.rest(USER, Method::POST, path, Some(file(".vimrc", "set nu")))
        .await;

    // Stored as 21.03 packs them.
    let stored: Vec<u8> = scalar(
        &api.db.conn,
        "SELECT dotfiles FROM keypairs WHERE access_key = 'AKIANABBDUSEREXAMPLE'",
    )
    .await;
    let expected = encode(&[
        Dotfile {
            path: ".bashrc".into(),
            perm: "644".into(),
            data: "alias ll='ls -l'".into(),
        },
        Dotfile {
            path: ".vimrc".into(),
            perm: "644".into(),
            data: "set nu".into(),
        },
    ]);
    assert_eq!(stored, expected);

    // Updating moves the file last; the list and the single read have 21.03's two shapes.
    let (status, _) = api
        .rest(
            USER,
            Method::PATCH,
            path,
            Some(json!({"path": ".bashrc", "permission": "600", "data": "new"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.rest(USER, Method::GET, path, None).await;
    assert_eq!(
        body,
        json!([{"path": ".vimrc", "permission": "644", "data": "set nu"},
               {"path": ".bashrc", "permission": "600", "data": "new"}])
    );
    let (_, body) = api
        .rest(USER, Method::GET, &format!("{path}?path=.bashrc"), None)
        .await;
    assert_eq!(
        body,
        json!({"path": ".bashrc", "perm": "600", "data": "new"})
    );
    let (status, body) = api
        .rest(USER, Method::GET, &format!("{path}?path=.nope"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["title"], "Requested Dotfile not found.");
    let (status, body) = api
        .rest(USER, Method::DELETE, path, Some(json!({"path": ".vimrc"})))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (status, _) = api
        .rest(USER, Method::PATCH, path, Some(file(".vimrc", "x")))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Admins act for users of their domain through the query string; users for nobody.
    let on_behalf = format!("{path}?owner_access_key=AKIANABBDUSEREXAMPLE");
    let (status, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::POST,
            &on_behalf,
            Some(file(".profile", "x")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = api
        .rest(USER, Method::GET, &format!("{path}?path=.profile"), None)
        .await;
    assert_eq!(body["data"], "x");
    let (status, body) = api
        .rest(
            USER,
            Method::GET,
            &format!("{path}?owner_access_key=AKIAHUKCHDEZGEXAMPLE"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["msg"],
        "Only admins can perform operations on behalf of other users."
    );
    let (status, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::GET,
            &format!("{path}?owner_access_key=AKIAIOSFODNN7EXAMPLE"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["msg"],
        "Domain-admins cannot perform operations on behalf of super-admins."
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            &format!("{path}?owner_access_key=AKIANOPE"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Unknown or inactive owner access key")
        )
    );

    // The count limit.
    let many: Vec<Dotfile> = (0..100)
        .map(|i| Dotfile {
            path: format!(".f{i}"),
            perm: "644".into(),
            data: String::new(),
        })
        .collect();
    sea_orm::ConnectionTrait::execute_raw(
        &api.db.conn,
        sea_orm::Statement::from_sql_and_values(
            sea_orm::DatabaseBackend::Postgres,
            "UPDATE keypairs SET dotfiles = $1 WHERE access_key = 'AKIANABBDUSEREXAMPLE'",
            [encode(&many).into()],
        ),
    )
    .await
    .unwrap();
    let (status, body) = api
        .rest(USER, Method::POST, path, Some(file(".one-more", "x")))
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Dotfile creation limit reached")
        )
    );

    // The bootstrap script is stored trimmed and read back as a bare string.
    let script_path = "/user-config/bootstrap-script";
    let (status, _) = api
        .rest(
            USER,
            Method::POST,
            script_path,
            Some(json!({"script": "  echo hi\n"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api.rest(USER, Method::GET, script_path, None).await;
    assert_eq!(body, json!("echo hi"));
    let (status, _) = api
        .rest(USER, Method::POST, script_path, Some(json!({"script": ""})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .rest(USER, Method::POST, script_path, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["data"], json!({"script": "is required"}));
}

#[tokio::test]
async fn group_and_domain_dotfiles() {
    let api = spawn_api().await;
    let group = "/group-config/dotfiles";
    let by_name = json!({"group": "default", "domain": "default", "path": ".gitconfig", "permission": "644", "data": "[user]"});
    let (status, body) = api
        .rest(DOMAIN_ADMIN, Method::POST, group, Some(by_name))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    // Members read them, by id or name; writing needs an admin keypair (21.03's 401).
    let (_, body) = api
        .rest(
            USER,
            Method::GET,
            &format!("{group}?group={DEFAULT_GROUP}"),
            None,
        )
        .await;
    assert_eq!(
        body,
        json!([{"path": ".gitconfig", "permission": "644", "data": "[user]"}])
    );
    let (status, _) = api
        .rest(
            USER,
            Method::POST,
            group,
            Some(json!({"group": DEFAULT_GROUP, "path": ".x", "permission": "644", "data": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = api
        .rest(USER, Method::GET, &format!("{group}?group=default"), None)
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Missing parameter 'domain'"))
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            &format!("{group}?group=00000000-0000-0000-0000-000000000000"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["type"], "https://api.backend.ai/probs/group-not-found");
    let (status, body) = api.rest(SUPERADMIN, Method::GET, group, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["data"], json!({"group": "is required"}));
    let (status, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::DELETE,
            group,
            Some(json!({"group": DEFAULT_GROUP, "path": ".gitconfig"})),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));

    let domain = "/domain-config/dotfiles";
    let (status, _) = api
        .rest(DOMAIN_ADMIN, Method::POST, domain, Some(json!({"domain": "default", "path": ".inputrc", "permission": "644", "data": "set bell-style none"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = api
        .rest(
            USER,
            Method::GET,
            &format!("{domain}?domain=default&path=.inputrc"),
            None,
        )
        .await;
    assert_eq!(
        body,
        json!({"path": ".inputrc", "perm": "644", "data": "set bell-style none"})
    );
    let (status, body) = api
        .rest(USER, Method::GET, &format!("{domain}?domain=other"), None)
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::FORBIDDEN,
            json!("Users cannot access dotfiles of other domains")
        )
    );
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            &format!("{domain}?domain=nowhere"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["type"],
        "https://api.backend.ai/probs/domain-not-found"
    );
}

#[tokio::test]
async fn error_logs_are_filed_listed_and_cleared() {
    let api = spawn_api().await;
    let log = json!({
        "severity": "error", "source": "webui", "message": "Cannot load sessions",
        "context_lang": "js", "context_env": "{\"browser\": \"firefox\"}",
        "request_url": "/session", "request_status": 500,
    });
    let (status, body) = api
        .rest(USER, Method::POST, "/logs/error", Some(log.clone()))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let mut bad = log.clone();
    bad["severity"] = json!("fatal");
    bad["context_env"] = json!("{not json");
    let (status, body) = api.rest(USER, Method::POST, "/logs/error", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["data"]["severity"].is_string() && body["data"]["context_env"].is_string(),
        "{body}"
    );

    // The user sees their log without the cleared flag; admins see it with the flag.
    let (_, body) = api
        .rest(USER, Method::GET, "/logs/error?mark_read=True", None)
        .await;
    assert_eq!(body["count"], 1);
    let entry = &body["logs"][0];
    assert_eq!(entry["message"], "Cannot load sessions");
    assert_eq!(entry["context_env"], json!({"browser": "firefox"}));
    assert_eq!(entry["request_status"], 500);
    assert_eq!(entry["is_read"], false, "the page shows logs as they were");
    assert!(entry.get("is_cleared").is_none());
    let log_id = entry["log_id"].as_str().unwrap().to_owned();
    for who in [DOMAIN_ADMIN, SUPERADMIN] {
        let (_, body) = api.rest(who, Method::GET, "/logs/error", None).await;
        assert_eq!(body["logs"][0]["is_read"], true);
        assert_eq!(body["logs"][0]["is_cleared"], false);
    }
    let (status, body) = api
        .rest(USER, Method::GET, "/logs/error?page_size=101", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Cleared logs disappear for their user only.
    let clear = format!("/logs/error/{log_id}/clear");
    let (status, body) = api.rest(USER, Method::POST, &clear, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (_, body) = api.rest(USER, Method::GET, "/logs/error", None).await;
    assert_eq!(body["count"], 0);
    let (_, body) = api.rest(SUPERADMIN, Method::GET, "/logs/error", None).await;
    assert_eq!(body["logs"][0]["is_cleared"], true);
    let (status, _) = api
        .rest(
            USER,
            Method::POST,
            "/logs/error/00000000-0000-0000-0000-000000000000/clear",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Old logs are cleaned up after the retention period.
    sea_orm::ConnectionTrait::execute_unprepared(
        &api.db.conn,
        "UPDATE error_logs SET created_at = now() - interval '91 days'",
    )
    .await
    .unwrap();
    let deleted = bai_manager::services::error_logs::clean_up(
        &api.db.conn,
        std::time::Duration::from_secs(90 * 86400),
    )
    .await
    .unwrap();
    assert_eq!(deleted, 1);
}
