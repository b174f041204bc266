//! The admin mutations over HTTP: role gates, validation, the rows each writes (in one
//! transaction), and 21.03's `{ok, msg}` reports.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::scalar;
use crate::http::{read, spawn_api_with, Api};

const SEED: &str = include_str!("../data/gql-seed.sql");
const SUPERADMIN: (&str, &str) = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
const DOMAIN_ADMIN: (&str, &str) = (
    "AKIAHUKCHDEZGEXAMPLE",
    "cWbsM_vBB4CzTW7JdORRMx8SjGI3-wEXAMPLEKEY",
);
const USER: (&str, &str) = (
    "AKIANABBDUSEREXAMPLE",
    "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf",
);
const DEFAULT_GROUP: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";

/// Runs `mutation` as `who` and returns its payload (or the errors when it has none).
async fn mutate(api: &Api, who: (&str, &str), mutation: &str, variables: Value) -> Value {
    let resp = api
        .send_signed(
            Method::POST,
            "/admin/gql",
            Some(json!({"query": mutation, "variables": variables})),
            who.0,
            who.1,
        )
        .await;
    let (status, _, body) = read(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    match body["data"].as_object().and_then(|d| d.values().next()) {
        Some(payload) if !payload.is_null() => payload.clone(),
        _ => json!({"errors": body["errors"]}),
    }
}

async fn count(api: &Api, sql: &str) -> i64 {
    scalar::<i64>(&api.db.conn, sql).await
}

#[tokio::test]
async fn domain_lifecycle_and_reports() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let create = "mutation($name: String!, $props: DomainInput!) { create_domain(name: $name, props: $props) { ok msg domain { name is_active total_resource_slots allowed_vfolder_hosts } } }";
    let props =
        json!({"description": "d", "total_resource_slots": "{\"cpu\": 4, \"mem\": \"8g\"}"});

    let r = mutate(&api, USER, create, json!({"name": "d1", "props": props})).await;
    assert_eq!(
        r,
        json!({"ok": false, "msg": "no permission to execute create_domain", "domain": null})
    );
    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"name": "-bad-", "props": props}),
    )
    .await;
    assert_eq!(r["msg"], "invalid name format. slug format required.");

    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"name": "d1", "props": props}),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "domain": {"name": "d1", "is_active": true,
            "total_resource_slots": "{\"cpu\": \"4\", \"mem\": \"8589934592\"}", "allowed_vfolder_hosts": []}})
    );
    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"name": "d1", "props": props}),
    )
    .await;
    assert_eq!(r["ok"], false);
    let msg = r["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("integrity error: duplicate key value violates unique constraint"),
        "{msg}"
    );

    let bad = json!({"total_resource_slots": "{\"cpu\": \"lots\"}"});
    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"name": "d2", "props": bad}),
    )
    .await;
    let msg = r["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Missing or invalid API parameters. (total_resource_slots:"),
        "{msg}"
    );
    assert_eq!(
        count(&api, "SELECT count(*) FROM domains WHERE name = 'd2'").await,
        0
    );

    let modify = "mutation($name: String!, $props: ModifyDomainInput!) { modify_domain(name: $name, props: $props) { ok msg domain { description } } }";
    let r = mutate(
        &api,
        SUPERADMIN,
        modify,
        json!({"name": "d1", "props": {"description": "changed"}}),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "domain": {"description": "changed"}})
    );
    let r = mutate(
        &api,
        SUPERADMIN,
        modify,
        json!({"name": "nope", "props": {"description": "x"}}),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": false, "msg": "no matching modifydomain", "domain": null})
    );

    let delete = "mutation($name: String!) { delete_domain(name: $name) { ok msg } }";
    assert_eq!(
        mutate(&api, SUPERADMIN, delete, json!({"name": "d1"})).await,
        json!({"ok": true, "msg": "success"})
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM domains WHERE name = 'd1' AND NOT is_active"
        )
        .await,
        1
    );

    let purge = "mutation($name: String!) { purge_domain(name: $name) { ok msg } }";
    let r = mutate(&api, SUPERADMIN, purge, json!({"name": "default"})).await;
    assert_eq!(
        r,
        json!({"ok": false, "msg": "Domain has some active kernels. Terminate them first."})
    );
    assert_eq!(
        mutate(&api, SUPERADMIN, purge, json!({"name": "d1"})).await,
        json!({"ok": true, "msg": "success"})
    );
    assert_eq!(
        mutate(&api, SUPERADMIN, purge, json!({"name": "d1"})).await,
        json!({"ok": false, "msg": "no matching purgedomain"})
    );
}

