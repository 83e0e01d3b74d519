//! Fail closed: when the database is gone, nothing is issued and the answer is 503.

use authfort_core::store::{PostgresStore, SqliteStore};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::{tokens, TestApp};

/// Breaks the database under a running app by dropping its tables from another connection.
async fn break_database(backend: Backend, url: &str) {
    let drop = "DROP TABLE authfort_mfa_backup_codes; DROP TABLE authfort_user_mfa; DROP TABLE authfort_refresh_tokens; DROP TABLE authfort_sessions; DROP TABLE authfort_user_roles; \
                DROP TABLE authfort_accounts; DROP TABLE authfort_verification_tokens; DROP TABLE authfort_email_otps; \
                DROP TABLE authfort_password_history; DROP TABLE authfort_users";
    match backend {
        Backend::Sqlite => {
            let store = SqliteStore::connect(url).await.unwrap();
            sqlx::raw_sql(drop).execute(store.pool()).await.unwrap();
        }
        Backend::Postgres => {
            let store = PostgresStore::connect(url).await.unwrap();
            sqlx::raw_sql(drop).execute(store.pool()).await.unwrap();
        }
    }
}

async fn a_broken_database_gives_503_and_issues_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (access, refresh) = tokens(&app.signup("down@example.com").await);
    break_database(backend, app.db_url()).await;
    for (path, body) in [
        (
            "/auth/login",
            json!({"email": "down@example.com", "password": "correct horse battery"}),
        ),
        (
            "/auth/signup",
            json!({"email": "new@example.com", "password": "correct horse battery"}),
        ),
        ("/auth/refresh", json!({"refresh_token": refresh})),
        ("/auth/magic-link/verify", json!({"token": "x".repeat(86)})),
        ("/auth/otp", json!({"email": "down@example.com"})),
        (
            "/auth/otp/verify",
            json!({"email": "down@example.com", "code": "123456"}),
        ),
        ("/auth/verify-email", json!({"token": "x".repeat(86)})),
        ("/auth/password/forgot", json!({"email": "down@example.com"})),
        (
            "/auth/password/reset",
            json!({"token": "x".repeat(86), "new_password": "a new passphrase"}),
        ),
    ] {
        let r = app.post(path, body).await;
        r.assert_error(503, "service_unavailable");
        assert_eq!(r.headers["retry-after"], "5", "{path}");
        assert!(r.body.get("tokens").is_none());
    }
    app.me(&access).await.assert_error(503, "service_unavailable");
    assert_eq!(app.get("/readyz", &[]).await.status.as_u16(), 503);
    assert_eq!(
        app.get("/healthz", &[]).await.status.as_u16(),
        200,
        "liveness is not readiness"
    );
}

on_both_backends!(a_broken_database_gives_503_and_issues_nothing);
