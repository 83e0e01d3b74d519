//! A real OpenID Connect provider on loopback: `panva/oidc-provider` (from the npm registry,
//! pinned in `oidc/package-lock.json`) run by Node. Started once per test process and shared
//! (tests use distinct subjects); it exits when the test process does.
//!
//! Node is required: when it is missing the test fails, never skips. `npm ci` runs first when
//! `oidc/node_modules` is missing.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The client registered at the provider.
pub const CLIENT_ID: &str = "authfort-test";
/// Its secret.
pub const CLIENT_SECRET: &str = "authfort-test-secret-0123456789";
/// The base URL tests give the app under test as `public_url`.
pub const APP_URL: &str = "http://auth.test";
/// Provider names whose callback is registered: `{APP_URL}/auth/oauth/{name}/callback`.
pub const PROVIDER_NAMES: &[&str] = &["acme", "other"];

/// The running provider.
pub struct OidcProvider {
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
    _child: Mutex<Child>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider").field("issuer", &self.issuer).finish()
    }
}

impl OidcProvider {
    /// The provider's discovery URL.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// The shared provider, started on first use with callbacks registered for
/// [`PROVIDER_NAMES`] under [`APP_URL`] and `extra_redirect_uris`.
///
/// # Panics
/// When Node or npm is missing or the provider does not start: these tests never skip.
pub fn provider() -> &'static OidcProvider {
    static PROVIDER: OnceLock<OidcProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| start(&[]))
}

/// Starts a dedicated provider (for a server started on a port the shared one does not know).
///
/// # Panics
/// As [`provider`].
pub fn start(extra_redirect_uris: &[String]) -> OidcProvider {
    let dir = dir();
    if !dir.join("node_modules/oidc-provider").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("npm is required for the OAuth tests (npm ci in {}): {e}", dir.display()));
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    let mut redirects: Vec<String> = PROVIDER_NAMES
        .iter()
        .map(|n| format!("{APP_URL}/auth/oauth/{n}/callback"))
        .collect();
    redirects.extend(extra_redirect_uris.iter().cloned());
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URIS", redirects.join(","))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("Node.js is required for the OAuth tests (node provider.mjs): {e}"));
    let stdout = child.stdout.take().expect("provider stdout");
    let mut line = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut line).expect("read provider output");
    // Keep draining stdout so the provider never writes into a closed pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    });
    let issuer = line
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("the OIDC provider did not start (said {line:?})"))
        .trim()
        .to_owned();
    OidcProvider {
        issuer,
        _child: Mutex::new(child),
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let child = self._child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// An account to log in at the provider.
#[derive(Debug, Clone)]
pub struct Account {
    /// Subject.
    pub sub: String,
    /// Email (none: the provider has no email for it).
    pub email: Option<String>,
    /// Whether the provider says the email is verified.
    pub email_verified: bool,
    /// Name.
    pub name: Option<String>,
}

impl Account {
    /// A fresh subject with this email.
    pub fn new(email: &str, verified: bool) -> Account {
        Account {
            sub: format!("sub-{}", uuid::Uuid::new_v4().simple()),
            email: Some(email.to_owned()),
            email_verified: verified,
            name: Some("Provider Name".into()),
        }
    }

    /// The query string of the test provider's login endpoint.
    pub fn login_query(&self) -> String {
        let mut q = url_encode(&[("sub", self.sub.as_str())]);
        if let Some(e) = &self.email {
            q.push('&');
            q.push_str(&url_encode(&[("email", e.as_str())]));
        }
        if let Some(n) = &self.name {
            q.push('&');
            q.push_str(&url_encode(&[("name", n.as_str())]));
        }
        q.push_str(if self.email_verified {
            "&email_verified=true"
        } else {
            "&email_verified=false"
        });
        q
    }
}

/// `k=v&…` with RFC 3986 percent-encoding.
pub fn url_encode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
