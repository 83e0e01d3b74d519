//! Two `authfort serve` processes sharing one Redis share one rate limit.

use std::process::Command;

use authfort_test_support::TempDir;
use serde_json::json;

use crate::helpers::TestServer;

const REDIS_URL: &str = "redis://127.0.0.1:6379";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_limit_through_redis() {
    // Arrange: the IP bucket of this client starts empty (it is shared by every test run).
    let cleared = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379", "DEL", "authfort:rl:ip:127.0.0.1:login"])
        .output()
        .expect("redis-cli is required for this test (apt-get install redis-tools)");
    assert!(cleared.status.success(), "Redis must be reachable at {REDIS_URL}");
    let env = [
        ("AUTHFORT_RATE_LIMIT__ENABLED", "true"),
        ("AUTHFORT_RATE_LIMIT__LOGIN", "3/min"),
        ("AUTHFORT_RATE_LIMIT__REDIS_URL", REDIS_URL),
    ];
    let (dir_a, dir_b) = (TempDir::new(), TempDir::new());
    let (a, b) = tokio::join!(TestServer::start(&dir_a.0, &env), TestServer::start(&dir_b.0, &env));
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let attempt = json!({"email": email, "password": "not the password"});

    // Act: three attempts spread over both processes, then a fourth.
    let mut statuses = Vec::new();
    for server in [&a, &b, &a] {
        statuses.push(server.post("/auth/login", attempt.clone()).await.status().as_u16());
    }
    let fourth = b.post("/auth/login", attempt.clone()).await;

    // Assert
    assert_eq!(statuses, [401, 401, 401]);
    assert_eq!(fourth.status(), 429);
    assert!(fourth.headers().contains_key("retry-after"));
    let body: serde_json::Value = fourth.json().await.unwrap();
    assert_eq!(body["detail"]["error"], "rate_limit_exceeded");
}
