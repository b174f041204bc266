//! The command line, black-box.

use std::process::{Command, Output};

use crate::helpers::{repo_path, test_config_toml, TestDb, TestEtcd};

fn bai(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bai-manager"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn generate_keypair_prints_21_03_format() {
    let out = bai(&["generate-keypair"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("Access Key: AKIA") && lines[0].ends_with(" (20 bytes)"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("Secret Key: ") && lines[1].ends_with(" (40 bytes)"),
        "{text}"
    );
}

#[test]
fn a_bad_config_file_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manager.toml");
    std::fs::write(
        &path,
        test_config_toml("x", "ns").replace("heartbeat-timeout = 5.0", "heartbeat-timeout = -1"),
    )
    .unwrap();
    let out = bai(&["-f", path.to_str().unwrap(), "schema", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("manager.heartbeat-timeout"), "{stderr}");
}

#[tokio::test]
async fn schema_fixture_and_etcd_commands() {
    let db = TestDb::empty().await;
    let etcd = TestEtcd::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("manager.toml");
    std::fs::write(&config, test_config_toml(&db.name, &etcd.namespace)).unwrap();
    let cfg = config.to_str().unwrap();

    let out = bai(&["-f", cfg, "schema", "oneshot"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bai(&["-f", cfg, "schema", "show"]);
    assert!(
        stdout(&out).contains("Current database revision: 8679d0a7e22b"),
        "{}",
        stdout(&out)
    );
    let out = bai(&["-f", cfg, "schema", "status"]);
    assert!(
        stdout(&out).contains("applied m20210815_000001_baseline_21_03"),
        "{}",
        stdout(&out)
    );

    let keypairs = repo_path("fixtures/example-keypairs.json");
    let out = bai(&["-f", cfg, "fixture", "populate", keypairs.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("keypairs: 4 inserted"),
        "{}",
        stdout(&out)
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"users": [{"email": "a@b.c", "role": "king", "status": "active"}]}"#,
    )
    .unwrap();
    let out = bai(&["-f", cfg, "fixture", "populate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("table users, row 1"));
    let out = bai(&["-f", cfg, "fixture", "export", "--tables", "keypairs"]);
    let exported: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["keypairs"].as_array().unwrap().len(), 4);

    let file = dir.path().join("etcd.json");
    std::fs::write(&file, r#"{"redis": {"addr": "127.0.0.1:6379"}, "docker": {"registry": {"cr.backend.ai": {"": "https://cr.backend.ai"}}}}"#).unwrap();
    assert!(bai(&[
        "-f",
        cfg,
        "etcd",
        "put-json",
        "config",
        file.to_str().unwrap()
    ])
    .status
    .success());
    assert!(
        bai(&["-f", cfg, "etcd", "put", "config/watcher/token", "tok"])
            .status
            .success()
    );
    let out = bai(&["-f", cfg, "etcd", "get", "config/watcher/token"]);
    assert_eq!(stdout(&out), "tok\n");
    let out = bai(&["-f", cfg, "etcd", "get", "--prefix", "config/docker"]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::json!({"registry": {"cr.backend.ai": "https://cr.backend.ai"}})
    );
    assert!(
        stdout(&out).contains("\n    \""),
        "indented by four spaces like 21.03"
    );
    assert!(bai(&[
        "-f",
        cfg,
        "etcd",
        "move-subtree",
        "config/watcher",
        "config/watcher2"
    ])
    .status
    .success());
    assert_eq!(
        stdout(&bai(&["-f", cfg, "etcd", "get", "config/watcher2/token"])),
        "tok\n"
    );
    assert!(
        bai(&["-f", cfg, "etcd", "delete", "--prefix", "config/watcher2"])
            .status
            .success()
    );
    assert_eq!(
        bai(&["-f", cfg, "etcd", "get", "config/watcher2/token"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(stdout(&bai(&["etcd", "quote", "a/b:c"])), "a%2Fb%3Ac\n");
    assert_eq!(stdout(&bai(&["etcd", "unquote", "a%2Fb%3Ac"])), "a/b:c\n");
}
