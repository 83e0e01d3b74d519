//! `IntrospectionClient` against a local stand-in for `POST /auth/introspect`.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authfort_verifier::{IntrospectError, Introspection, IntrospectionClient};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::common::now;

#[derive(Clone, Default)]
struct Recorded {
    calls: Arc<AtomicUsize>,
    last_headers: Arc<Mutex<Option<HeaderMap>>>,
    last_body: Arc<Mutex<Option<Value>>>,
    status: Arc<AtomicU16>,
    answer: Arc<Mutex<Value>>,
}

struct StandIn {
    url: String,
    rec: Recorded,
}

fn active_answer(exp: i64) -> Value {
    json!({
        "active": true, "sub": "u-1", "email": "alice@example.com", "name": null,
        "roles": ["admin"], "token_version": 3, "exp": exp, "iat": exp - 900, "iss": "authfort"
    })
}

impl StandIn {
    async fn start() -> StandIn {
        let rec = Recorded::default();
        rec.status.store(200, Ordering::SeqCst);
        *rec.answer.lock().unwrap() = active_answer(now() + 600);
        let app = Router::new()
            .route("/auth/introspect", post(introspect))
            .with_state(rec.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/auth/introspect", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { url, rec }
    }

    fn calls(&self) -> usize {
        self.rec.calls.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Value) {
        *self.rec.answer.lock().unwrap() = answer;
    }

    fn client(&self, ttl: Duration) -> IntrospectionClient {
        IntrospectionClient::builder(&self.url)
            .secret("s3cret")
            .cache_ttl(ttl)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }
}

async fn introspect(State(rec): State<Recorded>, headers: HeaderMap, body: Bytes) -> Response {
    rec.calls.fetch_add(1, Ordering::SeqCst);
    *rec.last_headers.lock().unwrap() = Some(headers);
    *rec.last_body.lock().unwrap() = serde_json::from_slice(&body).ok();
    let status = StatusCode::from_u16(rec.status.load(Ordering::SeqCst)).unwrap();
    let answer = rec.answer.lock().unwrap().to_string();
    (status, [("content-type", "application/json")], answer).into_response()
}

#[tokio::test]
async fn posts_the_token_as_json_with_the_secret_and_parses_the_answer() {
    let s = StandIn::start().await;
    let got = s.client(Duration::ZERO).introspect("tok-1").await.unwrap();
    assert!(got.active);
    assert_eq!(got.sub.as_deref(), Some("u-1"));
    assert_eq!(got.roles, Some(vec!["admin".to_owned()]));
    assert_eq!(got.token_version, Some(3));
    assert_eq!(got.name, None);

    let headers = s.rec.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(headers["authorization"], "Bearer s3cret");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(s.rec.last_body.lock().unwrap().clone(), Some(json!({"token": "tok-1"})));
}

#[tokio::test]
async fn no_secret_means_no_authorization_header() {
    let s = StandIn::start().await;
    let client = IntrospectionClient::builder(&s.url).build().unwrap();
    assert!(client.is_active("tok").await);
    let headers = s.rec.last_headers.lock().unwrap().clone().unwrap();
    assert!(headers.get("authorization").is_none());
}

#[tokio::test]
async fn an_inactive_answer_with_nulls_is_parsed() {
    let s = StandIn::start().await;
    s.answer(
        json!({"active": false, "sub": null, "email": null, "name": null, "roles": null,
                    "token_version": null, "exp": null, "iat": null, "iss": null}),
    );
    let client = s.client(Duration::ZERO);
    assert_eq!(client.introspect("tok").await.unwrap(), Introspection::default());
    assert!(!client.is_active("tok").await);
    s.answer(json!({}));
    assert!(
        !client.introspect("tok").await.unwrap().active,
        "missing `active` means inactive"
    );
}

#[tokio::test]
async fn a_cached_answer_avoids_a_second_request() {
    let s = StandIn::start().await;
    let client = s.client(Duration::from_secs(10));
    assert!(client.is_active("tok-a").await);
    assert!(client.clone().is_active("tok-a").await);
    assert_eq!(s.calls(), 1);
    assert!(client.is_active("tok-b").await);
    assert_eq!(s.calls(), 2, "another token is another entry");
    assert_eq!(client.cached_entries(), 2);
}

#[tokio::test]
async fn without_a_cache_every_check_asks_the_server() {
    let s = StandIn::start().await;
    let client = s.client(Duration::ZERO);
    assert!(client.is_active("tok").await);
    assert!(client.is_active("tok").await);
    assert_eq!(s.calls(), 2);
}

#[tokio::test]
async fn cache_entries_expire_after_the_ttl() {
    let s = StandIn::start().await;
    let client = s.client(Duration::from_millis(100));
    assert!(client.is_active("tok").await);
    s.answer(json!({"active": false}));
    assert!(client.is_active("tok").await, "cached within the TTL");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!client.is_active("tok").await, "revocation seen after the TTL");
    assert_eq!(s.calls(), 2);
}

#[tokio::test]
async fn an_active_answer_is_not_cached_past_the_token_expiry() {
    let s = StandIn::start().await;
    s.answer(active_answer(now() - 1));
    let client = s.client(Duration::from_secs(10));
    client.introspect("tok").await.unwrap();
    client.introspect("tok").await.unwrap();
    assert_eq!(s.calls(), 2);
}

#[tokio::test]
async fn a_non_2xx_answer_is_an_error_and_inactive() {
    let s = StandIn::start().await;
    s.rec.status.store(401, Ordering::SeqCst);
    s.answer(json!({"detail": {"error": "unauthorized", "message": "Invalid introspection secret"}}));
    let client = s.client(Duration::from_secs(10));
    assert_eq!(client.introspect("tok").await, Err(IntrospectError::Status(401)));
    assert!(!client.is_active("tok").await);
    assert_eq!(s.calls(), 2, "failures are not cached");
}

#[tokio::test]
async fn a_malformed_answer_is_an_error() {
    let s = StandIn::start().await;
    let client = s.client(Duration::ZERO);
    for bad in [
        json!([1]),
        json!({"active": "yes"}),
        json!({"active": true, "roles": "admin"}),
    ] {
        s.answer(bad.clone());
        assert!(
            matches!(client.introspect("tok").await, Err(IntrospectError::InvalidResponse(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_and_inactive() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = IntrospectionClient::builder(format!("http://{addr}/auth/introspect"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert!(matches!(
        client.introspect("tok").await,
        Err(IntrospectError::Request(_))
    ));
    assert!(!client.is_active("tok").await);
}
