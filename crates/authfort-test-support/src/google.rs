//! A stand-in for Google's OAuth 2.0 endpoints, following Google's documented shapes:
//! `GET /o/oauth2/v2/auth` (redirects back with `code` and `state`),
//! `POST /token` (form with `grant_type=authorization_code`; checks the client, the code, the
//! redirect URI and the PKCE verifier; answers `access_token`, `expires_in`, `refresh_token`,
//! `scope`, `token_type`, `id_token`), and `GET /oauth2/v2/userinfo` (bearer token; `id`,
//! `email`, `verified_email`, `name`, `given_name`, `picture`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

/// The client the stand-in accepts.
pub const CLIENT_ID: &str = "google-client.apps.googleusercontent.com";
/// Its secret.
pub const CLIENT_SECRET: &str = "GOCSPX-google-secret";

/// A Google account as the userinfo endpoint shows it.
#[derive(Debug, Clone)]
pub struct GoogleUser {
    /// The numeric account id (a string in Google's answer).
    pub id: String,
    /// Email.
    pub email: String,
    /// `verified_email`.
    pub verified_email: bool,
    /// Display name.
    pub name: Option<String>,
    /// Picture URL.
    pub picture: Option<String>,
}

#[derive(Default)]
struct Inner {
    next: Option<GoogleUser>,
    codes: HashMap<String, (String, String, GoogleUser)>,
    tokens: HashMap<String, GoogleUser>,
    authorize_requests: Vec<HashMap<String, String>>,
    token_requests: Vec<HashMap<String, String>>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct GoogleStandIn {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for GoogleStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleStandIn").field("base", &self.base).finish()
    }
}

impl GoogleStandIn {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> GoogleStandIn {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/o/oauth2/v2/auth", get(authorize))
            .route("/token", post(token))
            .route("/oauth2/v2/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GoogleStandIn {
            base: format!("http://{addr}"),
            inner,
        }
    }

    /// The account the next authorization signs in.
    pub fn login_as(&self, user: GoogleUser) {
        self.inner.lock().unwrap().next = Some(user);
    }

    /// The query strings the authorization endpoint received.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().authorize_requests.clone()
    }

    /// The form bodies the token endpoint received.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn authorize(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.authorize_requests.push(q.clone());
    let Some(user) = inner.next.clone() else {
        return (StatusCode::BAD_REQUEST, "no user to log in").into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let code = format!("4/0A{}", uuid::Uuid::new_v4().simple());
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    inner.codes.insert(code.clone(), (challenge, redirect.clone(), user));
    let query = crate::oidc::url_encode(&[
        ("state", q.get("state").map(String::as_str).unwrap_or("")),
        ("code", &code),
        ("scope", "email profile openid"),
    ]);
    (StatusCode::FOUND, [(header::LOCATION, format!("{redirect}?{query}"))]).into_response()
}

async fn token(State(inner): Shared, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.token_requests.push(f.clone());
    let error = |status: StatusCode, e: &str, d: &str| {
        (status, Json(json!({"error": e, "error_description": d}))).into_response()
    };
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Invalid grant_type");
    }
    let Some((challenge, redirect, user)) = f.get("code").and_then(|c| inner.codes.remove(c)) else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Malformed auth code.");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    }
    let access = format!("ya29.{}", uuid::Uuid::new_v4().simple());
    inner.tokens.insert(access.clone(), user);
    Json(json!({
        "access_token": access,
        "expires_in": 3599,
        "refresh_token": format!("1//0g{}", uuid::Uuid::new_v4().simple()),
        "scope": "https://www.googleapis.com/auth/userinfo.email openid https://www.googleapis.com/auth/userinfo.profile",
        "token_type": "Bearer",
        "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
    }))
    .into_response()
}

async fn userinfo(State(inner): Shared, headers: HeaderMap) -> Response {
    let user = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| inner.lock().unwrap().tokens.get(t).cloned());
    let Some(u) = user else {
        let body = json!({"error": {"code": 401, "message": "Request is missing required authentication credential.", "status": "UNAUTHENTICATED"}});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    Json(json!({
        "id": u.id,
        "email": u.email,
        "verified_email": u.verified_email,
        "name": u.name,
        "given_name": u.name.as_deref().and_then(|n| n.split(' ').next()),
        "picture": u.picture,
    }))
    .into_response()
}