#[tokio::test]
async fn users_come_with_a_keypair_and_memberships() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let create = "mutation($email: String!, $props: UserInput!) { create_user(email: $email, props: $props) { ok msg user { email username role status groups { name } } } }";
    let props = json!({"username": "", "password": "s3cret", "need_password_change": false,
        "domain_name": "default", "role": "admin",
        "group_ids": [DEFAULT_GROUP, "00000000-0000-0000-0000-00000000aaaa"]});
    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"email": "new@x.com", "props": props}),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "user": {"email": "new@x.com", "username": "new@x.com",
            "role": "admin", "status": "active", "groups": [{"name": "default"}]}}),
        "the other domain's group is ignored"
    );
    assert_eq!(
        count(&api, "SELECT count(*) FROM keypairs WHERE user_id = 'new@x.com' AND is_admin AND is_active \
                     AND rate_limit = 10000 AND resource_policy = 'default' AND ssh_public_key LIKE 'ssh-rsa %' \
                     AND length(access_key) = 20 AND length(secret_key) = 40").await,
        1
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM users WHERE email = 'new@x.com' AND password LIKE '$2b$12$%'"
        )
        .await,
        1
    );

    // A failing insert (unknown domain) leaves nothing behind.
    let mut bad = props.clone();
    bad["domain_name"] = json!("no-such-domain");
    let r = mutate(
        &api,
        SUPERADMIN,
        create,
        json!({"email": "ghost@x.com", "props": bad}),
    )
    .await;
    assert!(
        r["msg"].as_str().unwrap().starts_with("integrity error:"),
        "{r}"
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM keypairs WHERE user_id = 'ghost@x.com'"
        )
        .await,
        0
    );

    let modify = "mutation($email: String!, $props: ModifyUserInput!) { modify_user(email: $email, props: $props) { ok msg user { role full_name } } }";
    let r = mutate(
        &api,
        SUPERADMIN,
        modify,
        json!({"email": "new@x.com", "props": {"role": "user", "full_name": "N"}}),
    )
    .await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "user": {"role": "user", "full_name": "N"}})
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM keypairs WHERE user_id = 'new@x.com' AND is_admin"
        )
        .await,
        0
    );
    let r = mutate(
        &api,
        SUPERADMIN,
        modify,
        json!({"email": "new@x.com", "props": {}}),
    )
    .await;
    assert_eq!(r["msg"], "nothing to update");
    let r = mutate(
        &api,
        SUPERADMIN,
        modify,
        json!({"email": "new@x.com", "props": {"role": "wizard"}}),
    )
    .await;
    assert_eq!(
        r["errors"][0]["message"],
        "Missing or invalid API parameters. ('wizard' is not a valid UserRole)"
    );

    let delete = "mutation($email: String!) { delete_user(email: $email) { ok msg } }";
    assert_eq!(
        mutate(&api, SUPERADMIN, delete, json!({"email": "new@x.com"})).await["ok"],
        true
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM users WHERE email = 'new@x.com' AND status = 'deleted'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM keypairs WHERE user_id = 'new@x.com' AND is_active"
        )
        .await,
        0
    );

    let purge = "mutation($email: String!) { purge_user(email: $email, props: {}) { ok msg } }";
    let r = mutate(&api, SUPERADMIN, purge, json!({"email": "user@lablup.com"})).await;
    assert_eq!(
        r,
        json!({"ok": false, "msg": "User has some active kernels. Terminate them first."})
    );
    assert_eq!(
        mutate(&api, SUPERADMIN, purge, json!({"email": "new@x.com"})).await,
        json!({"ok": true, "msg": "success"})
    );
    assert_eq!(
        count(
            &api,
            "SELECT count(*) FROM keypairs WHERE user_id = 'new@x.com'"
        )
        .await,
        0
    );
    assert_eq!(
        mutate(&api, SUPERADMIN, purge, json!({"email": "new@x.com"})).await["msg"],
        "no matching purgeuser"
    );
}

