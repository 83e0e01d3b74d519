//! The key ring: the current signing key (parsed once), a verifier over every stored key,
//! and the JWKS. Shared by every request; reloaded from storage when another process may
//! have rotated (a kid we do not know, or a cache older than the reload interval).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use authfort_verifier::{AccessClaims, JwkSet, Verifier, VerifyError, VerifyOptions};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
// AWS-LC signs RSA-2048 2-2.5x faster than ring on x86-64; signing is most of a token's cost.
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::DecodePrivateKey;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::crypto::keys::{jwk_of, signing_key_record, KeyGenerator};
use crate::error::{AuthError, AuthResult};
use crate::model::SigningKey;
use crate::store::{KeyRotation, Store};

/// How long a loaded keyset is trusted before it is re-read (catches rotations made by
/// other processes on the same database).
const RELOAD_AFTER: Duration = Duration::seconds(30);
/// Tolerance for `iat` ahead of our clock: processes sharing a database sign with
/// whole-second `iat`, so a millisecond of skew across a second boundary must not refuse
/// another process's fresh token. Expiry keeps zero leeway, as AuthFort.
const ISSUED_AT_SKEW: u64 = 5;
/// Minimum spacing of reloads triggered by unknown kids (bounds the cost of junk tokens).
const UNKNOWN_KID_RELOAD_AFTER: Duration = Duration::seconds(1);

struct CurrentKey {
    kid: String,
    pair: Arc<RsaKeyPair>,
}

struct KeyState {
    current: CurrentKey,
    verifier: Verifier,
    records: Vec<SigningKey>,
    loaded_at: OffsetDateTime,
}

pub(crate) struct KeyRing {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    generator: Arc<dyn KeyGenerator>,
    issuer: String,
    bits: usize,
    state: RwLock<Arc<KeyState>>,
    reload: tokio::sync::Mutex<()>,
    rng: SystemRandom,
    /// One permit per core: signatures run beside the async workers, never more at once
    /// than there are cores to run them.
    signers: tokio::sync::Semaphore,
}

