//! The shared configuration in etcd (`config/…`), typed and validated with 21.03's defaults.
//!
//! Every value in etcd is a string; problems are reported with the etcd key (relative to the
//! namespace) that holds the bad value. Unknown keys are kept out of the typed view but not
//! rejected, as 21.03 allows extra keys everywhere in this tree.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::etcd::{Node, Tree};
use super::reader::{parse_bool, ConfigErrors, HostPort, Issues};

#[derive(Debug, Clone, PartialEq)]
pub struct SharedConfig {
    pub timezone: String,
    pub allow_origins: String,
    pub redis: RedisConfig,
    pub registries: BTreeMap<String, RegistryConfig>,
    pub network: NetworkConfig,
    pub watcher_token: Option<String>,
    pub idle: IdleConfig,
    pub error_log_retention: Duration,
    /// Slot name → `count`, `bytes` or `unique`; `cpu` and `mem` are always there.
    pub resource_slots: BTreeMap<String, String>,
    /// `config/plugins/{group}/{name}/…`, free-form per plugin.
    pub plugins: BTreeMap<String, Tree>,
    pub fifo_num_retries_to_skip: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisConfig {
    pub addr: HostPort,
    pub sentinel: Vec<HostPort>,
    pub service_name: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistryConfig {
    pub url: String,
    /// `docker`, `harbor` or `harbor2`.
    pub kind: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub projects: Vec<String>,
    pub ssl_verify: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    pub agent_subnet: String,
    pub container_subnet: String,
    pub overlay_mtu: Option<u32>,
    /// TCP keepalive of agent RPC connections (#485; 21.03 meant to read it but always used 60).
    pub rpc_keepalive_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdleConfig {
    /// Enabled checkers among `timeout` and `utilization`.
    pub enabled: Vec<String>,
    pub app_streaming_packet_timeout: Duration,
    pub timeout_threshold: Duration,
}

/// Reads a string tree with the key path of each node, for error messages.
struct TreeView<'a> {
    path: String,
    tree: Option<&'a Tree>,
}

impl<'a> TreeView<'a> {
    fn child(&self, key: &str, issues: &mut Issues) -> TreeView<'a> {
        let path = format!("{}/{key}", self.path);
        match self.tree.and_then(|t| t.get(key)) {
            Some(Node::Tree(t)) => TreeView {
                path,
                tree: Some(t),
            },
            Some(Node::Leaf(v)) => {
                issues.push(
                    &path,
                    format!("must hold keys below it, not the value {v:?}"),
                );
                TreeView { path, tree: None }
            }
            None => TreeView { path, tree: None },
        }
    }

    fn leaf(&self, key: &str, issues: &mut Issues) -> Option<&'a str> {
        match self.tree?.get(key)? {
            Node::Leaf(v) => Some(v.as_str()),
            // A value stored at a node that has children reads back under "".
            Node::Tree(t) => match t.get("") {
                Some(Node::Leaf(v)) => Some(v.as_str()),
                _ => {
                    issues.push(
                        format!("{}/{key}", self.path),
                        "must be a value, not a subtree",
                    );
                    None
                }
            },
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}/{key}", self.path)
    }

    fn string(&self, key: &str, default: &str, issues: &mut Issues) -> String {
        self.leaf(key, issues).unwrap_or(default).to_owned()
    }

    fn duration(&self, key: &str, default: &str, issues: &mut Issues) -> Duration {
        let raw = self.leaf(key, issues).unwrap_or(default);
        parse_duration(raw).unwrap_or_else(|| {
            issues.push(
                self.key(key),
                format!("{raw:?} is not a duration (such as 30, 10m, 2h, 1d, 1w)"),
            );
            parse_duration(default).expect("defaults are valid")
        })
    }

    fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Node)> {
        self.tree.into_iter().flat_map(|t| t.iter())
    }
}

/// 21.03's `TimeDuration`: a number of seconds, or a number with `m`, `h`, `d` or `w`.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let (number, unit_secs) = match raw.chars().last()? {
        'w' => (&raw[..raw.len() - 1], 604_800.0),
        'd' => (&raw[..raw.len() - 1], 86_400.0),
        'h' => (&raw[..raw.len() - 1], 3_600.0),
        'm' => (&raw[..raw.len() - 1], 60.0),
        _ => (raw, 1.0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value * unit_secs))
}

fn is_ip_network(raw: &str) -> bool {
    let (addr, prefix) = raw.split_once('/').unwrap_or((raw, ""));
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return false;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = if prefix.is_empty() {
        max
    } else {
        match prefix.parse() {
            Ok(p) if p <= max => p,
            _ => return false,
        }
    };
    // Like Python's strict ip_network: no host bits set.
    let bits: u128 = match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    prefix == max || bits & ((1u128 << (max - prefix)) - 1) == 0
}

