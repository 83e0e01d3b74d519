//! The server secret: generated next to a SQLite database (0600) and reused across restarts;
//! required with PostgreSQL. The sign-in code printed by the `log` transport is used end to end.

use std::time::{Duration, Instant};

use authfort_test_support::{skip_postgres, Backend, TempDir, TestDb};
use serde_json::json;

use crate::helpers::{authfort, run, TestServer};

/// The six-digit code of the last sign-in-code mail the server printed.
async fn printed_code(server: &TestServer) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = server.process.output();
        if let Some(block) = output
            .rsplit("Kind: email_otp")
            .next()
            .filter(|_| output.contains("Kind: email_otp"))
        {
            if let Some(code) = block
                .lines()
                .map(str::trim)
                .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            {
                return code.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "no code printed\n{output}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_generates_the_key_file_once_and_reuses_it() {
    let dir = TempDir::new();
    let env = [("AUTHFORT_DATABASE_URL", "sqlite://data/auth.db")];
    std::fs::create_dir_all(dir.0.join("data")).unwrap();
    let first = TestServer::start(&dir.0, &env).await;
    let path = dir.0.join("data").join("authfort.secret");
    let key = std::fs::read_to_string(&path).expect("key file next to the database");
    assert!(key.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    let log = first.process.output();
    assert!(log.contains("generated a new key"), "{log}");
    assert!(!log.contains(key.trim()), "the key is never logged");

    // A code issued before a restart verifies after it: the same key is read back.
    first.signup("otp@example.com", "correct horse battery").await;
    let r = first.post("/auth/otp", json!({"email": "otp@example.com"})).await;
    assert_eq!(r.status(), 200);
    let code = printed_code(&first).await;
    drop(first);
    let second = TestServer::start(&dir.0, &env).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), key, "reused, not regenerated");
    assert!(second.process.output().contains("using the key in this file"));
    let r = second
        .post("/auth/otp/verify", json!({"email": "otp@example.com", "code": code}))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_a_secret_key_refuses_to_start_naming_it() {
    if skip_postgres() {
        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let dir = TempDir::new();
    let finished = run(authfort(&dir.0)
        .arg("serve")
        .env("AUTHFORT_DATABASE_URL", &db.url)
        .env("AUTHFORT_BIND", "127.0.0.1:0"));
    assert!(!finished.status.success(), "{finished:?}");
    assert!(
        finished.stderr.contains("secret_key") && finished.stderr.contains("AUTHFORT_SECRET_KEY"),
        "{}",
        finished.stderr
    );
    assert!(!dir.0.join("authfort.secret").exists());
    // With the key it starts.
    let env = [
        ("AUTHFORT_DATABASE_URL", db.url.as_str()),
        ("AUTHFORT_SECRET_KEY", authfort_test_support::TEST_SECRET_KEY),
    ];
    let server = TestServer::start(&dir.0, &env).await;
    assert_eq!(
        server
            .post("/auth/otp", json!({"email": "x@example.com"}))
            .await
            .status(),
        200
    );
}
