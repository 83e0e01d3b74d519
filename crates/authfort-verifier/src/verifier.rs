//! Verification against a fixed keyset, pinned to RS256.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::jwk::decoding_keys;
use crate::{AccessClaims, JwkSet, VerifyError};

/// The largest clock leeway a [`Verifier`] accepts; larger values are clamped to it.
pub const MAX_LEEWAY_SECONDS: u64 = 60;

/// Claims every access token must carry, non-null (as AuthFort's verifiers require).
const REQUIRED_CLAIMS: [&str; 7] = ["sub", "email", "roles", "ver", "exp", "iat", "iss"];

/// Options for [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Expected `iss`.
    pub issuer: String,
    /// Clock leeway in seconds for `exp`, `iat` and `nbf`. AuthFort uses zero; values over
    /// [`MAX_LEEWAY_SECONDS`] are treated as that.
    pub leeway_seconds: u64,
    /// Skip the `exp` check (used only for the refresh cookie cross-check, where an
    /// expired access token is normal). Signature and issuer are always checked.
    pub allow_expired: bool,
    /// Extra tolerance in seconds for `iat` and `nbf` only (not `exp`), on top of the
    /// leeway. `iat` is whole seconds, so a token issued by another process a millisecond
    /// ahead across a second boundary looks one second early; the AuthFort server itself
    /// sets a few seconds here. Zero by default, like AuthFort's verifier.
    pub issued_at_skew_seconds: u64,
}

impl VerifyOptions {
    /// Options for `issuer`: zero leeway, expiry checked.
    pub fn new(issuer: impl Into<String>) -> VerifyOptions {
        VerifyOptions {
            issuer: issuer.into(),
            leeway_seconds: 0,
            allow_expired: false,
            issued_at_skew_seconds: 0,
        }
    }

    /// Sets the extra tolerance for `iat`/`nbf` in the future (seconds, at most
    /// [`MAX_LEEWAY_SECONDS`]); `exp` is unaffected.
    pub fn issued_at_skew(mut self, seconds: u64) -> VerifyOptions {
        self.issued_at_skew_seconds = seconds.min(MAX_LEEWAY_SECONDS);
        self
    }

    /// Sets the clock leeway (seconds, at most [`MAX_LEEWAY_SECONDS`]).
    pub fn leeway(mut self, seconds: u64) -> VerifyOptions {
        self.leeway_seconds = seconds.min(MAX_LEEWAY_SECONDS);
        self
    }
}

