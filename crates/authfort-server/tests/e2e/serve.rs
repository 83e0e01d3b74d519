//! `authfort serve` with nothing configured: SQLite in the working directory.

use authfort_test_support::TempDir;
use serde_json::json;

use crate::helpers::{token, verify_with_jwks, TestServer};

#[tokio::test]
async fn default_sqlite_server_runs_the_whole_token_lifecycle() {
    // Arrange: no AUTHFORT_DATABASE_URL, so the default `sqlite://authfort.db` is used.
    let dir = TempDir::new();
    let server = TestServer::start(&dir.0, &[]).await;

    // Act + assert: signup → login → me → refresh → logout.
    let signed_up = server.signup("alice@example.com", "correct horse battery").await;
    assert_eq!(signed_up["user"]["email"], "alice@example.com");

    let response = server
        .post(
            "/auth/login",
            json!({"email": "alice@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(response.status(), 200, "login");
    let logged_in: serde_json::Value = response.json().await.unwrap();
    let access = token(&logged_in, "access_token");

    let response = server.me(&access).await;
    assert_eq!(response.status(), 200, "me");
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["email"], "alice@example.com");
    assert_eq!(me["id"], signed_up["user"]["id"]);

    let claims = verify_with_jwks(&access, &server.jwks().await);
    assert_eq!(claims["sub"], me["id"]);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["iss"], "authfort");

    let response = server.refresh(&token(&logged_in, "refresh_token")).await;
    assert_eq!(response.status(), 200, "refresh");
    let refreshed: serde_json::Value = response.json().await.unwrap();
    let new_refresh = token(&refreshed, "refresh_token");
    assert_ne!(new_refresh, token(&logged_in, "refresh_token"), "refresh rotates");
    verify_with_jwks(&token(&refreshed, "access_token"), &server.jwks().await);

    let response = server.post("/auth/logout", json!({"refresh_token": new_refresh})).await;
    assert_eq!(response.status(), 204, "logout");
    assert_eq!(
        server.refresh(&new_refresh).await.status(),
        401,
        "logged-out token is dead"
    );

    // The database file was created in the working directory.
    assert!(
        dir.0.join("authfort.db").is_file(),
        "authfort.db in the working directory"
    );
    let logs = server.process.output();
    assert!(logs.contains("listening on http://127.0.0.1:"), "{logs}");
}

#[tokio::test]
async fn application_binds_port_0_reports_it_and_stops_on_request() {
    // The library API under the binary: `Application::build` with port 0.
    use authfort_server::app::Application;
    use authfort_server::config::{DatabaseUrl, ServerConfig};

    let dir = TempDir::new();
    let mut config = ServerConfig {
        bind: "127.0.0.1:0".into(),
        database_url: DatabaseUrl::new(format!("sqlite://{}", dir.0.join("app.db").display())),
        ..ServerConfig::default()
    };
    config.auth.password_hashing.memory_kib = 1024;
    config.auth.password_hashing.iterations = 1;
    config.auth.password_hashing.parallelism = 1;
    let app = Application::build(&config).await.expect("build");
    assert_ne!(app.port(), 0);
    assert_eq!(app.local_addr().port(), app.port());
    let base = format!("http://{}", app.local_addr());

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let response = reqwest::get(format!("{base}/healthz")).await.expect("healthz");
    assert_eq!(response.status(), 200);

    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), running)
        .await
        .expect("stops promptly")
        .expect("task")
        .expect("served cleanly");
}
