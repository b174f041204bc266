//! The 21.03 client CLI (`backend.ai-client==21.3.11` from PyPI, installed by scripts/test.sh)
//! against a running bai-manager: the commands that need neither sessions nor storage.

use std::path::PathBuf;

use serde_json::Value;

use crate::http::{spawn_api_with, Api, Keypair, SUPERADMIN, USER};

const SEED: &str = "\
INSERT INTO agents (id, status, region, scaling_group, schedulable, available_slots, occupied_slots, \
  addr, first_contact, version, compute_plugins) VALUES ('i-cli-agent', 'ALIVE', 'local', 'default', \
  true, '{\"cpu\": \"4\", \"mem\": \"8589934592\"}', '{}', 'tcp://127.0.0.1:1', now(), '21.03.5', '{}'); \
INSERT INTO resource_presets (name, resource_slots) VALUES ('cli-small', '{\"cpu\": \"1\", \"mem\": \"1073741824\"}');";

struct Cli {
    python: PathBuf,
    home: PathBuf,
    endpoint: String,
}

/// What a command printed, and whether it succeeded.
struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new(api: &Api) -> Cli {
        let python = PathBuf::from(
            std::env::var("BAI_TEST_CLI_PYTHON")
                .unwrap_or_else(|_| "/var/tmp/bai-cli-venv/bin/python".into()),
        );
        assert!(
            python.is_file(),
            "{} is missing: run the tests through scripts/test.sh, which installs the client",
            python.display()
        );
        let home = std::env::temp_dir().join(crate::helpers::unique("cli-home"));
        std::fs::create_dir_all(&home).unwrap();
        Cli {
            python,
            home,
            endpoint: api.base.clone(),
        }
    }

    /// Runs `python args…` as `who` (on a blocking thread: the manager under test serves on
    /// this test's runtime).
    async fn python(&self, who: Keypair, args: Vec<String>, stdin: Option<String>) -> Outcome {
        let mut command = std::process::Command::new(&self.python);
        command
            .args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .env("LANG", "C.UTF-8")
            .env("BACKEND_ENDPOINT", &self.endpoint)
            .env("BACKEND_ENDPOINT_TYPE", "api")
            .env("BACKEND_ACCESS_KEY", who.0)
            .env("BACKEND_SECRET_KEY", who.1)
            .stdin(std::process::Stdio::piped());
        let output = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut input = child.stdin.take().unwrap();
            if let Some(text) = stdin {
                input.write_all(text.as_bytes()).unwrap();
            }
            drop(input);
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        Outcome {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `backend.ai args…`; asserts that it succeeded and returns what it printed (the CLI
    /// prints results on stdout and messages on stderr).
    async fn ok(&self, who: Keypair, args: &[&str]) -> String {
        let out = self.cli(who, args, None).await;
        assert!(
            out.ok,
            "backend.ai {}\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out.stdout + &out.stderr
    }

    async fn cli(&self, who: Keypair, args: &[&str], stdin: Option<String>) -> Outcome {
        // The console script of the package, run by its interpreter.
        let script = self.python.with_file_name("backend.ai");
        let mut all = vec![script.to_string_lossy().into_owned()];
        all.extend(args.iter().map(|a| a.to_string()));
        self.python(who, all, stdin).await
    }

    /// Calls the SDK (`code` sees a `session`) and reads the JSON it prints.
    async fn sdk(&self, who: Keypair, code: &str) -> Value {
        let script = format!(
            "import json\nfrom ai.backend.client.session import Session\n\
             with Session() as session:\n    print(json.dumps({code}))"
        );
        let out = self.python(who, vec!["-c".into(), script], None).await;
        assert!(out.ok, "{code}: {}", out.stderr);
        serde_json::from_str(out.stdout.trim()).unwrap()
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.home.join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
}

fn contains(out: &str, what: &str) {
    assert!(out.contains(what), "{what:?} is not in:\n{out}");
}

#[tokio::test]
async fn the_21_03_cli_manages_the_cluster() {
    let api = spawn_api_with(Some(SEED), |_| {}).await;
    let cli = Cli::new(&api);

    // Manager status, freezing, announcements.
    contains(&cli.ok(SUPERADMIN, &["manager", "status"]).await, "running");
    cli.ok(SUPERADMIN, &["manager", "freeze"]).await;
    contains(&cli.ok(SUPERADMIN, &["manager", "status"]).await, "frozen");
    cli.ok(SUPERADMIN, &["manager", "unfreeze"]).await;
    cli.ok(
        SUPERADMIN,
        &["announcement", "update", "-m", "Maintenance at 18:00"],
    )
    .await;
    contains(
        &cli.ok(USER, &["announcement", "get"]).await,
        "Maintenance at 18:00",
    );

    // Accounts, policies, domains, groups, scaling groups, agents, images (GraphQL).
    contains(
        &cli.ok(SUPERADMIN, &["admin", "keypairs"]).await,
        "AKIANABBDUSEREXAMPLE",
    );
    contains(
        &cli.ok(SUPERADMIN, &["admin", "keypair-resource-policies"])
            .await,
        "default",
    );
    cli.ok(SUPERADMIN, &["admin", "domains", "add", "cli-domain"])
        .await;
    contains(
        &cli.ok(SUPERADMIN, &["admin", "domains"]).await,
        "cli-domain",
    );
    contains(&cli.ok(SUPERADMIN, &["admin", "groups"]).await, "default");
    contains(
        &cli.ok(SUPERADMIN, &["admin", "users"]).await,
        "user@lablup.com",
    );
    contains(
        &cli.ok(SUPERADMIN, &["admin", "scaling-groups"]).await,
        "default",
    );
    contains(
        &cli.ok(USER, &["admin", "list-scaling-groups", "default"])
            .await,
        "default",
    );
    contains(
        &cli.ok(SUPERADMIN, &["admin", "agents"]).await,
        "i-cli-agent",
    );
    cli.ok(SUPERADMIN, &["admin", "images"]).await;

    // Cluster configuration in etcd.
    contains(
        &cli.ok(SUPERADMIN, &["admin", "resources", "resource-slots"])
            .await,
        "cpu",
    );
    cli.ok(
        SUPERADMIN,
        &["admin", "etcd", "set", "cli/greeting", "hello"],
    )
    .await;
    contains(
        &cli.ok(SUPERADMIN, &["admin", "etcd", "get", "cli/greeting"])
            .await,
        "hello",
    );
    cli.ok(SUPERADMIN, &["admin", "etcd", "delete", "cli/greeting"])
        .await;

    // Presets through the SDK (the CLI has no command for them).
    let presets = cli.sdk(USER, "session.Resource.list()").await;
    assert_eq!(presets["presets"][0]["name"], "cli-small");
    let check = cli.sdk(USER, "session.Resource.check_presets()").await;
    assert_eq!(check["presets"][0]["allocatable"], true, "{check}");

    // Dotfiles.
    let vimrc = cli.file("vimrc", "set number\n");
    cli.ok(USER, &["dotfile", "create", ".vimrc", "-f", &vimrc])
        .await;
    contains(&cli.ok(USER, &["dotfile", "list"]).await, ".vimrc");
    contains(
        &cli.ok(USER, &["dotfile", "get", ".vimrc"]).await,
        "set number",
    );
    cli.ok(USER, &["dotfile", "delete", ".vimrc", "-f"]).await;

    // Session templates.
    let template = cli.file(
        "template.yaml",
        "api_version: '6'\nkind: taskTemplate\nmetadata:\n  name: cli-template\n\
         spec:\n  kernel:\n    image: cr.backend.ai/stable/python:3.8\n",
    );
    let created = cli
        .ok(USER, &["session-template", "create", "-f", &template])
        .await;
    let id = created
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 32)
        .unwrap_or_else(|| panic!("no template id in {created}"))
        .to_owned();
    contains(
        &cli.ok(USER, &["session-template", "list"]).await,
        "cli-template",
    );
    contains(
        &cli.ok(USER, &["session-template", "get", &id]).await,
        "image: cr.backend.ai/stable/python:3.8",
    );
    cli.ok(USER, &["session-template", "delete", &id, "-f"])
        .await;

    // Error logs filed by a client, then listed.
    api.rest(
        USER,
        reqwest::Method::POST,
        "/logs/error",
        Some(serde_json::json!({"severity": "error", "source": "cli-test", "message": "Cannot reach the proxy",
                                "context_lang": "python", "context_env": "{}"})),
    )
    .await;
    contains(
        &cli.ok(USER, &["server-logs", "list"]).await,
        "Cannot reach the proxy",
    );

    // Refusals reach the user as 21.03's problem details.
    let refused = cli
        .cli(USER, &["admin", "etcd", "get", "cli/greeting"], None)
        .await;
    assert!(!refused.ok);
    contains(&refused.stderr, "401");
}