impl KeyRing {
    /// Loads the keyset, creating the first key if the database has none.
    pub(crate) async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        generator: Arc<dyn KeyGenerator>,
        issuer: String,
        bits: usize,
    ) -> AuthResult<KeyRing> {
        let stored = store.signing_keys().await?;
        if !stored.iter().any(|k| k.is_current) {
            let record = generate(&generator, bits, clock.now()).await?;
            // Another process may win this race; then we use its key.
            store.insert_first_signing_key(&record).await?;
        }
        if !stored.iter().any(SigningKey::is_next) {
            ensure_next(store.as_ref(), &generator, bits, clock.now()).await?;
        }
        let state = load(store.as_ref(), &issuer, clock.now(), None).await?;
        Ok(KeyRing {
            store,
            clock,
            generator,
            issuer,
            bits,
            state: RwLock::new(Arc::new(state)),
            reload: tokio::sync::Mutex::new(()),
            rng: SystemRandom::new(),
            signers: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        })
    }

    fn snapshot(&self) -> Arc<KeyState> {
        self.state.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn reload_if_older_than(&self, age: Duration) -> AuthResult<Arc<KeyState>> {
        let _guard = self.reload.lock().await;
        let now = self.clock.now();
        let current = self.snapshot();
        if now - current.loaded_at < age {
            return Ok(current);
        }
        let fresh = Arc::new(load(self.store.as_ref(), &self.issuer, now, Some(&current)).await?);
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        Ok(fresh)
    }

    async fn fresh(&self) -> AuthResult<Arc<KeyState>> {
        let state = self.snapshot();
        if self.clock.now() - state.loaded_at < RELOAD_AFTER {
            return Ok(state);
        }
        self.reload_if_older_than(RELOAD_AFTER).await
    }

    /// Signs claims with the current key: `{"alg":"RS256","kid":…,"typ":"JWT"}`.
    pub(crate) async fn sign<T: serde::Serialize>(&self, claims: &T) -> AuthResult<String> {
        let state = self.fresh().await?;
        let header = serde_json::json!({"alg": "RS256", "kid": state.current.kid, "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(AuthError::internal)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(AuthError::internal)?)
        );
        // A signature is most of a millisecond of CPU on slower cores. On an async worker it
        // would hold up every task queued behind it, among them the one holding SQLite's
        // write lock between two statements; on the blocking pool the workers stay free
        // (measured on SQLite at c=32: magic-link verify 713 -> 950/s).
        let pair = state.current.pair.clone();
        let rng = self.rng.clone();
        let _permit = self.signers.acquire().await.map_err(AuthError::internal)?;
        tokio::task::spawn_blocking(move || {
            let mut signature = vec![0u8; pair.public_modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, signing_input.as_bytes(), &mut signature)
                .map_err(|_| AuthError::Internal("RSA signing failed".into()))?;
            Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
        })
        .await
        .map_err(AuthError::internal)?
    }

    /// Verifies an access token against every stored key (re-reading the keyset once if
    /// the kid is unknown to us but may be another process's new key).
    pub(crate) async fn verify(&self, token: &str, allow_expired: bool) -> AuthResult<AccessClaims> {
        let mut state = self.fresh().await?;
        let kid = Verifier::kid_of(token)?;
        if !state.verifier.has_kid(&kid) {
            state = self.reload_if_older_than(UNKNOWN_KID_RELOAD_AFTER).await?;
        }
        // Expiry is judged by our clock, not the system's.
        state
            .verifier
            .verify_at(token, self.clock.now().unix_timestamp(), allow_expired)
            .map_err(|e: VerifyError| AuthError::from(e))
    }

    /// The payload of a token whose RS256 signature verifies under the stored key its `kid`
    /// names (re-reading the keyset once for an unknown kid); no claim is checked here.
    /// `Ok(None)` for anything else: undecodable, no kid, unknown kid, another algorithm, a bad
    /// signature. Used for tokens other than access tokens (the MFA challenge).
    pub(crate) async fn signed_payload(
        &self,
        token: &str,
    ) -> AuthResult<Option<serde_json::Map<String, serde_json::Value>>> {
        let Ok(kid) = Verifier::kid_of(token) else {
            return Ok(None);
        };
        let mut state = self.fresh().await?;
        if !state.records.iter().any(|k| k.kid == kid) {
            state = self.reload_if_older_than(UNKNOWN_KID_RELOAD_AFTER).await?;
        }
        let Some(record) = state.records.iter().find(|k| k.kid == kid) else {
            return Ok(None);
        };
        let jwk = jwk_of(record)?;
        let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(AuthError::internal)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.algorithms = vec![jsonwebtoken::Algorithm::RS256];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Ok(
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &validation)
                .ok()
                .map(|data| data.claims),
        )
    }

    /// The published keyset: the current key, then the next key (published ahead so that
    /// verifiers and caches hold it before it signs), then retired keys not yet expired,
    /// newest first.
    pub(crate) async fn jwks(&self) -> AuthResult<JwkSet> {
        let state = self.fresh().await?;
        let now = self.clock.now();
        let keys = state
            .records
            .iter()
            .filter(|k| k.is_current || k.is_next() || k.expires_at.is_some_and(|e| e > now))
            .map(jwk_of)
            .collect::<AuthResult<Vec<_>>>()?;
        Ok(JwkSet { keys })
    }

    /// The kid that signs new tokens.
    pub(crate) async fn current_kid(&self) -> AuthResult<String> {
        Ok(self.fresh().await?.current.kid.clone())
    }

    /// Makes the next key current and retires the current one for `retire_for`, then
    /// publishes a new next key. Returns (old, new) kids.
    pub(crate) async fn rotate(&self, retire_for: Duration) -> AuthResult<(String, String)> {
        // A rotation racing ours (another process) makes us retry against its result:
        // both callers asked for a new key, and each gets one.
        for _ in 0..5 {
            let expected = self.reload_if_older_than(Duration::ZERO).await?.current.kid.clone();
            if let Some(kids) = self.rotate_from(&expected, retire_for).await? {
                return Ok(kids);
            }
        }
        Err(AuthError::Unavailable(
            "signing key rotation kept racing; try again".into(),
        ))
    }

    /// Rotates if the current key has signed for at least `interval`. Returns the (old, new)
    /// kids if this call rotated; `None` if the key is younger or another process rotated first.
    pub(crate) async fn rotate_if_due(
        &self,
        interval: Duration,
        retire_for: Duration,
    ) -> AuthResult<Option<(String, String)>> {
        let state = self.reload_if_older_than(Duration::ZERO).await?;
        let now = self.clock.now();
        let Some(current) = state.records.iter().find(|k| k.is_current) else {
            return Ok(None);
        };
        let since = current.activated_at.unwrap_or(current.created_at);
        if now - since < interval {
            return Ok(None);
        }
        self.rotate_from(&current.kid.clone(), retire_for).await
    }

    /// One rotation attempt from `expected`; `None` if another rotation won.
    async fn rotate_from(&self, expected: &str, retire_for: Duration) -> AuthResult<Option<(String, String)>> {
        let mut outcome = None;
        for _ in 0..2 {
            let now = self.clock.now();
            match self.store.rotate_signing_key(expected, now, now + retire_for).await? {
                KeyRotation::Rotated { old_kid, new_kid } => {
                    outcome = Some((old_kid, new_kid));
                    break;
                }
                KeyRotation::CurrentChanged => break,
                KeyRotation::NoNextKey => ensure_next(self.store.as_ref(), &self.generator, self.bits, now).await?,
            }
        }
        if outcome.is_some() {
            // The promoted key left the "next" slot: publish a new one for the rotation after.
            ensure_next(self.store.as_ref(), &self.generator, self.bits, self.clock.now()).await?;
        }
        self.reload_if_older_than(Duration::ZERO).await?;
        Ok(outcome)
    }

    /// Deletes retired keys past their expiry.
    pub(crate) async fn cleanup(&self) -> AuthResult<u64> {
        let n = self.store.delete_expired_signing_keys(self.clock.now()).await?;
        if n > 0 {
            self.reload_if_older_than(Duration::ZERO).await?;
        }
        Ok(n)
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }
}