impl SharedConfig {
    /// Validates the tree read from the etcd prefix `config`.
    pub fn from_tree(config: &Tree) -> Result<SharedConfig, ConfigErrors> {
        let mut issues = Issues::default();
        let root = TreeView {
            path: "config".to_owned(),
            tree: Some(config),
        };
        let i = &mut issues;

        let system = root.child("system", i);
        let timezone = system.string("timezone", "UTC", i);
        let allow_origins = root.child("api", i).string("allow-origins", "*", i);

        let redis = root.child("redis", i);
        let addr = match redis.leaf("addr", i) {
            Some(raw) => HostPort::parse(raw).unwrap_or_else(|reason| {
                i.push(redis.key("addr"), reason);
                HostPort::new("127.0.0.1", 6379)
            }),
            None => HostPort::new("127.0.0.1", 6379),
        };
        let mut sentinel = Vec::new();
        if let Some(raw) = redis.leaf("sentinel", i).filter(|s| !s.is_empty()) {
            for part in raw.split(',') {
                match HostPort::parse(part) {
                    Ok(hp) => sentinel.push(hp),
                    Err(reason) => i.push(redis.key("sentinel"), format!("{part:?}: {reason}")),
                }
            }
        }
        let service_name = redis.leaf("service_name", i).map(str::to_owned);
        if !sentinel.is_empty() && service_name.is_none() {
            i.push(
                redis.key("service_name"),
                "is required when config/redis/sentinel is set",
            );
        }
        let redis = RedisConfig {
            addr,
            sentinel,
            service_name,
            password: redis.leaf("password", i).map(str::to_owned),
        };

        let mut registries = BTreeMap::new();
        let registry_root = root.child("docker", i).child("registry", i);
        for (name, node) in registry_root.entries() {
            let view = TreeView {
                path: format!("{}/{}", registry_root.path, super::etcd::quote(name)),
                tree: match node {
                    Node::Tree(t) => Some(t),
                    Node::Leaf(_) => None,
                },
            };
            let url = match node {
                Node::Leaf(url) => Some(url.as_str()),
                Node::Tree(_) => view.leaf("", i),
            };
            let url = match url {
                Some(u) if u.contains("://") => u.to_owned(),
                Some(u) => {
                    i.push(
                        &view.path,
                        format!("{u:?} is not a URL with a scheme (such as https://)"),
                    );
                    continue;
                }
                None => {
                    i.push(&view.path, "needs the registry URL as its value");
                    continue;
                }
            };
            let kind = view.string("type", "docker", i);
            if !["docker", "harbor", "harbor2"].contains(&kind.as_str()) {
                i.push(
                    view.key("type"),
                    format!("{kind:?} is not one of docker, harbor, harbor2"),
                );
            }
            let ssl_verify = match view.leaf("ssl-verify", i) {
                None => true,
                Some(raw) => parse_bool(raw).unwrap_or_else(|| {
                    i.push(view.key("ssl-verify"), format!("{raw:?} is not a boolean"));
                    true
                }),
            };
            registries.insert(
                name.clone(),
                RegistryConfig {
                    url,
                    kind,
                    username: view.leaf("username", i).map(str::to_owned),
                    password: view.leaf("password", i).map(str::to_owned),
                    projects: view
                        .leaf("project", i)
                        .map(|p| {
                            p.split(',')
                                .map(str::to_owned)
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                    ssl_verify,
                },
            );
        }

        let network = root.child("network", i);
        let subnet = network.child("subnet", i);
        let subnet_of = |key: &str, i: &mut Issues| {
            let raw = subnet.string(key, "0.0.0.0/0", i);
            if !is_ip_network(&raw) {
                i.push(
                    subnet.key(key),
                    format!("{raw:?} is not an IP network such as 10.0.0.0/8"),
                );
            }
            raw
        };
        let agent_subnet = subnet_of("agent", i);
        let container_subnet = subnet_of("container", i);
        let overlay = network.child("overlay", i);
        let overlay_mtu = overlay
            .leaf("mtu", i)
            .and_then(|raw| match raw.trim().parse::<u32>() {
                Ok(m) if m >= 1 => Some(m),
                _ => {
                    i.push(
                        overlay.key("mtu"),
                        format!("{raw:?} is not a positive integer"),
                    );
                    None
                }
            });
        let rpc = network.child("rpc", i);
        let rpc_keepalive_timeout = rpc.duration("keepalive-timeout", "60", i);

        let watcher_token = root.child("watcher", i).leaf("token", i).map(str::to_owned);

        let idle = root.child("idle", i);
        let mut enabled = Vec::new();
        for name in idle
            .leaf("enabled", i)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
        {
            match name {
                "" => {}
                "timeout" | "utilization" => enabled.push(name.to_owned()),
                other => tracing::warn!(
                    checker = other,
                    "config/idle/enabled names an unknown idle checker; skipped"
                ),
            }
        }
        let idle = IdleConfig {
            enabled,
            app_streaming_packet_timeout: idle.duration("app-streaming-packet-timeout", "5m", i),
            timeout_threshold: idle.child("checkers", i).child("timeout", i).duration(
                "threshold",
                "10m",
                i,
            ),
        };

        let error_log_retention =
            root.child("logs", i)
                .child("error", i)
                .duration("retention", "90d", i);

        let mut resource_slots: BTreeMap<String, String> = [
            ("cpu".to_owned(), "count".to_owned()),
            ("mem".to_owned(), "bytes".to_owned()),
        ]
        .into();
        let slots = root.child("resource_slots", i);
        for (slot, node) in slots.entries() {
            match node {
                Node::Leaf(kind) if ["count", "bytes", "unique"].contains(&kind.as_str()) => {
                    resource_slots.insert(slot.clone(), kind.clone());
                }
                _ => i.push(slots.key(slot), "must be one of count, bytes, unique"),
            }
        }

        let plugins_view = root.child("plugins", i);
        let mut plugins = BTreeMap::new();
        for (group, node) in plugins_view.entries() {
            match node {
                Node::Tree(t) => {
                    plugins.insert(group.clone(), t.clone());
                }
                Node::Leaf(_) => {
                    i.push(plugins_view.key(group), "must hold one subtree per plugin")
                }
            }
        }
        let fifo = plugins_view.child("scheduler", i).child("fifo", i);
        let fifo_num_retries_to_skip = match fifo.leaf("num_retries_to_skip", i) {
            None => 0,
            Some(raw) => raw.trim().parse::<u32>().unwrap_or_else(|_| {
                i.push(
                    fifo.key("num_retries_to_skip"),
                    format!("{raw:?} is not a non-negative integer"),
                );
                0
            }),
        };

        let config = SharedConfig {
            timezone,
            allow_origins,
            redis,
            registries,
            network: NetworkConfig {
                agent_subnet,
                container_subnet,
                overlay_mtu,
                rpc_keepalive_timeout,
            },
            watcher_token,
            idle,
            error_log_retention,
            resource_slots,
            plugins,
            fifo_num_retries_to_skip,
        };
        issues.finish("etcd", config)
    }
}

#[cfg(test)]
mod tests {
    use super::super::etcd::{flatten, unflatten};
    use super::*;
    use serde_json::json;

    fn tree(v: serde_json::Value) -> Tree {
        let mut pairs = Vec::new();
        flatten("", &v, &mut pairs);
        pairs.sort();
        unflatten(pairs)
    }

    #[test]
    fn defaults_and_sample_values() {
        let dev: serde_json::Value =
            serde_json::from_str(include_str!("../../configs/etcd.dev.json")).unwrap();
        let cfg = SharedConfig::from_tree(&tree(dev)).unwrap();
        assert_eq!(cfg.redis.addr, HostPort::new("127.0.0.1", 6379));
        assert_eq!(
            cfg.registries["cr.backend.ai"].projects,
            vec!["stable", "ngc"]
        );
        assert_eq!(cfg.registries["cr.backend.ai"].kind, "harbor2");
        assert_eq!(cfg.idle.enabled, vec!["timeout"]);
        assert_eq!(cfg.idle.timeout_threshold, Duration::from_secs(600));
        assert_eq!(cfg.error_log_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(cfg.fifo_num_retries_to_skip, 3);
        assert_eq!(cfg.resource_slots["mem"], "bytes");
        let empty = SharedConfig::from_tree(&Tree::new()).unwrap();
        assert_eq!(empty.timezone, "UTC");
        assert_eq!(empty.network.rpc_keepalive_timeout, Duration::from_secs(60));
    }

    #[test]
    fn bad_values_name_their_keys() {
        let err = SharedConfig::from_tree(&tree(json!({
            "redis": {"addr": "nohost", "sentinel": "a:1"},
            "docker": {"registry": {"x": {"": "ftp-less", "type": "quay"}}},
            "network": {"subnet": {"agent": "10.0.0.1/8"}, "overlay": {"mtu": "big"}},
            "idle": {"checkers": {"timeout": {"threshold": "5s"}}},
            "resource_slots": {"cuda.device": "many"},
        })))
        .unwrap_err();
        for key in [
            "config/redis/addr",
            "config/redis/service_name",
            "config/docker/registry/x",
            "config/network/subnet/agent",
            "config/network/overlay/mtu",
            "config/idle/checkers/timeout/threshold",
            "config/resource_slots/cuda.device",
        ] {
            assert!(err.mentions(key), "no issue for {key}: {err}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("5s"), None);
        assert_eq!(parse_duration("-1m"), None);
        assert_eq!(parse_duration(""), None);
    }
}
