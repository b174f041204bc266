//! Random credentials in the formats 21.03 generates.

use base64::Engine;
use rand::RngCore;

/// URL-safe base64 of `n` random bytes without padding (Python's `secrets.token_urlsafe(n)`).
pub fn token_urlsafe(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A new API keypair: the access key is `AKIA` and 16 base32 characters (20 in all), the secret
/// key 40 URL-safe base64 characters, as 21.03's `generate_keypair`.
pub fn generate_keypair() -> (String, String) {
    let mut raw = [0u8; 10];
    rand::rng().fill_bytes(&mut raw);
    (format!("AKIA{}", base32(&raw)), token_urlsafe(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
    }

    #[test]
    fn keypair_shapes() {
        let (ak, sk) = generate_keypair();
        assert_eq!(ak.len(), 20);
        assert!(ak.starts_with("AKIA"));
        assert!(ak[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
        assert_eq!(sk.len(), 40);
        assert!(sk
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
