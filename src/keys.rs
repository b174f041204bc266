//! Credentials in the formats 21.03 generates and checks: API keypairs, SSH keypairs and
//! password hashes.

use base64::Engine;
use rand::RngCore;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;

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

/// 21.03 hashes passwords with bcrypt at cost 12 (`$2b$12$…`).
pub const BCRYPT_COST: u32 = 12;

/// Hashes a password on a blocking thread (bcrypt takes a quarter of a second on purpose).
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .map_err(|e| format!("password hashing task failed: {e}"))?
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Checks a password against a stored bcrypt hash (false for anything that is not one).
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// A new SSH keypair as 21.03 makes them: RSA 2048, the public key in OpenSSH form
/// (`ssh-rsa AAAA…`, no comment), the private key as unencrypted PKCS#1 PEM.
pub async fn generate_ssh_keypair() -> Result<(String, String), String> {
    tokio::task::spawn_blocking(|| {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
        let private = key
            .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
            .map_err(|e| format!("cannot encode the RSA key: {e}"))?
            .to_string();
        Ok((
            openssh_rsa_public(&key.e().to_bytes_be(), &key.n().to_bytes_be()),
            private,
        ))
    })
    .await
    .map_err(|e| format!("key generation task failed: {e}"))?
}

/// `ssh-rsa <base64 of the wire encoding: string "ssh-rsa", mpint e, mpint n>`.
fn openssh_rsa_public(e: &[u8], n: &[u8]) -> String {
    fn string(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    fn mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
        // A positive mpint whose top bit is set needs a leading zero byte.
        let mut bytes = magnitude.to_vec();
        if bytes.first().is_some_and(|b| b & 0x80 != 0) {
            bytes.insert(0, 0);
        }
        string(out, &bytes);
    }
    let mut blob = Vec::new();
    string(&mut blob, b"ssh-rsa");
    mpint(&mut blob, e);
    mpint(&mut blob, n);
    format!(
        "ssh-rsa {}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
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

    #[test]
    fn openssh_public_key_encoding() {
        // e = 65537, n = 0x80 01 (top bit set: gets a zero byte).
        let key = openssh_rsa_public(&[1, 0, 1], &[0x80, 0x01]);
        let blob = base64::engine::general_purpose::STANDARD
            .decode(key.strip_prefix("ssh-rsa ").unwrap())
            .unwrap();
        assert_eq!(
            blob,
            [
                &[0, 0, 0, 7][..],
                b"ssh-rsa",
                &[0, 0, 0, 3, 1, 0, 1],
                &[0, 0, 0, 3, 0, 0x80, 0x01]
            ]
            .concat()
        );
    }
}
