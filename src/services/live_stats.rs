//! Live statistics that agents publish in Redis (stat database): msgpack documents under the
//! agent id and under each running kernel's id.
//!
//! A document is kept as the msgpack bytes read: an agent's is a few kilobytes of nested maps,
//! and a page of agents would otherwise build (and drop) a tree per agent to show one string
//! and two numbers. Rendering and lookups stream over the bytes.
//!
//! Agents publish every few seconds while lists are read many times a second, so documents are
//! kept between requests ([`StatCache`]): an unchanged document is neither checked nor rendered
//! again.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use redis::aio::ConnectionManager;
use serde::ser::{Error as _, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Error, Result};

/// How deeply a document may nest (agents publish 4 levels); deeper ones are refused when read,
/// so that walking them never exhausts the stack.
const MAX_DEPTH: usize = 32;

/// One live-statistics document, as published, with its rendering once made.
#[derive(Debug, Default)]
pub struct LiveStat {
    bytes: Vec<u8>,
    rendered: OnceLock<bytes::Bytes>,
}

impl PartialEq for LiveStat {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl LiveStat {
    /// The document, if `bytes` hold exactly one msgpack value.
    pub fn from_msgpack(bytes: Vec<u8>) -> Result<Self, String> {
        let mut cursor = Cursor(&bytes);
        cursor.skip(MAX_DEPTH)?;
        if !cursor.0.is_empty() {
            return Err(format!("{} bytes after the document", cursor.0.len()));
        }
        Ok(LiveStat {
            bytes,
            rendered: OnceLock::new(),
        })
    }

    /// The document rendered by `render`, which runs once per document.
    pub fn rendered(&self, render: impl FnOnce(&LiveStat) -> bytes::Bytes) -> bytes::Bytes {
        self.rendered.get_or_init(|| render(self)).clone()
    }

    /// The number at `path` (map keys), stored as a decimal string or a number.
    pub fn number(&self, path: &[&str]) -> Option<f64> {
        let mut cursor = Cursor(&self.bytes);
        for key in path {
            let Item::Map(len) = cursor.next().ok()? else {
                return None;
            };
            let mut found = false;
            for _ in 0..len {
                if matches!(cursor.next().ok()?, Item::Str(k) if k == key.as_bytes()) {
                    found = true;
                    break;
                }
                cursor.skip(MAX_DEPTH).ok()?;
            }
            if !found {
                return None;
            }
        }
        match cursor.next().ok()? {
            Item::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
            Item::Int(i) => Some(i as f64),
            Item::UInt(u) => Some(u as f64),
            Item::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// The document as Python's `msgpack.unpackb(raw=False)` + `json.dumps` see it.
impl Serialize for LiveStat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Next(&Cell::new(&self.bytes)).serialize(serializer)
    }
}

/// Serializes the next value of a cursor shared by the nested serializations.
struct Next<'c, 'a>(&'c Cell<&'a [u8]>);

impl Serialize for Next<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut cursor = Cursor(self.0.get());
        let item = cursor.next().map_err(S::Error::custom)?;
        self.0.set(cursor.0);
        match item {
            Item::Nil | Item::Ext => serializer.serialize_unit(),
            Item::Bool(b) => serializer.serialize_bool(b),
            Item::Int(i) => serializer.serialize_i64(i),
            Item::UInt(u) => serializer.serialize_u64(u),
            // JSON has no NaN or infinities.
            Item::Float(f) if f.is_finite() => serializer.serialize_f64(f),
            Item::Float(_) => serializer.serialize_unit(),
            Item::Str(s) | Item::Bin(s) => serializer.serialize_str(&String::from_utf8_lossy(s)),
            Item::Array(len) => {
                let mut seq = serializer.serialize_seq(Some(len))?;
                for _ in 0..len {
                    seq.serialize_element(&Next(self.0))?;
                }
                seq.end()
            }
            Item::Map(len) => {
                let mut map = serializer.serialize_map(Some(len))?;
                for _ in 0..len {
                    map.serialize_key(&Key(self.0))?;
                    map.serialize_value(&Next(self.0))?;
                }
                map.end()
            }
        }
    }
}

/// A map key: JSON keys are strings, so other keys print as their text.
struct Key<'c, 'a>(&'c Cell<&'a [u8]>);

