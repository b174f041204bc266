//! `manager.toml` in the 21.03 format: the sample loads unchanged, environment overrides apply,
//! and every kind of bad value is reported with its key.

use std::path::Path;
use std::time::Duration;

use bai_manager::config::{HostPort, LoadError, LocalConfig};

/// A manager.toml with every key and section of 21.03's `config/sample.toml`.
const SAMPLE_21_03: &str = r#"
[etcd]
namespace = "local"
addr = { host = "127.0.0.1", port = 2379 }
user = "manager"
password = "ETCD_PASSWORD"

[db]
type = "postgresql"
addr = { host = "localhost", port = 5432 }
name = "backend"
user = "postgres"
password = "DB_PASSWORD"

[manager]
num-proc = 4
secret = "XXXXXXXXXXXXXX"
user = "nobody"
group = "nobody"
service-addr = { host = "0.0.0.0", port = 8080 }
ssl-enabled = false
heartbeat-timeout = 30.0
disabled-plugins = []
hide-agents = false
importer-image = "lablup/importer:manylinux2010"

[docker-registry]
ssl-verify = false

[logging]
level = "INFO"
drivers = ["console", "file"]

[logging.console]
colored = true
format = "verbose"

[logging.file]
path = "./logs"
filename = "manager.log"
backup-count = 5
rotation-size = "10M"

[logging.logstash]
endpoint = { host = "localhost", port = 9300 }
protocol = "tcp"
ssl-enabled = true
ssl-verify = true

[logging.pkg-ns]
"" = "WARNING"
"aiotools" = "INFO"
"aiohttp" = "INFO"
"ai.backend" = "INFO"
"alembic" = "INFO"
"sqlalchemy" = "WARNING"

[debug]
enabled = false
"#;

fn load(text: &str, env: &[(&str, &str)]) -> Result<LocalConfig, LoadError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    LocalConfig::from_toml_str(text, Path::new("/etc/backend.ai/manager.toml"), &env)
}

#[test]
fn the_21_03_sample_loads_unchanged() {
    let c = load(SAMPLE_21_03, &[]).unwrap();
    assert_eq!(c.etcd.namespace, "local");
    assert_eq!(c.etcd.addr, HostPort::new("127.0.0.1", 2379));
    assert_eq!(c.etcd.user.as_deref(), Some("manager"));
    assert_eq!(c.db.addr, HostPort::new("localhost", 5432));
    assert_eq!(
        (
            c.db.name.as_str(),
            c.db.user.as_str(),
            c.db.password.expose()
        ),
        ("backend", "postgres", "DB_PASSWORD")
    );
    assert_eq!(c.manager.num_proc, 4);
    assert_eq!(c.manager.service_addr, HostPort::new("0.0.0.0", 8080));
    assert_eq!(c.manager.heartbeat_timeout, Duration::from_secs(30));
    assert_eq!(c.manager.secret.expose(), "XXXXXXXXXXXXXX");
    assert!(c.manager.id.starts_with("i-"));
    assert!(c.manager.pid_file.is_none());
    assert!(!c.docker_registry.ssl_verify);
    assert_eq!(c.logging.file.as_ref().unwrap().rotation_size, 10 << 20);
    assert_eq!(
        c.logging.file.as_ref().unwrap().path,
        Path::new("/etc/backend.ai/./logs")
    );
    assert!(c.logging.console.is_some() && !c.logging.logstash_requested);
    assert_eq!(
        format!("{:?}", c.db.password),
        "Secret(***)",
        "secrets never print"
    );
    // The 21.03 defaults where the sample is silent.
    assert_eq!(c.db.lock_timeout, Duration::from_secs(60));
    assert_eq!(c.manager.max_wsmsg_size, 16 << 20);
}

#[test]
fn environment_overrides_apply() {
    let c = load(
        SAMPLE_21_03,
        &[
            ("BACKEND_DB_ADDR", "db.internal:6432"),
            ("BACKEND_DB_NAME", "other"),
            ("BACKEND_DB_PASSWORD", "s3cret"),
            ("BACKEND_NAMESPACE", "prod"),
            ("BACKEND_ETCD_ADDR", "10.0.0.2:2379"),
            ("BACKEND_MANAGER_NPROC", "3"),
            ("BACKEND_SERVICE_IP", "127.0.0.1"),
            ("BACKEND_SERVICE_PORT", "9090"),
            ("BACKEND_PID_FILE", "/run/manager.pid"),
        ],
    )
    .unwrap();
    assert_eq!(c.db.addr, HostPort::new("db.internal", 6432));
    assert_eq!(c.db.name, "other");
    assert_eq!(c.db.password.expose(), "s3cret");
    assert_eq!(c.etcd.namespace, "prod");
    assert_eq!(c.etcd.addr, HostPort::new("10.0.0.2", 2379));
    assert_eq!(c.manager.num_proc, 3);
    assert_eq!(c.manager.service_addr, HostPort::new("127.0.0.1", 9090));
    assert_eq!(
        c.manager.pid_file.as_deref(),
        Some(Path::new("/run/manager.pid"))
    );
}

