//! A separate axum "service" trusts a running `authfort serve` through its JWKS over HTTP,
//! using `authfort-verifier` (remote JWKS cache, layer, extractor, role guard): tokens
//! keep working across a key rotation with tokens in flight, and forged tokens are refused.

use std::sync::Arc;

use authfort_core::store::connect;
use authfort_test_support::{skip_postgres, Backend, TempDir, TestDb};
use authfort_verifier::axum::{RequireAuthLayer, ServiceAuth, VerifiedUser};
use authfort_verifier::JwksVerifier;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{token, TestServer};

const ADMIN_KEY: &str = "an-admin-key-that-is-long-enough-000";
const PASSWORD: &str = "correct horse battery";

/// The microservice under test: `/profile` for any user, `/reports` for admins.
struct Service {
    base_url: String,
    client: reqwest::Client,
    verifier: Arc<JwksVerifier>,
    _task: tokio::task::JoinHandle<()>,
}

impl Service {
    async fn start(jwks_url: String) -> Service {
        let verifier = Arc::new(JwksVerifier::builder(jwks_url).build().expect("verifier"));
        let auth = ServiceAuth::from_arc(verifier.clone()).with_cookie();
        async fn profile(VerifiedUser(claims): VerifiedUser) -> Json<Value> {
            Json(json!({"sub": claims.sub, "email": claims.email, "roles": claims.roles}))
        }
        let app = Router::new()
            .route("/profile", get(profile))
            .route_layer(RequireAuthLayer::new(auth.clone()))
            .merge(
                Router::new()
                    .route("/reports", get(|| async { "reports" }))
                    .route_layer(RequireAuthLayer::new(auth).require_any_role(["admin"])),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("service");
        });
        Service {
            base_url,
            client: reqwest::Client::new(),
            verifier,
            _task: task,
        }
    }

    /// `(status, JSON body or the text as a string)` of `GET path` with a bearer token.
    async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base_url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        answer(request.send().await.expect("request")).await
    }

    async fn get_with_cookie(&self, path: &str, access_token: &str) -> (u16, Value) {
        let request = self
            .client
            .get(format!("{}{path}", self.base_url))
            .header("cookie", format!("access_token={access_token}"));
        answer(request.send().await.expect("request")).await
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn error_code(body: &Value) -> &str {
    body["detail"]["error"].as_str().unwrap_or("<none>")
}

fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn login(server: &TestServer, email: &str) -> Value {
    let response = server
        .post("/auth/login", json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(response.status(), 200, "login");
    response.json().await.unwrap()
}

async fn admin_post(server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    server
        .client
        .post(server.url(path))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .expect("admin request")
}

/// Tokens a forger could build, signed with the server's real current key where that
/// makes the attack stronger.
struct Forged {
    expired: String,
    wrong_issuer: String,
    alg_none: String,
    hs256_with_public_key: String,
    unknown_kid: String,
    tampered: String,
}

async fn forge(database_url: &str, genuine: &str) -> Forged {
    let store = connect(database_url).await.expect("open the server's database");
    let keys = store.signing_keys().await.expect("keys");
    let current = keys.iter().find(|k| k.is_current).expect("current key");
    let real = EncodingKey::from_rsa_pem(current.private_key_pem.as_bytes()).expect("private key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let header = |alg| {
        let mut h = Header::new(alg);
        h.kid = Some(current.kid.clone());
        h
    };

    let mut expired = claims.clone();
    expired["iat"] = json!(now - 2_000);
    expired["exp"] = json!(now - 1_100);
    let mut wrong_issuer = claims.clone();
    wrong_issuer["iss"] = json!("someone-else");
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": current.kid, "typ": "JWT"}).to_string());
    let hs256 = jsonwebtoken::encode(
        &header(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(current.public_key_pem.as_bytes()),
    )
    .unwrap();
    // Another key entirely (one of the other stored keys would still be ours), under a kid
    // the server never published.
    let stranger = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let stranger_pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&stranger, rsa::pkcs8::LineEnding::LF).unwrap();
    let mut unknown_header = Header::new(Algorithm::RS256);
    unknown_header.kid = Some("key-2026-11-deadbeef".into());
    let unknown_kid = jsonwebtoken::encode(
        &unknown_header,
        &claims,
        &EncodingKey::from_rsa_pem(stranger_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    claims["roles"] = json!(["admin"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    Forged {
        expired: jsonwebtoken::encode(&header(Algorithm::RS256), &expired, &real).unwrap(),
        wrong_issuer: jsonwebtoken::encode(&header(Algorithm::RS256), &wrong_issuer, &real).unwrap(),
        alg_none: format!("{none_header}.{}.", parts[1]),
        hs256_with_public_key: hs256,
        unknown_kid,
        tampered,
    }
}

async fn a_service_trusts_the_server_through_jwks_across_a_rotation(backend: Backend) {
    // Arrange: the auth server, and the service pointed at its JWKS.
    let dir = TempDir::new();
    let pg = match backend {
        Backend::Postgres => Some(TestDb::new(Backend::Postgres).await),
        Backend::Sqlite => None,
    };
    let database_url = match &pg {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.0.join("auth.db").display()),
    };
    let env = [
        ("AUTHFORT_DATABASE_URL", database_url.as_str()),
        ("AUTHFORT_ADMIN__API_KEY", ADMIN_KEY),
        ("AUTHFORT_SECRET_KEY", authfort_test_support::TEST_SECRET_KEY),
    ];
    let server = TestServer::start(&dir.0, &env).await;
    let service = Service::start(server.url("/.well-known/jwks.json")).await;
    let signup = server
        .post(
            "/auth/signup",
            json!({"email": "ops@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(signup.status(), 201);
    let signup: Value = signup.json().await.unwrap();
    let in_flight = token(&signup, "access_token");
    let user_id = signup["user"]["id"].as_str().unwrap().to_owned();

    // Act + assert: a genuine token passes; no token, a forged one, a missing role do not.
    let (status, body) = service.get("/profile", Some(&in_flight)).await;
    assert_eq!((status, &body["email"]), (200, &json!("ops@example.com")), "{body}");
    assert_eq!(body["sub"], user_id.as_str());
    let (status, body) = service.get("/profile", None).await;
    assert_eq!((status, error_code(&body)), (401, "token_missing"), "{body}");
    let (status, body) = service.get("/reports", Some(&in_flight)).await;
    assert_eq!((status, error_code(&body)), (403, "insufficient_role"), "{body}");
    assert_eq!(body["detail"]["message"], "Requires one of: admin");

    let forged = forge(&database_url, &in_flight).await;
    let (status, body) = service.get("/profile", Some(&forged.expired)).await;
    assert_eq!((status, error_code(&body)), (401, "token_expired"), "expired: {body}");
    for (what, jwt) in [
        ("wrong issuer", &forged.wrong_issuer),
        ("alg none", &forged.alg_none),
        ("HS256 keyed with the public key", &forged.hs256_with_public_key),
        ("unknown kid", &forged.unknown_kid),
        ("tampered payload", &forged.tampered),
        ("garbage", &"not-a-jwt".to_owned()),
    ] {
        let (status, body) = service.get("/reports", Some(jwt)).await;
        assert_eq!((status, error_code(&body)), (401, "token_invalid"), "{what}: {body}");
    }

    // The next key is already in the service's cache before the rotation.
    let kids_before = service.verifier.cached_kids();
    assert_eq!(kids_before.len(), 2, "current and next: {kids_before:?}");
    let rotated = admin_post(&server, "/admin/keys/rotate", json!({})).await;
    assert_eq!(rotated.status(), 200);
    let new_kid = rotated.json::<Value>().await.unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        kids_before.contains(&new_kid),
        "{new_kid} was published ahead: {kids_before:?}"
    );

    // Roles come with a new token; the one in flight (old key) keeps working.
    let added = admin_post(
        &server,
        &format!("/admin/users/{user_id}/roles"),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(added.status(), 204);
    let fresh = token(&login(&server, "ops@example.com").await, "access_token");
    assert_eq!(kid_of(&fresh), new_kid);
    assert_ne!(kid_of(&in_flight), new_kid);
    let (status, body) = service.get("/reports", Some(&fresh)).await;
    assert_eq!((status, &body), (200, &json!("reports")));
    let (status, body) = service.get("/profile", Some(&in_flight)).await;
    assert_eq!(status, 200, "a token signed before the rotation still verifies: {body}");
    let (status, body) = service.get_with_cookie("/profile", &fresh).await;
    assert_eq!((status, &body["roles"]), (200, &json!(["admin"])), "cookie: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_trusts_the_server_through_jwks_across_a_rotation_on_sqlite() {
    a_service_trusts_the_server_through_jwks_across_a_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_trusts_the_server_through_jwks_across_a_rotation_on_postgres() {
    if skip_postgres() {
        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
        return;
    }
    a_service_trusts_the_server_through_jwks_across_a_rotation(Backend::Postgres).await;
}
