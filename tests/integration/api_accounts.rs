//! The account routes of `/auth` (log in, bearer tokens, sign up and out, passwords, SSH
//! keypairs, roles), API version negotiation, and hook plugins at each hook point.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use bai_manager::auth::hooks::{AuthHookPlugin, Credentials, HookError, Hooks};
use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::scalar;
use crate::http::{read, spawn_api, spawn_api_with, Api, ADMIN_AK, ADMIN_SK};

const USER_AK: &str = "AKIANABBDUSEREXAMPLE";
const USER_SK: &str = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf";
const DEFAULT_GROUP: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";

impl Api {
    async fn authorize(&self, username: &str, password: &str, kind: &str) -> (StatusCode, Value) {
        let body =
            json!({"type": kind, "domain": "default", "username": username, "password": password});
        self.anonymous(Method::POST, "/auth/authorize", Some(body))
            .await
    }

    async fn as_user(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        ak: &str,
        sk: &str,
    ) -> (StatusCode, Value) {
        let (status, _, body) = read(self.send_signed(method, path, body, ak, sk).await).await;
        (status, body)
    }
}

#[tokio::test]
async fn login_with_a_password_gives_the_keypair_or_a_bearer_token() {
    let api = spawn_api().await;
    let (status, body) = api
        .authorize("admin@lablup.com", "wJalrXUt", "keypair")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"data": {"access_key": ADMIN_AK, "secret_key": ADMIN_SK, "role": "superadmin", "status": "active"}})
    );
    let (status, body) = api.authorize("admin@lablup.com", "wrong", "keypair").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["msg"], "User credential mismatch.");
    let (status, body) = api
        .anonymous(
            Method::POST,
            "/auth/authorize",
            Some(json!({"type": "magic"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["data"],
        json!({"type": "value doesn't match any variant", "domain": "is required", "username": "is required", "password": "is required"})
    );

    let (status, body) = api.authorize("user@lablup.com", "C8qnIo29", "jwt").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    let bearer = |token: String| {
        let api = &api;
        async move {
            let resp = api
                .client
                .get(format!("{}/auth/test?echo=hi", api.base))
                .header("Authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap();
            let (status, _, body) = read(resp).await;
            (status, body)
        }
    };
    assert_eq!(
        bearer(token.clone()).await,
        (StatusCode::OK, json!({"authorized": "yes", "echo": "hi"}))
    );
    let (status, body) = bearer(format!("{token}x")).await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::UNAUTHORIZED, json!("Invalid token"))
    );
}

#[tokio::test]
async fn signup_password_change_signout_and_ssh_keys() {
    let api = spawn_api().await;
    let signup = json!({"domain": "default", "email": "new@x.com", "password": "first-pw", "full_name": "New"});
    let (status, body) = api
        .anonymous(Method::POST, "/auth/signup", Some(signup.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (ak, sk) = (
        body["access_key"].as_str().unwrap().to_owned(),
        body["secret_key"].as_str().unwrap().to_owned(),
    );
    let (status, body) = api
        .anonymous(Method::POST, "/auth/signup", Some(signup))
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Email already exists"))
    );
    assert_eq!(
        scalar::<i64>(&api.db.conn, &format!(
            "SELECT count(*) FROM association_groups_users a JOIN users u ON u.uuid = a.user_id \
             WHERE u.email = 'new@x.com' AND a.group_id = '{DEFAULT_GROUP}' AND u.status_info = 'user-signup'"
        )).await,
        1
    );

    let change = |old: &str, new: &str, again: &str| json!({"old_password": old, "new_password": new, "new_password2": again});
    let (status, body) = api
        .as_user(
            Method::POST,
            "/auth/update-password",
            Some(change("nope", "a", "a")),
            &ak,
            &sk,
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::UNAUTHORIZED, json!("Old password mismatch"))
    );
    let (status, body) = api
        .as_user(
            Method::POST,
            "/auth/update-password",
            Some(change("first-pw", "a", "b")),
            &ak,
            &sk,
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error_msg": "new password mismitch"})
        )
    );
    let (status, _) = api
        .as_user(
            Method::POST,
            "/auth/update-password",
            Some(change("first-pw", "second-pw", "second-pw")),
            &ak,
            &sk,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        api.authorize("new@x.com", "second-pw", "keypair").await.0,
        StatusCode::OK
    );

    let (status, body) = api
        .as_user(Method::PATCH, "/auth/ssh-keypair", None, &ak, &sk)
        .await;
    assert_eq!(status, StatusCode::OK);
    let public = body["ssh_public_key"].as_str().unwrap().to_owned();
    assert!(public.starts_with("ssh-rsa AAAAB3NzaC1yc2E"), "{public}");
    assert!(body["ssh_private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
    let (_, body) = api
        .as_user(Method::GET, "/auth/ssh-keypair", None, &ak, &sk)
        .await;
    assert_eq!(body, json!({"ssh_public_key": public}));

    let (status, body) = api
        .as_user(
            Method::POST,
            "/auth/signout",
            Some(json!({"email": "user@lablup.com", "password": "x"})),
            &ak,
            &sk,
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::FORBIDDEN, json!("Not the account owner"))
    );
    let (status, _) = api
        .as_user(
            Method::POST,
            "/auth/signout",
            Some(json!({"username": "new@x.com", "password": "second-pw"})),
            &ak,
            &sk,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .as_user(Method::GET, "/auth/test?echo=x", None, &ak, &sk)
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::UNAUTHORIZED, json!("Access key not found"))
    );
}

