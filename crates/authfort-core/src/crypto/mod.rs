//! Secrets: random tokens and their hashes, password hashing, signing keys.

pub mod keys;
pub mod mfa;
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

/// A fresh 6-digit code from the OS CSPRNG, each digit uniform (`000000`–`999999`).
pub fn otp_code() -> String {
    use rand::Rng;
    format!("{:06}", OsRng.gen_range(0..1_000_000u32))
}

/// Lower-case hex HMAC-SHA256 of `message` under `key`: how short codes are stored, so a
/// database dump alone cannot recover them (the key lives outside the database).
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
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
    fn otp_codes_are_six_digits_and_spread() {
        let codes: Vec<String> = (0..2_000).map(|_| otp_code()).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        for position in 0..6 {
            let digits: std::collections::HashSet<u8> = codes.iter().map(|c| c.as_bytes()[position]).collect();
            assert_eq!(digits.len(), 10, "every digit appears at position {position}");
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hash_is_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
