//! The axum integration through `tower::ServiceExt::oneshot` (no sockets).

use authfort_verifier::axum::{
    require_any_role, AuthRejection, RequireAuthLayer, RequireRole, RoleSet, ServiceAuth, VerifiedUser,
};
use authfort_verifier::{TokenVerifier, VerifyError, VerifyFuture};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::common::*;

struct Staff;
impl RoleSet for Staff {
    const ROLES: &'static [&'static str] = &["admin", "support"];
}

async fn me(VerifiedUser(claims): VerifiedUser) -> String {
    claims.email
}

async fn maybe(user: Option<VerifiedUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.email.clone())
}

async fn staff(RequireRole(claims, ..): RequireRole<Staff>) -> String {
    format!("staff {}", claims.email)
}

async fn editor_only(user: VerifiedUser) -> Result<&'static str, AuthRejection> {
    require_any_role(&user, &["editor"])?;
    Ok("editing")
}

async fn owner_only(user: VerifiedUser) -> Result<&'static str, AuthRejection> {
    user.require_any_role(&["owner", "admin"])?;
    Ok("owning")
}

/// Routes that verify by themselves, with `ServiceAuth` as an extension.
fn app(auth: ServiceAuth) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .route("/staff", get(staff))
        .route("/editor", get(editor_only))
        .route("/owner", get(owner_only))
        .layer(Extension(auth))
}

/// Routes behind the layer.
fn guarded(auth: ServiceAuth) -> Router {
    Router::new()
        .route("/me", get(me))
        .route_layer(RequireAuthLayer::new(auth.clone()))
        .merge(
            Router::new()
                .route("/admin", get(me))
                .route_layer(RequireAuthLayer::new(auth).require_any_role(["admin", "ops"])),
        )
        .route("/public", get(|| async { "open" }))
}

fn bearer_auth() -> ServiceAuth {
    ServiceAuth::new(verifier())
}

fn cookie_auth() -> ServiceAuth {
    ServiceAuth::new(verifier()).with_cookie()
}

fn get_req(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::empty()).unwrap()
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body))
    }

    fn assert_envelope(&self, status: StatusCode, code: &str, message: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json(), json!({"detail": {"error": code, "message": message}}));
        assert_eq!(self.headers[header::CONTENT_TYPE], "application/json");
    }
}

