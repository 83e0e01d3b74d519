use std::net::SocketAddr;
use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::{AuthConfig, AuthFort};
use authfort_test_support::{test_config, Backend, CachedKeys, TestDb};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct TestApp {
    pub auth: AuthFort,
    pub app: Router,
    pub clock: Arc<ManualClock>,
    _db: TestDb,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn error_code(&self) -> &str {
        self.body["detail"]["error"].as_str().unwrap_or("<none>")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.error_code(), code, "body: {}", self.text);
        assert!(self.body["detail"]["message"].is_string(), "body: {}", self.text);
    }
}

impl TestApp {
    pub async fn new(backend: Backend) -> TestApp {
        Self::with_config(backend, |_| {}).await
    }

    pub async fn with_config(backend: Backend, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut config = test_config();
        tweak(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let auth = AuthFort::builder_with_store(db.store.clone())
            .config(config)
            .clock(clock.clone())
            .key_generator(Arc::new(CachedKeys::default()))
            .build()
            .await
            .expect("build auth");
        TestApp {
            app: authfort_axum::app(auth.clone()),
            auth,
            clock,
            _db: db,
        }
    }

    /// A URL another connection can open to reach this app's database.
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        req.extensions_mut()
            .insert(ConnectInfo("203.0.113.7:5555".parse::<SocketAddr>().unwrap()));
        let response = self.app.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.post_with(path, body, &[]).await
    }

    pub async fn post_with(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_string())).unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: impl Into<Body>) -> TestResponse {
        let mut req = Request::builder().method(Method::POST).uri(path);
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut req = Request::builder().method(Method::GET).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn me(&self, access_token: &str) -> TestResponse {
        self.get("/auth/me", &[("authorization", &format!("Bearer {access_token}"))])
            .await
    }

    /// Signs up and returns the AuthResponse body.
    pub async fn signup(&self, email: &str) -> Value {
        let r = self
            .post(
                "/auth/signup",
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }
}

pub fn tokens(body: &Value) -> (String, String) {
    (
        body["tokens"]["access_token"].as_str().unwrap().to_owned(),
        body["tokens"]["refresh_token"].as_str().unwrap().to_owned(),
    )
}
