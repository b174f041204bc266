//! `/resource/*` and `/scaling-groups`: presets and what a keypair may still allocate, the
//! recount of occupied resources, usage reports, with 21.03's figures and access rules.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::scalar;
use crate::http::{spawn_api_with, Api, DOMAIN_ADMIN, SUPERADMIN, USER};

const DEFAULT_GROUP: &str = "2de2b969-1d04-48a6-af16-0bc8adb3c831";

/// A limited keypair policy, two presets, one agent, and two kernels of the user: one running
/// (1 CPU, 1 GiB) and one that ran for an hour.
const SEED: &str = r#"
UPDATE keypair_resource_policies
   SET total_resource_slots = '{"cpu": "4", "mem": "4294967296"}', default_for_unspecified = 'LIMITED';
INSERT INTO resource_presets (name, resource_slots, shared_memory) VALUES
  ('small', '{"cpu": "1", "mem": "1073741824"}', 0),
  ('huge', '{"cpu": "100", "mem": "1073741824"}', NULL);
INSERT INTO agents (id, status, region, scaling_group, schedulable, available_slots, occupied_slots,
                    addr, first_contact, version, compute_plugins)
VALUES ('i-r1', 'ALIVE', 'local', 'default', true, '{"cpu": "8", "mem": "17179869184"}',
        '{"cpu": "1", "mem": "1073741824"}', 'tcp://127.0.0.1:1', now(), '21.03.5', '{}');
INSERT INTO kernels (id, session_id, session_name, session_type, cluster_mode, cluster_size,
  cluster_role, cluster_idx, cluster_hostname, scaling_group, agent, domain_name, group_id,
  user_uuid, access_key, image, occupied_slots, occupied_shares, repl_in_port, repl_out_port,
  stdin_port, stdout_port, status, created_at, terminated_at, last_stat, mounts)
SELECT k.id, k.id, k.name, 'INTERACTIVE', 'single-node', 1, 'main', 0, 'main0', 'default', 'i-r1',
  'default', '2de2b969-1d04-48a6-af16-0bc8adb3c831', u.uuid, 'AKIANABBDUSEREXAMPLE',
  'cr.backend.ai/stable/python:3.8', k.slots::jsonb, '{}', 2000, 2001, 2002, 2003,
  k.status::kernelstatus, k.created, k.terminated, k.stat::jsonb, '{}'
FROM users u, (VALUES
  ('6b0a4f5e-0000-4000-8000-000000000001'::uuid, 'r-running', '{"cpu": "1", "mem": "1073741824"}',
   'RUNNING', now() - interval '1 hour', NULL::timestamptz,
   '{"cpu_used": {"current": "1200"}, "mem": {"capacity": "1000"}}'),
  ('6b0a4f5e-0000-4000-8000-000000000002'::uuid, 'r-done', '{"cpu": "2", "mem": "2147483648"}',
   'TERMINATED', now() - interval '3 hours', now() - interval '2 hours',
   '{"io_read": {"current": 10}, "io_write": {"current": "20"}}')
) AS k(id, name, slots, status, created, terminated, stat)
WHERE u.email = 'user@lablup.com';
"#;

async fn seeded() -> Api {
    spawn_api_with(Some(SEED), |_| {}).await
}