fn issues_of(text: &str) -> Vec<(String, String)> {
    match load(text, &[]) {
        Err(LoadError::Invalid(e)) => e.issues.into_iter().map(|i| (i.key, i.reason)).collect(),
        other => panic!("expected validation errors, got {other:?}"),
    }
}

fn assert_issue(text: &str, key: &str, reason_part: &str) {
    let issues = issues_of(text);
    assert!(
        issues
            .iter()
            .any(|(k, r)| k == key && r.contains(reason_part)),
        "no issue for {key} containing {reason_part:?}: {issues:?}"
    );
}

fn sample_with(from: &str, to: &str) -> String {
    assert!(SAMPLE_21_03.contains(from), "the sample has no {from:?}");
    SAMPLE_21_03.replacen(from, to, 1)
}

#[test]
fn each_kind_of_bad_value_names_its_key() {
    assert_issue(
        &sample_with("namespace = \"local\"\n", ""),
        "etcd.namespace",
        "is required",
    );
    assert_issue(
        &sample_with(
            "addr = { host = \"localhost\", port = 5432 }",
            "addr = \"localhost\"",
        ),
        "db.addr",
        "host:port",
    );
    assert_issue(
        &sample_with("port = 5432", "port = 70000"),
        "db.addr",
        "between 1 and 65535",
    );
    assert_issue(
        &sample_with("name = \"backend\"", "name = \"-x\""),
        "db.name",
        "letters, digits",
    );
    assert_issue(
        &sample_with("type = \"postgresql\"", "type = \"mysql\""),
        "db.type",
        "not one of",
    );
    assert_issue(
        &sample_with("[db]\n", "[db]\nextra = 1\n"),
        "db.extra",
        "not a known key",
    );
    assert_issue(
        &sample_with("num-proc = 4", "num-proc = 0"),
        "manager.num-proc",
        "between 1",
    );
    assert_issue(
        &sample_with("num-proc = 4", "num-proc = \"four\""),
        "manager.num-proc",
        "integer",
    );
    assert_issue(
        &sample_with("heartbeat-timeout = 30.0", "heartbeat-timeout = 0.5"),
        "manager.heartbeat-timeout",
        "at least 1",
    );
    assert_issue(
        &sample_with("hide-agents = false", "hide-agents = \"maybe\""),
        "manager.hide-agents",
        "not a boolean",
    );
    assert_issue(
        &sample_with("ssl-enabled = false", "ssl-enabled = true"),
        "manager.ssl-enabled",
        "ssl-cert",
    );
    assert_issue(
        &sample_with("level = \"INFO\"", "level = \"LOUD\""),
        "logging.level",
        "not one of",
    );
    assert_issue(
        &sample_with("rotation-size = \"10M\"", "rotation-size = \"ten\""),
        "logging.file.rotation-size",
        "binary size",
    );
    assert_issue(
        &sample_with("\"alembic\" = \"INFO\"", "\"alembic\" = \"LOUD\""),
        "logging.pkg-ns.\"alembic\"",
        "must be one of",
    );
    let debug_not_a_table = format!(
        "debug = 3\n{}",
        SAMPLE_21_03.replace("[debug]\nenabled = false", "")
    );
    assert_issue(&debug_not_a_table, "debug", "must be a table");
    // Several problems are reported together.
    let many = sample_with("num-proc = 4", "num-proc = 0").replacen(
        "heartbeat-timeout = 30.0",
        "heartbeat-timeout = \"x\"",
        1,
    );
    assert!(issues_of(&many).len() >= 2);
}

#[test]
fn syntax_errors_and_missing_files_are_reported() {
    match load("[db\nname = 1", &[]) {
        Err(e @ LoadError::Syntax { .. }) => assert!(e.to_string().contains("not valid TOML")),
        other => panic!("{other:?}"),
    }
    let err = LocalConfig::load(Some(Path::new("/nonexistent/manager.toml"))).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/manager.toml"),
        "{err}"
    );
}

#[test]
fn service_port_override_keeps_the_configured_host() {
    let text = sample_with(
        "service-addr = { host = \"0.0.0.0\", port = 8080 }",
        "service-addr = \"10.0.0.1:80\"",
    );
    let c = load(&text, &[("BACKEND_SERVICE_PORT", "9000")]).unwrap();
    assert_eq!(c.manager.service_addr, HostPort::new("10.0.0.1", 9000));
    match load(&text, &[("BACKEND_SERVICE_PORT", "http")]) {
        Err(LoadError::Invalid(e)) => assert!(
            e.to_string().contains("BACKEND_SERVICE_PORT=\"http\""),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
}
