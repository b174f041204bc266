//! callosum 0.9's two frames, as `callosum/rpc/message.py` writes them: a header map
//! `{type, meth, okey, seq, zip}` and a body map `{meta: bin, body: bin | nil}`, where a call's
//! and a result's `body` is itself msgpack (`{"args": [...], "kwargs": {...}}`, or the return
//! value) and a failure's `meta` is `[exception name, repr, traceback]`. msgpack with text as
//! str and bytes as bin (`use_bin_type=True`), no extension types.

use rmp::encode as enc;
use rmpv::Value;

/// Nesting deeper than this in an answer is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;
/// The order key 21.03 managers send (they ignore their `order_key` argument).
const ORDER_KEY: &str = "";
/// Each call has a socket of its own, hence a fresh sequence, as each 21.03 call context has.
const SEQ: u64 = 0;

/// callosum's `RPCMessageTypes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Null = 0,
    Function = 1,
    Result = 2,
    Failure = 3,
    Error = 4,
    Cancel = 5,
    Cancelled = 6,
}

/// The frames of a message to send, and what identifies its answer.
pub(super) struct Request {
    pub header: Vec<u8>,
    pub body: Vec<u8>,
    method: String,
}

// Writing into a Vec cannot fail.
/// The header map, keys in callosum's order.
fn header(kind: MessageType, method: &str, order_key: &str, seq: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    let _ = enc::write_map_len(&mut out, 5);
    let _ = enc::write_str(&mut out, "type");
    let _ = enc::write_uint(&mut out, kind as u64);
    let _ = enc::write_str(&mut out, "meth");
    let _ = enc::write_str(&mut out, method);
    let _ = enc::write_str(&mut out, "okey");
    let _ = enc::write_str(&mut out, order_key);
    let _ = enc::write_str(&mut out, "seq");
    let _ = enc::write_uint(&mut out, seq);
    let _ = enc::write_str(&mut out, "zip");
    let _ = enc::write_bool(&mut out, false);
    out
}

fn body(meta: &[u8], body: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + body.map_or(0, <[u8]>::len));
    let _ = enc::write_map_len(&mut out, 2);
    let _ = enc::write_str(&mut out, "meta");
    let _ = enc::write_bin(&mut out, meta);
    let _ = enc::write_str(&mut out, "body");
    match body {
        Some(bytes) => {
            let _ = enc::write_bin(&mut out, bytes);
        }
        None => {
            let _ = enc::write_nil(&mut out);
        }
    }
    out
}

/// A FUNCTION message calling `method(*args, **kwargs)`.
pub(super) fn function_call(method: &str, args: Vec<Value>, kwargs: Vec<(&str, Value)>) -> Request {
    let payload = Value::Map(vec![
        (Value::from("args"), Value::Array(args)),
        (
            Value::from("kwargs"),
            Value::Map(
                kwargs
                    .into_iter()
                    .map(|(k, v)| (Value::from(k), v))
                    .collect(),
            ),
        ),
    ]);
    let mut encoded = Vec::new();
    let _ = rmpv::encode::write_value(&mut encoded, &payload);
    Request {
        header: header(MessageType::Function, method, ORDER_KEY, SEQ),
        body: body(&[], Some(&encoded)),
        method: method.to_owned(),
    }
}

/// The CANCEL of a request (metadata: an empty array).
pub(super) fn cancel(request: &Request) -> Request {
    Request {
        header: header(MessageType::Cancel, &request.method, ORDER_KEY, SEQ),
        body: body(&[0x90], None),
        method: request.method.clone(),
    }
}

/// What an agent answered.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Reply {
    Result(Value),
    Failure {
        name: String,
        repr: String,
        traceback: String,
    },
    Error {
        name: String,
        repr: String,
        traceback: String,
    },
    Cancelled,
}

fn read_all(mut bytes: &[u8], what: &str) -> Result<Value, String> {
    let value = rmpv::decode::read_value_with_max_depth(&mut bytes, MAX_DEPTH)
        .map_err(|e| format!("the {what} is not msgpack: {e}"))?;
    if !bytes.is_empty() {
        return Err(format!("{} byte(s) follow the {what}", bytes.len()));
    }
    Ok(value)
}

