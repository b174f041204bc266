//! The order language: `[("+"|"-")? NAME ("," ("+"|"-")? NAME)*]`, where NAME is a C-style
//! identifier (a letter or `_`, then letters, digits or `_`).

use crate::ParseError;

/// Longer order expressions are refused before parsing (a real one names a few columns).
pub const MAX_ORDER_LEN: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// One `[+|-]field` of an order expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub field: String,
    pub direction: Direction,
}

fn error(column: usize, found: Option<char>, expected: &'static str) -> ParseError {
    ParseError {
        language: "order",
        column,
        found: found.map_or_else(
            || "the end of the expression".to_owned(),
            |c| format!("{c:?}"),
        ),
        expected,
    }
}

/// Parses an order expression. Field names are not checked here: the caller knows which names
/// a query accepts.
pub fn parse_order(expr: &str) -> Result<Vec<OrderItem>, ParseError> {
    if expr.len() > MAX_ORDER_LEN {
        return Err(ParseError {
            language: "order",
            column: MAX_ORDER_LEN + 1,
            found: format!("an expression of {} bytes", expr.len()),
            expected: "at most 1024 bytes",
        });
    }
    let chars: Vec<(usize, char)> = expr.chars().enumerate().map(|(i, c)| (i + 1, c)).collect();
    let mut pos = 0;
    let skip_ws = |pos: &mut usize| {
        while chars.get(*pos).is_some_and(|(_, c)| c.is_whitespace()) {
            *pos += 1;
        }
    };
    let column_at = |pos: usize| chars.get(pos).map_or(chars.len() + 1, |(col, _)| *col);
    let mut items = Vec::new();
    skip_ws(&mut pos);
    if pos == chars.len() {
        return Ok(items);
    }
    loop {
        let direction = match chars.get(pos).map(|(_, c)| *c) {
            Some('+') => {
                pos += 1;
                Direction::Asc
            }
            Some('-') => {
                pos += 1;
                Direction::Desc
            }
            _ => Direction::Asc,
        };
        skip_ws(&mut pos);
        let start = pos;
        match chars.get(pos).map(|(_, c)| *c) {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => pos += 1,
            other => return Err(error(column_at(pos), other, "a field name")),
        }
        while chars
            .get(pos)
            .is_some_and(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        {
            pos += 1;
        }
        let field: String = chars[start..pos].iter().map(|(_, c)| c).collect();
        items.push(OrderItem { field, direction });
        skip_ws(&mut pos);
        match chars.get(pos).map(|(_, c)| *c) {
            None => return Ok(items),
            Some(',') => {
                pos += 1;
                skip_ws(&mut pos);
            }
            other => {
                return Err(error(
                    column_at(pos),
                    other,
                    "',' or the end of the expression",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(expr: &str) -> Vec<(String, Direction)> {
        parse_order(expr)
            .unwrap()
            .into_iter()
            .map(|i| (i.field, i.direction))
            .collect()
    }

    #[test]
    fn accepts_what_21_03_accepts() {
        assert_eq!(items(""), vec![]);
        assert_eq!(items("   "), vec![]);
        assert_eq!(items("email"), vec![("email".into(), Direction::Asc)]);
        assert_eq!(
            items(" -created_at , +email,name2 "),
            vec![
                ("created_at".into(), Direction::Desc),
                ("email".into(), Direction::Asc),
                ("name2".into(), Direction::Asc)
            ]
        );
        assert_eq!(items("- id"), vec![("id".into(), Direction::Desc)]);
    }

    #[test]
    fn rejects_with_the_column() {
        let e = parse_order("email,").unwrap_err();
        assert_eq!((e.column, e.expected), (7, "a field name"));
        let e = parse_order("email name").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (7, "'n'"));
        let e = parse_order("+-email").unwrap_err();
        assert_eq!(e.column, 2);
        assert!(parse_order("1abc").is_err());
        assert!(parse_order("a;DROP TABLE users").is_err());
        assert!(parse_order(&"a,".repeat(600)).is_err());
        assert_eq!(
            parse_order("x y").unwrap_err().to_string(),
            "order syntax error at column 3: found 'y', expected ',' or the end of the expression"
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn item() -> impl Strategy<Value = OrderItem> {
        ("[A-Za-z_][A-Za-z0-9_]{0,20}", any::<bool>()).prop_map(|(field, desc)| OrderItem {
            field,
            direction: if desc {
                Direction::Desc
            } else {
                Direction::Asc
            },
        })
    }

    proptest! {
        #[test]
        fn never_panics(expr in any::<String>()) {
            let _ = parse_order(&expr);
        }

        #[test]
        fn printed_orders_parse_back(items in proptest::collection::vec(item(), 0..8), spaced in any::<bool>()) {
            let sep = if spaced { " , " } else { "," };
            let printed = items
                .iter()
                .map(|i| format!("{}{}", if i.direction == Direction::Desc { "-" } else { "+" }, i.field))
                .collect::<Vec<_>>()
                .join(sep);
            prop_assert_eq!(parse_order(&printed).unwrap(), items);
        }
    }
}