#[tokio::test]
async fn domain_admins_manage_the_groups_of_their_domain() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let create = "mutation($name: String!, $props: GroupInput!) { create_group(name: $name, props: $props) { ok msg group { id name domain_name } } }";
    let r = mutate(
        &api,
        DOMAIN_ADMIN,
        create,
        json!({"name": "g1", "props": {"domain_name": "default"}}),
    )
    .await;
    assert_eq!(r["msg"], "success");
    let gid = r["group"]["id"].as_str().unwrap().to_owned();
    let r = mutate(
        &api,
        DOMAIN_ADMIN,
        create,
        json!({"name": "g2", "props": {"domain_name": "other"}}),
    )
    .await;
    assert_eq!(r["msg"], "no permission to execute create_group");

    let modify = "mutation($gid: UUID!, $props: ModifyGroupInput!) { modify_group(gid: $gid, props: $props) { ok msg group { name } } }";
    let user_uuid: uuid::Uuid = scalar(
        &api.db.conn,
        "SELECT uuid FROM users WHERE email = 'user@lablup.com'",
    )
    .await;
    let r = mutate(&api, DOMAIN_ADMIN, modify, json!({"gid": gid, "props": {"user_update_mode": "add", "user_uuids": [user_uuid.to_string()]}})).await;
    assert_eq!(r, json!({"ok": true, "msg": "success", "group": null}));
    assert_eq!(
        count(
            &api,
            &format!("SELECT count(*) FROM association_groups_users WHERE group_id = '{gid}'")
        )
        .await,
        1
    );
    let r = mutate(
        &api,
        DOMAIN_ADMIN,
        modify,
        json!({"gid": gid, "props": {"user_update_mode": "swap", "user_uuids": []}}),
    )
    .await;
    assert_eq!(
        r["errors"][0]["message"],
        "Missing or invalid API parameters. (invalid user_update_mode)"
    );
    let other = "00000000-0000-0000-0000-00000000aaaa";
    let r = mutate(
        &api,
        DOMAIN_ADMIN,
        modify,
        json!({"gid": other, "props": {"name": "mine"}}),
    )
    .await;
    assert_eq!(r["msg"], "no permission to execute modify_group");

    let delete = "mutation($gid: UUID!) { delete_group(gid: $gid) { ok msg } }";
    assert_eq!(
        mutate(&api, DOMAIN_ADMIN, delete, json!({"gid": gid})).await["msg"],
        "success"
    );
    let purge = "mutation($gid: UUID!) { purge_group(gid: $gid) { ok msg } }";
    assert_eq!(
        mutate(&api, DOMAIN_ADMIN, purge, json!({"gid": gid})).await["msg"],
        "success"
    );
    assert_eq!(
        count(
            &api,
            &format!("SELECT count(*) FROM groups WHERE id = '{gid}'")
        )
        .await,
        0
    );
    let r = mutate(&api, SUPERADMIN, purge, json!({"gid": DEFAULT_GROUP})).await;
    assert_eq!(
        r["msg"],
        "Group has some active session. Terminate them first to proceed removal."
    );
}