#[tokio::test]
async fn presets_and_what_a_keypair_may_still_allocate() {
    let api = seeded().await;
    let (status, body) = api.rest(USER, Method::GET, "/resource/presets", None).await;
    assert_eq!(status, StatusCode::OK);
    let mut presets = body["presets"].as_array().unwrap().clone();
    presets.sort_by_key(|p| p["name"].as_str().unwrap().to_owned());
    assert_eq!(
        presets,
        vec![
            json!({"name": "huge", "shared_memory": null, "resource_slots": {"cpu": "100", "mem": "1073741824"}}),
            json!({"name": "small", "shared_memory": null, "resource_slots": {"cpu": "1", "mem": "1073741824"}}),
        ]
    );

    // The client posts without a body: the default group, every allowed scaling group.
    let (status, body) = api
        .rest(USER, Method::POST, "/resource/check-presets", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["keypair_limits"],
        json!({"cpu": "4", "mem": "4294967296"})
    );
    assert_eq!(
        body["keypair_using"],
        json!({"cpu": "1", "mem": "1073741824"})
    );
    assert_eq!(
        body["keypair_remaining"],
        json!({"cpu": "3", "mem": "3221225472"})
    );
    // The agent has 7 CPUs left, capped by what the keypair may still use.
    assert_eq!(
        body["scaling_groups"],
        json!({"default": {"using": {"cpu": "1", "mem": "1073741824"},
                           "remaining": {"cpu": "3", "mem": "3221225472"}}})
    );
    assert_eq!(
        body["scaling_group_remaining"],
        json!({"cpu": "3", "mem": "3221225472"})
    );
    let allocatable: Vec<(String, bool, serde_json::Value)> = body["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["allocatable"].as_bool().unwrap(),
                p["shared_memory"].clone(),
            )
        })
        .collect();
    assert!(
        allocatable.contains(&("small".into(), true, json!("0"))),
        "{allocatable:?}"
    );
    assert!(
        allocatable.contains(&("huge".into(), false, json!(null))),
        "{allocatable:?}"
    );
    // Group figures are hidden unless the cluster shows them.
    assert_eq!(body["group_using"], json!({"cpu": "NaN", "mem": "NaN"}));
    api.etcd
        .etcd
        .put("config/api/resources/group_resource_visibility", "true")
        .await
        .unwrap();
    let (_, body) = api
        .rest(
            USER,
            Method::POST,
            "/resource/check-presets",
            Some(json!({"group": "default", "scaling_group": "default"})),
        )
        .await;
    assert_eq!(
        body["group_using"],
        json!({"cpu": "1", "mem": "1073741824"})
    );
    assert_eq!(
        body["group_limits"],
        json!({"cpu": "Infinity", "mem": "Infinity"})
    );

    // What is wrong is named.
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/resource/check-presets",
            Some(json!({"scaling_group": "gpu"})),
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Unknown scaling group"))
    );
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/resource/check-presets",
            Some(json!({"group": "nope"})),
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (StatusCode::BAD_REQUEST, json!("Unknown user group"))
    );
    let (status, body) = api
        .rest(
            USER,
            Method::POST,
            "/resource/check-presets",
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["data"], json!({"colour": "colour is not allowed key"}));
}

