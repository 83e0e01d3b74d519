use std::net::SocketAddr;
use std::sync::Arc;

use authfort_core::clock::ManualClock;
use authfort_core::rate_limit::RateLimitStore;
use authfort_core::{AuthConfig, AuthFort};
use authfort_test_support::{test_config, Backend, CachedKeys, TestDb};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The TCP peer of requests that do not choose one.
pub const DEFAULT_PEER: &str = "203.0.113.7:5555";

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
        Self::build(backend, tweak, None).await
    }

    /// An app counting rate-limit hits in `store` (e.g. Redis with a per-test prefix).
    pub async fn with_rate_limit_store(
        backend: Backend,
        tweak: impl FnOnce(&mut AuthConfig),
        store: Arc<dyn RateLimitStore>,
    ) -> TestApp {
        Self::build(backend, tweak, Some(store)).await
    }

    async fn build(
        backend: Backend,
        tweak: impl FnOnce(&mut AuthConfig),
        rate_limit_store: Option<Arc<dyn RateLimitStore>>,
    ) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut config = test_config();
        tweak(&mut config);
        let clock = Arc::new(ManualClock::starting_now());
        let mut builder = AuthFort::builder_with_store(db.store.clone())
            .config(config)
            .clock(clock.clone())
            .key_generator(Arc::new(CachedKeys::default()));
        if let Some(store) = rate_limit_store {
            builder = builder.rate_limit_store(store);
        }
        let auth = builder.build().await.expect("build auth");
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

    /// Sends `req` from its `ConnectInfo` peer, or from [`DEFAULT_PEER`] when it has none.
    pub async fn send(&self, mut req: Request<Body>) -> TestResponse {
        if req.extensions().get::<ConnectInfo<SocketAddr>>().is_none() {
            req.extensions_mut()
                .insert(ConnectInfo(DEFAULT_PEER.parse::<SocketAddr>().unwrap()));
        }
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

    /// POSTs JSON from the TCP peer `peer` (an IP; the port is made up).
    pub async fn post_from(&self, peer: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> TestResponse {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let ip: std::net::IpAddr = peer.parse().expect("peer IP");
        let req = req
            .extension(ConnectInfo(SocketAddr::new(ip, 40_000)))
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
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

/// Everything a thread-local tracing subscriber wrote (ANSI off, all levels).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the current thread's logs until the guard drops. Use on a current-thread
/// runtime so every task logs on this thread.
pub fn capture_logs() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