#[tokio::test]
async fn keypairs_policies_presets_and_scaling_groups() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let r = mutate(&api, SUPERADMIN,
        "mutation { create_keypair(user_id: \"user@lablup.com\", props: {resource_policy: \"default\", rate_limit: 500}) { ok msg keypair { user_id rate_limit is_active is_admin } } }",
        json!({})).await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "keypair": {"user_id": "user@lablup.com", "rate_limit": 500, "is_active": true, "is_admin": false}})
    );
    let r = mutate(&api, SUPERADMIN, "mutation { modify_keypair(access_key: \"AKIANONEXISTENT00000\", props: {rate_limit: 1}) { ok msg } }", json!({})).await;
    assert_eq!(r, json!({"ok": false, "msg": "no matching modifykeypair"}));

    let r = mutate(&api, SUPERADMIN,
        "mutation { create_keypair_resource_policy(name: \"p1\", props: {default_for_unspecified: \"UNLIMITED\", total_resource_slots: \"{}\", max_concurrent_sessions: 3, max_containers_per_session: 1, idle_timeout: 3600, max_vfolder_count: 10, max_vfolder_size: \"10737418240\"}) { ok msg resource_policy { name default_for_unspecified max_vfolder_size } } }",
        json!({})).await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "resource_policy": {"name": "p1", "default_for_unspecified": "UNLIMITED", "max_vfolder_size": 10737418240i64}})
    );
    let r = mutate(
        &api,
        SUPERADMIN,
        "mutation { delete_keypair_resource_policy(name: \"default\") { ok msg } }",
        json!({}),
    )
    .await;
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("integrity error: update or delete on table"),
        "{r}"
    );

    let r = mutate(&api, SUPERADMIN,
        "mutation { create_resource_preset(name: \"small\", props: {resource_slots: \"{\\\"cpu\\\": 1, \\\"mem\\\": \\\"1g\\\"}\", shared_memory: \"64m\"}) { ok msg resource_preset { resource_slots shared_memory } } }",
        json!({})).await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "resource_preset": {"resource_slots": "{\"cpu\": \"1\", \"mem\": \"1073741824\"}", "shared_memory": 67108864}})
    );
    let r = mutate(&api, SUPERADMIN, "mutation { modify_resource_preset(name: \"small\", props: {shared_memory: \"lots\"}) { ok msg } }", json!({})).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("shared_memory \"lots\" is not a binary size"),
        "{r}"
    );

    let r = mutate(&api, SUPERADMIN, "mutation { create_scaling_group(name: \"sg1\", props: {driver: \"static\", scheduler: \"fifo\"}) { ok msg scaling_group { name is_active driver_opts } } }", json!({})).await;
    assert_eq!(
        r,
        json!({"ok": true, "msg": "success", "scaling_group": {"name": "sg1", "is_active": true, "driver_opts": "{}"}})
    );
    let assoc = "mutation { associate_scaling_group_with_domain(domain: \"default\", scaling_group: \"sg1\") { ok msg } }";
    assert_eq!(
        mutate(&api, SUPERADMIN, assoc, json!({})).await["msg"],
        "success"
    );
    assert!(mutate(&api, SUPERADMIN, assoc, json!({})).await["msg"]
        .as_str()
        .unwrap()
        .starts_with("integrity error:"));
    let r = mutate(
        &api,
        SUPERADMIN,
        "{ domain(name: \"default\") { scaling_groups } }",
        json!({}),
    )
    .await;
    assert_eq!(r, json!({"scaling_groups": ["default", "sg1"]}));
    let dis = "mutation { disassociate_scaling_group_with_domain(domain: \"default\", scaling_group: \"sg1\") { ok msg } }";
    assert_eq!(
        mutate(&api, SUPERADMIN, dis, json!({})).await["msg"],
        "success"
    );
    assert_eq!(
        mutate(&api, SUPERADMIN, dis, json!({})).await["msg"],
        "no matching disassociatescalinggroupwithdomain"
    );
    let r = mutate(
        &api,
        USER,
        "mutation { delete_scaling_group(name: \"sg1\") { ok msg } }",
        json!({}),
    )
    .await;
    assert_eq!(r["msg"], "no permission to execute delete_scaling_group");
    assert_eq!(
        mutate(
            &api,
            SUPERADMIN,
            "mutation { delete_scaling_group(name: \"sg1\") { ok msg } }",
            json!({})
        )
        .await["msg"],
        "success"
    );
}

#[tokio::test]
async fn image_aliases_live_in_etcd() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let r = mutate(&api, SUPERADMIN, "mutation { alias_image(alias: \"py\", target: \"cr.backend.ai/stable/python:3.9\") { ok msg } }", json!({})).await;
    assert_eq!(r, json!({"ok": true, "msg": "success"}));
    let r = mutate(
        &api,
        SUPERADMIN,
        "mutation { forget_image(reference: \"py\") { ok msg } }",
        json!({}),
    )
    .await;
    assert_eq!(r, json!({"ok": true, "msg": "success"}));
    let r = mutate(
        &api,
        SUPERADMIN,
        "mutation { dealias_image(alias: \"py\") { ok msg } }",
        json!({}),
    )
    .await;
    assert_eq!(r, json!({"ok": true, "msg": "success"}));
    let r = mutate(
        &api,
        SUPERADMIN,
        "mutation { forget_image(reference: \"https://x/y\") { ok msg } }",
        json!({}),
    )
    .await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("protocol scheme"),
        "{r}"
    );
    let r = mutate(&api, SUPERADMIN, "mutation { preload_image(references: [\"x\"], target_agents: [\"i-1\"]) { ok msg task_id } }", json!({})).await;
    assert_eq!(
        r,
        json!({"ok": false, "msg": "Not implemented.", "task_id": null})
    );
}