async fn generate(generator: &Arc<dyn KeyGenerator>, bits: usize, now: OffsetDateTime) -> AuthResult<SigningKey> {
    let generator = generator.clone();
    tokio::task::spawn_blocking(move || {
        let private = generator.generate(bits)?;
        signing_key_record(&private, now)
    })
    .await
    .map_err(AuthError::internal)?
}

/// Generates and stores a next key (unless another process stored one meanwhile).
async fn ensure_next(
    store: &dyn Store,
    generator: &Arc<dyn KeyGenerator>,
    bits: usize,
    now: OffsetDateTime,
) -> AuthResult<()> {
    let record = generate(generator, bits, now).await?;
    store.insert_next_signing_key(&record).await?;
    Ok(())
}

/// Reads every key; parses the current private key only if it changed since `previous`.
async fn load(
    store: &dyn Store,
    issuer: &str,
    now: OffsetDateTime,
    previous: Option<&KeyState>,
) -> AuthResult<KeyState> {
    let records = store.signing_keys().await?;
    let current = records
        .iter()
        .find(|k| k.is_current)
        .ok_or_else(|| AuthError::Unavailable("no current signing key".into()))?;
    let current = match previous.filter(|p| p.current.kid == current.kid) {
        Some(p) => CurrentKey {
            kid: p.current.kid.clone(),
            pair: p.current.pair.clone(),
        },
        None => CurrentKey {
            kid: current.kid.clone(),
            pair: Arc::new(parse_private(&current.private_key_pem)?),
        },
    };
    let mut keys = HashMap::new();
    for record in &records {
        let jwk = jwk_of(record)?;
        let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(AuthError::internal)?;
        keys.insert(record.kid.clone(), key);
    }
    Ok(KeyState {
        current,
        verifier: Verifier::with_options(keys, VerifyOptions::new(issuer).issued_at_skew(ISSUED_AT_SKEW)),
        records,
        loaded_at: now,
    })
}

fn parse_private(pem: &str) -> AuthResult<RsaKeyPair> {
    let der = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .and_then(|k| rsa::pkcs8::EncodePrivateKey::to_pkcs8_der(&k))
        .map_err(AuthError::internal)?;
    RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|e| AuthError::Internal(format!("bad signing key: {e}")))
}