#[tokio::test]
async fn roles_and_versions() {
    let api = spawn_api().await;
    let (status, body) = api
        .as_user(Method::GET, "/auth/role", None, ADMIN_AK, ADMIN_SK)
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"global_role": "superadmin", "domain_role": "admin", "group_role": null})
        )
    );
    let path = format!("/auth/role?group={DEFAULT_GROUP}");
    let (_, body) = api
        .as_user(Method::GET, &path, None, USER_AK, USER_SK)
        .await;
    assert_eq!(
        body,
        json!({"global_role": "user", "domain_role": "user", "group_role": "user"})
    );
    let (status, body) = api
        .as_user(Method::GET, "/auth/role?group=zz", None, USER_AK, USER_SK)
        .await;
    assert_eq!(
        (status, body["data"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!({"group": "cannot convert value to UUID"})
        )
    );

    let resp = api
        .client
        .get(format!("{}/", api.base))
        .header("X-BackendAI-Version", "v6.20210816")
        .send()
        .await
        .unwrap();
    let (status, _, body) = read(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"type": "https://api.backend.ai/probs/generic-bad-request", "title": "Bad request.", "msg": "Unsupported API version."})
    );
}

/// An SSO plugin: a cookie names the session's keypair.
struct Sso;

impl AuthHookPlugin for Sso {
    fn name(&self) -> &str {
        "a-sso"
    }
    fn pre_auth_middleware<'a>(
        &'a self,
        headers: &'a HeaderMap,
        _path: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, HookError>> {
        Box::pin(async move {
            match headers.get("cookie").and_then(|c| c.to_str().ok()) {
                Some("sso=user") => Ok(Some(USER_AK.to_owned())),
                Some("sso=stolen") => Err(HookError::Rejected("this session was revoked".into())),
                _ => Ok(None),
            }
        })
    }
}

/// A directory plugin: checks some logins itself, and records every login.
struct Directory(Arc<Mutex<Vec<String>>>);

impl AuthHookPlugin for Directory {
    fn name(&self) -> &str {
        "b-directory"
    }
    fn authorize<'a>(
        &'a self,
        c: &'a Credentials,
    ) -> BoxFuture<'a, Result<Option<String>, HookError>> {
        Box::pin(async move {
            match c.username.as_str() {
                "ldap-user" if c.password == "ldap-pw" => Ok(Some("user@lablup.com".into())),
                "ldap-user" => Err(HookError::Rejected("directory says no".into())),
                _ => Ok(None),
            }
        })
    }
    fn post_authorize<'a>(&'a self, email: &'a str, access_key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.0.lock().unwrap().push(format!("{email} {access_key}")) })
    }
    fn verify_password_format<'a>(
        &'a self,
        _old: &'a str,
        new: &'a str,
    ) -> BoxFuture<'a, Result<(), HookError>> {
        Box::pin(async move {
            if new.len() < 8 {
                Err(HookError::Rejected("at least 8 characters".into()))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test]
async fn hook_plugins_at_each_point() {
    let logins = Arc::new(Mutex::new(Vec::new()));
    let plugins = Hooks::new(vec![Arc::new(Directory(logins.clone())), Arc::new(Sso)]);
    let api = spawn_api_with(None, move |state| state.hooks = plugins).await;

    let with_cookie = |cookie: &'static str| {
        let api = &api;
        async move {
            let resp = api
                .client
                .get(format!("{}/auth/test?echo=sso", api.base))
                .header("Date", chrono::Utc::now().to_rfc3339())
                .header("Cookie", cookie)
                .send()
                .await
                .unwrap();
            let (status, _, body) = read(resp).await;
            (status, body)
        }
    };
    assert_eq!(
        with_cookie("sso=user").await,
        (StatusCode::OK, json!({"authorized": "yes", "echo": "sso"}))
    );
    let (status, body) = with_cookie("sso=stolen").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"type": "https://api.backend.ai/probs/rejected-by-hook", "title": "Operation rejected by a hook plugin.",
               "msg": "this session was revoked", "data": {"plugins": "a-sso"}})
    );
    assert_eq!(with_cookie("sso=other").await.0, StatusCode::UNAUTHORIZED);

    let (status, body) = api.authorize("ldap-user", "ldap-pw", "keypair").await;
    assert_eq!(
        (status, body["data"]["access_key"].clone()),
        (StatusCode::OK, json!(USER_AK))
    );
    let (status, body) = api.authorize("ldap-user", "guess", "keypair").await;
    assert_eq!(
        (status, body["data"]["plugins"].clone()),
        (StatusCode::BAD_REQUEST, json!("b-directory"))
    );
    assert_eq!(
        api.authorize("admin@lablup.com", "wJalrXUt", "keypair")
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        *logins.lock().unwrap(),
        vec![
            format!("user@lablup.com {USER_AK}"),
            format!("admin@lablup.com {ADMIN_AK}")
        ]
    );

    let change =
        json!({"old_password": "C8qnIo29", "new_password": "short", "new_password2": "short"});
    let (status, body) = api
        .as_user(
            Method::POST,
            "/auth/update-password",
            Some(change),
            USER_AK,
            USER_SK,
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("at least 8 characters"))
    );
}
