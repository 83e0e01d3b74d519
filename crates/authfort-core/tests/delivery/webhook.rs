//! The webhook transport against a real HTTP server on a local socket.

use std::collections::BTreeSet;
use std::time::Duration;

use authfort_core::model::format_time;
use authfort_test_support::webhook_sink::WebhookSink;
use authfort_test_support::{on_both_backends, Backend, TestDb};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::common::{
    assert_scrubbed, clock, queue, settle, transport, wait_failed_attempt, wait_sent, webhook_config, Worker, T0,
    WEBHOOK_SECRET,
};

fn expected_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn webhook_posts_signed_json_and_scrubs_the_row(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = WebhookSink::start().await;
    let config = webhook_config(&sink.url());
    let queued = queue(&*db.store, T0, "carol@example.com").await;

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let requests = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert: headers and signature over the exact raw bytes
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.header("content-type"), Some("application/json"));
    let signature = request.header("x-authfort-signature").expect("signature header");
    assert_eq!(signature, expected_signature(&request.body));
    assert_ne!(
        signature,
        expected_signature(b"{}"),
        "the signature depends on the body"
    );
    // Assert: the JSON shape
    let json = request.json();
    let keys: BTreeSet<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "kind", "to", "subject", "text", "html", "created_at"])
    );
    assert_eq!(json["id"], queued.message.id.to_string());
    assert_eq!(json["kind"], "magic_link");
    assert_eq!(json["to"], "carol@example.com");
    assert_eq!(json["subject"], "Your sign-in link");
    assert_eq!(json["created_at"], format_time(&T0));
    assert_eq!(json["created_at"], "2026-03-14T15:09:26.535897Z");
    assert!(json["text"].as_str().unwrap().contains(&queued.link));
    assert!(json["html"].as_str().unwrap().contains(&queued.link));
    // Assert: the row
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.sent_at, Some(T0));
    assert_scrubbed(&row);
}

async fn webhook_503_is_retried_after_the_backoff(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = WebhookSink::start().await;
    sink.fail_next(1);
    let config = webhook_config(&sink.url());
    let queued = queue(&*db.store, T0, "dave@example.com").await;

    // Act: the first attempt gets a 503
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let failed = wait_failed_attempt(&*db.store, queued.message.id, 1).await;
    settle().await;
    let after_settling = db.store.outbox_message(queued.message.id).await.unwrap().unwrap();
    clock.advance(time::Duration::seconds(2));
    worker.wake();
    let requests = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert
    assert_eq!(failed.status, "pending");
    assert!(
        failed.last_error.as_deref().unwrap().contains("503"),
        "{:?}",
        failed.last_error
    );
    assert_eq!(
        failed.next_attempt_at,
        T0 + time::Duration::seconds(2),
        "first backoff is 2 s"
    );
    assert_eq!(after_settling.attempts, 1, "not retried before the backoff");
    assert_eq!(sink.failed(), 1);
    assert_eq!(requests.len(), 1);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.last_error, None);
    assert_scrubbed(&row);
}

on_both_backends!(
    webhook_posts_signed_json_and_scrubs_the_row,
    webhook_503_is_retried_after_the_backoff,
);
