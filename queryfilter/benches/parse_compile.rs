//! Parse + compile of a typical list-query filter and order (issue 3's target: under 5 µs for
//! both together). Run: `cargo bench -p queryfilter`.

use criterion::{criterion_group, criterion_main, Criterion};
use queryfilter::{compile_filter, compile_order, parse_filter, parse_order, FieldKind, FieldSpec};
use sea_query::{Alias, Expr};
use std::hint::black_box;

const STATUS: &[(&str, &str)] = &[
    ("RUNNING", "RUNNING"),
    ("TERMINATED", "TERMINATED"),
    ("PENDING", "PENDING"),
];

fn spec() -> FieldSpec {
    let col = |name: &str| Expr::col((Alias::new("kernels"), Alias::new(name)));
    FieldSpec::new()
        .field(
            "status",
            col("status"),
            FieldKind::Enum {
                pg_type: Some("kernelstatus"),
                members: STATUS,
            },
        )
        .field("name", col("session_name"), FieldKind::Text)
        .field("cluster_size", col("cluster_size"), FieldKind::Integer)
        .field("created_at", col("created_at"), FieldKind::DateTime)
        .field("access_key", col("access_key"), FieldKind::Text)
        .field("id", col("id"), FieldKind::Uuid)
}

fn bench(c: &mut Criterion) {
    let spec = spec();
    let filter = r#"status in ["RUNNING", "PENDING"] & name ilike "py%" & (cluster_size >= 2 | created_at > "2021-08-15T00:00:00Z") & access_key != "AKIAIOSFODNN7EXAMPLE""#;
    let order = "-created_at, +name, status";
    c.bench_function(
        "parse+compile five-term filter and three-column order",
        |b| {
            b.iter(|| {
                let f = compile_filter(&parse_filter(black_box(filter)).unwrap(), &spec).unwrap();
                let o = compile_order(&parse_order(black_box(order)).unwrap(), &spec).unwrap();
                black_box((f, o))
            })
        },
    );
    c.bench_function("parse only (filter + order)", |b| {
        b.iter(|| {
            black_box((
                parse_filter(black_box(filter)).unwrap(),
                parse_order(black_box(order)).unwrap(),
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