/// Verifies AuthFort access tokens against a fixed keyset, RS256 only.
///
/// Keys are chosen only by `kid`; tokens without a `kid`, with an unknown `kid`, or signed
/// with any algorithm but RS256 (`none` and HS256 included) are refused. Decoding keys are
/// parsed once, when the verifier is built.
///
/// The checks follow AuthFort's Python verifier (`authfort-service`), in its order: header
/// and `kid`; signature; required non-null claims `sub, email, roles, ver, exp, iat, iss`;
/// `iat` not in the future; `nbf` (if present) reached; `exp` in the future (all with the
/// configured leeway, zero by default); `iss` equal to the configured issuer; no non-empty
/// `aud` (no audience is configured, so any audience is foreign); `sub` and `jti` strings.
///
/// ```
/// use authfort_verifier::{JwkSet, Verifier, VerifyError};
///
/// let verifier = Verifier::from_jwks(&JwkSet::default(), "authfort").with_leeway(5);
/// assert_eq!(verifier.verify("not-a-jwt"), Err(VerifyError::Malformed));
/// ```
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
    ///
    /// Entries that are not usable RS256 signing keys (other `kty`/`alg`, `use` other than
    /// `sig`, RSA modulus under 2048 bits) are skipped.
    pub fn from_jwks(jwks: &JwkSet, issuer: &str) -> Verifier {
        let entries: Vec<Value> = jwks.keys.iter().filter_map(|k| serde_json::to_value(k).ok()).collect();
        Verifier::from_keys(decoding_keys(&entries), issuer)
    }

    /// A verifier from already-parsed decoding keys by kid, zero leeway.
    ///
    /// The keys must be RSA keys; any other key never verifies an RS256 signature.
    pub fn from_keys(keys: HashMap<String, DecodingKey>, issuer: &str) -> Verifier {
        Verifier::with_options(keys, VerifyOptions::new(issuer))
    }

    /// A verifier from decoding keys and explicit options.
    pub fn with_options(keys: HashMap<String, DecodingKey>, mut options: VerifyOptions) -> Verifier {
        options.leeway_seconds = options.leeway_seconds.min(MAX_LEEWAY_SECONDS);
        Verifier { keys, options }
    }

    /// Sets the clock leeway for `exp`, `iat` and `nbf` (seconds, at most
    /// [`MAX_LEEWAY_SECONDS`]; the default is zero, like AuthFort).
    pub fn with_leeway(mut self, seconds: u64) -> Verifier {
        self.options.leeway_seconds = seconds.min(MAX_LEEWAY_SECONDS);
        self
    }

    /// The options in force.
    pub fn options(&self) -> &VerifyOptions {
        &self.options
    }

    /// Whether the keyset holds this kid.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The kids of the keyset (in no particular order).
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The kid named by a token's header, if the header decodes.
    ///
    /// # Errors
    /// [`VerifyError::Malformed`] if the token is not three base64url segments with a JSON
    /// object header (or its `kid` is not a string); [`VerifyError::MissingKid`] if the
    /// header has no (or an empty) `kid`.
    pub fn kid_of(token: &str) -> Result<String, VerifyError> {
        Ok(Header::parse(token)?.kid)
    }

    /// Verifies a token against the system clock and returns its claims.
    ///
    /// # Errors
    /// In order: [`VerifyError::Malformed`], [`VerifyError::MissingKid`],
    /// [`VerifyError::UnknownKid`], then [`VerifyError::Invalid`] for a bad signature or
    /// algorithm, a missing claim, `iat`/`nbf` in the future, and [`VerifyError::Expired`]
    /// for `exp` reached; then [`VerifyError::Invalid`] for a wrong issuer or an audience.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_at(token, unix_now(), false)
    }

    /// Like [`Verifier::verify`] but accepts an expired token (signature, issuer and the
    /// other claims still checked).
    ///
    /// # Errors
    /// As [`Verifier::verify`], never [`VerifyError::Expired`].
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_at(token, unix_now(), true)
    }

    /// Like [`Verifier::verify`], judging `exp`, `iat` and `nbf` against `now` (Unix
    /// seconds) instead of the system clock, so callers with an injected clock decide time
    /// themselves.
    ///
    /// # Errors
    /// As [`Verifier::verify`]; `allow_expired` skips only the expiry check.
    pub fn verify_at(&self, token: &str, now: i64, allow_expired: bool) -> Result<AccessClaims, VerifyError> {
        let header = Header::parse(token)?;
        let key = self.keys.get(&header.kid).ok_or(VerifyError::UnknownKid)?;
        if header.alg.as_deref() != Some("RS256") {
            return Err(VerifyError::Invalid);
        }
        let claims = self.signed_claims(token, key)?;
        let allow_expired = allow_expired || self.options.allow_expired;
        check_claims(&claims, &self.options, now, allow_expired)?;
        serde_json::from_value(Value::Object(claims)).map_err(|_| VerifyError::Invalid)
    }

    /// The payload, once the RS256 signature over it is proven; no claim is looked at here.
    fn signed_claims(&self, token: &str, key: &DecodingKey) -> Result<Map<String, Value>, VerifyError> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        decode::<Map<String, Value>>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| VerifyError::Invalid)
    }
}

/// The parts of the (not yet trusted) JOSE header we look at.
struct Header {
    kid: String,
    alg: Option<String>,
}

impl Header {
    fn parse(token: &str) -> Result<Header, VerifyError> {
        let segments: Vec<&str> = token.split('.').collect();
        let &[header, payload, signature] = segments.as_slice() else {
            return Err(VerifyError::Malformed);
        };
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| VerifyError::Malformed)?;
        if URL_SAFE_NO_PAD.decode(payload).is_err() || URL_SAFE_NO_PAD.decode(signature).is_err() {
            return Err(VerifyError::Malformed);
        }
        let header: Map<String, Value> = serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
        let kid = match header.get("kid") {
            None | Some(Value::Null) => return Err(VerifyError::MissingKid),
            Some(Value::String(kid)) if kid.is_empty() => return Err(VerifyError::MissingKid),
            Some(Value::String(kid)) => kid.clone(),
            Some(_) => return Err(VerifyError::Malformed),
        };
        let alg = header.get("alg").and_then(Value::as_str).map(str::to_owned);
        Ok(Header { kid, alg })
    }
}

