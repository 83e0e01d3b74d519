//! A local stand-in for Have I Been Pwned's k-anonymity range API (`GET /range/<prefix>`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

struct Shared {
    /// Upper-case hex SHA-1 of each breached password.
    breached: Vec<String>,
    paths: Mutex<Vec<String>>,
    down: AtomicBool,
}

/// The stand-in server. Stops when dropped.
pub struct PwnedRange {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::AbortHandle,
}

impl Drop for PwnedRange {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Upper-case hex SHA-1, as the range API uses.
pub fn sha1_upper(password: &str) -> String {
    hex::encode_upper(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes()).as_ref())
}

async fn range(State(shared): State<Arc<Shared>>, Path(prefix): Path<String>) -> (StatusCode, String) {
    shared
        .paths
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(format!("/range/{prefix}"));
    if shared.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    }
    let prefix = prefix.to_ascii_uppercase();
    let mut body = String::new();
    for hash in shared.breached.iter().filter(|h| h.starts_with(&prefix)) {
        body.push_str(&format!("{}:42\r\n", &hash[5..]));
    }
    // Padding, as with `Add-Padding: true`: a listed suffix with a zero count.
    body.push_str("0000000000000000000000000000000000F:0\r\n");
    (StatusCode::OK, body)
}

impl PwnedRange {
    /// Serves on `127.0.0.1:0`, listing `breached` passwords.
    pub async fn start(breached: &[&str]) -> PwnedRange {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind range stand-in");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            breached: breached.iter().map(|p| sha1_upper(p)).collect(),
            paths: Mutex::default(),
            down: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/range/{prefix}", get(range))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
        .abort_handle();
        PwnedRange { addr, shared, server }
    }

    /// The base URL to configure (`pwned_passwords.base_url`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every path requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.shared.paths.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Answer `503` from now on (`true`) or serve again.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }
}