#[tokio::test]
async fn images_are_read_from_etcd_and_redis() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let etcd = &api.etcd.etcd;
    for (key, value) in [
        ("images/cr.backend.ai/stable%2Fpython", "1"),
        ("images/cr.backend.ai/stable%2Fpython/3.9", "sha256:abc"),
        (
            "images/cr.backend.ai/stable%2Fpython/3.9/size_bytes",
            "123456789012",
        ),
        (
            "images/cr.backend.ai/stable%2Fpython/3.9/labels/ai.backend.kernelspec",
            "1",
        ),
        ("images/cr.backend.ai/stable%2Fpython/3.9/accels", "cuda"),
        (
            "images/cr.backend.ai/stable%2Fpython/3.9/resource/cpu/min",
            "1",
        ),
        (
            "images/cr.backend.ai/stable%2Fpython/3.9/resource/mem/min",
            "1g",
        ),
        ("images/other.io/x/1.0", "sha256:def"),
        ("images/_aliases/python", "cr.backend.ai/stable/python:3.9"),
    ] {
        etcd.put(key, value).await.unwrap();
    }
    let q = "{ images { name tag registry digest size_bytes aliases supported_accelerators installed installed_agents labels { key value } resource_limits { key min max } } }";
    let expected = json!({"name": "stable/python", "tag": "3.9", "registry": "cr.backend.ai", "digest": "sha256:abc",
        "size_bytes": 123456789012i64, "aliases": ["python"], "supported_accelerators": ["cuda"], "installed": false,
        "installed_agents": [], "labels": [{"key": "ai.backend.kernelspec", "value": "1"}],
        "resource_limits": [{"key": "cpu", "min": "1", "max": "Infinity"}, {"key": "mem", "min": "1g", "max": "Infinity"}]});
    let all = mutate(&api, SUPERADMIN, q, json!({})).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[0], expected);
    // The example domain may use only cr.backend.ai.
    let mine = mutate(&api, USER, q, json!({})).await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let one = mutate(
        &api,
        USER,
        "{ image(reference: \"python\") { name tag } }",
        json!({}),
    )
    .await;
    assert_eq!(one, json!({"name": "stable/python", "tag": "3.9"}));
}