impl Serialize for Key<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut cursor = Cursor(self.0.get());
        let item = cursor.next().map_err(S::Error::custom)?;
        let text = match item {
            Item::Str(s) | Item::Bin(s) => String::from_utf8_lossy(s).into_owned(),
            Item::Int(i) => i.to_string(),
            Item::UInt(u) => u.to_string(),
            Item::Float(f) => f.to_string(),
            Item::Bool(b) => if b { "true" } else { "false" }.to_owned(),
            Item::Nil => "null".to_owned(),
            // Containers and extensions as keys do not occur in statistics; skip their contents.
            Item::Array(_) | Item::Map(_) | Item::Ext => {
                let mut whole = Cursor(self.0.get());
                whole.skip(MAX_DEPTH).map_err(S::Error::custom)?;
                cursor = whole;
                String::new()
            }
        };
        self.0.set(cursor.0);
        serializer.serialize_str(&text)
    }
}

/// One msgpack item: a scalar, or the header of a container whose elements follow.
enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Ext,
    Array(usize),
    Map(usize),
}

/// Reads msgpack items off a byte slice, without allocating.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated msgpack document".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn uint(&mut self, bytes: usize) -> Result<u64, String> {
        Ok(self
            .take(bytes)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn int(&mut self, bytes: usize) -> Result<i64, String> {
        let bits = 64 - 8 * bytes as u32;
        // Sign-extend the big-endian two's complement value.
        Ok(((self.uint(bytes)? << bits) as i64) >> bits)
    }

    fn len(&mut self, bytes: usize) -> Result<usize, String> {
        Ok(self.uint(bytes)? as usize)
    }

    fn next(&mut self) -> Result<Item<'a>, String> {
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Item::UInt(marker.into()),
            0x80..=0x8f => Item::Map((marker & 0x0f).into()),
            0x90..=0x9f => Item::Array((marker & 0x0f).into()),
            0xa0..=0xbf => Item::Str(self.take((marker & 0x1f).into())?),
            0xc0 => Item::Nil,
            0xc1 => return Err("reserved msgpack marker 0xc1".into()),
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                Item::Bin(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (marker - 0xc7))?;
                self.take(1 + n)?;
                Item::Ext
            }
            0xca => Item::Float(f32::from_bits(self.uint(4)? as u32).into()),
            0xcb => Item::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Item::UInt(self.uint(1 << (marker - 0xcc))?),
            0xd0..=0xd3 => Item::Int(self.int(1 << (marker - 0xd0))?),
            0xd4..=0xd8 => {
                self.take(1 + (1 << (marker - 0xd4)))?;
                Item::Ext
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                Item::Str(self.take(n)?)
            }
            0xdc | 0xdd => Item::Array(self.len(2 << (marker - 0xdc))?),
            0xde | 0xdf => Item::Map(self.len(2 << (marker - 0xde))?),
            0xe0..=0xff => Item::Int((marker as i8).into()),
        })
    }

    /// Skips one whole value, nested at most `depth` levels.
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        let elements = match self.next()? {
            Item::Array(n) => n,
            Item::Map(n) => n.saturating_mul(2),
            _ => return Ok(()),
        };
        if depth == 0 {
            return Err(format!(
                "msgpack document nested deeper than {MAX_DEPTH} levels"
            ));
        }
        for _ in 0..elements {
            self.skip(depth - 1)?;
        }
        Ok(())
    }
}

/// The statistics of a kernel: live from Redis while it runs, else the last ones stored.
pub enum KernelStat {
    Live(Arc<LiveStat>),
    Stored(serde_json::Value),
}

impl KernelStat {
    /// Whether `kernel`'s statistics are read live (else from its `last_stat`).
    pub fn is_live(kernel: &super::sessions::Kernel) -> bool {
        kernel.status == entities::enums::KernelStatus::Running
    }

    /// The number at `path` (map keys), stored as a decimal string or a number.
    pub fn number(&self, path: &[&str]) -> Option<f64> {
        match self {
            KernelStat::Live(stat) => stat.number(path),
            KernelStat::Stored(stat) => {
                match path.iter().try_fold(stat, |node, key| node.get(key))? {
                    serde_json::Value::String(s) => s.parse().ok(),
                    serde_json::Value::Number(n) => n.as_f64(),
                    _ => None,
                }
            }
        }
    }
}

impl Serialize for KernelStat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            KernelStat::Live(stat) => stat.serialize(serializer),
            KernelStat::Stored(stat) => stat.serialize(serializer),
        }
    }
}

