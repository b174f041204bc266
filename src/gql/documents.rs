//! Query documents parsed once per text. Clients send the same few documents over and over (the
//! web UI polls its lists), and parsing one took a twentieth of the time of answering a page of
//! agents; a parsed document is wholly determined by its text, so there is nothing to invalidate.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use async_graphql::parser::{parse_query, types::ExecutableDocument};

/// At most this many documents are kept; past it the cache starts afresh.
const CAPACITY: usize = 256;

/// Longer texts are parsed every time: they are rarely sent twice.
const MAX_TEXT: usize = 16 * 1024;

static PARSED: LazyLock<Mutex<HashMap<String, ExecutableDocument>>> = LazyLock::new(Mutex::default);

/// The document of `query`, or None when it does not parse (the engine reports why).
pub fn parsed(query: &str) -> Option<ExecutableDocument> {
    if query.len() > MAX_TEXT {
        return parse_query(query).ok();
    }
    if let Some(known) = PARSED.lock().unwrap_or_else(|e| e.into_inner()).get(query) {
        return Some(known.clone());
    }
    let doc = parse_query(query).ok()?;
    let mut parsed = PARSED.lock().unwrap_or_else(|e| e.into_inner());
    if parsed.len() >= CAPACITY {
        parsed.clear();
    }
    parsed.insert(query.to_owned(), doc.clone());
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_parsed_once_and_a_bad_one_not_kept() {
        let query = "{ agent_list(limit: 1, offset: 0) { total_count } }";
        let first = parsed(query).unwrap();
        assert!(PARSED.lock().unwrap().contains_key(query));
        let again = parsed(query).unwrap();
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert!(parsed("{ agent_list(").is_none());
        assert!(!PARSED.lock().unwrap().contains_key("{ agent_list("));
    }
}
