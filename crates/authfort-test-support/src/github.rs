//! A stand-in for GitHub's OAuth and REST API, following GitHub's documented shapes:
//! `GET /login/oauth/authorize` (redirects back with `code` and `state`),
//! `POST /login/oauth/access_token` (form; JSON answer with `Accept: application/json`,
//! checks the client, the code, the redirect URI and the PKCE verifier),
//! `GET /user` and `GET /user/emails` (bearer token).

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
use serde_json::{json, Value};

/// The client the stand-in accepts.
pub const CLIENT_ID: &str = "gh-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "gh-secret";

/// A GitHub user as the API shows it.
#[derive(Debug, Clone)]
pub struct GitHubUser {
    /// Numeric id.
    pub id: u64,
    /// Login.
    pub login: String,
    /// Display name.
    pub name: Option<String>,
    /// Public profile email.
    pub email: Option<String>,
    /// `/user/emails`: (email, primary, verified).
    pub emails: Vec<(String, bool, bool)>,
    /// Status of `/user/emails` (200 normally).
    pub emails_status: u16,
}

#[derive(Default)]
struct Inner {
    next: Option<GitHubUser>,
    codes: HashMap<String, (String, String, GitHubUser)>,
    tokens: HashMap<String, GitHubUser>,
    token_requests: Vec<HashMap<String, String>>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct GitHubStandIn {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for GitHubStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubStandIn").field("base", &self.base).finish()
    }
}

impl GitHubStandIn {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> GitHubStandIn {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GitHubStandIn {
            base: format!("http://{addr}"),
            inner,
        }
    }

    /// The user the next authorization signs in.
    pub fn login_as(&self, user: GitHubUser) {
        self.inner.lock().unwrap().next = Some(user);
    }

    /// The form bodies the token endpoint received.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn authorize(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(user) = inner.lock().unwrap().next.clone() else {
        return (StatusCode::BAD_REQUEST, "no user to log in").into_response();
    };
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return (StatusCode::BAD_REQUEST, "bad client or PKCE").into_response();
    }
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    inner
        .lock()
        .unwrap()
        .codes
        .insert(code.clone(), (challenge, redirect.clone(), user));
    let state = crate::oidc::url_encode(&[
        ("code", &code),
        ("state", q.get("state").map(String::as_str).unwrap_or("")),
    ]);
    (StatusCode::FOUND, [(header::LOCATION, format!("{redirect}?{state}"))]).into_response()
}

async fn access_token(State(inner): Shared, headers: HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.token_requests.push(f.clone());
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    // GitHub answers errors with 200 and an error document.
    let error = |e: &str| {
        Json(json!({"error": e, "error_description": "The code passed is incorrect or expired."})).into_response()
    };
    if !wants_json {
        return (StatusCode::OK, "access_token=x&token_type=bearer").into_response();
    }
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || f.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return error("incorrect_client_credentials");
    }
    let Some((challenge, redirect, user)) = f.get("code").and_then(|c| inner.codes.remove(c)) else {
        return error("bad_verification_code");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    if computed != challenge || f.get("redirect_uri") != Some(&redirect) {
        return error("bad_verification_code");
    }
    let token = format!("gho_{}", uuid::Uuid::new_v4().simple());
    inner.tokens.insert(token.clone(), user);
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})).into_response()
}

fn authed(inner: &Arc<Mutex<Inner>>, headers: &HeaderMap) -> Option<GitHubUser> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .to_owned();
    inner.lock().unwrap().tokens.get(&token).cloned()
}

async fn user(State(inner): Shared, headers: HeaderMap) -> Response {
    let Some(u) = authed(&inner, &headers) else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"}))).into_response();
    };
    Json(json!({
        "login": u.login, "id": u.id, "avatar_url": format!("https://avatars.example/u/{}", u.id),
        "type": "User", "name": u.name, "email": u.email,
    }))
    .into_response()
}

async fn emails(State(inner): Shared, headers: HeaderMap) -> Response {
    let Some(u) = authed(&inner, &headers) else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "Bad credentials"}))).into_response();
    };
    if u.emails_status != 200 {
        return (
            StatusCode::from_u16(u.emails_status).unwrap_or(StatusCode::FORBIDDEN),
            Json(json!({"message": "no"})),
        )
            .into_response();
    }
    let list: Vec<Value> = u
        .emails
        .iter()
        .map(|(e, p, v)| json!({"email": e, "primary": p, "verified": v, "visibility": null}))
        .collect();
    Json(Value::Array(list)).into_response()
}
