//! The GraphQL API over HTTP, as the 21.03 clients call it: both endpoints, scoping per role,
//! the paginated lists with filter and order, legacy variable quirks, and batching.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::http::{read, spawn_api_with, Api};

const SEED: &str = include_str!("../data/gql-seed.sql");

/// The callers of the authorization matrix: (name, access key, secret key).
const SUPERADMIN: (&str, &str, &str) = (
    "superadmin",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
const DOMAIN_ADMIN: (&str, &str, &str) = (
    "domain admin",
    "AKIAHUKCHDEZGEXAMPLE",
    "cWbsM_vBB4CzTW7JdORRMx8SjGI3-wEXAMPLEKEY",
);
const USER: (&str, &str, &str) = (
    "user",
    "AKIANABBDUSEREXAMPLE",
    "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf",
);
const OTHER_ADMIN: (&str, &str, &str) = (
    "other domain's admin",
    "AKIAOTHERADMINEXAMPL",
    "other-admin-secret-key",
);

impl Api {
    async fn gql_as(
        &self,
        who: (&str, &str, &str),
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let resp = self
            .send_signed(Method::POST, path, Some(body), who.1, who.2)
            .await;
        let (status, _, body) = read(resp).await;
        (status, body)
    }

    /// `/admin/gql` with `query`; returns the whole `{data, errors}` body.
    async fn query(&self, who: (&str, &str, &str), query: &str) -> Value {
        let (status, body) = self
            .gql_as(who, "/admin/gql", json!({"query": query}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

async fn seeded() -> Api {
    spawn_api_with(Some(SEED), |_| {}).await
}

fn error_message(body: &Value) -> Option<&str> {
    body["errors"][0]["message"].as_str()
}

#[tokio::test]
async fn legacy_endpoint_returns_bare_data_or_an_http_error() {
    let api = seeded().await;
    let (status, body) = api
        .gql_as(
            SUPERADMIN,
            "/admin/graphql",
            json!({"query": "{ agent(agent_id: \"i-test-1\") { id status cpu_slots mem_slots } }"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"agent": {"id": "i-test-1", "status": "ALIVE", "cpu_slots": 8.0, "mem_slots": 16384}})
    );

    let (status, body) = api
        .gql_as(
            USER,
            "/admin/graphql",
            json!({"query": "{ agent_list(limit: 10, offset: 0) { total_count } }"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "https://api.backend.ai/probs/graphql-error");
    assert_eq!(body["title"], "GraphQL-generated error.");
    assert_eq!(
        body["data"][0]["message"],
        "Forbidden operation. (superadmin privilege required)"
    );

    // The standard endpoint answers 200 with the error beside the (null) data.
    let body = api
        .query(USER, "{ agent_list(limit: 10, offset: 0) { total_count } }")
        .await;
    assert_eq!(body["data"], json!({"agent_list": null}), "{body}");
    assert_eq!(
        error_message(&body),
        Some("Forbidden operation. (superadmin privilege required)")
    );
}

#[tokio::test]
async fn requests_without_credentials_or_with_bad_bodies_are_refused() {
    let api = seeded().await;
    let resp = api
        .client
        .post(format!("{}/admin/gql", api.base))
        .json(&json!({"query": "{ domains { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST); // no date: 21.03's first check
    for (body, key, why) in [
        (json!({"variables": {}}), "query", "is required"),
        (json!({"query": 5}), "query", "value is not a string"),
        (
            json!({"query": "{ __typename }", "variables": [1]}),
            "variables",
            "value is not a dict",
        ),
        (
            json!({"query": "{ __typename }", "extra": 1}),
            "extra",
            "extra is not allowed key",
        ),
    ] {
        let (status, body) = api.gql_as(SUPERADMIN, "/admin/gql", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body["type"],
            "https://api.backend.ai/probs/invalid-api-params"
        );
        assert_eq!(body["msg"], "Input validation error");
        assert_eq!(body["data"], json!({ key: why }));
    }
}

/// Each query × caller: allowed (no error) or the 21.03 denial.
#[tokio::test]
async fn authorization_matrix_of_queries() {
    let api = seeded().await;
    let forbidden_superadmin = "Forbidden operation. (superadmin privilege required)";
    let forbidden = "Forbidden operation.";
    let insufficient = "Insufficient privilege.";
    let cases: &[(&str, [Option<&str>; 4])] = &[
        // [superadmin, domain admin, user, other domain's admin]
        ("{ agents { id } }", [None, Some(forbidden_superadmin), Some(forbidden_superadmin), Some(forbidden_superadmin)]),
        ("{ domains { name } }", [None, Some(forbidden_superadmin), Some(forbidden_superadmin), Some(forbidden_superadmin)]),
        ("{ domain(name: \"default\") { name } }", [None, None, None, Some("Unknown URL path. (no such domain)")]),
        ("{ users(domain_name: \"default\") { email } }", [None, None, Some(insufficient), Some(insufficient)]),
        ("{ user_list(limit: 5, offset: 0) { total_count } }", [None, None, Some(insufficient), None]),
        ("{ user(email: \"admin@lablup.com\") { email } }", [None, None, Some(forbidden), None]),
        ("{ keypair(access_key: \"AKIAIOSFODNN7EXAMPLE\") { access_key } }", [None, None, Some(forbidden), None]),
        ("{ keypair_list(limit: 5, offset: 0, domain_name: \"default\") { total_count } }", [None, None, None, Some(forbidden)]),
        ("{ keypair_list(limit: 5, offset: 0, email: \"admin@lablup.com\") { total_count } }", [None, None, Some(forbidden), None]),
        ("{ groups(domain_name: \"default\") { name } }", [None, None, None, Some(insufficient)]),
        ("{ scaling_groups { name } }", [None, Some(forbidden_superadmin), Some(forbidden_superadmin), Some(forbidden_superadmin)]),
        ("{ compute_session_list(limit: 5, offset: 0, domain_name: \"default\") { total_count } }", [None, None, None, Some(forbidden)]),
        ("{ compute_session_list(limit: 5, offset: 0, access_key: \"AKIAIOSFODNN7EXAMPLE\") { total_count } }", [None, None, Some(forbidden), None]),
        ("{ resource_presets { name } }", [None, None, None, None]),
        ("{ keypair_resource_policies { name } }", [None, None, None, None]),
        ("{ vfolder_list(limit: 5, offset: 0) { total_count } }", [None, None, None, None]),
    ];
    for (query, expected) in cases {
        for (who, want) in [SUPERADMIN, DOMAIN_ADMIN, USER, OTHER_ADMIN]
            .into_iter()
            .zip(expected)
        {
            let body = api.query(who, query).await;
            assert_eq!(error_message(&body), *want, "{query} as {}: {body}", who.0);
        }
    }
}

#[tokio::test]
async fn sessions_are_scoped_filtered_ordered_and_paged() {
    let api = seeded().await;
    let list = |filter: &str, order: &str| {
        format!(
            "{{ compute_session_list(limit: 3, offset: 0, filter: {filter:?}, order: {order:?}) \
             {{ total_count items {{ name status user_email group_name cluster_mode \
             occupied_slots containers {{ cluster_role agent }} }} }} }}"
        )
    };
    // The superadmin sees all 127 sessions, 63 of them running.
    let body = api.query(SUPERADMIN, &list("", "")).await;
    assert_eq!(body["data"]["compute_session_list"]["total_count"], 127);
    let body = api
        .query(SUPERADMIN, &list("status == \"RUNNING\"", "-created_at"))
        .await;
    let page = &body["data"]["compute_session_list"];
    assert_eq!(page["total_count"], 62 + 1, "{body}");
    assert_eq!(page["items"][0]["name"], "user-sess-120");
    assert_eq!(page["items"][0]["user_email"], "user@lablup.com");
    assert_eq!(page["items"][0]["group_name"], "default");
    assert_eq!(page["items"][0]["cluster_mode"], "single-node");
    assert_eq!(
        page["items"][0]["occupied_slots"],
        "{\"cpu\": \"1\", \"mem\": \"1073741824\"}"
    );
    assert_eq!(
        page["items"][0]["containers"],
        json!([{"cluster_role": "main", "agent": "i-test-1"}])
    );
    // Aliases, __typename, inline fragments and a field selected twice, as the engine answers.
    let body = api
        .query(
            SUPERADMIN,
            "{ compute_session_list(limit: 1, offset: 0, filter: \"status == \\\"RUNNING\\\"\", order: \"-created_at\") \
             { items { title: name __typename ... on Item { ... on ComputeSession { status } } \
             containers { cluster_role } containers { agent } } } }",
        )
        .await;
    assert_eq!(
        body["data"]["compute_session_list"]["items"],
        json!([{"title": "user-sess-120", "__typename": "ComputeSession", "status": "RUNNING",
                "containers": [{"cluster_role": "main", "agent": "i-test-1"}]}]),
        "{body}"
    );
    // The page itself selected twice: the engine merges the two answers item by item.
    let page = "compute_session_list(limit: 1, offset: 0, filter: \"status == \\\"RUNNING\\\"\", order: \"-created_at\")";
    let body = api
        .query(
            SUPERADMIN,
            &format!("{{ {page} {{ items {{ name containers {{ cluster_role }} }} }} {page} {{ items {{ status containers {{ agent }} }} }} }}"),
        )
        .await;
    assert_eq!(
        body["data"]["compute_session_list"]["items"],
        json!([{"name": "user-sess-120", "containers": [{"cluster_role": "main", "agent": "i-test-1"}],
                "status": "RUNNING"}]),
        "{body}"
    );
    // A user sees only their own sessions, a domain admin the domain's.
    let body = api
        .query(USER, &list("name ilike \"%sess-1%\"", "name"))
        .await;
    let page = &body["data"]["compute_session_list"];
    assert_eq!(page["total_count"], 32, "{body}"); // 1, 10-19, 100-119
    assert_eq!(page["items"][0]["name"], "user-sess-1");
    // Filters and orders on the group's and the user's names (read through joins then).
    let body = api
        .query(
            SUPERADMIN,
            &list(
                "user_email == \"user@lablup.com\" & group_name == \"default\"",
                "-user_email",
            ),
        )
        .await;
    let page = &body["data"]["compute_session_list"];
    assert!(page["total_count"].as_i64().unwrap() > 0, "{body}");
    assert_eq!(page["items"][0]["user_email"], "user@lablup.com");
    assert_eq!(page["items"][0]["group_name"], "default");
    let body = api.query(DOMAIN_ADMIN, &list("", "")).await;
    assert_eq!(body["data"]["compute_session_list"]["total_count"], 125);
    let body = api.query(OTHER_ADMIN, &list("", "")).await;
    assert_eq!(body["data"]["compute_session_list"]["total_count"], 2);
    // Bad filters name what is wrong.
    let body = api.query(SUPERADMIN, &list("colour == \"red\"", "")).await;
    let msg = error_message(&body).unwrap();
    assert!(
        msg.starts_with("Missing or invalid API parameters. (unknown field \"colour\""),
        "{msg}"
    );
    // The status argument takes comma-separated names.
    let body = api
        .query(
            SUPERADMIN,
            "{ compute_session_list(limit: 1, offset: 0, status: \"RUNNING,TERMINATED\") { total_count } }",
        )
        .await;
    assert_eq!(body["data"]["compute_session_list"]["total_count"], 127);
}

#[tokio::test]
async fn a_failed_field_of_a_page_item_is_null_beside_its_error() {
    let api = seeded().await;
    // Items are written as JSON as they resolve; a field that fails is null in its place.
    let body = api
        .query(
            SUPERADMIN,
            "{ keypair_list(limit: 2, offset: 0, order: \"access_key\") { items { access_key \
             compute_sessions(status: \"BOGUS\") { id } is_active } } }",
        )
        .await;
    let items = &body["data"]["keypair_list"]["items"];
    assert_eq!(items.as_array().map(Vec::len), Some(2), "{body}");
    for item in items.as_array().unwrap() {
        assert!(item["access_key"].is_string(), "{body}");
        assert_eq!(item["compute_sessions"], Value::Null, "{body}");
        assert_eq!(item["is_active"], true, "{body}");
    }
    assert_eq!(
        body["errors"][0]["path"],
        json!(["keypair_list", "items", 0, "compute_sessions"]),
        "{body}"
    );
    assert!(error_message(&body).unwrap().contains("BOGUS"), "{body}");
}

#[tokio::test]
async fn a_page_of_sessions_lists_every_container_in_cluster_order() {
    use sea_orm::ConnectionTrait;
    let api = seeded().await;
    let name = crate::helpers::unique("multi");
    let session = uuid::Uuid::new_v4();
    // The page's main kernels serve as containers; the others are read for the page at once.
    let kernel = |id: uuid::Uuid, role: &str, idx: i32, cpu: &str| {
        format!(
            "INSERT INTO kernels (id, session_id, session_name, session_type, cluster_mode, \
             cluster_size, cluster_role, cluster_idx, cluster_hostname, scaling_group, agent, \
             domain_name, group_id, user_uuid, access_key, image, registry, occupied_slots, \
             occupied_shares, repl_in_port, repl_out_port, stdin_port, stdout_port, status, \
             created_at) \
             SELECT '{id}', '{session}', '{name}', 'INTERACTIVE', 'multi-node', 3, '{role}', \
             {idx}, '{role}{idx}', 'default', 'i-test-1', domain_name, group_id, user_uuid, \
             access_key, 'img-{role}{idx}', registry, '{{\"cpu\": \"{cpu}\"}}', '{{}}', 2000, \
             2001, 2002, 2003, 'RUNNING', now() FROM kernels LIMIT 1;"
        )
    };
    let statements = [
        kernel(uuid::Uuid::new_v4(), "sub", 3, "2"),
        kernel(session, "main", 1, "1"),
        kernel(uuid::Uuid::new_v4(), "sub", 2, "4"),
    ];
    api.db
        .conn
        .execute_unprepared(&statements.concat())
        .await
        .unwrap();
    let body = api
        .query(
            SUPERADMIN,
            &format!(
                "{{ compute_session_list(limit: 5, offset: 0, filter: \"name == \\\"{name}\\\"\") \
                 {{ items {{ name occupied_slots containers {{ cluster_role cluster_idx image }} }} }} }}"
            ),
        )
        .await;
    assert_eq!(
        body["data"]["compute_session_list"]["items"],
        json!([{
            "name": name,
            "occupied_slots": r#"{"cpu": "7"}"#,
            "containers": [
                {"cluster_role": "main", "cluster_idx": 1, "image": "img-main1"},
                {"cluster_role": "sub", "cluster_idx": 2, "image": "img-sub2"},
                {"cluster_role": "sub", "cluster_idx": 3, "image": "img-sub3"},
            ],
        }]),
        "{body}"
    );
}

#[tokio::test]
async fn user_and_agent_lists_with_filter_and_order() {
    let api = seeded().await;
    let body = api
        .query(
            SUPERADMIN,
            "{ user_list(limit: 10, offset: 0, filter: \"role == \\\"admin\\\"\", order: \"email\") \
             { total_count items { email role domain_name is_active groups { name } } } }",
        )
        .await;
    assert_eq!(
        body["data"]["user_list"],
        json!({"total_count": 2, "items": [
            {"email": "domain-admin@lablup.com", "role": "admin", "domain_name": "default", "is_active": true,
             "groups": [{"name": "default"}]},
            {"email": "other-admin@lablup.com", "role": "admin", "domain_name": "other", "is_active": true,
             "groups": [{"name": "other-group"}]},
        ]}),
        "{body}"
    );
    let body = api
        .query(
            SUPERADMIN,
            "{ agent_list(limit: 2, offset: 1, filter: \"status == \\\"ALIVE\\\" | status == \\\"LOST\\\"\", \
             order: \"-id\") { total_count items { id used_cpu_slots gpu_slots live_stat cpu_cur_pct } } }",
        )
        .await;
    assert_eq!(
        body["data"]["agent_list"],
        json!({"total_count": 3, "items": [
            {"id": "i-test-2", "used_cpu_slots": 2.0, "gpu_slots": 2.0, "live_stat": null, "cpu_cur_pct": 0.0},
            {"id": "i-test-1", "used_cpu_slots": 2.0, "gpu_slots": 2.0, "live_stat": null, "cpu_cur_pct": 0.0},
        ]}),
        "{body}"
    );
}

/// Live statistics come from the msgpack documents agents publish in Redis; JSON columns and
/// statistics print as 21.03's `json.dumps` (non-ASCII escaped, Python's separators).
#[tokio::test]
async fn live_statistics_and_json_columns_as_21_03_prints_them() {
    use sea_orm::ConnectionTrait;
    let api = seeded().await;
    let agent = crate::helpers::unique("i-stat");
    let kernel = uuid::Uuid::new_v4();
    api.db
        .conn
        .execute_unprepared(&format!(
            "INSERT INTO agents (id, status, region, scaling_group, schedulable, available_slots, \
             occupied_slots, addr, first_contact, version, compute_plugins) \
             VALUES ('{agent}', 'ALIVE', 'local', 'default', true, '{{\"cpu\": \"4\"}}', \
             '{{}}', 'tcp://10.0.0.9:6001', now(), '21.03.5', '{{}}'); \
             INSERT INTO kernels (id, session_id, session_name, session_type, cluster_mode, \
             cluster_size, cluster_role, cluster_idx, cluster_hostname, scaling_group, agent, \
             domain_name, group_id, user_uuid, access_key, image, registry, occupied_slots, \
             occupied_shares, repl_in_port, repl_out_port, stdin_port, stdout_port, status, \
             status_data, created_at, mounts) \
             SELECT '{kernel}', '{kernel}', 'stat-test', 'INTERACTIVE', 'single-node', 1, 'main', \
             0, 'main0', 'default', '{agent}', domain_name, group_id, user_uuid, access_key, \
             image, registry, '{{\"cpu\": 1.5, \"mem\": \"1073741824\"}}', \
             '{{\"note\": \"café\"}}', 2000, 2001, 2002, 2003, 'RUNNING', \
             '{{\"kernel\": {{\"exit_code\": 0}}}}', now(), '{{}}' FROM kernels LIMIT 1"
        ))
        .await
        .unwrap();

    let stat = |node: rmpv::Value| {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &node).unwrap();
        bytes
    };
    let agent_stat = stat(rmpv::Value::Map(vec![(
        "node".into(),
        rmpv::Value::Map(vec![
            (
                "cpu_util".into(),
                rmpv::Value::Map(vec![("pct".into(), "37.50".into())]),
            ),
            (
                "mem".into(),
                rmpv::Value::Map(vec![("current".into(), rmpv::Value::from(1u64 << 30))]),
            ),
        ]),
    )]));
    let kernel_stat = stat(rmpv::Value::Map(vec![
        (
            "cpu_used".into(),
            rmpv::Value::Map(vec![("current".into(), "1200".into())]),
        ),
        ("label".into(), "日本".into()),
        ("ratio".into(), rmpv::Value::F64(0.25)),
    ]));
    let mut redis = redis::Client::open("redis://127.0.0.1:6379/0")
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::pipe()
        .set_ex(&agent, agent_stat, 60)
        .set_ex(kernel.to_string(), kernel_stat, 60)
        .query_async(&mut redis)
        .await
        .unwrap();

    let body = api
        .query(
            SUPERADMIN,
            &format!(
                "{{ agent(agent_id: \"{agent}\") {{ live_stat cpu_cur_pct mem_cur_bytes cpu_slots }} \
                 compute_session(id: \"{kernel}\") {{ occupied_slots status_data \
                 containers {{ status_data live_stat }} }} \
                 legacy_compute_session(sess_id: \"stat-test\") {{ occupied_shares cpu_used }} }}"
            ),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({
            "agent": {
                "live_stat": r#"{"node": {"cpu_util": {"pct": "37.50"}, "mem": {"current": 1073741824}}}"#,
                "cpu_cur_pct": 37.5,
                "mem_cur_bytes": 1073741824.0,
                "cpu_slots": 4.0,
            },
            "compute_session": {
                "occupied_slots": r#"{"cpu": "1.5", "mem": "1073741824"}"#,
                "status_data": r#"{"kernel": {"exit_code": 0}}"#,
                "containers": [{
                    "status_data": r#"{"kernel": {"exit_code": 0}}"#,
                    "live_stat": r#"{"cpu_used": {"current": "1200"}, "label": "\u65e5\u672c", "ratio": 0.25}"#,
                }],
            },
            "legacy_compute_session": {
                "occupied_shares": r#"{"note": "caf\u00e9"}"#,
                "cpu_used": 1200,
            },
        }),
        "{body}"
    );
    // Lists read the JSON documents only when the document shows them, fragments included.
    let body = api
        .query(
            SUPERADMIN,
            "{ compute_session_list(limit: 1, offset: 0, filter: \"name == \\\"stat-test\\\"\") \
             { items { ...shown containers { ...container } } } } \
             fragment shown on ComputeSession { status_data mounts occupied_slots } \
             fragment container on ComputeContainer { status_data }",
        )
        .await;
    assert_eq!(
        body["data"]["compute_session_list"]["items"],
        json!([{
            "status_data": r#"{"kernel": {"exit_code": 0}}"#,
            "mounts": [],
            "occupied_slots": r#"{"cpu": "1.5", "mem": "1073741824"}"#,
            "containers": [{"status_data": r#"{"kernel": {"exit_code": 0}}"#}],
        }]),
        "{body}"
    );
    let body = api
        .query(
            SUPERADMIN,
            "{ compute_session_list(limit: 1, offset: 0, filter: \"name == \\\"stat-test\\\"\") \
             { items { name occupied_slots containers { cluster_role } } } }",
        )
        .await;
    assert_eq!(
        body["data"]["compute_session_list"]["items"],
        json!([{
            "name": "stat-test",
            "occupied_slots": r#"{"cpu": "1.5", "mem": "1073741824"}"#,
            "containers": [{"cluster_role": "main"}],
        }]),
        "{body}"
    );
    let _: () = redis::cmd("DEL")
        .arg(&agent)
        .arg(kernel.to_string())
        .query_async(&mut redis)
        .await
        .unwrap();
}

#[tokio::test]
async fn legacy_variables_are_accepted() {
    let api = seeded().await;
    let (status, body) = api
        .gql_as(
            SUPERADMIN,
            "/admin/gql",
            json!({
                "query": "query($limit: Int!, $offset: Int!) { user_list(limit: $limit, offset: $offset) { total_count items { email } } }",
                "variables": {"limit": "2", "offset": 0, "undeclared": "ignored"},
                "operationName": null,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["user_list"]["total_count"], 5, "{body}");
    assert_eq!(
        body["data"]["user_list"]["items"].as_array().unwrap().len(),
        2
    );
    // Over-large pages are refused with the bound.
    let body = api
        .query(
            SUPERADMIN,
            "{ user_list(limit: 100000, offset: 0) { total_count } }",
        )
        .await;
    assert_eq!(
        error_message(&body),
        Some("Missing or invalid API parameters. (limit must be between 0 and 10000, not 100000)")
    );
}

/// A page of 10 and a page of 100 sessions with their containers (and of users with their
/// groups) cost the same number of SQL statements.
#[tokio::test]
async fn nested_reads_are_batched() {
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let api = spawn_api_with(Some(SEED), move |state| {
        state.db.set_metric_callback(move |metric| {
            // Authentication reads the keypair unless it is cached: not the query's work.
            if !metric.statement.sql.contains("kp_secret_key") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
    })
    .await;
    let mut counts = Vec::new();
    for (limit, query) in [
        (10, "compute_session_list(limit: $n, offset: 0) { items { name containers { id } occupied_slots } }"),
        (100, "compute_session_list(limit: $n, offset: 0) { items { name containers { id } occupied_slots } }"),
        (10, "keypair_list(limit: $n, offset: 0) { items { access_key num_queries user_info { email } } }"),
        (100, "keypair_list(limit: $n, offset: 0) { items { access_key num_queries user_info { email } } }"),
    ] {
        let before = statements.load(Ordering::SeqCst);
        let (status, body) = api
            .gql_as(
                SUPERADMIN,
                "/admin/gql",
                json!({"query": format!("query($n: Int!) {{ {query} }}"), "variables": {"n": limit}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("errors").is_none(), "{body}");
        counts.push(statements.load(Ordering::SeqCst) - before);
    }
    // Count + page + one batched read of the nested rows.
    assert_eq!(counts[0], counts[1], "{counts:?}");
    assert_eq!(counts[2], counts[3], "{counts:?}");
    assert!(counts[1] <= 3, "{counts:?}");
}

#[tokio::test]
async fn unchanged_statistics_are_shared_between_requests() {
    use bai_manager::services::live_stats::StatCache;
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let redis = redis::aio::ConnectionManager::new(client).await.unwrap();
    let key = crate::helpers::unique("i-cache");
    let put = |n: i64| {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &rmpv::Value::Map(vec![("n".into(), n.into())]))
            .unwrap();
        let mut redis = redis.clone();
        let key = key.clone();
        async move {
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(bytes)
                .arg("EX")
                .arg(60)
                .query_async(&mut redis)
                .await
                .unwrap();
        }
    };
    let cache = StatCache::default();
    put(1).await;
    let keys = [key.clone()];
    let first = cache
        .read(&redis, &keys)
        .await
        .unwrap()
        .remove(&key)
        .unwrap();
    let again = cache
        .read(&redis, &keys)
        .await
        .unwrap()
        .remove(&key)
        .unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    put(2).await;
    let changed = cache
        .read(&redis, &keys)
        .await
        .unwrap()
        .remove(&key)
        .unwrap();
    assert_eq!(changed.number(&["n"]), Some(2.0));
    assert_eq!(first.number(&["n"]), Some(1.0));
}
