//! The etcd store of the shared configuration, in 21.03's layout: every key lives under
//! `/sorna/{namespace}/`, path components that may contain `/` or `:` are percent-quoted, values
//! are UTF-8 strings, and nested maps are flattened into `prefix/child` keys (a value stored at
//! a node that also has children reads back under the key `""`).

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::Arc;

use etcd_client::{
    Client, ConnectOptions, DeleteOptions, EventType, GetOptions, Txn, TxnOp, WatchOptions,
};
use serde_json::Value as Json;

use super::local::EtcdConfig;

/// A nested view of an etcd prefix: leaves are strings, nodes are maps.
pub type Tree = BTreeMap<String, Node>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Leaf(String),
    Tree(Tree),
}

impl Node {
    /// As 21.03 prints `get --prefix`: strings and nested objects.
    pub fn to_json(&self) -> Json {
        match self {
            Node::Leaf(s) => Json::String(s.clone()),
            Node::Tree(t) => tree_to_json(t),
        }
    }
}

pub fn tree_to_json(tree: &Tree) -> Json {
    Json::Object(tree.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    #[error("etcd at {addr}: {source}")]
    Client {
        addr: String,
        source: etcd_client::Error,
    },
    #[error("etcd key {key:?} holds bytes that are not UTF-8")]
    NotUtf8 { key: String },
}

/// A namespaced connection to etcd. Cheap to clone.
#[derive(Clone)]
pub struct Etcd {
    /// Shared: the application state (and so this) is cloned for every request, and a client
    /// is costly to clone; calls clone it only when they need one of their own.
    client: Arc<Client>,
    namespace: String,
    addr: String,
}

/// Reverses [`quote`].
pub use crate::percent::decode as unquote;
/// Quotes a key component as 21.03 does (`urllib.parse.quote(s, safe='')`).
pub use crate::percent::encode as quote;

/// Flattens a JSON object into `(key, value)` pairs under `prefix` as 21.03's `put_prefix`:
/// child names are quoted, `""` stores at the node itself, scalars are written as Python's
/// `str()` would (`True`, `None`, `1500`), and empty objects write nothing.
pub fn flatten(prefix: &str, value: &Json, out: &mut Vec<(String, String)>) {
    flatten_with(prefix, value, quote, out)
}

/// As [`flatten`], but child names are used as they are (a `/` in one nests deeper): how
/// 21.03's `/config/set` writes a mapping.
pub fn flatten_unquoted(prefix: &str, value: &Json, out: &mut Vec<(String, String)>) {
    flatten_with(prefix, value, str::to_owned, out)
}

fn flatten_with(
    prefix: &str,
    value: &Json,
    name: fn(&str) -> String,
    out: &mut Vec<(String, String)>,
) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                let key = if k.is_empty() {
                    prefix.to_owned()
                } else {
                    format!("{prefix}/{}", name(k))
                };
                flatten_with(&key, v, name, out);
            }
        }
        scalar => out.push((prefix.to_owned(), python_str(scalar))),
    }
}

fn python_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::Null => "None".to_owned(),
        Json::Number(n) => n.to_string(),
        Json::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Json::String(s) => format!("'{s}'"),
                    other => python_str(other),
                })
                .collect();
            format!("[{}]", inner.join(", "))
        }
        Json::Object(_) => unreachable!("objects are flattened by the caller"),
    }
}

/// Builds the nested view of `(relative key, value)` pairs sorted by key, as 21.03's
/// `make_dict_from_pairs`.
pub fn unflatten(pairs: impl IntoIterator<Item = (String, String)>) -> Tree {
    let mut root = Tree::new();
    for (rel, value) in pairs {
        let rel = rel.strip_prefix('/').unwrap_or(&rel);
        let parts: Vec<String> = rel.split('/').map(unquote).collect();
        let (last, parents) = parts.split_last().expect("split yields one part at least");
        let mut node = &mut root;
        for part in parents {
            let entry = node
                .entry(part.clone())
                .or_insert_with(|| Node::Tree(Tree::new()));
            if let Node::Leaf(old) = entry {
                let old = std::mem::take(old);
                *entry = Node::Tree(Tree::from([(String::new(), Node::Leaf(old))]));
            }
            let Node::Tree(t) = entry else { unreachable!() };
            node = t;
        }
        match node.get_mut(last) {
            Some(Node::Tree(t)) => {
                t.insert(String::new(), Node::Leaf(value));
            }
            _ => {
                node.insert(last.clone(), Node::Leaf(value));
            }
        }
    }
    root
}

