//! Test keys (generated once per test binary) and token builders.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use authfort_verifier::{Jwk, JwkSet, Verifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

pub const ISSUER: &str = "authfort";

/// An RSA signing key with its kid.
pub struct TestKey {
    pub kid: &'static str,
    private: RsaPrivateKey,
    encoding: EncodingKey,
}

fn generate(kid: &'static str) -> TestKey {
    // RSA key generation is slow: each key is made once per test binary.
    let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("generate RSA key");
    let pem = private.to_pkcs1_pem(LineEnding::LF).expect("PKCS#1 PEM");
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key");
    TestKey { kid, private, encoding }
}

/// The usual signing key.
pub fn key_a() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| generate("key-2026-11-aaaaaaaa"))
}

/// A second key (rotation, wrong-key signatures).
pub fn key_b() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| generate("key-2026-12-bbbbbbbb"))
}

impl TestKey {
    /// The public JWK, as the server publishes it.
    pub fn jwk(&self) -> Jwk {
        let public = self.private.to_public_key();
        Jwk::rsa(self.kid, &public.n().to_bytes_be(), &public.e().to_bytes_be())
    }

    /// A token with the server's header `{"alg":"RS256","kid":…,"typ":"JWT"}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(&json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"}), claims)
    }

    /// A token with any header, RS256-signed by this key.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, Algorithm::RS256).expect("sign");
        format!("{input}.{signature}")
    }

    /// SPKI PEM of the public key (what an HS256 key-confusion attacker would use).
    pub fn public_pem(&self) -> String {
        self.private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("public PEM")
    }

    /// PKCS#1 DER of the public key.
    pub fn public_pkcs1_der(&self) -> Vec<u8> {
        self.private
            .to_public_key()
            .to_pkcs1_der()
            .expect("public DER")
            .as_bytes()
            .to_vec()
    }
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An HS256 token signed with `secret` (for key-confusion tests).
pub fn sign_hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let input = signing_input(&json!({"alg": "HS256", "kid": kid, "typ": "JWT"}), claims);
    let key = EncodingKey::from_secret(secret);
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).expect("sign");
    format!("{input}.{signature}")
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// Claims as the server issues them, iat = now, 15 minutes to live.
pub fn claims() -> Value {
    claims_at(now())
}

pub fn claims_at(iat: i64) -> Value {
    json!({
        "sub": "6f1c1d8e-8f43-4a57-9a8e-2f0b8e2c1a11",
        "email": "alice@example.com",
        "name": null,
        "roles": ["editor"],
        "ver": 0,
        "sid": "0b7f5a52-3b7c-4d0e-9d55-7a3f0d6e2b10",
        "mfa_enabled": false,
        "iat": iat,
        "exp": iat + 900,
        "iss": ISSUER,
        "amr": ["pwd"]
    })
}

/// `claims()` with some keys replaced (null values are kept as null).
pub fn claims_with(overrides: Value) -> Value {
    let mut c = claims();
    for (k, v) in overrides.as_object().expect("object") {
        c[k] = v.clone();
    }
    c
}

pub fn jwks(keys: &[&TestKey]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|k| k.jwk()).collect(),
    }
}

/// A static verifier over key A.
pub fn verifier() -> Verifier {
    Verifier::from_jwks(&jwks(&[key_a()]), ISSUER)
}
