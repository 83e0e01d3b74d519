//! Secrets: random tokens and their hashes, password hashing, signing keys.

pub mod keys;
pub mod password;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh opaque token: 64 bytes from the OS CSPRNG, base64url without padding (86 chars).
pub fn random_token() -> String {
    let mut bytes = [0u8; 64];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lower-case hex SHA-256 of a token's UTF-8 bytes: the only form in which tokens are stored.
pub fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_86_urlsafe_chars_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 86);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let set: std::collections::HashSet<_> = (0..10_000).map(|_| random_token()).collect();
        assert_eq!(set.len(), 10_000);
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
