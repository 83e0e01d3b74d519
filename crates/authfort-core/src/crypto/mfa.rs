//! TOTP (RFC 6238 over RFC 4226 HOTP), backup codes, and the encryption of TOTP secrets at
//! rest.
//!
//! * TOTP: HMAC-SHA1, 6 digits, 30-second steps; the time is an input (our `Clock`), never
//!   the system's.
//! * Secrets: 20 bytes (160 bits) from the OS CSPRNG, shown as 32 base32 characters, stored
//!   only as ChaCha20-Poly1305 ciphertext (`v1:` + base64url(nonce ‖ ciphertext ‖ tag)) under
//!   a key derived from `secret_key` with its own label, the user id as associated data.
//! * Backup codes: `xxxxx-xxxxx` over `[a-z0-9]` (≈51.7 bits) from the OS CSPRNG, stored as
//!   HMAC-SHA256 under `secret_key`, bound to the user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::hmac_sha256_hex;

/// Length of a TOTP step in seconds.
pub const TOTP_STEP_SECONDS: i64 = 30;
/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Bytes of a TOTP secret (160 bits, the RFC 4226 recommendation).
pub const TOTP_SECRET_BYTES: usize = 20;

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BACKUP_ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ENCRYPTION_LABEL: &[u8] = b"authfort:mfa:totp-secret-encryption:v1";

/// RFC 4648 base32 without padding, upper case.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes RFC 4648 base32 (case-insensitive, padding ignored); `None` on other characters.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = BASE32_ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        buffer = ((buffer << 5) | v) & 0xFFFF;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A fresh TOTP secret in base32 (32 characters).
pub fn new_totp_secret() -> String {
    let mut bytes = [0u8; TOTP_SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    base32_encode(&bytes)
}

/// The TOTP step containing `unix_seconds`.
pub fn totp_step(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(TOTP_STEP_SECONDS)
}

/// The 6-digit HOTP code of `secret` (raw bytes) at `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", value % 1_000_000)
}

/// The highest step in `now_step - 1 ..= now_step + 1` whose code is `code` (constant-time
/// comparison), or `None`.
pub fn totp_match(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
    let mut found = None;
    for step in (now_step - 1)..=(now_step + 1) {
        let Ok(counter) = u64::try_from(step) else { continue };
        if bool::from(hotp(secret, counter).as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// Trims and removes spaces (`" 123 456 "` → `"123456"`).
pub fn normalize_code(code: &str) -> String {
    code.trim().chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether a normalised code takes the TOTP path (exactly 6 ASCII digits).
pub fn is_totp_code(code: &str) -> bool {
    code.len() == TOTP_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// A fresh backup code, `xxxxx-xxxxx` over `[a-z0-9]`, each character uniform.
pub fn new_backup_code() -> String {
    let pick = || BACKUP_ALPHABET[OsRng.gen_range(0..BACKUP_ALPHABET.len())] as char;
    let left: String = (0..5).map(|_| pick()).collect();
    let right: String = (0..5).map(|_| pick()).collect();
    format!("{left}-{right}")
}

/// How a backup code is stored: HMAC-SHA256 under the server secret, of the user id and the
/// code lower-cased with spaces and hyphens removed.
pub fn backup_code_hmac(key: &[u8], user_id: Uuid, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    hmac_sha256_hex(
        key,
        format!("authfort:mfa_backup_code:{user_id}:{normalized}").as_bytes(),
    )
}

fn aead_key(server_key: &[u8]) -> LessSafeKey {
    let derived = hex::decode(hmac_sha256_hex(server_key, ENCRYPTION_LABEL)).expect("hex of our own HMAC");
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &derived).expect("a 32-byte key"))
}

/// Encrypts a TOTP secret for `user_id` (fresh random nonce per call).
pub fn encrypt_secret(server_key: &[u8], user_id: Uuid, secret: &str) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let mut data = secret.as_bytes().to_vec();
    aead_key(server_key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(user_id.as_bytes()),
            &mut data,
        )
        .expect("ChaCha20-Poly1305 seals any short input");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    format!("v1:{}", URL_SAFE_NO_PAD.encode(out))
}

/// Decrypts a stored TOTP secret; `None` if it was not sealed for this user under this key.
pub fn decrypt_secret(server_key: &[u8], user_id: Uuid, stored: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(stored.strip_prefix("v1:")?).ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut sealed = sealed.to_vec();
    let plain = aead_key(server_key)
        .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut sealed)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`@` → `%40`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `otpauth://totp/<issuer>:<email>?secret=<secret>&issuer=<issuer>` (label parts and the
/// issuer parameter percent-encoded).
pub fn otpauth_uri(issuer: &str, email: &str, secret: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}",
        percent_encode(email)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), raw.as_bytes());
        }
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_none());
        let secret = new_totp_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).unwrap().len(), 20);
    }

    #[test]
    fn totp_matches_rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B (8 digits there; the last 6 are the 6-digit code).
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(hotp(secret, totp_step(t) as u64), code, "t={t}");
        }
        let now = totp_step(1_234_567_890);
        assert_eq!(totp_match(secret, "005924", now), Some(now));
        assert_eq!(totp_match(secret, "005924", now + 1), Some(now));
        assert_eq!(totp_match(secret, "005924", now - 1), Some(now));
        assert_eq!(totp_match(secret, "005924", now + 2), None);
        assert_eq!(totp_match(secret, "12345", now), None);
    }

    #[test]
    fn codes_normalise() {
        assert_eq!(normalize_code(" 123 456 "), "123456");
        assert!(is_totp_code("123456"));
        assert!(!is_totp_code("12345a"));
        assert!(!is_totp_code("١٢٣٤٥٦"));
        let code = new_backup_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let user = Uuid::new_v4();
        let upper = code.to_uppercase().replace('-', " ");
        assert_eq!(
            backup_code_hmac(b"k", user, &code),
            backup_code_hmac(b"k", user, &upper)
        );
        assert_ne!(
            backup_code_hmac(b"k", user, &code),
            backup_code_hmac(b"k", Uuid::new_v4(), &code)
        );
    }

    #[test]
    fn secrets_round_trip_only_for_their_user_and_key() {
        let user = Uuid::new_v4();
        let sealed = encrypt_secret(b"server key", user, "JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            encrypt_secret(b"server key", user, "JBSWY3DPEHPK3PXP"),
            "fresh nonce"
        );
        assert_eq!(
            decrypt_secret(b"server key", user, &sealed).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(decrypt_secret(b"other key", user, &sealed).is_none());
        assert!(decrypt_secret(b"server key", Uuid::new_v4(), &sealed).is_none());
        assert!(decrypt_secret(b"server key", user, "v1:AAAA").is_none());
        assert!(decrypt_secret(b"server key", user, "garbage").is_none());
    }

    #[test]
    fn otpauth_uri_encodes_the_label() {
        assert_eq!(
            otpauth_uri("authfort", "oauth@example.com", "ABC"),
            "otpauth://totp/authfort:oauth%40example.com?secret=ABC&issuer=authfort"
        );
    }
}
