//! The filter language of 21.03 (`models/minilang/queryfilter.py`):
//!
//! ```text
//! expr  := "!" expr | term (("&" | "|") expr)?
//! term  := NAME OP value | "(" expr ")"
//! OP    := "==" | "!=" | ">" | ">=" | "<" | "<=" | "contains" | "in" | "isnot" | "is"
//!        | "like" | "ilike"
//! value := STRING | NUMBER | "[" (value ("," value)*)? "]" | "null" | "true" | "false"
//! ```
//!
//! 21.03 parses this with an LALR grammar that declares no precedence, so its parser shifts on
//! every conflict: `&` and `|` bind equally and group to the right (`a & b | c` is
//! `a & (b | c)`), and `!` negates everything after it (`!a & b` is `!(a & b)`). This parser
//! builds the same trees, so a saved 21.03 filter selects the same rows. Where 21.03 is
//! broken it is fixed: `>=` and `<=` work (its lexer tried `>` first and then failed on `=`),
//! and exponents in numbers (`1e3`) are read as numbers instead of failing.
//!
//! Strings are double-quoted; `\"` stands for a quote and every other character, backslashes
//! included, is taken literally, as in 21.03. Whitespace between tokens is ignored.

use std::fmt;

use crate::ParseError;

/// Longer filters are refused before parsing.
pub const MAX_FILTER_LEN: usize = 4096;
/// Parentheses and negations may nest this deep.
pub const MAX_DEPTH: usize = 32;
/// A filter may hold at most this many comparisons.
pub const MAX_CONDITIONS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CombineOp {
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    In,
    IsNot,
    Is,
    Like,
    ILike,
}

/// Operators in the order the lexer tries them: longer spellings before their prefixes.
const OPERATORS: [(&str, CompareOp); 12] = [
    ("==", CompareOp::Eq),
    ("!=", CompareOp::Ne),
    (">=", CompareOp::Ge),
    (">", CompareOp::Gt),
    ("<=", CompareOp::Le),
    ("<", CompareOp::Lt),
    ("contains", CompareOp::Contains),
    ("in", CompareOp::In),
    ("isnot", CompareOp::IsNot),
    ("is", CompareOp::Is),
    ("like", CompareOp::Like),
    ("ilike", CompareOp::ILike),
];

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(s, _)| *s)
            .expect("every operator is listed")
    }
}

/// A literal of the language.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Array(Vec<Value>),
    Null,
    True,
    False,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Not(Box<Expr>),
    Combine(CombineOp, Box<Expr>, Box<Expr>),
    Compare {
        field: String,
        op: CompareOp,
        value: Value,
        /// 1-based column of the field name, for errors found later (unknown field, bad value).
        column: usize,
    },
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    conditions: usize,
}

fn describe_found(rest: &str) -> String {
    match rest.chars().next() {
        None => "the end of the filter".to_owned(),
        Some(_) => {
            let token: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(12)
                .collect();
            format!("{token:?}")
        }
    }
}

