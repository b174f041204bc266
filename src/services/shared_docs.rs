//! JSON column documents shared by content between rows and requests.
//!
//! A page of agents holds three small JSON documents per row (resource slots, compute plugins),
//! and most of them are the same from row to row and from one request to the next. Parsing
//! them into maps and rendering them back as JSON for every row of every request was a sixth of
//! the manager's time serving `agent_list`; here each distinct document is parsed once and
//! rendered once, and rows hold it by reference. Kernels' `occupied_slots` likewise (a page of
//! sessions shows each twice: for the container and, summed, for the session).

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use bytes::Bytes;
use entities::ResourceSlot;
use serde::de::DeserializeOwned;

/// Resource slot documents (of agents and kernels) read so far. Process-wide: a document is
/// wholly determined by its text, so there is nothing to invalidate.
pub static RESOURCE_SLOTS: LazyLock<DocCache<ResourceSlot>> = LazyLock::new(DocCache::default);

/// A parsed document, with its rendering made at most once.
pub struct SharedDoc<T> {
    value: T,
    rendered: OnceLock<Bytes>,
}

impl<T> SharedDoc<T> {
    pub fn new(value: T) -> Self {
        SharedDoc {
            value,
            rendered: OnceLock::new(),
        }
    }

    /// The document rendered by `render`, which runs once per document.
    pub fn rendered(&self, render: impl FnOnce(&T) -> Bytes) -> Bytes {
        self.rendered.get_or_init(|| render(&self.value)).clone()
    }
}

impl<T> Deref for SharedDoc<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for SharedDoc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

/// Documents are equal when their values are (however they were rendered).
impl<T: PartialEq> PartialEq for SharedDoc<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

/// Documents by their JSON text. Bounded: past [`DocCache::CAPACITY`] distinct texts (documents
/// long replaced) it starts afresh.
pub struct DocCache<T> {
    docs: Mutex<DocsByText<T>>,
}

type DocsByText<T> = HashMap<Box<[u8]>, Arc<SharedDoc<T>>>;

impl<T> Default for DocCache<T> {
    fn default() -> Self {
        DocCache {
            docs: Mutex::default(),
        }
    }
}

impl<T: DeserializeOwned> DocCache<T> {
    const CAPACITY: usize = 10_000;

    /// The document of the JSON text `raw`, parsed unless a row held the same text before.
    pub fn get(&self, raw: &[u8]) -> serde_json::Result<Arc<SharedDoc<T>>> {
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = docs.get(raw) {
            return Ok(known.clone());
        }
        let doc = Arc::new(SharedDoc::new(serde_json::from_slice::<T>(raw)?));
        if docs.len() >= Self::CAPACITY {
            docs.clear();
        }
        docs.insert(raw.into(), doc.clone());
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_parsed_and_rendered_once() {
        let cache = DocCache::<serde_json::Value>::default();
        let a = cache.get(br#"{"cpu": "4"}"#).unwrap();
        let b = cache.get(br#"{"cpu": "4"}"#).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a["cpu"], "4");
        let mut renders = 0;
        for _ in 0..2 {
            b.rendered(|v| {
                renders += 1;
                Bytes::from(v.to_string())
            });
        }
        assert_eq!(renders, 1);
        let other = cache.get(br#"{"cpu": "8"}"#).unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
    }

    #[test]
    fn a_bad_text_is_an_error_and_not_kept() {
        let cache = DocCache::<serde_json::Value>::default();
        assert!(cache.get(b"{").is_err());
        assert!(cache.docs.lock().unwrap().is_empty());
    }
}
