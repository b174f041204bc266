//! Inputs from outside never panic the parsers: configuration text, etcd keys and trees.

use std::path::Path;

use bai_manager::config::etcd::{quote, unflatten, unquote};
use bai_manager::config::{LocalConfig, SharedConfig};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn manager_toml_never_panics(text in any::<String>()) {
        let _ = LocalConfig::from_toml_str(&text, Path::new("fuzz.toml"), &[]);
    }

    #[test]
    fn manager_toml_like_text_never_panics(
        section in prop::sample::select(vec!["etcd", "db", "manager", "logging", "logging.file", "debug"]),
        key in "[a-z-]{1,20}",
        value in prop::sample::select(vec!["1", "-1", "\"x\"", "\"\"", "true", "[]", "{}", "1.5", "\"1:2\"", "[\"a\", 1]"]),
    ) {
        let text = format!("[{section}]\n{key} = {value}\n");
        let _ = LocalConfig::from_toml_str(&text, Path::new("fuzz.toml"), &[]);
    }

    #[test]
    fn quoting_round_trips(s in any::<String>()) {
        prop_assert_eq!(unquote(&quote(&s)), s);
    }

    #[test]
    fn etcd_trees_never_panic(pairs in proptest::collection::vec(("[a-z/%0-9]{0,12}", any::<String>()), 0..20)) {
        let mut pairs = pairs;
        pairs.sort();
        let tree = unflatten(pairs);
        let _ = SharedConfig::from_tree(&tree);
    }
}