impl<'a> Parser<'a> {
    fn column(&self) -> usize {
        self.src[..self.pos].chars().count() + 1
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn error(&self, expected: &'static str) -> ParseError {
        ParseError {
            language: "filter",
            column: self.column(),
            found: describe_found(self.rest()),
            expected,
        }
    }

    /// 21.03 ignores spaces, tabs, form feeds, carriage returns and newlines between tokens.
    fn skip_ws(&mut self) {
        let trimmed = self
            .rest()
            .trim_start_matches([' ', '\t', '\x0c', '\r', '\n']);
        self.pos = self.src.len() - trimmed.len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError {
                language: "filter",
                column: self.column(),
                found: "parentheses or negations nested too deeply".to_owned(),
                expected: "at most 32 levels of nesting",
            });
        }
        // A chain `t1 op1 t2 op2 … tn` groups to the right; a `!` inside it swallows the rest.
        let mut terms = Vec::new();
        let mut ops = Vec::new();
        loop {
            if self.eat('!') {
                terms.push(Expr::Not(Box::new(self.expr(depth + 1)?)));
                break;
            }
            terms.push(self.term(depth)?);
            match self.peek() {
                Some('&') => ops.push(CombineOp::And),
                Some('|') => ops.push(CombineOp::Or),
                _ => break,
            }
            self.pos += 1;
        }
        let mut tree = terms.pop().expect("the loop pushes a term before leaving");
        while let (Some(left), Some(op)) = (terms.pop(), ops.pop()) {
            tree = Expr::Combine(op, Box::new(left), Box::new(tree));
        }
        Ok(tree)
    }

    fn term(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if self.eat('(') {
            let inner = self.expr(depth + 1)?;
            if !self.eat(')') {
                return Err(self.error("'&', '|' or ')'"));
            }
            return Ok(inner);
        }
        self.skip_ws();
        let column = self.column();
        let field = self
            .name()
            .ok_or_else(|| self.error("a field name, '(' or '!'"))?;
        self.skip_ws();
        let op = OPERATORS
            .iter()
            .find(|(spelling, _)| self.rest().starts_with(spelling))
            .map(|(spelling, op)| {
                self.pos += spelling.len();
                *op
            })
            .ok_or_else(|| {
                self.error(
                    "an operator (==, !=, >, >=, <, <=, contains, in, isnot, is, like, ilike)",
                )
            })?;
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(ParseError {
                language: "filter",
                column,
                found: "more than 100 conditions".to_owned(),
                expected: "at most 100 conditions",
            });
        }
        let value = self.value(0)?;
        Ok(Expr::Compare {
            field,
            op,
            value,
            column,
        })
    }

    /// A C-style identifier: an ASCII letter or `_`, then letters, digits or `_`.
    fn name(&mut self) -> Option<String> {
        let rest = self.rest();
        let first = rest.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        Some(rest[..len].to_owned())
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        const EXPECTED: &str = "a value (a \"string\", a number, [an, array], null, true or false)";
        if depth > MAX_DEPTH {
            return Err(self.error("arrays nested at most 32 deep"));
        }
        match self.peek() {
            Some('"') => self.string(),
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(']') {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(']') {
                        return Ok(Value::Array(items));
                    }
                    if !self.eat(',') {
                        return Err(self.error("',' or ']'"));
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') => self.number(),
            _ => {
                for (word, value) in [
                    ("null", Value::Null),
                    ("true", Value::True),
                    ("false", Value::False),
                ] {
                    if self.rest().starts_with(word) {
                        self.pos += word.len();
                        return Ok(value);
                    }
                }
                Err(self.error(EXPECTED))
            }
        }
    }

    /// `"…"` where `\"` is a quote and nothing else is an escape; no raw line breaks.
    fn string(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let mut escaped = false;
        for (i, b) in self.src.bytes().enumerate().skip(start + 1) {
            match b {
                b'\n' => break,
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    let inner = &self.src[start + 1..i];
                    self.pos = i + 1;
                    return Ok(Value::Str(inner.replace("\\\"", "\"")));
                }
                _ => {}
            }
        }
        Err(self.error("a closing '\"' on the same line"))
    }

    /// `[+-]? (digits ("." digits?)? | "." digits) ([eE] [+-]? digits)?`
    fn number(&mut self) -> Result<Value, ParseError> {
        let rest = self.rest();
        let b = rest.as_bytes();
        let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
        let int_digits = digits(i);
        i += int_digits;
        let mut is_float = false;
        let mut frac_digits = 0;
        if b.get(i) == Some(&b'.') {
            frac_digits = digits(i + 1);
            if int_digits > 0 || frac_digits > 0 {
                is_float = true;
                i += 1 + frac_digits;
            }
        }
        if int_digits == 0 && frac_digits == 0 {
            return Err(self.error("a number"));
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
            let exp_digits = digits(i + 1 + sign);
            if exp_digits > 0 {
                is_float = true;
                i += 1 + sign + exp_digits;
            }
        }
        let text = &rest[..i];
        let value = if is_float {
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Value::Float)
        } else {
            text.parse::<i64>().ok().map(Value::Int)
        };
        let value = value.ok_or_else(|| ParseError {
            language: "filter",
            column: self.column(),
            found: format!("{text:?}"),
            expected: "a number within the 64-bit range",
        })?;
        self.pos += i;
        Ok(value)
    }
}

/// Parses a filter expression.
pub fn parse_filter(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_FILTER_LEN {
        return Err(ParseError {
            language: "filter",
            column: MAX_FILTER_LEN + 1,
            found: format!("a filter of {} bytes", src.len()),
            expected: "at most 4096 bytes",
        });
    }
    let mut parser = Parser {
        src,
        pos: 0,
        conditions: 0,
    };
    let expr = parser.expr(0)?;
    if parser.peek().is_some() {
        return Err(parser.error("'&', '|' or the end of the filter"));
    }
    Ok(expr)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "\"{}\"", s.replace('"', "\\\"")),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Null => f.write_str("null"),
            Value::True => f.write_str("true"),
            Value::False => f.write_str("false"),
        }
    }
}

