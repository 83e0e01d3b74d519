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