#[tokio::test]
async fn recalculation_recounts_agents_and_keypairs() {
    let api = seeded().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &api.db.conn,
        "UPDATE agents SET occupied_slots = '{\"cpu\": \"99\"}'; UPDATE keypairs SET concurrency_used = 7",
    )
    .await
    .unwrap();
    let (status, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::POST,
            "/resource/recalculate-usage",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::POST,
            "/resource/recalculate-usage",
            None,
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let occupied: String = scalar(
        &api.db.conn,
        "SELECT occupied_slots::text FROM agents WHERE id = 'i-r1'",
    )
    .await;
    assert_eq!(occupied, r#"{"cpu": "1", "mem": "1073741824"}"#);
    let concurrency: String = scalar(
        &api.db.conn,
        "SELECT string_agg(access_key || '=' || concurrency_used, ',' ORDER BY access_key) FROM keypairs",
    )
    .await;
    assert_eq!(
        concurrency,
        "AKIAHUKCHDEZGEXAMPLE=0,AKIAIOSFODNN7EXAMPLE=0,AKIANABBDUSEREXAMPLE=1,AKIANAMONITOREXAMPLE=0"
    );
}

#[tokio::test]
async fn usage_reports_per_period_and_month() {
    let api = seeded().await;
    let today = chrono::Utc::now().date_naive();
    let day = |d: chrono::NaiveDate| d.format("%Y%m%d").to_string();
    let path = format!(
        "/resource/usage/period?group_id={DEFAULT_GROUP}&start_date={}&end_date={}",
        day(today - chrono::Duration::days(1)),
        day(today)
    );
    let (status, body) = api.rest(SUPERADMIN, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let group = &body[0];
    assert_eq!(group["g_id"], DEFAULT_GROUP);
    assert_eq!(group["g_name"], "default");
    assert_eq!(group["g_cpu_allocated"], 3.0);
    assert_eq!(group["g_io_write"], 20);
    let infos = group["c_infos"].as_array().unwrap();
    assert_eq!(infos.len(), 2);
    // Terminated kernels first; running ones have no end.
    assert_eq!(infos[0]["name"], "r-done");
    assert_eq!(infos[0]["used_time"], "1:00:00");
    assert_eq!(infos[0]["status"], "TERMINATED");
    assert_eq!(infos[1]["name"], "r-running");
    assert_eq!(infos[1]["terminated_at"], "None");
    assert_eq!(infos[1]["used_time"], json!(null));
    assert_eq!(infos[1]["cpu_used"], 1200.0);
    assert_eq!(infos[1]["mem_used"], 1000);
    assert_eq!(infos[1]["email"], "user@lablup.com");

    // A month in a JSON body, as the client sends it (an empty group list means all groups).
    let month = today.format("%Y%m").to_string();
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            "/resource/usage/month",
            Some(json!({"group_ids": [], "month": month})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body[0]["c_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"r-running"), "{body}");

    // Validation as 21.03's.
    let bad = [
        ("/resource/usage/month?group_ids=x&month=2021", "month"),
        ("/resource/usage/month?month=202101", "group_ids"),
        (
            "/resource/usage/period?group_id=x&start_date=2021010&end_date=20210102",
            "start_date",
        ),
    ];
    for (path, key) in bad {
        let (status, body) = api.rest(SUPERADMIN, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(body["data"][key].is_string(), "{path}: {body}");
    }
    let (status, body) = api
        .rest(
            SUPERADMIN,
            Method::GET,
            "/resource/usage/period?group_id=x&start_date=20210101&end_date=20210501",
            None,
        )
        .await;
    assert_eq!(
        (status, body["msg"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Cannot query more than 100 days")
        )
    );
    let (status, _) = api
        .rest(
            USER,
            Method::GET,
            "/resource/usage/month?group_ids=x&month=202101",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn monthly_statistics_in_15_minute_bins() {
    let api = seeded().await;
    let (status, body) = api
        .rest(USER, Method::GET, "/resource/stats/user/month", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let bins = body.as_array().unwrap();
    assert!((2879..=2881).contains(&bins.len()), "{}", bins.len());
    let sessions: i64 = bins
        .iter()
        .map(|b| b["num_sessions"]["value"].as_i64().unwrap())
        .sum();
    assert_eq!(sessions, 1, "the kernel that terminated");
    let busy = bins
        .iter()
        .find(|b| b["num_sessions"]["value"] == 1)
        .unwrap();
    assert_eq!(
        busy["cpu_allocated"],
        json!({"value": 2, "unit_hint": "count"})
    );
    assert_eq!(busy["io_write_bytes"]["value"], 20);
    assert_eq!(
        busy["disk_used"],
        json!({"value ": 0, "unit_hint": "bytes"})
    );
    // The domain admin has no kernels; only superadmins see everyone's.
    let (_, body) = api
        .rest(
            DOMAIN_ADMIN,
            Method::GET,
            "/resource/stats/user/month",
            None,
        )
        .await;
    assert!(body
        .as_array()
        .unwrap()
        .iter()
        .all(|b| b["num_sessions"]["value"] == 0));
    let (status, _) = api
        .rest(USER, Method::GET, "/resource/stats/admin/month", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api
        .rest(SUPERADMIN, Method::GET, "/resource/stats/admin/month", None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn available_scaling_groups_for_a_group() {
    let api = seeded().await;
    for group in ["default", DEFAULT_GROUP] {
        let (status, body) = api
            .rest(
                USER,
                Method::GET,
                &format!("/scaling-groups?group={group}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({"scaling_groups": [{"name": "default"}]}));
    }
    let (status, body) = api.rest(USER, Method::GET, "/scaling-groups", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["data"], json!({"group": "is required"}));
}
