//! Variables as 21.03's engine (graphene 2 / graphql-core 2) took them, which legacy clients rely
//! on: variables the document does not declare are dropped, and numbers sent as strings are
//! accepted where the declared type is `Int`, `Float` or `BigInt`.

use async_graphql::parser::types::{BaseType, ExecutableDocument, Type};
use async_graphql::{Name, Request, Value, Variables};

/// Builds the engine's request from what the client sent, adapting the variables to the
/// document. A document that does not parse is passed on unchanged; the engine reports the
/// syntax error.
pub fn legacy_request(
    query: String,
    variables: Option<serde_json::Value>,
    operation_name: Option<String>,
) -> Request {
    let parsed = super::documents::parsed(&query);
    let mut request = Request::new(query);
    if let Some(doc) = parsed {
        if super::documents::merges_selections(&doc) {
            request = request.data(super::items::MergedSelections);
        }
        request.set_parsed_query(doc);
    }
    if let Some(name) = operation_name.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    let Some(serde_json::Value::Object(sent)) = variables else {
        return request;
    };
    let operation = request.operation_name.clone();
    let declared = match request.parsed_query() {
        Ok(doc) => declared_types(doc, operation.as_deref()),
        Err(_) => return request,
    };
    let mut adapted = Variables::default();
    for (name, value) in sent {
        let Some(ty) = declared
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, t)| t)
        else {
            continue;
        };
        adapted.insert(
            Name::new(&name),
            coerce(Value::from_json(value).unwrap_or(Value::Null), ty),
        );
    }
    request.variables(adapted)
}

/// The variables the chosen operation declares (all operations' when it cannot be told).
fn declared_types(doc: &ExecutableDocument, operation: Option<&str>) -> Vec<(Name, Type)> {
    doc.operations
        .iter()
        .filter(|(name, _)| match (operation, name) {
            (Some(wanted), Some(name)) => name.as_str() == wanted,
            _ => true,
        })
        .flat_map(|(_, op)| op.node.variable_definitions.iter())
        .map(|def| (def.node.name.node.clone(), def.node.var_type.node.clone()))
        .collect()
}

/// Turns numeric strings into numbers where `ty` expects a number.
fn coerce(value: Value, ty: &Type) -> Value {
    match (&ty.base, value) {
        (BaseType::List(inner), Value::List(items)) => {
            Value::List(items.into_iter().map(|v| coerce(v, inner)).collect())
        }
        (BaseType::Named(name), Value::String(s)) => {
            let parsed = match name.as_str() {
                "Int" | "BigInt" => s.trim().parse::<i64>().ok().map(Value::from),
                "Float" => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number)),
                _ => None,
            };
            parsed.unwrap_or(Value::String(s))
        }
        (_, value) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(query: &str, sent: serde_json::Value) -> serde_json::Value {
        legacy_request(query.into(), Some(sent), None)
            .variables
            .into_value()
            .into_json()
            .unwrap()
    }

    #[test]
    fn undeclared_variables_are_dropped_and_numeric_strings_coerced() {
        let q = "query($limit: Int!, $f: Float, $ids: [Int], $s: String) { __typename }";
        let got = vars(
            q,
            json!({"limit": "10", "f": "1.5", "ids": ["1", 2], "s": "7", "extra": 1}),
        );
        assert_eq!(got, json!({"limit": 10, "f": 1.5, "ids": [1, 2], "s": "7"}));
    }

    #[test]
    fn non_numeric_strings_are_left_for_the_engine_to_reject() {
        let got = vars(
            "query($limit: Int!) { __typename }",
            json!({"limit": "ten"}),
        );
        assert_eq!(got, json!({"limit": "ten"}));
    }
}
