//! The etcd store in 21.03's layout, and the shared configuration read from it.

use std::time::Duration;

use bai_manager::config::etcd::tree_to_json;
use bai_manager::config::{HostPort, SharedConfig};
use bai_manager::server::{load_shared_config, watch_shared_config};
use serde_json::json;

use crate::helpers::{repo_path, TestEtcd};

#[tokio::test]
async fn keys_live_under_the_21_03_namespace_prefix() {
    let t = TestEtcd::new().await;
    t.etcd
        .put("config/redis/addr", "127.0.0.1:6379")
        .await
        .unwrap();
    // The raw key as 21.03 (and etcdctl) sees it.
    let mut raw =
        etcd_client::Client::connect([format!("http://{}", crate::helpers::etcd_addr())], None)
            .await
            .unwrap();
    let resp = raw
        .get(format!("/sorna/{}/config/redis/addr", t.namespace), None)
        .await
        .unwrap();
    assert_eq!(resp.kvs()[0].value_str().unwrap(), "127.0.0.1:6379");
    assert_eq!(
        t.etcd.get("config/redis/addr").await.unwrap().as_deref(),
        Some("127.0.0.1:6379")
    );
    assert_eq!(t.etcd.get("config/redis/nope").await.unwrap(), None);
}

#[tokio::test]
async fn put_json_and_get_prefix_round_trip() {
    let t = TestEtcd::new().await;
    let value = json!({
        "docker": {"registry": {"index.docker.io/x": {"": "https://registry-1.docker.io", "username": "lablup"}}},
        "network": {"overlay": {"mtu": 1500}},
    });
    assert_eq!(t.etcd.put_json("config", &value).await.unwrap(), 3);
    assert_eq!(
        t.etcd
            .get("config/docker/registry/index.docker.io%2Fx")
            .await
            .unwrap()
            .as_deref(),
        Some("https://registry-1.docker.io")
    );
    let tree = t.etcd.get_prefix("config/").await.unwrap();
    assert_eq!(
        tree_to_json(&tree),
        json!({
            "docker": {"registry": {"index.docker.io/x": {"": "https://registry-1.docker.io", "username": "lablup"}}},
            "network": {"overlay": {"mtu": "1500"}},
        })
    );
    assert_eq!(t.etcd.delete_prefix("config/docker").await.unwrap(), 2);
}

#[tokio::test]
async fn shared_config_loads_validates_and_follows_changes() {
    let t = TestEtcd::new().await;
    let dev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("configs/etcd.dev.json")).unwrap())
            .unwrap();
    t.etcd.put_json("config", &dev).await.unwrap();
    let config = load_shared_config(&t.etcd).await.unwrap();
    assert_eq!(config.redis.addr, HostPort::new("127.0.0.1", 6379));

    let (tx, mut rx) = tokio::sync::watch::channel(std::sync::Arc::new(config));
    let watcher = watch_shared_config(t.etcd.clone(), tx);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A valid change is picked up.
    t.etcd
        .put("config/redis/addr", "10.1.2.3:7000")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), rx.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rx.borrow().redis.addr, HostPort::new("10.1.2.3", 7000));

    // An invalid one is rejected and the last good configuration stays.
    t.etcd
        .put("config/redis/addr", "not-an-address")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(!rx.has_changed().unwrap());
    assert_eq!(rx.borrow().redis.addr, HostPort::new("10.1.2.3", 7000));
    let err = load_shared_config(&t.etcd).await.unwrap_err();
    assert!(format!("{err:#}").contains("config/redis/addr"), "{err:#}");
    watcher.abort();
}

#[tokio::test]
async fn an_empty_namespace_has_21_03_defaults() {
    let t = TestEtcd::new().await;
    let config: SharedConfig = load_shared_config(&t.etcd).await.unwrap();
    assert_eq!(config.timezone, "UTC");
    assert!(config.registries.is_empty());
    assert_eq!(config.idle.timeout_threshold, Duration::from_secs(600));
}