async fn send(router: Router, req: Request<Body>) -> Answer {
    let response = router.oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn token_with_roles(roles: Value) -> String {
    key_a().sign(&claims_with(json!({ "roles": roles })))
}

#[tokio::test]
async fn a_bearer_token_is_accepted() {
    let token = key_a().sign(&claims());
    let a = send(
        app(bearer_auth()),
        get_req("/me", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "alice@example.com"));
}

#[tokio::test]
async fn no_token_is_401_token_missing_with_www_authenticate() {
    let a = send(app(bearer_auth()), get_req("/me", &[])).await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_missing", "No access token provided");
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn refused_tokens_answer_401_with_the_verifier_code_and_message() {
    let t = now();
    let expired = key_a().sign(&claims_with(json!({"iat": t - 1000, "exp": t - 100})));
    let a = send(
        app(bearer_auth()),
        get_req("/me", &[("authorization", &bearer(&expired))]),
    )
    .await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_expired", "Access token has expired");

    let foreign = key_a().sign(&claims_with(json!({"iss": "evil"})));
    let a = send(
        app(bearer_auth()),
        get_req("/me", &[("authorization", &bearer(&foreign))]),
    )
    .await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_invalid", "Invalid access token");

    let a = send(app(bearer_auth()), get_req("/me", &[("authorization", "Bearer ")])).await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_invalid", "Malformed token");

    let unknown = key_b().sign(&claims());
    let a = send(
        app(bearer_auth()),
        get_req("/me", &[("authorization", &bearer(&unknown))]),
    )
    .await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_invalid", "Unknown signing key");
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
}

#[tokio::test]
async fn the_cookie_is_read_when_configured() {
    let token = key_a().sign(&claims());
    let cookie = format!("theme=dark; access_token={token}; refresh_token=xyz");
    let a = send(app(cookie_auth()), get_req("/me", &[("cookie", &cookie)])).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "alice@example.com"));

    let custom = ServiceAuth::new(verifier()).with_cookie_name("at");
    let a = send(app(custom), get_req("/me", &[("cookie", &format!("at={token}"))])).await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn the_cookie_is_ignored_when_not_configured() {
    let token = key_a().sign(&claims());
    let cookie = format!("access_token={token}");
    let a = send(app(bearer_auth()), get_req("/me", &[("cookie", &cookie)])).await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_missing", "No access token provided");
}

#[tokio::test]
async fn a_bearer_header_wins_over_the_cookie_and_is_not_retried_with_it() {
    let good = key_a().sign(&claims());
    let cookie = format!("access_token={good}");
    let a = send(
        app(cookie_auth()),
        get_req("/me", &[("authorization", "Bearer junk"), ("cookie", &cookie)]),
    )
    .await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_invalid", "Malformed token");

    let other = key_a().sign(&claims_with(json!({"email": "bob@example.com"})));
    let a = send(
        app(cookie_auth()),
        get_req("/me", &[("authorization", &bearer(&other)), ("cookie", &cookie)]),
    )
    .await;
    assert_eq!(a.body, "bob@example.com");
}

#[tokio::test]
async fn only_the_exact_bearer_prefix_counts() {
    let token = key_a().sign(&claims());
    for value in [
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Basic {token}"),
    ] {
        let a = send(app(bearer_auth()), get_req("/me", &[("authorization", &value)])).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{value}");
    }
    // A non-bearer Authorization header falls through to the cookie.
    let cookie = format!("access_token={token}");
    let a = send(
        app(cookie_auth()),
        get_req("/me", &[("authorization", "Basic abc"), ("cookie", &cookie)]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn optional_authentication() {
    let a = send(app(bearer_auth()), get_req("/maybe", &[])).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "anonymous"));
    let token = key_a().sign(&claims());
    let a = send(
        app(bearer_auth()),
        get_req("/maybe", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!(a.body, "alice@example.com");
    let a = send(
        app(bearer_auth()),
        get_req("/maybe", &[("authorization", "Bearer junk")]),
    )
    .await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_invalid", "Malformed token");
}

#[tokio::test]
async fn role_guards_are_any_of_and_answer_403() {
    let editor = token_with_roles(json!(["editor"]));
    let a = send(
        app(bearer_auth()),
        get_req("/staff", &[("authorization", &bearer(&editor))]),
    )
    .await;
    a.assert_envelope(
        StatusCode::FORBIDDEN,
        "insufficient_role",
        "Requires one of: admin, support",
    );
    assert!(a.headers.get(header::WWW_AUTHENTICATE).is_none());

    let support = token_with_roles(json!(["viewer", "support"]));
    let a = send(
        app(bearer_auth()),
        get_req("/staff", &[("authorization", &bearer(&support))]),
    )
    .await;
    assert_eq!(a.body, "staff alice@example.com");

    let a = send(
        app(bearer_auth()),
        get_req("/editor", &[("authorization", &bearer(&editor))]),
    )
    .await;
    assert_eq!(a.body, "editing");
    let a = send(
        app(bearer_auth()),
        get_req("/owner", &[("authorization", &bearer(&editor))]),
    )
    .await;
    a.assert_envelope(
        StatusCode::FORBIDDEN,
        "insufficient_role",
        "Requires one of: owner, admin",
    );

    let a = send(app(bearer_auth()), get_req("/staff", &[])).await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_missing", "No access token provided");
}

#[tokio::test]
async fn the_layer_refuses_unauthenticated_requests_and_hands_claims_to_handlers() {
    let a = send(guarded(cookie_auth()), get_req("/me", &[])).await;
    a.assert_envelope(StatusCode::UNAUTHORIZED, "token_missing", "No access token provided");

    let token = key_a().sign(&claims());
    let a = send(
        guarded(cookie_auth()),
        get_req("/me", &[("cookie", &format!("access_token={token}"))]),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "alice@example.com"));

    let a = send(guarded(cookie_auth()), get_req("/public", &[])).await;
    assert_eq!(a.body, "open");
    let a = send(guarded(cookie_auth()), get_req("/nowhere", &[])).await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "route_layer leaves unknown paths alone"
    );
}

#[tokio::test]
async fn the_layer_checks_roles() {
    let editor = token_with_roles(json!(["editor"]));
    let a = send(
        guarded(bearer_auth()),
        get_req("/admin", &[("authorization", &bearer(&editor))]),
    )
    .await;
    a.assert_envelope(
        StatusCode::FORBIDDEN,
        "insufficient_role",
        "Requires one of: admin, ops",
    );
    let ops = token_with_roles(json!(["ops"]));
    let a = send(
        guarded(bearer_auth()),
        get_req("/admin", &[("authorization", &bearer(&ops))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

#[tokio::test]
async fn the_layer_verifies_once_for_the_handlers_extractors() {
    // The layer's verifier accepts the token; the handler has no ServiceAuth extension, so
    // it can only succeed by reading the claims the layer stored.
    let token = key_a().sign(&claims());
    let router = Router::new()
        .route("/staff", get(staff))
        .route_layer(RequireAuthLayer::new(bearer_auth()));
    let support = token_with_roles(json!(["support"]));
    let a = send(
        router.clone(),
        get_req("/staff", &[("authorization", &bearer(&support))]),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(router, get_req("/staff", &[("authorization", &bearer(&token))])).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn extractors_without_any_auth_configured_answer_500() {
    let router = Router::new().route("/me", get(me));
    let token = key_a().sign(&claims());
    let a = send(router, get_req("/me", &[("authorization", &bearer(&token))])).await;
    a.assert_envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal server error",
    );
}

struct NoKeys;

impl TokenVerifier for NoKeys {
    fn verify_token<'a>(&'a self, _token: &'a str) -> VerifyFuture<'a> {
        Box::pin(async { Err(VerifyError::KeysUnavailable) })
    }
}

#[tokio::test]
async fn keys_unavailable_answers_503_with_retry_after() {
    let a = send(
        app(ServiceAuth::new(NoKeys)),
        get_req("/me", &[("authorization", "Bearer x")]),
    )
    .await;
    a.assert_envelope(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "Service temporarily unavailable, please retry",
    );
    assert_eq!(a.headers[header::RETRY_AFTER], "30");
    let a = send(
        guarded(ServiceAuth::new(NoKeys)),
        get_req("/me", &[("authorization", "Bearer x")]),
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[cfg(feature = "jwks")]
#[tokio::test]
async fn a_remote_verifier_plugs_into_the_same_integration() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let document = serde_json::to_string(&jwks(&[key_a()])).unwrap();
    let jwks_app = Router::new().route("/jwks", get(move || async move { document }));
    tokio::spawn(async move { axum::serve(listener, jwks_app).await.unwrap() });
    let remote = authfort_verifier::JwksVerifier::builder(format!("http://{addr}/jwks"))
        .build()
        .unwrap();
    let token = key_a().sign(&claims());
    let a = send(
        guarded(ServiceAuth::new(remote)),
        get_req("/me", &[("authorization", &bearer(&token))]),
    )
    .await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "alice@example.com"));
}
