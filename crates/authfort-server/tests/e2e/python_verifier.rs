//! Compatibility with AuthFort's own microservice verifier: `authfort-service` 0.0.31 from
//! PyPI, installed into a virtualenv this test creates, verifies our access tokens through
//! our JWKS (across a key rotation) and reads our introspection answers.
//!
//! Needs `python3` with `venv` and access to PyPI; without them the test fails (it never
//! skips). The virtualenv is kept under Cargo's test temp dir and reused by later runs.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use authfort_test_support::{skip_postgres, Backend, TempDir, TestDb};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{token, TestServer};

const AUTHFORT_SERVICE: &str = "authfort-service==0.0.31";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/e2e/python/authfort_service_check.py"
);
const ADMIN_KEY: &str = "an-admin-key-that-is-long-enough-000";
const INTROSPECT_SECRET: &str = "an-introspection-secret-for-services";

/// Serialises creation of the virtualenv between the tests of this binary.
static VENV: Mutex<()> = Mutex::new(());

/// The virtualenv's python, creating the virtualenv and installing `authfort-service` once.
fn authfort_service_python() -> PathBuf {
    let _guard = VENV.lock().unwrap_or_else(|p| p.into_inner());
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("authfort-service-0.0.31-venv");
    let python = venv.join("bin/python");
    let ready = |python: &PathBuf| {
        Command::new(python)
            .args([
                "-c",
                "import authfort_service; assert authfort_service.__version__ == '0.0.31'",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            AUTHFORT_SERVICE,
        ]),
        "pip install authfort-service",
    );
    assert!(ready(&python), "authfort-service did not import after installation");
    python
}

/// Runs the Python check with `spec` and returns what it printed.
fn run_authfort_service(spec: &Value) -> Value {
    let python = authfort_service_python();
    let dir = TempDir::new();
    let input = dir.0.join("spec.json");
    std::fs::write(&input, spec.to_string()).expect("write spec");
    let out = Command::new(python)
        .arg(SCRIPT)
        .arg(&input)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "authfort-service check failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON from the check ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn header_of(jwt: &str) -> Value {
    let part = jwt.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64")).expect("header JSON")
}

/// The same token with `email` changed in the payload and the signature kept.
fn tampered(jwt: &str) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["email"] = json!("mallory@example.com");
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// The same claims under `{"alg":"none"}` with an empty signature.
fn unsigned(jwt: &str) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header = header_of(jwt);
    header["alg"] = json!("none");
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
    format!("{header}.{}.", parts[1])
}

async fn authfort_service_accepts_our_tokens_across_a_rotation(backend: Backend) {
    // Arrange: a server with introspection and the admin API on.
    let dir = TempDir::new();
    let db = match backend {
        Backend::Postgres => Some(TestDb::new(Backend::Postgres).await),
        Backend::Sqlite => None,
    };
    let mut env = vec![
        ("AUTHFORT_INTROSPECT_SECRET", INTROSPECT_SECRET),
        ("AUTHFORT_ADMIN__API_KEY", ADMIN_KEY),
        ("AUTHFORT_SECRET_KEY", authfort_test_support::TEST_SECRET_KEY),
    ];
    if let Some(db) = &db {
        env.push(("AUTHFORT_DATABASE_URL", db.url.as_str()));
    }
    let server = TestServer::start(&dir.0, &env).await;
    let signup = server
        .post(
            "/auth/signup",
            json!({"email": "ada@example.com", "password": "correct horse battery", "name": "Ada"}),
        )
        .await;
    assert_eq!(signup.status(), 201);
    let signup: Value = signup.json().await.unwrap();
    let first = token(&signup, "access_token");
    let first_kid = header_of(&first)["kid"].as_str().unwrap().to_owned();

    // A second session, logged out again: JWKS verification still accepts its access token
    // (stateless), introspection does not.
    let login = server
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
        )
        .await;
    let login: Value = login.json().await.unwrap();
    let logged_out = token(&login, "access_token");
    let logout = server
        .post("/auth/logout", json!({"refresh_token": token(&login, "refresh_token")}))
        .await;
    assert_eq!(logout.status(), 204);

    // Rotate: the next key, already published, starts signing.
    let rotated = server
        .client
        .post(server.url("/admin/keys/rotate"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200, "{}", rotated.text().await.unwrap());
    let login = server
        .post(
            "/auth/login",
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
        )
        .await;
    let after_rotation = token(&login.json::<Value>().await.unwrap(), "access_token");
    let second_kid = header_of(&after_rotation)["kid"].as_str().unwrap().to_owned();
    assert_ne!(first_kid, second_kid);

    // Act
    let seen = run_authfort_service(&json!({
        "jwks_url": server.url("/.well-known/jwks.json"),
        "introspect_url": server.url("/auth/introspect"),
        "introspect_secret": INTROSPECT_SECRET,
        "tokens": {
            "first": first,
            "after_rotation": after_rotation,
            "logged_out": logged_out,
            "tampered": tampered(&first),
            "alg_none": unsigned(&first),
            "garbage": "not-a-jwt",
        },
        "introspect": ["first", "after_rotation", "logged_out", "garbage"],
    }));

    // Assert: the claims as authfort-service reads them.
    let user_id = signup["user"]["id"].as_str().unwrap();
    for label in ["first", "after_rotation", "logged_out"] {
        let result = &seen["verify"][label];
        assert_eq!(result["ok"], true, "{label}: {result}");
        let payload = &result["payload"];
        assert_eq!(payload["sub"], user_id, "{label}");
        assert_eq!(payload["email"], "ada@example.com");
        assert_eq!(payload["name"], "Ada");
        assert_eq!(payload["roles"], json!([]));
        assert_eq!(payload["token_version"], 0);
        assert_eq!(payload["iss"], "authfort");
        assert_eq!(payload["mfa_enabled"], false);
        assert!(payload["exp"].as_i64().unwrap() > payload["iat"].as_i64().unwrap());
    }
    for label in ["tampered", "alg_none", "garbage"] {
        let result = &seen["verify"][label];
        assert_eq!(result["ok"], false, "{label}: {result}");
        assert_eq!(result["code"], "token_invalid", "{label}: {result}");
    }
    // One JWKS fetch served both keys: the rotated-in key was published before it signed,
    // so a verifier that may refetch only every 30 s never misses it.
    assert_eq!(seen["jwks_fetches"], 1, "{seen}");

    let active = &seen["introspect"]["after_rotation"];
    assert_eq!(active["active"], true, "{seen}");
    assert_eq!(active["sub"], user_id);
    assert_eq!(active["email"], "ada@example.com");
    assert_eq!(active["name"], "Ada");
    assert_eq!(active["roles"], json!([]));
    assert_eq!(active["token_version"], 0);
    assert_eq!(active["iss"], "authfort");
    assert_eq!(seen["introspect"]["first"]["active"], true, "{seen}");
    assert_eq!(seen["introspect"]["logged_out"]["active"], false, "{seen}");
    assert_eq!(seen["introspect"]["garbage"]["active"], false, "{seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authfort_service_accepts_our_tokens_across_a_rotation_on_sqlite() {
    authfort_service_accepts_our_tokens_across_a_rotation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authfort_service_accepts_our_tokens_across_a_rotation_on_postgres() {
    if skip_postgres() {
        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
        return;
    }
    authfort_service_accepts_our_tokens_across_a_rotation(Backend::Postgres).await;
}
