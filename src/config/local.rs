//! `manager.toml`: the per-host configuration, in the 21.03 format.
//!
//! A 21.03 file loads unchanged: the same sections, keys, defaults and environment overrides.
//! Additions are optional keys (the `[db]` pool and timeout settings). Unlike 21.03, every
//! problem is reported with its dotted key, and a few 21.03 slips are fixed rather than copied:
//! `BACKEND_SERVICE_IP`/`BACKEND_SERVICE_PORT` really override `manager.service-addr`, and
//! `num-proc` is not bounded by this host's CPU count (it sizes the async runtime here).

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::{Table, Value};

use super::reader::{ConfigErrors, HostPort, Issues, Section};

/// The validated contents of `manager.toml`.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// The file the configuration was read from.
    pub source: PathBuf,
    pub etcd: EtcdConfig,
    pub db: DbConfig,
    pub manager: ManagerConfig,
    pub docker_registry: DockerRegistryConfig,
    pub logging: LoggingConfig,
    pub debug: DebugConfig,
}

#[derive(Debug, Clone)]
pub struct EtcdConfig {
    pub namespace: String,
    pub addr: HostPort,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub addr: HostPort,
    pub name: String,
    pub user: String,
    pub password: Secret,
    /// Connections in the pool (21.03: 8 + 64 overflow per worker process).
    pub pool_size: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL `lock_timeout` (#456: 60 s).
    pub lock_timeout: Duration,
    /// PostgreSQL `idle_in_transaction_session_timeout` (#454: 60 s).
    pub idle_in_transaction_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Worker threads of the async runtime.
    pub num_proc: usize,
    /// This manager's node id (event consumer name, `/manager/status`).
    pub id: String,
    pub service_addr: HostPort,
    pub heartbeat_timeout: Duration,
    pub secret: Secret,
    pub ssl_enabled: bool,
    pub ssl_cert: Option<PathBuf>,
    pub ssl_privkey: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub hide_agents: bool,
    pub importer_image: String,
    pub max_wsmsg_size: u64,
    pub user: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DockerRegistryConfig {
    pub ssl_verify: bool,
}

#[derive(Debug, Clone)]
pub struct LoggingConfig {
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL` or `NOTSET`.
    pub level: String,
    /// Per-namespace levels; `""` is the root.
    pub pkg_ns: Vec<(String, String)>,
    pub console: Option<ConsoleLogConfig>,
    pub file: Option<FileLogConfig>,
    /// Configured but not shipped by this manager; start-up warns about it.
    pub logstash_requested: bool,
}

#[derive(Debug, Clone)]
pub struct ConsoleLogConfig {
    pub colored: bool,
    /// `simple` or `verbose`.
    pub format: String,
}

#[derive(Debug, Clone)]
pub struct FileLogConfig {
    pub path: PathBuf,
    pub filename: String,
    pub backup_count: u32,
    pub rotation_size: u64,
}

#[derive(Debug, Clone, Default)]
pub struct DebugConfig {
    pub enabled: bool,
    pub log_events: bool,
    pub log_scheduler_ticks: bool,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

const LOG_LEVELS: &[&str] = &["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "NOTSET"];

/// Environment overrides of 21.03 (`config.py`), as (variable, dotted key).
const ENV_OVERRIDES: &[(&str, &[&str])] = &[
    ("BACKEND_NAMESPACE", &["etcd", "namespace"]),
    ("BACKEND_ETCD_ADDR", &["etcd", "addr"]),
    ("BACKEND_ETCD_USER", &["etcd", "user"]),
    ("BACKEND_ETCD_PASSWORD", &["etcd", "password"]),
    ("BACKEND_DB_ADDR", &["db", "addr"]),
    ("BACKEND_DB_NAME", &["db", "name"]),
    ("BACKEND_DB_USER", &["db", "user"]),
    ("BACKEND_DB_PASSWORD", &["db", "password"]),
    ("BACKEND_MANAGER_NPROC", &["manager", "num-proc"]),
    ("BACKEND_SSL_CERT", &["manager", "ssl-cert"]),
    ("BACKEND_SSL_KEY", &["manager", "ssl-privkey"]),
    ("BACKEND_PID_FILE", &["manager", "pid-file"]),
    (
        "BACKEND_SKIP_SSLCERT_VALIDATION",
        &["docker-registry", "ssl-verify"],
    ),
];

/// Where to look for `manager.toml` when `-f` is not given, as 21.03 does.
pub fn default_locations() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("BACKEND_CONFIG_FILE").filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(path)];
    }
    let mut paths = vec![PathBuf::from("manager.toml")];
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(Path::new(&home).join(".config/backend.ai/manager.toml"));
    }
    paths.push(PathBuf::from("/etc/backend.ai/manager.toml"));
    paths
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no configuration file found; looked at: {}", .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound(Vec<PathBuf>),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error(transparent)]
    Invalid(#[from] ConfigErrors),
}

impl LocalConfig {
    /// Finds, reads, overrides from the environment and validates `manager.toml`.
    pub fn load(path: Option<&Path>) -> Result<LocalConfig, LoadError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let candidates = default_locations();
                candidates
                    .iter()
                    .find(|p| p.is_file())
                    .cloned()
                    .ok_or(LoadError::NotFound(candidates))?
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::from_toml_str(&text, &path, &env)
    }

    /// Parses the file's text with the given environment (a list, so tests need not touch the
    /// process environment).
    pub fn from_toml_str(
        text: &str,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<LocalConfig, LoadError> {
        let mut table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| LoadError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        apply_env_overrides(&mut table, env);
        let mut issues = Issues::default();
        let config = read(&table, path, env, &mut issues);
        Ok(issues.finish(&path.display().to_string(), config)?)
    }
}

fn set_key(table: &mut Table, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("non-empty key path");
    let mut current = table;
    for part in parents {
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert((*last).to_owned(), value);
}

fn env_var<'e>(env: &'e [(String, String)], name: &str) -> Option<&'e str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn apply_env_overrides(table: &mut Table, env: &[(String, String)]) {
    let get = |name: &str| env_var(env, name).map(str::to_owned);
    for (var, path) in ENV_OVERRIDES {
        if let Some(v) = get(var) {
            set_key(table, path, Value::String(v));
        }
    }
}

fn seconds(value: f64) -> Duration {
    Duration::from_secs_f64(value)
}

fn read(table: &Table, path: &Path, env: &[(String, String)], issues: &mut Issues) -> LocalConfig {
    let root = Section::root(table);
    let base_dir = path.parent().unwrap_or(Path::new("."));

    let etcd = root.section("etcd", true, issues);
    let etcd = EtcdConfig {
        namespace: etcd.required_string("namespace", issues),
        addr: etcd
            .host_port("addr", Some(HostPort::new("127.0.0.1", 2379)), issues)
            .unwrap_or_else(|| HostPort::new("127.0.0.1", 2379)),
        user: etcd
            .string_or_blank("user", issues)
            .filter(|s| !s.is_empty()),
        password: etcd
            .string_or_blank("password", issues)
            .filter(|s| !s.is_empty())
            .map(Secret),
    };

    const DB_KEYS: &[&str] = &[
        "type",
        "addr",
        "name",
        "user",
        "password",
        "pool-size",
        "acquire-timeout",
        "lock-timeout",
        "idle-in-transaction-timeout",
    ];
    let db = root.section("db", true, issues).only_keys(DB_KEYS, issues);
    db.choice("type", "postgresql", &["postgresql"], issues);
    let db_name = db.required_string("name", issues);
    if !db_name.is_empty() && !is_slug(&db_name, 2, 64) {
        issues.push(db.key_path("name"), format!("{db_name:?} must be 2 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"));
    }
    let db = DbConfig {
        addr: db
            .host_port("addr", None, issues)
            .unwrap_or_else(|| HostPort::new("localhost", 5432)),
        name: db_name,
        user: db.required_string("user", issues),
        password: Secret(db.required_string("password", issues)),
        pool_size: db.integer("pool-size", 32, 1..=10_000, issues) as u32,
        acquire_timeout: seconds(db.float("acquire-timeout", 30.0, 0.1, issues)),
        lock_timeout: seconds(db.float("lock-timeout", 60.0, 0.0, issues)),
        idle_in_transaction_timeout: seconds(db.float(
            "idle-in-transaction-timeout",
            60.0,
            0.0,
            issues,
        )),
    };

    let m = root.section("manager", true, issues);
    let hostname = gethostname::gethostname().to_string_lossy().into_owned();
    let default_threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let manager = ManagerConfig {
        num_proc: m.integer("num-proc", default_threads as i64, 1..=1024, issues) as usize,
        id: m
            .string("id", issues)
            .unwrap_or_else(|| format!("i-{hostname}")),
        service_addr: service_addr(&m, env, issues),
        heartbeat_timeout: seconds(m.float("heartbeat-timeout", 5.0, 1.0, issues)),
        secret: Secret(m.string("secret", issues).unwrap_or_else(random_secret)),
        ssl_enabled: m.boolean("ssl-enabled", false, issues),
        ssl_cert: existing_file(&m, "ssl-cert", base_dir, issues),
        ssl_privkey: existing_file(&m, "ssl-privkey", base_dir, issues),
        pid_file: m
            .string("pid-file", issues)
            .map(|p| base_dir.join(p))
            .filter(|p| p != Path::new("/dev/null")),
        hide_agents: m.boolean("hide-agents", false, issues),
        importer_image: m
            .string("importer-image", issues)
            .unwrap_or_else(|| "lablup/importer:manylinux2010".to_owned()),
        max_wsmsg_size: m.integer("max-wsmsg-size", 16 << 20, 1..=i64::MAX, issues) as u64,
        user: m.string_or_blank("user", issues).filter(|s| !s.is_empty()),
        group: m.string_or_blank("group", issues).filter(|s| !s.is_empty()),
    };
    m.choice("event-loop", "asyncio", &["asyncio", "uvloop"], issues);
    if manager.ssl_enabled && (manager.ssl_cert.is_none() || manager.ssl_privkey.is_none()) {
        issues.push(
            "manager.ssl-enabled",
            "needs both manager.ssl-cert and manager.ssl-privkey",
        );
    }

    let registry = root.section("docker-registry", false, issues);
    let docker_registry = DockerRegistryConfig {
        ssl_verify: registry.boolean("ssl-verify", true, issues),
    };

    let logging = read_logging(
        &root.section("logging", false, issues),
        base_dir,
        env,
        issues,
    );

    let debug = root.section("debug", false, issues);
    let debug = DebugConfig {
        enabled: debug.boolean("enabled", false, issues),
        log_events: debug.boolean("log-events", false, issues),
        log_scheduler_ticks: debug.boolean("log-scheduler-ticks", false, issues),
    };

    LocalConfig {
        source: path.to_path_buf(),
        etcd,
        db,
        manager,
        docker_registry,
        logging,
        debug,
    }
}

fn read_logging(
    s: &Section<'_>,
    base_dir: &Path,
    env: &[(String, String)],
    issues: &mut Issues,
) -> LoggingConfig {
    let level = s.choice("level", "INFO", LOG_LEVELS, issues);
    let mut pkg_ns = Vec::new();
    for (ns, value) in s.section("pkg-ns", false, issues).entries() {
        match value.as_str() {
            Some(l) if LOG_LEVELS.contains(&l) => pkg_ns.push((ns.clone(), l.to_owned())),
            _ => issues.push(
                format!("{}.{ns:?}", s.key_path("pkg-ns")),
                format!("must be one of {}", LOG_LEVELS.join(", ")),
            ),
        }
    }
    let drivers = s
        .string_list("drivers", issues)
        .unwrap_or_else(|| vec!["console".to_owned()]);
    for (i, d) in drivers.iter().enumerate() {
        if !["console", "file", "logstash"].contains(&d.as_str()) {
            issues.push(
                format!("{}[{i}]", s.key_path("drivers")),
                format!("{d:?} is not one of console, file, logstash"),
            );
        }
    }
    let wants = |d: &str| drivers.iter().any(|x| x == d);

    let console = s.section("console", false, issues);
    let console = wants("console").then(|| ConsoleLogConfig {
        colored: console.boolean("colored", true, issues),
        format: console.choice("format", "verbose", &["simple", "verbose"], issues),
    });

    let file = s.section("file", wants("file"), issues);
    let file = if wants("file") && file.is_present() {
        // 21.03's legacy override: BACKEND_LOG_FILE names the whole file path.
        let (path, filename) = match env_var(env, "BACKEND_LOG_FILE").filter(|v| !v.is_empty()) {
            Some(full) => {
                let full = Path::new(full);
                (
                    full.parent().map(Path::to_path_buf).unwrap_or_default(),
                    full.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                )
            }
            None => (
                PathBuf::from(file.required_string("path", issues)),
                file.required_string("filename", issues),
            ),
        };
        let rotation = file
            .string("rotation-size", issues)
            .unwrap_or_else(|| "10M".to_owned());
        let rotation_size = match entities::resource_slot::parse_binary_size(&rotation) {
            Some(entities::SlotAmount::Finite(d)) if d > rust_decimal::Decimal::ZERO => {
                rust_decimal::prelude::ToPrimitive::to_u64(&d.trunc()).unwrap_or(u64::MAX)
            }
            _ => {
                issues.push(
                    file.key_path("rotation-size"),
                    format!("{rotation:?} is not a binary size such as \"10M\""),
                );
                10 << 20
            }
        };
        Some(FileLogConfig {
            path: base_dir.join(path),
            filename,
            backup_count: file.integer("backup-count", 5, 1..=100, issues) as u32,
            rotation_size,
        })
    } else {
        None
    };

    let logstash = s.section("logstash", wants("logstash"), issues);
    if wants("logstash") && logstash.is_present() {
        logstash.host_port("endpoint", None, issues);
    }
    LoggingConfig {
        level,
        pkg_ns,
        console,
        file,
        logstash_requested: wants("logstash"),
    }
}

/// `manager.service-addr`, with `BACKEND_SERVICE_IP` / `BACKEND_SERVICE_PORT` applied: 21.03
/// documents them as overriding it but writes them to a key nothing reads; here they do what
/// the documentation says.
fn service_addr(m: &Section<'_>, env: &[(String, String)], issues: &mut Issues) -> HostPort {
    let default = HostPort::new("0.0.0.0", 8080);
    let mut addr = m
        .host_port("service-addr", Some(default.clone()), issues)
        .unwrap_or(default);
    if let Some(host) = env_var(env, "BACKEND_SERVICE_IP") {
        addr.host = host.to_owned();
    }
    if let Some(port) = env_var(env, "BACKEND_SERVICE_PORT") {
        match port.trim().parse::<u16>() {
            Ok(p) if p > 0 => addr.port = p,
            _ => issues.push(
                "manager.service-addr",
                format!("BACKEND_SERVICE_PORT={port:?} is not a port number (1-65535)"),
            ),
        }
    }
    addr
}

fn existing_file(
    s: &Section<'_>,
    key: &str,
    base_dir: &Path,
    issues: &mut Issues,
) -> Option<PathBuf> {
    let path = base_dir.join(s.string(key, issues)?);
    if path.is_file() {
        Some(path)
    } else {
        issues.push(
            s.key_path(key),
            format!("{} is not a readable file", path.display()),
        );
        None
    }
}

/// 21.03's `Slug`: letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit.
fn is_slug(s: &str, min: usize, max: usize) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    (min..=max).contains(&s.len())
        && s.chars().all(ok_char)
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// 21.03 fills a missing `manager.secret` with `secrets.token_urlsafe(16)`.
fn random_secret() -> String {
    crate::keys::token_urlsafe(16)
}