/// The registered-claim checks, in the order PyJWT applies them.
fn check_claims(
    claims: &Map<String, Value>,
    options: &VerifyOptions,
    now: i64,
    allow_expired: bool,
) -> Result<(), VerifyError> {
    let leeway = options.leeway_seconds.min(MAX_LEEWAY_SECONDS) as i64;
    if REQUIRED_CLAIMS
        .iter()
        .any(|c| claims.get(*c).is_none_or(Value::is_null))
    {
        return Err(VerifyError::Invalid);
    }
    let int = |name: &str| claims.get(name).and_then(Value::as_i64).ok_or(VerifyError::Invalid);
    let not_before = now
        .saturating_add(leeway)
        .saturating_add(options.issued_at_skew_seconds.min(MAX_LEEWAY_SECONDS) as i64);
    if int("iat")? > not_before {
        return Err(VerifyError::Invalid);
    }
    if claims.contains_key("nbf") && int("nbf")? > not_before {
        return Err(VerifyError::Invalid);
    }
    let exp = int("exp")?;
    if !allow_expired && exp <= now.saturating_sub(leeway) {
        return Err(VerifyError::Expired);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(options.issuer.as_str()) {
        return Err(VerifyError::Invalid);
    }
    if claims.get("aud").is_some_and(is_truthy) {
        return Err(VerifyError::Invalid);
    }
    if !claims["sub"].is_string() || claims.get("jti").is_some_and(|j| !j.is_string()) {
        return Err(VerifyError::Invalid);
    }
    Ok(())
}

/// Python truthiness, as PyJWT tests `aud` when no audience is configured.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn header_parsing_distinguishes_malformed_from_missing_kid() {
        let body = segment("{}");
        let token = |header: &str| format!("{}.{body}.c2ln", segment(header));
        assert_eq!(Verifier::kid_of(""), Err(VerifyError::Malformed));
        assert_eq!(Verifier::kid_of("a.b"), Err(VerifyError::Malformed));
        assert_eq!(
            Verifier::kid_of(&format!("{}.x.y.z", segment("{}"))),
            Err(VerifyError::Malformed)
        );
        assert_eq!(Verifier::kid_of(&token("[1]")), Err(VerifyError::Malformed));
        assert_eq!(Verifier::kid_of(&token(r#"{"kid":7}"#)), Err(VerifyError::Malformed));
        assert_eq!(
            Verifier::kid_of(&token(r#"{"alg":"RS256"}"#)),
            Err(VerifyError::MissingKid)
        );
        assert_eq!(Verifier::kid_of(&token(r#"{"kid":""}"#)), Err(VerifyError::MissingKid));
        assert_eq!(
            Verifier::kid_of(&token(r#"{"kid":"k1","alg":"none"}"#)),
            Ok("k1".into())
        );
    }

    #[test]
    fn aud_truthiness_matches_python() {
        for falsy in [Value::Null, "".into(), serde_json::json!([]), 0.into(), false.into()] {
            assert!(!is_truthy(&falsy), "{falsy}");
        }
        for truthy in ["svc".into(), serde_json::json!(["svc"]), 1.into()] {
            assert!(is_truthy(&truthy), "{truthy}");
        }
    }

    #[test]
    fn leeway_is_clamped() {
        let v = Verifier::from_keys(HashMap::new(), "authfort").with_leeway(3600);
        assert_eq!(v.options().leeway_seconds, MAX_LEEWAY_SECONDS);
        let v = Verifier::with_options(
            HashMap::new(),
            VerifyOptions {
                leeway_seconds: 999,
                ..VerifyOptions::new("x")
            },
        );
        assert_eq!(v.options().leeway_seconds, MAX_LEEWAY_SECONDS);
    }
}
