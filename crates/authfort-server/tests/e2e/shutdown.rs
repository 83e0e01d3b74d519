//! Graceful shutdown on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use authfort_test_support::TempDir;

use crate::helpers::TestServer;

#[tokio::test]
async fn sigterm_stops_the_server_with_exit_code_0() {
    let dir = TempDir::new();
    let server = TestServer::start(&dir.0, &[]).await;
    assert_eq!(
        server.client.get(server.url("/healthz")).send().await.unwrap().status(),
        200
    );

    let killed = Command::new("kill")
        .args(["-TERM", &server.process.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());

    let started = Instant::now();
    let finished = tokio::task::spawn_blocking(move || server.process.wait())
        .await
        .unwrap();
    assert!(
        finished.status.success(),
        "exit status {}\n{}",
        finished.status,
        finished.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(5), "stopped promptly");
    assert!(finished.stderr.contains("received SIGTERM"), "{}", finished.stderr);
}
