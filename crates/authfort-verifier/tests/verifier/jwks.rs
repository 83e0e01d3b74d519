//! `JwksVerifier` against a tiny local JWKS server that counts fetches.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authfort_verifier::{JwksError, JwksVerifier, VerifyError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::common::*;

#[derive(Clone)]
struct Upstream {
    fetches: Arc<AtomicUsize>,
    document: Arc<Mutex<Value>>,
    failing: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

struct JwksServer {
    url: String,
    upstream: Upstream,
}

impl JwksServer {
    async fn start(keys: &[&TestKey]) -> JwksServer {
        let upstream = Upstream {
            fetches: Arc::default(),
            document: Arc::new(Mutex::new(serde_json::to_value(jwks(keys)).unwrap())),
            failing: Arc::default(),
            delay_ms: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .with_state(upstream.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        JwksServer { url, upstream }
    }

    fn fetches(&self) -> usize {
        self.upstream.fetches.load(Ordering::SeqCst)
    }

    fn serve(&self, document: Value) {
        *self.upstream.document.lock().unwrap() = document;
    }

    fn fail(&self, failing: bool) {
        self.upstream.failing.store(failing, Ordering::SeqCst);
    }

    fn delay(&self, ms: u64) {
        self.upstream.delay_ms.store(ms, Ordering::SeqCst);
    }

    fn verifier(&self) -> JwksVerifier {
        self.builder().build().unwrap()
    }

    fn builder(&self) -> authfort_verifier::JwksVerifierBuilder {
        JwksVerifier::builder(&self.url).http_timeout(Duration::from_secs(5))
    }
}

async fn serve_jwks(State(up): State<Upstream>) -> Response {
    up.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = up.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if up.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let body = up.document.lock().unwrap().to_string();
    ([("content-type", "application/json")], body).into_response()
}

fn unknown_kid_token(kid: &str) -> String {
    key_a().sign_with_header(&json!({"alg": "RS256", "kid": kid}), &claims())
}

#[tokio::test]
async fn first_use_fetches_and_the_keyset_is_cached_within_the_ttl() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    assert_eq!(server.fetches(), 0, "building fetches nothing");
    let token = key_a().sign(&claims());
    assert_eq!(v.verify(&token).await.unwrap().email, "alice@example.com");
    assert!(v.verify(&token).await.is_ok());
    assert!(v.clone().verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 1);
    assert_eq!(v.cached_kids(), vec![key_a().kid.to_owned()]);
}

#[tokio::test]
async fn the_keyset_is_refetched_after_the_ttl() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.builder().cache_ttl(Duration::from_millis(200)).build().unwrap();
    let token = key_a().sign(&claims());
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refetch_and_another_within_the_interval_none() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    assert!(v.verify(&key_a().sign(&claims())).await.is_ok());
    assert_eq!(server.fetches(), 1);

