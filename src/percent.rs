//! Percent-encoding of one path component, keeping only RFC 3986's unreserved characters
//! (letters, digits, `-`, `.`, `_`, `~`): what Python's `urllib.parse.quote(s, safe='')`
//! produces. Used for etcd key components (as 21.03 quotes them) and database URL parts.

/// Encodes every byte outside the unreserved set as `%XX` (uppercase hex).
pub fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for b in component.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode`]; malformed escapes are kept as written, as Python's `unquote` does, and
/// bytes that are not UTF-8 become U+FFFD.
pub fn decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
