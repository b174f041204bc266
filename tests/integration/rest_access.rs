//! The access matrix of the REST routes outside sessions and folders: every route, called by a
//! superadmin, a domain admin, a user and nobody, is allowed or refused as 21.03's decorators
//! say (refusals of signed callers are 401 `auth-failed`, as in 21.03).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::http::{spawn_api, DOMAIN_ADMIN, SUPERADMIN, USER};

/// Who a route admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    User,
    /// Callers with an admin keypair.
    Admin,
    Superadmin,
}

const GROUP: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";
const NO_SUCH_ID: &str = "00000000-0000-4000-8000-000000000000";

fn routes() -> Vec<(Method, String, Option<Value>, Access)> {
    use Access::*;
    let dotfile = json!({"path": ".matrixrc", "permission": "644", "data": "x"});
    let group_file = json!({"group": GROUP, "path": ".m", "permission": "644", "data": "x"});
    let domain_file = json!({"domain": "default", "path": ".m", "permission": "644", "data": "x"});
    let template = json!({"payload": "api_version: '6'\nkind: taskTemplate\nmetadata: {name: m}\nspec: {kernel: {image: python}}"});
    let mut routes = vec![
        (
            Method::GET,
            "/config/resource-slots".to_owned(),
            None,
            Public,
        ),
        (Method::GET, "/config/vfolder-types".into(), None, Public),
        (
            Method::GET,
            "/config/docker-registries".into(),
            None,
            Superadmin,
        ),
        (
            Method::POST,
            "/config/get".into(),
            Some(json!({"key": "matrix"})),
            Superadmin,
        ),
        (
            Method::POST,
            "/config/set".into(),
            Some(json!({"key": "matrix", "value": "x"})),
            Superadmin,
        ),
        (
            Method::POST,
            "/config/delete".into(),
            Some(json!({"key": "matrix"})),
            Superadmin,
        ),
        (Method::GET, "/resource/presets".into(), None, User),
        (Method::POST, "/resource/check-presets".into(), None, User),
        (
            Method::POST,
            "/resource/recalculate-usage".into(),
            None,
            Superadmin,
        ),
        (
            Method::GET,
            "/resource/usage/month?group_ids=x&month=202101".into(),
            None,
            Superadmin,
        ),
        (
            Method::GET,
            format!(
                "/resource/usage/period?group_id={GROUP}&start_date=20210101&end_date=20210102"
            ),
            None,
            Superadmin,
        ),
        (Method::GET, "/resource/stats/user/month".into(), None, User),
        (
            Method::GET,
            "/resource/stats/admin/month".into(),
            None,
            Superadmin,
        ),
        (
            Method::GET,
            "/resource/watcher?agent_id=i-none".into(),
            None,
            Superadmin,
        ),
        (
            Method::GET,
            "/scaling-groups?group=default".into(),
            None,
            User,
        ),
        (
            Method::POST,
            "/user-config/dotfiles".into(),
            Some(dotfile.clone()),
            User,
        ),
        (Method::GET, "/user-config/dotfiles".into(), None, User),
        (
            Method::PATCH,
            "/user-config/dotfiles".into(),
            Some(dotfile),
            User,
        ),
        (
            Method::DELETE,
            "/user-config/dotfiles".into(),
            Some(json!({"path": ".matrixrc"})),
            User,
        ),
        (
            Method::POST,
            "/user-config/bootstrap-script".into(),
            Some(json!({"script": ""})),
            User,
        ),
        (
            Method::GET,
            "/user-config/bootstrap-script".into(),
            None,
            User,
        ),
        (
            Method::POST,
            "/group-config/dotfiles".into(),
            Some(group_file.clone()),
            Admin,
        ),
        (
            Method::GET,
            format!("/group-config/dotfiles?group={GROUP}"),
            None,
            User,
        ),
        (
            Method::PATCH,
            "/group-config/dotfiles".into(),
            Some(group_file),
            Admin,
        ),
        (
            Method::DELETE,
            "/group-config/dotfiles".into(),
            Some(json!({"group": GROUP, "path": ".m"})),
            Admin,
        ),
        (
            Method::POST,
            "/domain-config/dotfiles".into(),
            Some(domain_file.clone()),
            Admin,
        ),
        (
            Method::GET,
            "/domain-config/dotfiles?domain=default".into(),
            None,
            User,
        ),
        (
            Method::PATCH,
            "/domain-config/dotfiles".into(),
            Some(domain_file),
            Admin,
        ),
        (
            Method::DELETE,
            "/domain-config/dotfiles".into(),
            Some(json!({"domain": "default", "path": ".m"})),
            Admin,
        ),
        (
            Method::POST,
            "/logs/error".into(),
            Some(
                json!({"severity": "error", "source": "m", "message": "m", "context_lang": "js", "context_env": "{}"}),
            ),
            User,
        ),
        (Method::GET, "/logs/error".into(), None, User),
        (
            Method::POST,
            format!("/logs/error/{NO_SUCH_ID}/clear"),
            None,
            User,
        ),
        (Method::GET, "/manager/status".into(), None, Public),
        (
            Method::PUT,
            "/manager/status".into(),
            Some(json!({"status": "running"})),
            Superadmin,
        ),
        (Method::GET, "/manager/announcement".into(), None, Public),
        (
            Method::POST,
            "/manager/announcement".into(),
            Some(json!({"enabled": false})),
            Superadmin,
        ),
        (
            Method::POST,
            "/manager/scheduler/operation".into(),
            Some(json!({"op": "exclude-agents", "args": []})),
            Superadmin,
        ),
        (Method::GET, "/image/import".into(), None, Admin),
        (Method::POST, "/image/import".into(), Some(json!({})), Admin),
    ];
    for action in ["start", "stop", "restart"] {
        routes.push((
            Method::POST,
            format!("/resource/watcher/agent/{action}"),
            Some(json!({"agent_id": "i-none"})),
            Superadmin,
        ));
    }
    for kind in ["session", "cluster"] {
        routes.push((
            Method::POST,
            format!("/template/{kind}"),
            Some(template.clone()),
            User,
        ));
        routes.push((Method::GET, format!("/template/{kind}"), None, User));
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let body = (method == Method::PUT).then(|| template.clone());
            routes.push((method, format!("/template/{kind}/{NO_SUCH_ID}"), body, User));
        }
    }
    routes
}

fn is_refusal(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || body["type"] == "https://api.backend.ai/probs/invalid-auth-params"
}

#[tokio::test]
async fn every_route_admits_whom_21_03_admits() {
    let api = spawn_api().await;
    let mut wrong = Vec::new();
    for (method, path, body, access) in routes() {
        let callers = [
            ("superadmin", Some(SUPERADMIN), true),
            (
                "domain admin",
                Some(DOMAIN_ADMIN),
                access != Access::Superadmin,
            ),
            (
                "user",
                Some(USER),
                matches!(access, Access::Public | Access::User),
            ),
            ("nobody", None, access == Access::Public),
        ];
        for (who, keypair, admitted) in callers {
            let (status, answer) = match keypair {
                Some(kp) => api.rest(kp, method.clone(), &path, body.clone()).await,
                None => api.anonymous(method.clone(), &path, body.clone()).await,
            };
            let refused = is_refusal(status, &answer);
            if refused == admitted {
                wrong.push(format!("{method} {path} as {who}: {status} {answer}"));
            }
            if refused && keypair.is_some() && status != StatusCode::UNAUTHORIZED {
                wrong.push(format!(
                    "{method} {path} as {who}: refused with {status}, not 401"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
