//! The cluster configuration in etcd as `/config/*` shows and edits it (21.03 `api/etcd.py`):
//! the known resource slots, virtual folder types, Docker registries, and raw keys for
//! superadmins.

use serde_json::{Map, Value};

use super::{Error, Result};
use crate::config::etcd::{flatten_unquoted, tree_to_json, Etcd};
use crate::config::shared::SharedConfig;

/// At most this many keys change in one `/config/set` (21.03's limit).
pub const MAX_KEYS_PER_SET: usize = 16;

/// The slots every manager knows whatever etcd says, with their units.
const INTRINSIC_SLOTS: [(&str, &str); 2] = [("cpu", "count"), ("mem", "bytes")];

/// Slot name → unit (`count`, `bytes`, `unique`): `cpu` and `mem` first, then the others by
/// name, as 21.03 lists them.
pub fn resource_slots(shared: &SharedConfig) -> Map<String, Value> {
    let mut slots = Map::new();
    for (name, unit) in INTRINSIC_SLOTS {
        let unit = shared.resource_slots.get(name).map_or(unit, String::as_str);
        slots.insert(name.to_owned(), Value::from(unit));
    }
    for (name, unit) in &shared.resource_slots {
        if !slots.contains_key(name) {
            slots.insert(name.clone(), Value::from(unit.as_str()));
        }
    }
    slots
}

/// The virtual folder types enabled under `volumes/_types/`; `user` when none is.
pub async fn vfolder_types(etcd: &Etcd) -> Result<Vec<String>> {
    let types: Vec<String> = etcd
        .get_prefix("volumes/_types")
        .await?
        .into_keys()
        .collect();
    Ok(if types.is_empty() {
        vec!["user".to_owned()]
    } else {
        types
    })
}

/// Registry name → URL.
pub fn docker_registries(shared: &SharedConfig) -> Map<String, Value> {
    shared
        .registries
        .iter()
        .map(|(name, registry)| (name.clone(), Value::from(registry.url.as_str())))
        .collect()
}

/// A raw key's value (`null` when absent), or with `prefix` the nested view of every key that
/// starts with it.
pub async fn get(etcd: &Etcd, key: &str, prefix: bool) -> Result<Value> {
    if prefix {
        Ok(tree_to_json(&etcd.get_prefix(key).await?))
    } else {
        Ok(etcd.get(key).await?.map_or(Value::Null, Value::from))
    }
}

/// Writes a string at `key`, or an object as keys below it (merged over what is there), in
/// one transaction.
pub async fn set(etcd: &Etcd, key: &str, value: &Value) -> Result<()> {
    let mut pairs = Vec::new();
    match value {
        Value::String(s) => pairs.push((key.to_owned(), s.clone())),
        Value::Object(_) => flatten_unquoted(key, value, &mut pairs),
        _ => {
            return Err(Error::InvalidInput(
                "value must be a string or an object".into(),
            ))
        }
    }
    if pairs.len() > MAX_KEYS_PER_SET {
        return Err(Error::InvalidInput(
            "Too large update! Split into smaller key-value pair sets.".into(),
        ));
    }
    Ok(etcd.put_pairs(&pairs).await?)
}

/// Deletes `key`, or with `prefix` every key starting with it. Deleting everything (an empty
/// or `/` prefix) is refused: 21.03 let `/` wipe the whole namespace.
pub async fn delete(etcd: &Etcd, key: &str, prefix: bool) -> Result<()> {
    if prefix && key.trim_start_matches('/').is_empty() {
        return Err(Error::InvalidInput(
            "refusing to delete the whole configuration namespace".into(),
        ));
    }
    if prefix {
        etcd.delete_prefix(key).await?;
    } else {
        etcd.delete(key).await?;
    }
    Ok(())
}
