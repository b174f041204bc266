//! The server binary, black-box: start-up, `GET /`, graceful shutdown on SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{repo_path, test_config_toml, TestDb, TestEtcd};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `bai-manager start-server`, killed if the test ends early.
pub struct Manager {
    pub child: Child,
    pub port: u16,
}

impl Drop for Manager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_manager(config_file: &std::path::Path, extra_env: &[(&str, String)]) -> Manager {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bai-manager"));
    cmd.args(["-f", config_file.to_str().unwrap(), "start-server"])
        .env("BACKEND_SERVICE_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Manager {
        child: cmd.spawn().unwrap(),
        port,
    }
}

async fn wait_until_up(manager: &mut Manager) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = manager.child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(manager.child.stderr.as_mut().unwrap(), &mut stderr)
                .unwrap();
            panic!("the manager exited with {status}: {stderr}");
        }
        if let Ok(resp) = reqwest::get(format!("http://127.0.0.1:{}/", manager.port)).await {
            return resp;
        }
        assert!(Instant::now() < deadline, "the manager did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serves_hello_and_shuts_down_gracefully() {
    let db = TestDb::migrated().await;
    let etcd = TestEtcd::new().await;
    let dev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("configs/etcd.dev.json")).unwrap())
            .unwrap();
    etcd.etcd.put_json("config", &dev).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("manager.toml");
    let log_dir = dir.path().join("logs");
    let toml = test_config_toml(&db.name, &etcd.namespace).replace(
        "drivers = [\"console\"]",
        &format!("drivers = [\"console\", \"file\"]\n\n[logging.file]\npath = \"{}\"\nfilename = \"manager.log\"", log_dir.display()),
    );
    std::fs::write(&config_file, toml).unwrap();
    let pid_file = dir.path().join("manager.pid");

    let mut manager = start_manager(
        &config_file,
        &[("BACKEND_PID_FILE", pid_file.display().to_string())],
    );
    let resp = wait_until_up(&mut manager).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["server"], "BackendAI");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"version": "v6.20210815", "manager": "21.03.32"})
    );
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(pid, manager.child.id());

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = manager.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the manager ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    assert!(!pid_file.exists(), "the PID file is removed at exit");

    // The file log holds one JSON object per line, with 21.03's fields first.
    let log = std::fs::read_to_string(log_dir.join("manager.log")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["message"]
        .as_str()
        .unwrap()
        .starts_with("started handling API requests")));
    for line in &lines {
        for key in ["timestamp", "level", "name", "processName", "message"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
}

#[tokio::test]
async fn drops_root_privileges_to_manager_user_and_group() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can drop privileges");
        return;
    }
    let db = TestDb::migrated().await;
    let etcd = TestEtcd::new().await;
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("manager.toml");
    let toml = test_config_toml(&db.name, &etcd.namespace).replace(
        "[manager]\n",
        "[manager]\nuser = \"nobody\"\ngroup = \"nogroup\"\n",
    );
    std::fs::write(&config_file, toml).unwrap();
    let mut manager = start_manager(&config_file, &[]);
    wait_until_up(&mut manager).await;
    let status = std::fs::read_to_string(format!("/proc/{}/status", manager.child.id())).unwrap();
    let ids = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(ids("Uid:"), "65534", "{status}");
    assert_eq!(ids("Gid:"), "65534", "{status}");
}

/// Runs `start-server` on the given database and etcd namespace, expecting it to refuse, and
/// returns what it printed.
fn start_server_refusal(db_name: &str, namespace: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("manager.toml");
    std::fs::write(&config_file, test_config_toml(db_name, namespace)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bai-manager"))
        .args(["-f", config_file.to_str().unwrap(), "start-server"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "start-server should have refused");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn refuses_to_start_on_invalid_shared_config_naming_the_key() {
    let db = TestDb::migrated().await;
    let etcd = TestEtcd::new().await;
    etcd.etcd.put("config/redis/addr", "nowhere").await.unwrap();
    let stderr = start_server_refusal(&db.name, &etcd.namespace);
    assert!(stderr.contains("config/redis/addr"), "{stderr}");
}

#[tokio::test]
async fn refuses_to_start_on_a_database_without_schema() {
    let db = TestDb::empty().await;
    let etcd = TestEtcd::new().await;
    let stderr = start_server_refusal(&db.name, &etcd.namespace);
    assert!(stderr.contains("schema oneshot"), "{stderr}");
}