/// Prints a filter that parses back to the same tree: left operands that are combinations or
/// negations are parenthesised (the language groups to the right and `!` reaches to the end).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Compare {
                field, op, value, ..
            } => write!(f, "{field} {} {value}", op.as_str()),
            Expr::Not(inner) => write!(f, "!{inner}"),
            Expr::Combine(op, left, right) => {
                let op = match op {
                    CombineOp::And => "&",
                    CombineOp::Or => "|",
                };
                match **left {
                    Expr::Compare { .. } => write!(f, "{left} {op} {right}"),
                    _ => write!(f, "({left}) {op} {right}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of the tree: `&(a, |(b, c))`.
    fn shape(e: &Expr) -> String {
        match e {
            Expr::Compare { field, .. } => field.clone(),
            Expr::Not(inner) => format!("!({})", shape(inner)),
            Expr::Combine(op, l, r) => {
                let op = if *op == CombineOp::And { "&" } else { "|" };
                format!("{op}({}, {})", shape(l), shape(r))
            }
        }
    }

    fn parsed(src: &str) -> String {
        shape(&parse_filter(src).unwrap())
    }

    fn value_of(src: &str) -> Value {
        match parse_filter(src).unwrap() {
            Expr::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_exactly_as_21_03() {
        // Checked against lark-parser 0.11 with 21.03's grammar.
        assert_eq!(parsed("a == 1 & b == 2 | c == 3"), "&(a, |(b, c))");
        assert_eq!(parsed("a == 1 | b == 2 & c == 3"), "|(a, &(b, c))");
        assert_eq!(parsed("!a == 1 & b == 2"), "!(&(a, b))");
        assert_eq!(parsed("a==1 & b==2 & c==3"), "&(a, &(b, c))");
        assert_eq!(parsed("(a == 1 & b == 2) | c == 3"), "|(&(a, b), c)");
        assert_eq!(parsed("a == 1 & !b == 2 | c == 3"), "&(a, !(|(b, c)))");
        assert_eq!(parsed("!(a == 1) & b == 2"), "!(&(a, b))");
        assert_eq!(parsed("!!a == 1"), "!(!(a))");
        assert_eq!(parsed("((a == 1))"), "a");
    }

    #[test]
    fn operators_including_the_ones_21_03_could_not_lex() {
        for (src, op) in [
            ("a == 1", CompareOp::Eq),
            ("a != 1", CompareOp::Ne),
            ("a > 1", CompareOp::Gt),
            ("a >= 1", CompareOp::Ge),
            ("a<1", CompareOp::Lt),
            ("a<=1", CompareOp::Le),
            ("a contains \"x\"", CompareOp::Contains),
            ("a in [1]", CompareOp::In),
            ("a isnot null", CompareOp::IsNot),
            ("a is null", CompareOp::Is),
            ("a like \"x%\"", CompareOp::Like),
            ("a ilike \"x%\"", CompareOp::ILike),
            // 21.03's lexer does not need a space after a word operator either.
            ("a isnull", CompareOp::Is),
        ] {
            match parse_filter(src).unwrap() {
                Expr::Compare { op: got, .. } => assert_eq!(got, op, "{src}"),
                other => panic!("{src}: {other:?}"),
            }
        }
    }

    #[test]
    fn values() {
        assert_eq!(value_of(r#"a == "x\"y""#), Value::Str("x\"y".into()));
        assert_eq!(
            value_of(r#"a == "back\\slash""#),
            Value::Str("back\\\\slash".into())
        );
        assert_eq!(
            value_of(r#"a == "유니코드""#),
            Value::Str("유니코드".into())
        );
        assert_eq!(value_of("a == -15"), Value::Int(-15));
        assert_eq!(value_of("a == +1"), Value::Int(1));
        assert_eq!(value_of("a == 01"), Value::Int(1));
        assert_eq!(value_of("a == 1.5"), Value::Float(1.5));
        assert_eq!(value_of("a == .5"), Value::Float(0.5));
        assert_eq!(value_of("a == 1."), Value::Float(1.0));
        assert_eq!(value_of("a == 1e3"), Value::Float(1000.0));
        assert_eq!(value_of("a == -2.5E-1"), Value::Float(-0.25));
        assert_eq!(value_of("a in []"), Value::Array(vec![]));
        assert_eq!(
            value_of("a in [1, \"b\", [null, true], false]"),
            Value::Array(vec![
                Value::Int(1),
                Value::Str("b".into()),
                Value::Array(vec![Value::Null, Value::True]),
                Value::False
            ])
        );
        assert_eq!(value_of(" \t\na\r\n==\n1 "), Value::Int(1));
    }

    #[test]
    fn errors_say_where_and_what() {
        let err = |src: &str| parse_filter(src).unwrap_err();
        let e = err("");
        assert_eq!((e.column, e.found.as_str()), (1, "the end of the filter"));
        let e = err("a == tru");
        assert_eq!(e.column, 6);
        assert!(e.expected.starts_with("a value"));
        let e = err("a = 1");
        assert_eq!(e.column, 3);
        assert!(e.expected.starts_with("an operator"));
        assert_eq!(err("a in [1,]").column, 9);
        assert_eq!(err("a == 1 b == 2").column, 8);
        assert_eq!(err("(a == 1").column, 8);
        assert_eq!(err("a == \"open").column, 6);
        assert_eq!(err("a == \"line\nbreak\"").column, 6);
        assert_eq!(err("1a == 1").column, 1);
        assert_eq!(
            err("a == 99999999999999999999").expected,
            "a number within the 64-bit range"
        );
        assert_eq!(
            err("a == 1e999").expected,
            "a number within the 64-bit range"
        );
        assert_eq!(err("a == 1 && b == 2").column, 9);
        assert_eq!(
            err("a == 1 )").to_string(),
            "filter syntax error at column 8: found \")\", expected '&', '|' or the end of the filter"
        );
    }

    #[test]
    fn limits_have_their_own_errors() {
        let long = format!("a == \"{}\"", "x".repeat(MAX_FILTER_LEN));
        assert_eq!(
            parse_filter(&long).unwrap_err().expected,
            "at most 4096 bytes"
        );
        let deep = format!("{}a == 1{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            parse_filter(&deep).unwrap_err().expected,
            "at most 32 levels of nesting"
        );
        let negated = format!("{}a == 1", "!".repeat(40));
        assert_eq!(
            parse_filter(&negated).unwrap_err().expected,
            "at most 32 levels of nesting"
        );
        let many = vec!["a == 1"; MAX_CONDITIONS + 1].join(" & ");
        assert_eq!(
            parse_filter(&many).unwrap_err().expected,
            "at most 100 conditions"
        );
        let ok = vec!["a == 1"; MAX_CONDITIONS].join(" & ");
        assert!(parse_filter(&ok).is_ok());
        let arrays = format!("a in {}1{}", "[".repeat(40), "]".repeat(40));
        assert!(parse_filter(&arrays).is_err());
    }

    #[test]
    fn injection_attempts_are_just_strings() {
        assert_eq!(
            value_of(r#"name == "x\" OR 1=1 --""#),
            Value::Str("x\" OR 1=1 --".into())
        );
        assert!(parse_filter("name == \"x\"; DROP TABLE users").is_err());
        assert!(parse_filter("name == x OR 1=1").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            // Strings without backslashes: 21.03 cannot express a value ending in one.
            "[^\\\\\n]{0,12}".prop_map(Value::Str),
            any::<i64>().prop_map(Value::Int),
            (-1e12f64..1e12).prop_map(Value::Float),
            Just(Value::Null),
            Just(Value::True),
            Just(Value::False),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            proptest::collection::vec(inner, 0..4).prop_map(Value::Array)
        })
    }

    fn op() -> impl Strategy<Value = CompareOp> {
        proptest::sample::select(OPERATORS.iter().map(|(_, op)| *op).collect::<Vec<_>>())
    }

    fn expr() -> impl Strategy<Value = Expr> {
        let leaf =
            ("[a-z_][a-z0-9_]{0,8}", op(), value()).prop_map(|(field, op, value)| Expr::Compare {
                field,
                op,
                value,
                column: 0,
            });
        leaf.prop_recursive(5, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                (inner.clone(), any::<bool>(), inner).prop_map(|(l, and, r)| {
                    let op = if and { CombineOp::And } else { CombineOp::Or };
                    Expr::Combine(op, Box::new(l), Box::new(r))
                }),
            ]
        })
    }

    /// Columns are positions in the source; the printed text has its own.
    fn without_columns(e: &Expr) -> Expr {
        match e {
            Expr::Compare {
                field, op, value, ..
            } => Expr::Compare {
                field: field.clone(),
                op: *op,
                value: value.clone(),
                column: 0,
            },
            Expr::Not(inner) => Expr::Not(Box::new(without_columns(inner))),
            Expr::Combine(op, l, r) => Expr::Combine(
                *op,
                Box::new(without_columns(l)),
                Box::new(without_columns(r)),
            ),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics(src in any::<String>()) {
            let _ = parse_filter(&src);
        }

        #[test]
        fn never_panics_on_filter_like_text(src in "[a-z!&|()\\[\\]=<>\" ,.0-9\\\\-]{0,64}") {
            let _ = parse_filter(&src);
        }

        #[test]
        fn printed_filters_parse_back(e in expr()) {
            let printed = e.to_string();
            let reparsed = parse_filter(&printed).map_err(|err| TestCaseError::fail(format!("{printed}: {err}")))?;
            prop_assert_eq!(without_columns(&reparsed), e);
        }
    }
}
