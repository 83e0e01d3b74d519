//! RSA signing keys: generation, PEM encoding, JWK export.

use rand::RngCore;
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::model::SigningKey;

/// Produces new RSA private keys. Injected so tests can reuse pre-generated key material
/// (2048-bit generation costs up to a second).
pub trait KeyGenerator: Send + Sync + 'static {
    /// A new private key of `bits` bits.
    ///
    /// # Errors
    /// `Internal` if generation fails.
    fn generate(&self, bits: usize) -> AuthResult<RsaPrivateKey>;
}

/// Generates fresh keys from the OS CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct RsaKeyGenerator;

impl KeyGenerator for RsaKeyGenerator {
    fn generate(&self, bits: usize) -> AuthResult<RsaPrivateKey> {
        RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(AuthError::internal)
    }
}

/// `key-YYYY-MM-<8 hex>` as the reference names keys.
pub fn new_kid(now: OffsetDateTime) -> String {
    let mut bytes = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "key-{:04}-{:02}-{}",
        now.year(),
        u8::from(now.month()),
        hex::encode(bytes)
    )
}

/// Wraps a private key into a storable [`SigningKey`] record (current, no expiry).
///
/// # Errors
/// `Internal` if PEM encoding fails.
pub fn signing_key_record(private: &RsaPrivateKey, now: OffsetDateTime) -> AuthResult<SigningKey> {
    let private_key_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(AuthError::internal)?
        .to_string();
    let public_key_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(AuthError::internal)?;
    Ok(SigningKey {
        id: Uuid::new_v4(),
        kid: new_kid(now),
        private_key_pem,
        public_key_pem,
        algorithm: "RS256".into(),
        is_current: true,
        created_at: now,
        expires_at: None,
        activated_at: Some(now),
    })
}

/// The JWK of a stored key's public half.
///
/// # Errors
/// `Internal` if the stored PEM does not parse.
pub fn jwk_of(key: &SigningKey) -> AuthResult<authfort_verifier::Jwk> {
    let public = RsaPublicKey::from_public_key_pem(&key.public_key_pem).map_err(AuthError::internal)?;
    Ok(authfort_verifier::Jwk::rsa(
        key.kid.clone(),
        &public.n().to_bytes_be(),
        &public.e().to_bytes_be(),
    ))
}
