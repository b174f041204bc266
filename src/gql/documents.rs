//! Query documents parsed once per text. Clients send the same few documents over and over (the
//! web UI polls its lists), and parsing one took a twentieth of the time of answering a page of
//! agents; a parsed document is wholly determined by its text, so there is nothing to invalidate.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

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

/// Whether some selection of `doc` names a field with fields of its own twice under one response
/// key (fragments included): the engine then merges the two answers, which it cannot do with
/// items already written as JSON (see `items::MergedSelections`).
pub fn merges_selections(doc: &ExecutableDocument) -> bool {
    let operations = doc
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node);
    let fragments = doc.fragments.values().map(|f| &f.node.selection_set.node);
    operations.chain(fragments).any(|set| repeats_key(doc, set))
}

/// Fragment spreads are followed this deep (the engine refuses cycles on its own).
const MAX_SPREAD_DEPTH: usize = 16;

fn repeats_key(doc: &ExecutableDocument, set: &SelectionSet) -> bool {
    let mut keys = Vec::new();
    object_keys(doc, set, &mut keys, 0);
    keys.sort_unstable();
    keys.windows(2).any(|pair| pair[0] == pair[1])
        || set.items.iter().any(|item| match &item.node {
            Selection::Field(field) => repeats_key(doc, &field.node.selection_set.node),
            Selection::InlineFragment(inline) => repeats_key(doc, &inline.node.selection_set.node),
            Selection::FragmentSpread(_) => false, // checked as a fragment of the document
        })
}

/// The response keys of the fields with fields of their own that `set` selects at its level.
fn object_keys<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    keys: &mut Vec<&'a str>,
    depth: usize,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) if !field.node.selection_set.node.items.is_empty() => {
                keys.push(field.node.response_key().node.as_str());
            }
            Selection::Field(_) => {}
            Selection::InlineFragment(inline) => {
                object_keys(doc, &inline.node.selection_set.node, keys, depth)
            }
            Selection::FragmentSpread(spread) if depth < MAX_SPREAD_DEPTH => {
                if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                    object_keys(doc, &fragment.node.selection_set.node, keys, depth + 1);
                }
            }
            Selection::FragmentSpread(_) => {}
        }
    }
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

    #[test]
    fn an_object_field_selected_twice_is_told() {
        let merges = |q: &str| merges_selections(&parse_query(q).unwrap());
        assert!(merges("{ a { x } a { y } }"));
        assert!(merges("{ a { b { x } ... on T { b { y } } } }"));
        assert!(!merges(
            "{ a { ...F } b: a { y } } fragment F on T { b: c { x } }"
        ));
        assert!(merges("query { ...F a { y } } fragment F on Q { a { x } }"));
        assert!(!merges("{ a { x x } b: a { x } }"));
        assert!(!merges("{ x x }"));
    }
}
