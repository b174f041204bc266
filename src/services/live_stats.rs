//! Live statistics that agents publish in Redis (stat database): msgpack documents under the
//! agent id and under each running kernel's id.

use std::collections::HashMap;

use redis::aio::ConnectionManager;
use serde_json::Value;

use super::{Error, Result};

/// The statistics stored under each of `keys` (one MGET); absent or unreadable ones are left out.
pub async fn read(redis: &ConnectionManager, keys: &[String]) -> Result<HashMap<String, Value>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(keys)
        .query_async(&mut redis.clone())
        .await
        .map_err(|e| Error::Internal(format!("reading live statistics from Redis: {e}")))?;
    let mut stats = HashMap::new();
    for (key, bytes) in keys.iter().zip(raw) {
        let Some(bytes) = bytes else { continue };
        match rmpv::decode::read_value(&mut bytes.as_slice()) {
            Ok(value) => {
                stats.insert(key.clone(), msgpack_to_json(value));
            }
            Err(e) => tracing::warn!(key = %key, error = %e, "unreadable live statistics in Redis"),
        }
    }
    Ok(stats)
}

/// msgpack as Python's `msgpack.unpackb(raw=False)` + `json.dumps` render it.
fn msgpack_to_json(value: rmpv::Value) -> Value {
    use rmpv::Value as M;
    match value {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => i
            .as_i64()
            .map(Value::from)
            .or_else(|| i.as_u64().map(Value::from))
            .unwrap_or(Value::Null),
        M::F32(f) => serde_json::Number::from_f64(f.into()).map_or(Value::Null, Value::Number),
        M::F64(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        M::String(s) => Value::String(s.into_str().unwrap_or_default()),
        M::Binary(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        M::Array(items) => Value::Array(items.into_iter().map(msgpack_to_json).collect()),
        M::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        M::String(s) => s.into_str().unwrap_or_default(),
                        other => other.to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
        M::Ext(_, _) => Value::Null,
    }
}
