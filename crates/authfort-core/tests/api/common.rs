//! A per-test AuthFort over a fresh database, plus token-decoding helpers.

#![allow(dead_code)]

use std::fmt::Debug;
use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::crypto::sha256_hex;
use authfort_core::model::RefreshToken;
use authfort_core::{AuthConfig, AuthFort, AuthResponse, AuthResult, ClientInfo, CreateUser, SignIn};
use authfort_test_support::{test_config, Backend, CachedKeys, TestDb};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

pub const PASSWORD: &str = "correct horse battery staple";

/// One AuthFort with a manual clock over a fresh database. Keep it alive for the test.
pub struct Harness {
    pub db: TestDb,
    pub clock: Arc<ManualClock>,
    pub auth: AuthFort,
}

pub async fn harness(backend: Backend) -> Harness {
    harness_with(backend, test_config(), ManualClock::starting_now()).await
}

pub async fn harness_with(backend: Backend, config: AuthConfig, clock: ManualClock) -> Harness {
    let db = TestDb::new(backend).await;
    let clock = Arc::new(clock);
    let auth = AuthFort::builder_with_store(db.store.clone())
        .config(config)
        .clock(clock.clone())
        .key_generator(Arc::new(CachedKeys::default()))
        .build()
        .await
        .expect("build AuthFort");
    Harness { db, clock, auth }
}

/// Creates a user with [`PASSWORD`].
pub async fn create(auth: &AuthFort, email: &str) -> AuthResponse {
    auth.create_user(CreateUser::new(email, PASSWORD))
        .await
        .expect("create_user")
}

/// Unwraps a successful password login.
pub fn signed_in(result: AuthResult<SignIn>) -> AuthResponse {
    match result.expect("login") {
        SignIn::Authenticated(response) => response,
        other => panic!("expected Authenticated, got {other:?}"),
    }
}

/// Logs in with [`PASSWORD`] and no client metadata.
pub async fn login(auth: &AuthFort, email: &str) -> AuthResponse {
    signed_in(auth.login(email, PASSWORD, &ClientInfo::default()).await)
}

/// The error code of a failed call; panics on success.
pub fn code<T: Debug>(result: AuthResult<T>) -> &'static str {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.code(),
    }
}

/// The raw JSON header of a JWT.
pub fn raw_header(token: &str) -> Value {
    let first = token.split('.').next().expect("header segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).expect("base64url header")).expect("JSON header")
}

/// Verifies `token` independently with `jsonwebtoken` against the instance's JWKS (RS256,
/// key chosen by `kid`, issuer `authfort`) and returns the claims object.
pub async fn decode_claims(auth: &AuthFort, token: &str) -> Map<String, Value> {
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("kid header");
    let jwks = auth.get_jwks().await.expect("jwks");
    let jwk = jwks.keys.iter().find(|k| k.kid == kid).expect("kid in JWKS");
    let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).expect("RSA components");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["authfort"]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("valid RS256 token");
    match data.claims {
        Value::Object(map) => map,
        other => panic!("claims are not an object: {other}"),
    }
}

/// The stored row of a raw refresh token.
pub async fn refresh_row(auth: &AuthFort, raw: &str) -> RefreshToken {
    auth.store()
        .refresh_token_by_hash(&sha256_hex(raw))
        .await
        .expect("store")
        .expect("refresh token row")
}

/// Number of unrevoked refresh-token rows of a session, counted with raw SQL.
pub async fn live_rows_in_session(db: &TestDb, session_id: uuid::Uuid) -> i64 {
    db.count(
        "SELECT COUNT(*) FROM authfort_refresh_tokens WHERE session_id = $1 AND revoked = FALSE",
        session_id,
    )
    .await
}

/// Every event the instance emits from now on (earlier ones are delivered first), in
/// delivery order (read after `auth.flush_events()`).
pub async fn record_events(auth: &AuthFort) -> Arc<std::sync::Mutex<Vec<authfort_core::events::Event>>> {
    auth.flush_events().await;
    let seen: Arc<std::sync::Mutex<Vec<authfort_core::events::Event>>> = Arc::default();
    for kind in authfort_core::events::EventKind::ALL {
        let seen = seen.clone();
        auth.on(*kind, move |e| {
            let seen = seen.clone();
            async move { seen.lock().unwrap().push(e) }
        });
    }
    seen
}

/// The names of recorded events.
pub fn kinds(events: &std::sync::Mutex<Vec<authfort_core::events::Event>>) -> Vec<&'static str> {
    events.lock().unwrap().iter().map(|e| e.kind().as_str()).collect()
}