/// The documents most recently read, by key. Bounded: past [`StatCache::CAPACITY`] keys (agents
/// and kernels long gone) it starts afresh.
#[derive(Default)]
pub struct StatCache {
    docs: Mutex<HashMap<String, Arc<LiveStat>>>,
}

impl StatCache {
    const CAPACITY: usize = 50_000;

    /// The statistics stored under each of `keys` (one MGET); absent or unreadable ones are
    /// left out. Documents that did not change since they were last read are shared.
    pub async fn read(
        &self,
        redis: &ConnectionManager,
        keys: &[String],
    ) -> Result<HashMap<String, Arc<LiveStat>>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut redis.clone())
            .await
            .map_err(|e| Error::Internal(format!("reading live statistics from Redis: {e}")))?;
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        if docs.len() > Self::CAPACITY {
            docs.clear();
        }
        let mut stats = HashMap::new();
        for (key, bytes) in keys.iter().zip(raw) {
            let Some(bytes) = bytes else { continue };
            if let Some(known) = docs.get(key).filter(|d| d.bytes == bytes) {
                stats.insert(key.clone(), known.clone());
                continue;
            }
            match LiveStat::from_msgpack(bytes) {
                Ok(stat) => {
                    let stat = Arc::new(stat);
                    docs.insert(key.clone(), stat.clone());
                    stats.insert(key.clone(), stat);
                }
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "unreadable live statistics in Redis")
                }
            }
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    fn packed(value: Value) -> LiveStat {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &value).unwrap();
        LiveStat::from_msgpack(bytes).unwrap()
    }

    #[test]
    fn renders_and_walks_the_document() {
        let stat = packed(Value::Map(vec![
            (
                "node".into(),
                Value::Map(vec![(
                    "cpu_util".into(),
                    Value::Map(vec![("pct".into(), "12.50".into())]),
                )]),
            ),
            ("n".into(), Value::from(-3)),
            (Value::from(7), Value::F64(f64::NAN)),
            ("b".into(), Value::Binary(b"ok".to_vec())),
        ]));
        assert_eq!(
            serde_json::to_value(&stat).unwrap(),
            serde_json::json!({"node": {"cpu_util": {"pct": "12.50"}}, "n": -3, "7": null, "b": "ok"})
        );
        assert_eq!(stat.number(&["node", "cpu_util", "pct"]), Some(12.5));
        assert_eq!(stat.number(&["n"]), Some(-3.0));
        assert_eq!(stat.number(&["node", "missing"]), None);
        assert_eq!(stat.number(&["n", "deeper"]), None);
    }

    #[test]
    fn reads_every_msgpack_form() {
        let stat = packed(Value::Array(vec![
            Value::from(-1),
            Value::from(-200),
            Value::from(-70_000),
            Value::from(i64::MIN),
            Value::from(200u8),
            Value::from(70_000u32),
            Value::from(u64::MAX),
            Value::F32(0.5),
            Value::from("x".repeat(40)),
            Value::Nil,
            Value::Boolean(true),
            Value::Ext(1, vec![1, 2, 3]),
            Value::Array(vec![Value::from(1); 20]),
        ]));
        let expected = serde_json::json!([
            -1,
            -200,
            -70000,
            i64::MIN,
            200,
            70000,
            u64::MAX,
            0.5,
            "x".repeat(40),
            null,
            true,
            null,
            vec![1; 20]
        ]);
        assert_eq!(serde_json::to_value(&stat).unwrap(), expected);
    }

    #[test]
    fn refuses_garbage() {
        assert!(LiveStat::from_msgpack(vec![0xc1]).is_err());
        let mut deep = vec![0x91; MAX_DEPTH + 1];
        deep.push(0x01);
        assert!(LiveStat::from_msgpack(deep).is_err());
        assert!(LiveStat::from_msgpack(vec![0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(LiveStat::from_msgpack(vec![0x92, 0x01]).is_err());
        assert!(LiveStat::from_msgpack(vec![0x01, 0x02]).is_err());
        assert!(LiveStat::from_msgpack(vec![]).is_err());
    }

    proptest::proptest! {
        /// Whatever Redis holds, reading, rendering and walking it never panics.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(stat) = LiveStat::from_msgpack(bytes) {
                let _ = serde_json::to_string(&stat);
                let _ = stat.number(&["node", "cpu_util", "pct"]);
            }
        }
    }
}
