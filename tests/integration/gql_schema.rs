//! The GraphQL schema against 21.03's: every type, field, argument and interface of
//! `schema-21.03.graphql` with the same names and types; and `schema.graphql` is current.

use std::collections::BTreeMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{TypeDefinition, TypeKind, TypeSystemDefinition};

use crate::helpers::{reference_dir, repo_path};

/// The types reachable from `root` (through field types and interface implementations).
fn reachable(types: &Shape, root: &str) -> Vec<String> {
    let mut seen = vec![root.to_owned()];
    let mut i = 0;
    while i < seen.len() {
        let name = seen[i].clone();
        i += 1;
        let mut next: Vec<String> = Vec::new();
        if let Some((_, _, fields)) = types.get(&name) {
            for (ty, _) in fields.values() {
                next.push(
                    ty.trim_matches(|c| c == '[' || c == ']' || c == '!')
                        .to_owned(),
                );
            }
        }
        for (other, (_, implements, _)) in types {
            if implements.contains(&name) {
                next.push(other.clone());
            }
        }
        for n in next {
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
    }
    seen
}

/// `type name -> (kind, implements, fields: name -> (type, args))` of an SDL document.
type Shape = BTreeMap<String, (String, Vec<String>, BTreeMap<String, (String, Vec<String>)>)>;

fn shape(sdl: &str) -> Shape {
    let doc = parse_schema(sdl).expect("SDL parses");
    let mut types = Shape::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let TypeDefinition { name, kind, .. } = t.node;
        let mut fields = BTreeMap::new();
        let mut implements: Vec<String> = Vec::new();
        let kind_name = match kind {
            TypeKind::Object(o) => {
                implements = o.implements.iter().map(|i| i.node.to_string()).collect();
                for f in o.fields {
                    let f = f.node;
                    let args = f
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    fields.insert(f.name.node.to_string(), (f.ty.node.to_string(), args));
                }
                "type"
            }
            TypeKind::Interface(o) => {
                implements = o.implements.iter().map(|i| i.node.to_string()).collect();
                for f in o.fields {
                    let f = f.node;
                    fields.insert(f.name.node.to_string(), (f.ty.node.to_string(), vec![]));
                }
                "interface"
            }
            TypeKind::InputObject(o) => {
                for f in o.fields {
                    let f = f.node;
                    fields.insert(f.name.node.to_string(), (f.ty.node.to_string(), vec![]));
                }
                "input"
            }
            TypeKind::Scalar => "scalar",
            TypeKind::Enum(_) => "enum",
            TypeKind::Union(_) => "union",
        };
        types.insert(
            name.node.to_string(),
            (kind_name.to_owned(), implements, fields),
        );
    }
    types
}

#[test]
fn schema_contains_all_of_21_03() {
    let reference =
        shape(&std::fs::read_to_string(reference_dir().join("schema-21.03.graphql")).unwrap());
    let ours = shape(&bai_manager::gql::sdl());
    // Until the schema has mutations, what only they reach is not expected yet.
    let expected = if ours.contains_key("Mutations") {
        reference.keys().cloned().collect()
    } else {
        reachable(&reference, "Queries")
    };
    let mut differences = Vec::new();
    for (name, (kind, implements, fields)) in &reference {
        if !expected.contains(name) {
            continue;
        }
        let Some((our_kind, our_implements, our_fields)) = ours.get(name) else {
            differences.push(format!("missing type {name}"));
            continue;
        };
        if kind != our_kind {
            differences.push(format!("{name}: {our_kind} instead of {kind}"));
        }
        if implements != our_implements {
            differences.push(format!(
                "{name}: implements {our_implements:?} instead of {implements:?}"
            ));
        }
        for (field, (ty, args)) in fields {
            match our_fields.get(field) {
                None => differences.push(format!("{name}.{field} missing")),
                Some((our_ty, our_args)) => {
                    if ty != our_ty {
                        differences.push(format!("{name}.{field}: {our_ty} instead of {ty}"));
                    }
                    if args != our_args {
                        differences.push(format!(
                            "{name}.{field}: args {our_args:?} instead of {args:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        differences.is_empty(),
        "schema differs from 21.03:\n{}",
        differences.join("\n")
    );
}

#[test]
fn committed_sdl_is_current() {
    let committed = std::fs::read_to_string(repo_path("schema.graphql")).unwrap();
    assert!(
        committed == bai_manager::gql::sdl(),
        "schema.graphql is stale: run scripts/generate-schema.sh"
    );
}