impl Etcd {
    pub async fn connect(config: &EtcdConfig) -> Result<Etcd, EtcdError> {
        let addr = format!("http://{}", config.addr);
        let mut options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(10))
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10));
        if let Some(user) = &config.user {
            let password = config
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            options = options.with_user(user.clone(), password);
        }
        let client = Client::connect([addr.as_str()], Some(options))
            .await
            .map_err(|source| EtcdError::Client {
                addr: addr.clone(),
                source,
            })?;
        Ok(Etcd {
            client: Arc::new(client),
            namespace: config.namespace.clone(),
            addr,
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!(
            "/sorna/{}/{}",
            self.namespace,
            key.strip_prefix('/').unwrap_or(key)
        )
    }

    fn client(&self) -> Client {
        (*self.client).clone()
    }

    fn err(&self, source: etcd_client::Error) -> EtcdError {
        EtcdError::Client {
            addr: self.addr.clone(),
            source,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, EtcdError> {
        let full = self.full_key(key);
        let resp = self
            .client()
            .get(full.as_str(), None)
            .await
            .map_err(|e| self.err(e))?;
        match resp.kvs().first() {
            None => Ok(None),
            Some(kv) => {
                kv.value_str()
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| EtcdError::NotUtf8 {
                        key: key.to_owned(),
                    })
            }
        }
    }

    /// All keys under `prefix` (a plain string prefix, as in 21.03), relative to it.
    pub async fn get_prefix_pairs(&self, prefix: &str) -> Result<Vec<(String, String)>, EtcdError> {
        let full = self.full_key(prefix);
        let resp = self
            .client()
            .get(
                full.as_str(),
                Some(
                    GetOptions::new()
                        .with_prefix()
                        .with_sort(etcd_client::SortTarget::Key, etcd_client::SortOrder::Ascend),
                ),
            )
            .await
            .map_err(|e| self.err(e))?;
        resp.kvs()
            .iter()
            .map(|kv| {
                let key = String::from_utf8_lossy(kv.key()).into_owned();
                let rel = key.strip_prefix(&full).unwrap_or(&key).to_owned();
                let value = kv
                    .value_str()
                    .map_err(|_| EtcdError::NotUtf8 { key: key.clone() })?;
                Ok((rel, value.to_owned()))
            })
            .collect()
    }

    pub async fn get_prefix(&self, prefix: &str) -> Result<Tree, EtcdError> {
        Ok(unflatten(self.get_prefix_pairs(prefix).await?))
    }

    pub async fn put(&self, key: &str, value: &str) -> Result<(), EtcdError> {
        let full = self.full_key(key);
        self.client()
            .put(full, value, None)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Writes a nested JSON object under `prefix` in one transaction.
    pub async fn put_json(&self, prefix: &str, value: &Json) -> Result<usize, EtcdError> {
        let mut pairs = Vec::new();
        flatten(prefix, value, &mut pairs);
        self.put_pairs(&pairs).await?;
        Ok(pairs.len())
    }

    /// Writes several keys in one transaction.
    pub async fn put_pairs(&self, pairs: &[(String, String)]) -> Result<(), EtcdError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let ops: Vec<TxnOp> = pairs
            .iter()
            .map(|(k, v)| TxnOp::put(self.full_key(k), v.as_str(), None))
            .collect();
        self.client()
            .txn(Txn::new().and_then(ops))
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Moves every key under `src` to the same place under `dst`, in one transaction. Only the
    /// keys that were moved are deleted (a plain prefix delete of `src` would also hit keys that
    /// merely start with the same characters, such as `dst` itself).
    pub async fn move_subtree(&self, src: &str, dst: &str) -> Result<usize, EtcdError> {
        let pairs = self.get_prefix_pairs(src).await?;
        let mut ops: Vec<TxnOp> = pairs
            .iter()
            .map(|(rel, v)| TxnOp::put(self.full_key(&format!("{dst}{rel}")), v.as_str(), None))
            .collect();
        ops.extend(
            pairs
                .iter()
                .map(|(rel, _)| TxnOp::delete(self.full_key(&format!("{src}{rel}")), None)),
        );
        if !ops.is_empty() {
            self.client()
                .txn(Txn::new().and_then(ops))
                .await
                .map_err(|e| self.err(e))?;
        }
        Ok(pairs.len())
    }

    pub async fn delete(&self, key: &str) -> Result<i64, EtcdError> {
        let full = self.full_key(key);
        let resp = self
            .client()
            .delete(full, None)
            .await
            .map_err(|e| self.err(e))?;
        Ok(resp.deleted())
    }

    pub async fn delete_prefix(&self, prefix: &str) -> Result<i64, EtcdError> {
        let full = self.full_key(prefix);
        let resp = self
            .client()
            .delete(full, Some(DeleteOptions::new().with_prefix()))
            .await
            .map_err(|e| self.err(e))?;
        Ok(resp.deleted())
    }

    /// Calls `on_change` (with the relative key) after every put or delete under `prefix`,
    /// re-establishing the watch if the connection drops. Runs until the task is cancelled.
    pub async fn watch_prefix<F>(&self, prefix: &str, mut on_change: F)
    where
        F: FnMut(String) + Send,
    {
        let full = self.full_key(prefix);
        loop {
            match self
                .client()
                .watch(full.as_str(), Some(WatchOptions::new().with_prefix()))
                .await
            {
                Ok(mut stream) => loop {
                    match stream.message().await {
                        Ok(Some(resp)) => {
                            for event in resp.events() {
                                if matches!(event.event_type(), EventType::Put | EventType::Delete)
                                {
                                    if let Some(kv) = event.kv() {
                                        let key = String::from_utf8_lossy(kv.key());
                                        on_change(
                                            key.strip_prefix(&full).unwrap_or(&key).to_owned(),
                                        );
                                    }
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, prefix, "etcd watch broke; re-establishing");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(error = %e, prefix, "cannot watch etcd; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting_matches_python() {
        assert_eq!(quote("cr.backend.ai"), "cr.backend.ai");
        assert_eq!(
            quote("index.docker.io/lablup:1"),
            "index.docker.io%2Flablup%3A1"
        );
        assert_eq!(quote("a b~"), "a%20b~");
        assert_eq!(
            unquote("index.docker.io%2Flablup%3A1"),
            "index.docker.io/lablup:1"
        );
        assert_eq!(unquote("100%"), "100%");
        assert_eq!(unquote("%zz%4"), "%zz%4");
    }

    #[test]
    fn flatten_as_put_prefix() {
        let mut pairs = Vec::new();
        flatten(
            "config",
            &json!({"docker": {"registry": {"cr.backend.ai": {"": "https://cr.backend.ai", "type": "harbor2"}}},
                    "network": {"overlay": {"mtu": 1500}}, "flag": true, "empty": {}}),
            &mut pairs,
        );
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                (
                    "config/docker/registry/cr.backend.ai".into(),
                    "https://cr.backend.ai".into()
                ),
                (
                    "config/docker/registry/cr.backend.ai/type".into(),
                    "harbor2".into()
                ),
                ("config/flag".into(), "True".into()),
                ("config/network/overlay/mtu".into(), "1500".into()),
            ]
        );
    }

    #[test]
    fn unflatten_as_make_dict_from_pairs() {
        let tree = unflatten([
            ("/mydata".to_owned(), "abc".to_owned()),
            ("/mydata/x".to_owned(), "1".to_owned()),
            ("/mydata/y".to_owned(), "2".to_owned()),
            ("/my%2Fkey".to_owned(), "def".to_owned()),
        ]);
        assert_eq!(
            tree_to_json(&tree),
            json!({"mydata": {"": "abc", "x": "1", "y": "2"}, "my/key": "def"})
        );
    }
}
