//! `/template/session` and `/template/cluster`: templates as JSON or YAML, checked, listed by
//! owner and group, read back in both formats, changed and deleted by those allowed.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::http::{spawn_api, DOMAIN_ADMIN, SUPERADMIN, USER};

const TEMPLATE_YAML: &str = "\
api_version: '6'
kind: taskTemplate
metadata:
  name: jupyter
spec:
  type: interactive
  kernel:
    image: cr.backend.ai/stable/python:3.8
    environ:
      LANG: C.UTF-8
  mounts:
    data: /home/work/data
";

#[tokio::test]
async fn session_templates_round_trip() {
    let api = spawn_api().await;
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/template/session",
            Some(json!({"payload": TEMPLATE_YAML})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "hex without dashes, as 21.03");

    // Listed for the owner; the group's members see it as a group template.
    let (_, body) = api.rest(USER, Method::GET, "/template/session", None).await;
    assert_eq!(body[0]["id"], id.as_str());
    assert_eq!(body[0]["name"], "jupyter");
    assert_eq!(body[0]["is_owner"], true);
    assert_eq!(body[0]["user_email"], "user@lablup.com");
    assert_eq!(body[0]["type"], "user");
    let (_, body) = api
        .rest(DOMAIN_ADMIN, Method::GET, "/template/session", None)
        .await;
    assert_eq!(body[0]["group_name"], "default");
    let (_, body) = api
        .rest(SUPERADMIN, Method::GET, "/template/session?all=true", None)
        .await;
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, body) = api.rest(USER, Method::GET, "/template/cluster", None).await;
    assert_eq!(body, json!([]));

    // Read back with the defaults filled in, as JSON or YAML.
    let path = format!("/template/session/{id}");
    let (status, body) = api
        .rest(USER, Method::GET, &format!("{path}?format=json"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["spec"]["session_type"], "interactive");
    assert_eq!(
        body["spec"]["kernel"]["environ"],
        json!({"LANG": "C.UTF-8"})
    );
    assert_eq!(body["metadata"]["tag"], json!(null));
    let resp = api
        .send_signed(Method::GET, &path, None, USER.0, USER.1)
        .await;
    assert_eq!(resp.headers()["content-type"], "text/yaml; charset=utf-8");
    let yaml = resp.text().await.unwrap();
    assert!(
        yaml.contains("image: cr.backend.ai/stable/python:3.8"),
        "{yaml}"
    );

    // The stored form goes back in unchanged; others may not change it.
    let stored = body.to_string();
    let (status, body) = api
        .rest(USER, Method::PUT, &path, Some(json!({"payload": stored})))
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (status, _) = api
        .rest(
            USER,
            Method::PUT,
            &path,
            Some(json!({"payload": "kind: [unclosed"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api
        .rest(USER, Method::GET, "/template/session/not-a-uuid", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api.rest(DOMAIN_ADMIN, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.rest(USER, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["title"], "No such task template.");
}

#[tokio::test]
async fn templates_are_checked() {
    let api = spawn_api().await;
    let post = |payload: String| {
        api.rest(
            USER,
            Method::POST,
            "/template/session",
            Some(json!({"payload": payload})),
        )
    };
    let (status, body) = post(TEMPLATE_YAML.replace("/home/work/data", "/etc")).await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Path /etc should start with /home/work/")
        )
    );
    let (status, body) =
        post(TEMPLATE_YAML.replace("    image: cr.backend.ai/stable/python:3.8\n", "")).await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("spec.kernel.image: is required")
        )
    );
    let (status, body) = post("[1, 2]".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/template/session",
            Some(json!({"payload": TEMPLATE_YAML, "group": "nope"})),
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid group"))
    );
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/template/session",
            Some(json!({"payload": TEMPLATE_YAML, "domain": "other"})),
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("You can only set the domain to your domain.")
        )
    );

    // A cluster of the session template.
    let (_, body) = post(TEMPLATE_YAML.into()).await;
    let session = body["id"].as_str().unwrap().to_owned();
    let cluster = json!({
        "api_version": "6", "kind": "clusterTemplate", "mode": "multi-node",
        "metadata": {"name": "pair"},
        "spec": {"nodes": [{"role": "main", "session_template": session},
                           {"role": "worker", "session_template": session, "replicas": 2}]},
    });
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/template/cluster",
            Some(json!({"payload": cluster.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut no_main = cluster.clone();
    no_main["spec"]["nodes"][0]["role"] = json!("head");
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/template/cluster",
            Some(json!({"payload": no_main.to_string()})),
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("One and only one main node must be created per cluster")
        )
    );
    let (status, _) = api.rest(USER, Method::GET, "/template/vm", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn image_import_is_checked_then_refused_until_sessions_are_scheduled() {
    let api = spawn_api().await;
    let (status, body) = api
        .rest(DOMAIN_ADMIN, Method::GET, "/image/import", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let task_options = &body["fieldGroups"][1]["fields"];
    assert_eq!(task_options[0]["choices"], json!(["default"]));
    assert_eq!(task_options[1]["choices"], json!(["default"]));

    let request = json!({
        "src": "index.docker.io/lablup/python:3.8", "target": "cr.example.com/me/python:3.8",
        "brand": "Python 3.8", "baseDistro": "ubuntu", "minCPU": 1, "minMemory": "1g",
        "supportedAccelerators": ["cuda"], "runtimeType": "python",
        "runtimePath": "/usr/local/bin/python", "CPUCountEnvs": ["NPROC"],
        "servicePorts": [{"name": "jupyter", "protocol": "http", "ports": [8080]}],
        "launchOptions": {"group": "default", "scalingGroup": "default"},
    });
    let (status, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::POST,
            "/image/import",
            Some(request.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .contains("does not schedule sessions"),
        "{body}"
    );

    let mut bad = request.clone();
    bad["baseDistro"] = json!("arch");
    bad["minMemory"] = json!("lots");
    bad["servicePorts"] = json!([{"name": "x", "protocol": "udp", "ports": [1]}]);
    let (status, body) = api
        .rest(DOMAIN_ADMIN, Method::POST, "/image/import", Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for key in ["baseDistro", "minMemory", "servicePorts"] {
        assert!(body["data"][key].is_string(), "{key}: {body}");
    }
    let mut elsewhere = request;
    elsewhere["launchOptions"]["group"] = json!("nope");
    let (status, body) = api
        .rest(DOMAIN_ADMIN, Method::POST, "/image/import", Some(elsewhere))
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid domain or group."))
    );
}
