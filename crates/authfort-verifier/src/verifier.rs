use std::collections::HashMap;

use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Algorithm, DecodingKey, Validation};

use crate::{AccessClaims, JwkSet, VerifyError};

/// Options for [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Expected `iss`.
    pub issuer: String,
    /// Clock leeway in seconds for `exp` (AuthFort uses zero).
    pub leeway_seconds: u64,
    /// Skip the `exp` check (used only for the refresh cookie cross-check, where an
    /// expired access token is normal). Signature and issuer are always checked.
    pub allow_expired: bool,
}

/// Verifies AuthFort access tokens against a fixed keyset, RS256 only.
///
/// Keys are chosen only by `kid`; tokens without a `kid`, with an unknown `kid`, or signed
/// with any algorithm but RS256 are refused. Decoding keys are parsed once, when the
/// verifier is built.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    options: VerifyOptions,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .field("options", &self.options)
            .finish()
    }
}

impl Verifier {
    /// A verifier for the given keyset and issuer, zero leeway.
    pub fn from_jwks(jwks: &JwkSet, issuer: &str) -> Verifier {
        let keys = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256"))
            .filter_map(|k| {
                DecodingKey::from_rsa_components(&k.n, &k.e)
                    .ok()
                    .map(|d| (k.kid.clone(), d))
            })
            .collect();
        Verifier::from_keys(keys, issuer)
    }

    /// A verifier from already-parsed decoding keys by kid.
    pub fn from_keys(keys: HashMap<String, DecodingKey>, issuer: &str) -> Verifier {
        Verifier {
            keys,
            options: VerifyOptions {
                issuer: issuer.to_owned(),
                leeway_seconds: 0,
                allow_expired: false,
            },
        }
    }

    /// Whether the keyset holds this kid.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The kid named by a token's header, if the header decodes.
    pub fn kid_of(token: &str) -> Result<String, VerifyError> {
        let header = decode_header(token).map_err(|_| VerifyError::Malformed)?;
        header.kid.ok_or(VerifyError::MissingKid)
    }

    /// Verifies a token and returns its claims.
    ///
    /// # Errors
    /// In order: [`VerifyError::Malformed`], [`VerifyError::MissingKid`],
    /// [`VerifyError::UnknownKid`], then [`VerifyError::Invalid`] for a bad signature,
    /// algorithm, issuer or missing claim, and [`VerifyError::Expired`] for `exp` in the past.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_with(token, false)
    }

    /// Like [`Verifier::verify`] but accepts an expired token (signature and issuer still checked).
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_with(token, true)
    }

    /// Like [`Verifier::verify`], checking `exp` against `now` (Unix seconds) instead of the
    /// system clock, so callers with an injected clock decide expiry themselves.
    ///
    /// # Errors
    /// As [`Verifier::verify`]; `allow_expired` skips only the expiry check.
    pub fn verify_at(&self, token: &str, now: i64, allow_expired: bool) -> Result<AccessClaims, VerifyError> {
        let claims = self.verify_with(token, true)?;
        if !allow_expired && claims.exp <= now - self.options.leeway_seconds as i64 {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }

    fn verify_with(&self, token: &str, allow_expired: bool) -> Result<AccessClaims, VerifyError> {
        let kid = Self::kid_of(token)?;
        let key = self.keys.get(&kid).ok_or(VerifyError::UnknownKid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = self.options.leeway_seconds;
        validation.validate_exp = !(allow_expired || self.options.allow_expired);
        validation.validate_aud = false;
        validation.set_issuer(&[&self.options.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        let data = decode::<AccessClaims>(token, key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => VerifyError::Expired,
            _ => VerifyError::Invalid,
        })?;
        Ok(data.claims)
    }
}