fn field<'a>(map: &'a Value, key: &str, what: &str) -> Result<&'a Value, String> {
    map.as_map()
        .ok_or_else(|| format!("the {what} is not a map"))?
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("the {what} has no {key}"))
}

/// The exception a FAILURE or ERROR carries: `[name, repr, traceback]`.
fn exception(meta: &[u8]) -> Result<(String, String, String), String> {
    let value = read_all(meta, "failure metadata")?;
    let items = value
        .as_array()
        .filter(|items| items.len() >= 3)
        .ok_or("the failure metadata is not [name, repr, traceback]")?;
    let text = |i: usize| items[i].as_str().unwrap_or_default().to_owned();
    Ok((text(0), text(1), text(2)))
}

/// Reads an answer: `Ok(None)` if it answers another request than `request`.
pub(super) fn read_reply(frames: &[Vec<u8>], request: &Request) -> Result<Option<Reply>, String> {
    let [.., header, body] = frames else {
        return Err(format!("{} frame(s) instead of two", frames.len()));
    };
    let header = read_all(header, "header")?;
    let kind = field(&header, "type", "header")?
        .as_u64()
        .ok_or("the header's type is not an integer")?;
    let method = field(&header, "meth", "header")?.as_str();
    let order_key = field(&header, "okey", "header")?.as_str();
    let seq = field(&header, "seq", "header")?.as_u64();
    if method != Some(request.method.as_str()) || order_key != Some(ORDER_KEY) || seq != Some(SEQ) {
        return Ok(None);
    }
    let zipped = field(&header, "zip", "header")?.as_bool().unwrap_or(false);
    let body = if zipped {
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|e| format!("the compressed body is not snappy: {e}"))?
    } else {
        body.clone()
    };
    let body = read_all(&body, "body")?;
    let meta = match field(&body, "meta", "body")? {
        Value::Binary(meta) => meta.as_slice(),
        _ => return Err("the body's meta is not binary".into()),
    };
    let payload = field(&body, "body", "body")?;
    Ok(Some(match kind {
        k if k == MessageType::Result as u64 => match payload {
            Value::Binary(bytes) => Reply::Result(read_all(bytes, "result")?),
            Value::Nil => Reply::Result(Value::Nil),
            _ => return Err("the result is not binary".into()),
        },
        k if k == MessageType::Failure as u64 => {
            let (name, repr, traceback) = exception(meta)?;
            Reply::Failure {
                name,
                repr,
                traceback,
            }
        }
        k if k == MessageType::Error as u64 => {
            let (name, repr, traceback) = exception(meta)?;
            Reply::Error {
                name,
                repr,
                traceback,
            }
        }
        k if k == MessageType::Cancelled as u64 => Reply::Cancelled,
        other => return Err(format!("unexpected message type {other}")),
    }))
}

/// A FUNCTION message as a server (a simulated agent) receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    pub method: String,
    pub order_key: String,
    pub seq: u64,
    pub args: Vec<Value>,
    pub kwargs: Vec<(Value, Value)>,
}

/// Reads a FUNCTION message (`[header, body]`, after the ROUTER's identity frame); `Ok(None)`
/// for other message types (a CANCEL, which callosum 0.9 agents ignore too).
pub fn read_call(header: &[u8], body: &[u8]) -> Result<Option<IncomingCall>, String> {
    let header = read_all(header, "header")?;
    let kind = field(&header, "type", "header")?
        .as_u64()
        .ok_or("the header's type is not an integer")?;
    if kind != MessageType::Function as u64 {
        return Ok(None);
    }
    let text = |key: &str| -> Result<String, String> {
        field(&header, key, "header")?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the header's {key} is not text"))
    };
    let (method, order_key) = (text("meth")?, text("okey")?);
    let seq = field(&header, "seq", "header")?
        .as_u64()
        .ok_or("the header's seq is not an integer")?;
    let body = read_all(body, "body")?;
    let (args, kwargs) = match field(&body, "body", "body")? {
        Value::Nil => (Vec::new(), Vec::new()),
        Value::Binary(bytes) => {
            let payload = read_all(bytes, "call")?;
            let args = match field(&payload, "args", "call")? {
                Value::Array(items) => items.clone(),
                _ => return Err("the call's args are not a list".into()),
            };
            let kwargs = match field(&payload, "kwargs", "call")? {
                Value::Map(entries) => entries.clone(),
                _ => return Err("the call's kwargs are not a map".into()),
            };
            (args, kwargs)
        }
        _ => return Err("the call's body is not binary".into()),
    };
    Ok(Some(IncomingCall {
        method,
        order_key,
        seq,
        args,
        kwargs,
    }))
}