    assert_eq!(
        v.verify(&unknown_kid_token("nope-1")).await,
        Err(VerifyError::UnknownKid)
    );
    assert_eq!(server.fetches(), 2);
    assert_eq!(
        v.verify(&unknown_kid_token("nope-2")).await,
        Err(VerifyError::UnknownKid)
    );
    assert_eq!(server.fetches(), 2, "throttled within min_refetch_interval");
    // Known kids keep working meanwhile.
    assert!(v.verify(&key_a().sign(&claims())).await.is_ok());
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn an_unknown_kid_may_refetch_again_after_the_interval() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server
        .builder()
        .min_refetch_interval(Duration::from_millis(150))
        .build()
        .unwrap();
    v.refresh().await.unwrap();
    assert_eq!(
        v.verify(&unknown_kid_token("nope-1")).await,
        Err(VerifyError::UnknownKid)
    );
    assert_eq!(server.fetches(), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        v.verify(&unknown_kid_token("nope-2")).await,
        Err(VerifyError::UnknownKid)
    );
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn concurrent_unknown_kid_verifications_share_one_fetch() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    v.refresh().await.unwrap();
    assert_eq!(server.fetches(), 1);
    // The rotated key appears upstream; twenty requests carrying it arrive at once.
    server.serve(serde_json::to_value(jwks(&[key_b(), key_a()])).unwrap());
    server.delay(100);
    let token = key_b().sign(&claims());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn concurrent_first_uses_share_one_fetch() {
    let server = JwksServer::start(&[key_a()]).await;
    server.delay(100);
    let v = server.verifier();
    let token = key_a().sign(&claims());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (v, token) = (v.clone(), token.clone());
            tokio::spawn(async move { v.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_rotated_key_verifies_after_the_refetch() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    let old = key_a().sign(&claims());
    assert!(v.verify(&old).await.is_ok());

    server.serve(serde_json::to_value(jwks(&[key_b(), key_a()])).unwrap());
    let new = key_b().sign(&claims());
    assert_eq!(
        v.verify(&new).await.unwrap().sub,
        "6f1c1d8e-8f43-4a57-9a8e-2f0b8e2c1a11"
    );
    assert!(
        v.verify(&old).await.is_ok(),
        "the retired key stays valid while published"
    );
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_warm_cache_keeps_working_while_the_server_fails() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.builder().cache_ttl(Duration::from_millis(100)).build().unwrap();
    let token = key_a().sign(&claims());
    assert!(v.verify(&token).await.is_ok());

    server.fail(true);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        v.verify(&token).await.is_ok(),
        "stale keys serve after a failed refetch"
    );
    assert_eq!(server.fetches(), 2);
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(server.fetches(), 2, "no retry within the interval after a failure");
    assert_eq!(v.verify(&unknown_kid_token("nope")).await, Err(VerifyError::UnknownKid));
    assert_eq!(server.fetches(), 2);
    assert_eq!(v.refresh().await, Err(JwksError::Status(500)));
}

#[tokio::test]
async fn a_cold_verifier_fails_closed_when_the_server_is_unreachable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let v = JwksVerifier::builder(format!("http://{addr}/.well-known/jwks.json"))
        .http_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let got = v.verify(&key_a().sign(&claims())).await;
    assert_eq!(got, Err(VerifyError::KeysUnavailable));
    assert_eq!(VerifyError::KeysUnavailable.code(), "token_invalid");
    assert!(matches!(v.refresh().await, Err(JwksError::Request(_))));
}

#[tokio::test]
async fn a_cold_verifier_fails_closed_on_an_error_status_and_recovers_via_refresh() {
    let server = JwksServer::start(&[key_a()]).await;
    server.fail(true);
    let v = server.verifier();
    let token = key_a().sign(&claims());
    assert_eq!(v.verify(&token).await, Err(VerifyError::KeysUnavailable));
    assert_eq!(v.verify(&token).await, Err(VerifyError::KeysUnavailable));
    assert_eq!(server.fetches(), 1, "retries are spaced by min_refetch_interval");
    server.fail(false);
    v.refresh().await.unwrap();
    assert!(v.verify(&token).await.is_ok());
}

#[tokio::test]
async fn invalid_documents_are_failed_fetches() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    for (doc, want) in [
        (
            json!([]),
            JwksError::InvalidDocument("not an object with a `keys` array"),
        ),
        (
            json!({"keys": "x"}),
            JwksError::InvalidDocument("not an object with a `keys` array"),
        ),
        (json!({"keys": []}), JwksError::NoUsableKeys),
        (
            json!({"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}, {"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}),
            JwksError::NoUsableKeys,
        ),
    ] {
        server.serve(doc);
        assert_eq!(v.refresh().await, Err(want));
    }
    assert_eq!(
        v.verify(&key_a().sign(&claims())).await,
        Err(VerifyError::KeysUnavailable)
    );
}

#[tokio::test]
async fn unusable_entries_are_skipped_and_the_rest_used() {
    let server = JwksServer::start(&[key_a()]).await;
    let mut doc = serde_json::to_value(jwks(&[key_a()])).unwrap();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.insert(
        0,
        json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}),
    );
    keys.insert(0, json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}));
    let mut no_kid = serde_json::to_value(key_b().jwk()).unwrap();
    no_kid.as_object_mut().unwrap().remove("kid");
    keys.push(no_kid);
    server.serve(doc);
    let v = server.verifier();
    assert!(v.verify(&key_a().sign(&claims())).await.is_ok());
    assert_eq!(v.cached_kids(), vec![key_a().kid.to_owned()]);
}

#[tokio::test]
async fn malformed_tokens_never_reach_the_network() {
    let server = JwksServer::start(&[key_a()]).await;
    let v = server.verifier();
    assert_eq!(v.verify("garbage").await, Err(VerifyError::Malformed));
    let no_kid = key_a().sign_with_header(&json!({"alg": "RS256"}), &claims());
    assert_eq!(v.verify(&no_kid).await, Err(VerifyError::MissingKid));
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn issuer_and_leeway_apply_to_remote_keys() {
    let server = JwksServer::start(&[key_a()]).await;
    let strict = server.builder().issuer("other").build().unwrap();
    assert_eq!(strict.verify(&key_a().sign(&claims())).await, Err(VerifyError::Invalid));
    let t = now();
    let just_expired = key_a().sign(&claims_with(json!({"iat": t - 900, "exp": t - 2})));
    assert_eq!(server.verifier().verify(&just_expired).await, Err(VerifyError::Expired));
    let lenient = server.builder().leeway(Duration::from_secs(30)).build().unwrap();
    assert!(lenient.verify(&just_expired).await.is_ok());
}

#[test]
fn bad_urls_are_configuration_errors() {
    assert!(matches!(
        JwksVerifier::builder("not a url").build(),
        Err(JwksError::Config(_))
    ));
    assert!(matches!(
        JwksVerifier::builder("file:///etc/passwd").build(),
        Err(JwksError::Config(_))
    ));
}
