//! Any bytes: parsing never panics; what parses compiles or fails cleanly, and prints to text
//! that parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use queryfilter::{compile_filter, parse_filter, FieldKind, FieldSpec};
use sea_query::{Alias, Expr};


const STATUS: &[(&str, &str)] = &[("RUNNING", "RUNNING"), ("TERMINATED", "TERMINATED")];

fn spec() -> FieldSpec {
    let col = |n: &str| Expr::col(Alias::new(n));
    FieldSpec::new()
        .field("a", col("a"), FieldKind::Text)
        .field("n", col("n"), FieldKind::Integer)
        .field("x", col("x"), FieldKind::Number)
        .field("b", col("b"), FieldKind::Boolean)
        .field("id", col("id"), FieldKind::Uuid)
        .field("t", col("t"), FieldKind::DateTime)
        .field("s", col("s"), FieldKind::Enum { pg_type: Some("kernelstatus"), members: STATUS })
        .field("h", col("h"), FieldKind::TextArray)
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = parse_filter(src) {
        let _ = compile_filter(&expr, &spec());
        let printed = expr.to_string();
        // Strings ending in a backslash cannot be written in the language; everything else
        // prints to a filter that parses to the same tree (so prints the same again).
        if !printed.contains('\\') && printed.len() <= queryfilter::MAX_FILTER_LEN {
            let again = parse_filter(&printed).expect("a printed filter parses again");
            assert_eq!(again.to_string(), printed);
        }
    }
});