/// The answer to `call`: its result, or a failure `(exception name, repr)`. Returns
/// `[header, body]`.
pub fn answer(call: &IncomingCall, outcome: Result<Value, (String, String)>) -> [Vec<u8>; 2] {
    let kind = if outcome.is_ok() {
        MessageType::Result
    } else {
        MessageType::Failure
    };
    // The answer repeats the call's method, order key and sequence number.
    let header = header(kind, &call.method, &call.order_key, call.seq);
    let frame = match outcome {
        Ok(value) => {
            let mut encoded = Vec::new();
            let _ = rmpv::encode::write_value(&mut encoded, &value);
            body(&[0x90], Some(&encoded))
        }
        Err((name, repr)) => {
            let mut meta = Vec::new();
            let exception = Value::Array(vec![
                name.into(),
                repr.into(),
                "(raised by a simulated agent)".into(),
            ]);
            let _ = rmpv::encode::write_value(&mut meta, &exception);
            body(&meta, None)
        }
    };
    [header, frame]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_call_as_callosum_frames_it() {
        // `ping("hi")` from the 21.03 wire notes.
        let request = function_call("ping", vec![Value::from("hi")], vec![]);
        assert_eq!(
            request.header,
            hex("85a47479706501a46d657468a470696e67a46f6b6579a0a373657100a37a6970c2")
        );
        let mut expected = hex("82a46d657461c400a4626f6479c412");
        expected.extend(hex(concat!(
            "82a461726773",
            "91a26869",
            "a66b7761726773",
            "80"
        )));
        assert_eq!(request.body, expected);
    }

    #[test]
    fn results_failures_and_strangers_are_told_apart() {
        let request = function_call("ping", vec![], vec![]);
        let answer = |kind: u8, body: &str| {
            let mut header = request.header.clone();
            header[6] = kind; // the value of "type"
            vec![header, hex(body)]
        };
        let reply = read_reply(
            &answer(2, "82a46d657461c40190a4626f6479c403a26869"),
            &request,
        );
        assert_eq!(reply, Ok(Some(Reply::Result(Value::from("hi")))));
        // [ValueError, "ValueError('x')", "tb"] as the metadata of a FAILURE.
        let mut meta = Vec::new();
        rmpv::encode::write_value(
            &mut meta,
            &Value::Array(vec![
                "ValueError".into(),
                "ValueError('x')".into(),
                "tb".into(),
            ]),
        )
        .unwrap();
        let mut failure = Vec::new();
        rmpv::encode::write_value(
            &mut failure,
            &Value::Map(vec![
                ("meta".into(), Value::Binary(meta)),
                ("body".into(), Value::Nil),
            ]),
        )
        .unwrap();
        let mut header = request.header.clone();
        header[6] = 3;
        assert_eq!(
            read_reply(&[header, failure], &request),
            Ok(Some(Reply::Failure {
                name: "ValueError".into(),
                repr: "ValueError('x')".into(),
                traceback: "tb".into()
            }))
        );
        let other = function_call("pong", vec![], vec![]);
        assert_eq!(read_reply(&[other.header, other.body], &request), Ok(None));
        assert!(read_reply(&[vec![0xc1]], &request).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(header in proptest::collection::vec(any::<u8>(), 0..64),
                                        body in proptest::collection::vec(any::<u8>(), 0..128)) {
            let request = function_call("ping", vec![], vec![]);
            let _ = read_reply(&[header, body], &request);
        }
    }
}