/// Every mutation as a user and as a domain admin: 21.03's role gate answers before anything
/// is validated or written (admins may rescan images, and manage the groups of their domain).
#[tokio::test]
async fn authorization_matrix_of_mutations() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let before = crate::helpers::row_counts(&api.db.conn).await;
    let other_group = "00000000-0000-0000-0000-00000000aaaa";
    let slots = "\"{}\"";
    let cases: Vec<(String, &str, bool)> = vec![
        // (document, field, may a domain admin run it?)
        (format!("create_domain(name: \"x\", props: {{total_resource_slots: {slots}}})"), "create_domain", false),
        ("modify_domain(name: \"default\", props: {description: \"x\"})".into(), "modify_domain", false),
        ("delete_domain(name: \"default\")".into(), "delete_domain", false),
        ("purge_domain(name: \"default\")".into(), "purge_domain", false),
        ("create_group(name: \"x\", props: {domain_name: \"other\"})".into(), "create_group", false),
        (format!("modify_group(gid: \"{other_group}\", props: {{name: \"x\"}})"), "modify_group", false),
        (format!("delete_group(gid: \"{other_group}\")"), "delete_group", false),
        (format!("purge_group(gid: \"{other_group}\")"), "purge_group", false),
        ("create_user(email: \"x@x\", props: {username: \"x\", password: \"x\", need_password_change: false, domain_name: \"default\"})".into(), "create_user", false),
        ("modify_user(email: \"user@lablup.com\", props: {full_name: \"x\"})".into(), "modify_user", false),
        ("delete_user(email: \"user@lablup.com\")".into(), "delete_user", false),
        ("purge_user(email: \"user@lablup.com\", props: {})".into(), "purge_user", false),
        ("create_keypair(user_id: \"user@lablup.com\", props: {resource_policy: \"default\", rate_limit: 1})".into(), "create_keypair", false),
        ("modify_keypair(access_key: \"AKIANABBDUSEREXAMPLE\", props: {rate_limit: 1})".into(), "modify_keypair", false),
        ("delete_keypair(access_key: \"AKIANABBDUSEREXAMPLE\")".into(), "delete_keypair", false),
        ("rescan_images".into(), "rescan_images", true),
        ("preload_image(references: [\"x\"], target_agents: [\"y\"])".into(), "preload_image", false),
        ("unload_image(references: [\"x\"], target_agents: [\"y\"])".into(), "unload_image", false),
        ("forget_image(reference: \"x\")".into(), "forget_image", false),
        ("alias_image(alias: \"x\", target: \"y\")".into(), "alias_image", false),
        ("dealias_image(alias: \"x\")".into(), "dealias_image", false),
        (format!("create_keypair_resource_policy(name: \"x\", props: {{default_for_unspecified: \"LIMITED\", total_resource_slots: {slots}, max_concurrent_sessions: 1, max_containers_per_session: 1, idle_timeout: 1, max_vfolder_count: 1, max_vfolder_size: 1}})"), "create_keypair_resource_policy", false),
        ("modify_keypair_resource_policy(name: \"default\", props: {max_vfolder_count: 2})".into(), "modify_keypair_resource_policy", false),
        ("delete_keypair_resource_policy(name: \"default\")".into(), "delete_keypair_resource_policy", false),
        (format!("create_resource_preset(name: \"x\", props: {{resource_slots: {slots}}})"), "create_resource_preset", false),
        ("modify_resource_preset(name: \"x\", props: {shared_memory: \"1g\"})".into(), "modify_resource_preset", false),
        ("delete_resource_preset(name: \"x\")".into(), "delete_resource_preset", false),
        ("create_scaling_group(name: \"x\", props: {driver: \"static\", scheduler: \"fifo\"})".into(), "create_scaling_group", false),
        ("modify_scaling_group(name: \"default\", props: {description: \"x\"})".into(), "modify_scaling_group", false),
        ("delete_scaling_group(name: \"default\")".into(), "delete_scaling_group", false),
        ("associate_scaling_group_with_domain(domain: \"other\", scaling_group: \"default\")".into(), "associate_scaling_group_with_domain", false),
        (format!("associate_scaling_group_with_user_group(scaling_group: \"default\", user_group: \"{other_group}\")"), "associate_scaling_group_with_user_group", false),
        ("associate_scaling_group_with_keypair(access_key: \"AKIANABBDUSEREXAMPLE\", scaling_group: \"default\")".into(), "associate_scaling_group_with_keypair", false),
        ("disassociate_scaling_group_with_domain(domain: \"default\", scaling_group: \"default\")".into(), "disassociate_scaling_group_with_domain", false),
        (format!("disassociate_scaling_group_with_user_group(scaling_group: \"default\", user_group: \"{DEFAULT_GROUP}\")"), "disassociate_scaling_group_with_user_group", false),
        ("disassociate_scaling_group_with_keypair(access_key: \"AKIANABBDUSEREXAMPLE\", scaling_group: \"default\")".into(), "disassociate_scaling_group_with_keypair", false),
        ("disassociate_all_scaling_groups_with_domain(domain: \"default\")".into(), "disassociate_all_scaling_groups_with_domain", false),
        (format!("disassociate_all_scaling_groups_with_group(user_group: \"{DEFAULT_GROUP}\")"), "disassociate_all_scaling_groups_with_group", false),
    ];
    assert_eq!(cases.len(), 38);
    let denied = |field: &str| format!("no permission to execute {field}");
    for (call, field, admin_may) in &cases {
        let doc = format!("mutation {{ {call} {{ ok msg }} }}");
        let r = mutate(&api, USER, &doc, json!({})).await;
        assert_eq!(
            r,
            json!({"ok": false, "msg": denied(field)}),
            "{doc} as a user"
        );
        let r = mutate(&api, DOMAIN_ADMIN, &doc, json!({})).await;
        if *admin_may {
            assert_ne!(r["msg"], denied(field), "{doc} as a domain admin");
        } else {
            assert_eq!(
                r,
                json!({"ok": false, "msg": denied(field)}),
                "{doc} as a domain admin"
            );
        }
    }
    assert_eq!(
        crate::helpers::row_counts(&api.db.conn).await,
        before,
        "a denied mutation wrote something"
    );

    // Without credentials nothing runs at all.
    let resp = api
        .client
        .post(format!("{}/admin/gql", api.base))
        .header("Date", chrono::Utc::now().to_rfc3339())
        .json(&json!({"query": "mutation { delete_domain(name: \"default\") { ok } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
