use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// One RSA public key as published at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `RSA`.
    pub kty: String,
    /// Key id; tokens name their key with the `kid` header.
    pub kid: String,
    /// Always `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Always `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Modulus, big-endian, base64url without padding.
    pub n: String,
    /// Public exponent, big-endian, base64url without padding.
    pub e: String,
}

impl Jwk {
    /// Builds an RS256 signing JWK from the big-endian modulus and exponent bytes.
    ///
    /// ```
    /// let jwk = authfort_verifier::Jwk::rsa("key-1", &[0xc3, 0x01], &[1, 0, 1]);
    /// assert_eq!(jwk.e, "AQAB");
    /// ```
    pub fn rsa(kid: impl Into<String>, n: &[u8], e: &[u8]) -> Jwk {
        Jwk {
            kty: "RSA".into(),
            kid: kid.into(),
            use_: Some("sig".into()),
            alg: Some("RS256".into()),
            n: URL_SAFE_NO_PAD.encode(strip_leading_zeros(n)),
            e: URL_SAFE_NO_PAD.encode(strip_leading_zeros(e)),
        }
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[first..]
}

/// A JWK set: `{"keys": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys, newest first.
    pub keys: Vec<Jwk>,
}

/// The smallest RSA modulus accepted for verification (RFC 8725 §3.2; AuthFort uses 2048).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// Parses one JWKS entry into `(kid, key)` if it is a usable RS256 signing key.
///
/// Skipped (returns `None`): no or empty `kid`, `kty` other than `RSA`, `alg` present and
/// not `RS256`, `use` present and not `sig`, `n`/`e` not base64url, or a modulus under
/// [`MIN_RSA_BITS`]. Works on raw JSON so one odd entry never spoils a whole document.
pub(crate) fn decoding_key_of(entry: &serde_json::Value) -> Option<(String, jsonwebtoken::DecodingKey)> {
    let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_str);
    let kid = field("kid").filter(|k| !k.is_empty())?;
    if field("kty")? != "RSA" {
        return None;
    }
    if entry.get("alg").is_some_and(|a| a.as_str() != Some("RS256")) {
        return None;
    }
    if entry.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    let n = URL_SAFE_NO_PAD.decode(field("n")?).ok()?;
    let e = URL_SAFE_NO_PAD.decode(field("e")?).ok()?;
    if modulus_bits(&n) < MIN_RSA_BITS || strip_leading_zeros(&e).iter().all(|b| *b == 0) {
        return None;
    }
    Some((
        kid.to_owned(),
        jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e),
    ))
}

fn modulus_bits(n: &[u8]) -> usize {
    let n = strip_leading_zeros(n);
    match n.first() {
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// Collects the usable keys of a JWKS `keys` array; the first entry wins for a repeated kid
/// (AuthFort lists the newest key first).
pub(crate) fn decoding_keys<'a>(
    entries: impl IntoIterator<Item = &'a serde_json::Value>,
) -> std::collections::HashMap<String, jsonwebtoken::DecodingKey> {
    let mut keys = std::collections::HashMap::new();
    for (kid, key) in entries.into_iter().filter_map(decoding_key_of) {
        keys.entry(kid).or_insert(key);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_counts_from_the_top_set_bit() {
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0]), 9);
        assert_eq!(modulus_bits(&[]), 0);
        assert_eq!(modulus_bits(&[0, 0]), 0);
    }

    #[test]
    fn entries_that_are_not_rs256_signing_keys_are_skipped() {
        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 256]);
        let good = serde_json::json!({"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "n": n, "e": "AQAB"});
        assert!(decoding_key_of(&good).is_some());
        let mut bare = good.clone();
        bare.as_object_mut()
            .unwrap()
            .retain(|k, _| !matches!(k.as_str(), "alg" | "use"));
        assert!(decoding_key_of(&bare).is_some());
        for (key, value) in [
            ("kid", serde_json::json!(null)),
            ("kid", serde_json::json!("")),
            ("kty", serde_json::json!("EC")),
            ("alg", serde_json::json!("RS512")),
            ("alg", serde_json::json!("HS256")),
            ("use", serde_json::json!("enc")),
            ("n", serde_json::json!("not base64!")),
            ("n", serde_json::json!(URL_SAFE_NO_PAD.encode([0xc5u8; 128]))),
            ("e", serde_json::json!("AA")),
        ] {
            let mut bad = good.clone();
            bad[key] = value.clone();
            assert!(decoding_key_of(&bad).is_none(), "{key}: {value}");
        }
    }
}
