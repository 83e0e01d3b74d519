//! Two `authfort serve` processes on one PostgreSQL database behave as one service.

use authfort_test_support::{skip_postgres, Backend, TempDir, TestDb};

use crate::helpers::{token, verify_with_jwks, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_keys_and_sessions_through_postgres() {
    if skip_postgres() {
        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
        return;
    }
    // Arrange: a fresh schema, and both processes started together (they race to create
    // the first signing key and must agree on it).
    let db = TestDb::new(Backend::Postgres).await;
    let env = [
        ("AUTHFORT_DATABASE_URL", db.url.as_str()),
        ("AUTHFORT_SECRET_KEY", authfort_test_support::TEST_SECRET_KEY),
    ];
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, b) = tokio::join!(TestServer::start(&dir_a.0, &env), TestServer::start(&dir_b.0, &env));

    // Act: sign up on A.
    let signed_up = a.signup("bob@example.com", "correct horse battery").await;
    let access = token(&signed_up, "access_token");

    // Assert: B publishes A's key and accepts A's token.
    let claims = verify_with_jwks(&access, &b.jwks().await);
    assert_eq!(claims["email"], "bob@example.com");
    let response = b.me(&access).await;
    assert_eq!(response.status(), 200, "B accepts A's access token");
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["id"], signed_up["user"]["id"]);

    // A refresh token issued by A rotates on B…
    let first_refresh = token(&signed_up, "refresh_token");
    let response = b.refresh(&first_refresh).await;
    assert_eq!(response.status(), 200, "B rotates A's refresh token");
    let rotated: serde_json::Value = response.json().await.unwrap();
    let access_from_b = token(&rotated, "access_token");
    assert_eq!(a.me(&access_from_b).await.status(), 200, "A accepts B's access token");
    verify_with_jwks(&access_from_b, &a.jwks().await);

    // …and A then sees the old one as reused.
    assert_eq!(
        a.refresh(&first_refresh).await.status(),
        401,
        "reuse detected across processes"
    );
}
