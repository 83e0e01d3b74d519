//! Transient failures, backoff, attempt limits, expiry and a panicking transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use authfort_core::delivery::{DeliveryError, Transport};
use authfort_core::model::OutboxMessage;
use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::{on_both_backends, Backend, TestDb};
use uuid::Uuid;

use crate::common::{
    assert_scrubbed, clock, queue, settle, smtp_config, transport, wait_dropped, wait_failed_attempt, wait_sent,
    Worker, T0,
};

async fn refused_attempt_is_retried_after_the_backoff_and_delivered_once(backend: Backend) {
    // Arrange: a poll interval of a minute, so only the wake-up can trigger the retry
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    sink.refuse_next(1);
    let mut config = smtp_config(&sink.url());
    config.poll_interval_ms = 60_000;
    let queued = queue(&*db.store, T0, "alice@example.com").await;

    // Act: the first attempt is refused with 451
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let failed = wait_failed_attempt(&*db.store, queued.message.id, 1).await;
    settle().await;
    let delivered_before_backoff = sink.messages().len();
    clock.advance(time::Duration::seconds(3));
    worker.wake();
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    settle().await;
    let mails_after = sink.messages();
    worker.stop().await;

    // Assert: the failed attempt
    assert_eq!(failed.status, "pending");
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.clone().unwrap();
    assert!(error.contains("451"), "{error}");
    assert!(!error.contains(&queued.link));
    assert_eq!(failed.next_attempt_at, T0 + time::Duration::seconds(2));
    assert!(failed.next_attempt_at > T0, "retry is in the future");
    assert!(failed.body_text.is_some(), "bodies kept for the retry");
    assert_eq!(delivered_before_backoff, 0);
    // Assert: delivered exactly once on the retry
    assert_eq!(sink.refused(), 1);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails_after.len(), 1, "delivered exactly once");
    assert!(mails[0].decoded_text().contains(&queued.link));
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 2);
    assert_eq!(row.sent_at, Some(T0 + time::Duration::seconds(3)));
    assert_eq!(row.last_error, None);
    assert_scrubbed(&row);
}

async fn message_is_dropped_after_max_attempts(backend: Backend) {
    // Arrange: the server refuses forever
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    sink.refuse_next(usize::MAX);
    let mut config = smtp_config(&sink.url());
    config.max_attempts = 2;
    let queued = queue(&*db.store, T0, "bob@example.com").await;

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let first = wait_failed_attempt(&*db.store, queued.message.id, 1).await;
    clock.advance(time::Duration::seconds(3));
    worker.wake();
    let row = wait_dropped(&*db.store, queued.message.id).await;
    clock.advance(time::Duration::hours(1));
    worker.wake();
    settle().await;
    worker.stop().await;

    // Assert
    assert_eq!(first.status, "pending");
    assert_eq!(row.attempts, 2);
    assert!(
        row.last_error.as_deref().unwrap().contains("451"),
        "{:?}",
        row.last_error
    );
    assert_scrubbed(&row);
    assert_eq!(sink.refused(), 2, "no attempt after the drop");
    assert!(sink.messages().is_empty());
    let after = db.store.outbox_message(queued.message.id).await.unwrap().unwrap();
    assert_eq!((after.status.as_str(), after.attempts), ("dropped", 2));
}

async fn message_whose_token_expired_is_dropped_unsent(backend: Backend) {
    // Arrange: the link expires 10 minutes after it was queued; 11 pass without a worker
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let config = smtp_config(&sink.url());
    let queued = queue(&*db.store, T0, "carol@example.com").await;
    clock.advance(time::Duration::minutes(11));

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let row = wait_dropped(&*db.store, queued.message.id).await;
    settle().await;
    worker.stop().await;

    // Assert
    assert_eq!(row.last_error.as_deref(), Some("token expired before delivery"));
    assert_eq!(row.sent_at, None);
    assert_scrubbed(&row);
    assert!(sink.messages().is_empty(), "never sent");
    assert_eq!(sink.connections(), 0, "the server was not even contacted");
}

/// Panics on its first call, then records what it delivers.
#[derive(Default)]
struct PanicsOnce {
    panicked: AtomicBool,
    delivered: Mutex<Vec<Uuid>>,
}

#[async_trait]
impl Transport for PanicsOnce {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        if !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("simulated transport bug (expected in this test)");
        }
        self.delivered.lock().unwrap().push(message.id);
        Ok(())
    }
}

async fn a_panicking_transport_is_a_transient_failure_and_the_worker_survives(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let panicky = Arc::new(PanicsOnce::default());
    let config = smtp_config("smtp+plain://127.0.0.1:9");
    let first = queue(&*db.store, T0, "dave@example.com").await;

    // Act: the first send panics
    let worker = Worker::start(&db.store, &clock, panicky.clone(), &config);
    let failed = wait_failed_attempt(&*db.store, first.message.id, 1).await;
    // the loop is still alive: a new message and the retry both go out
    let second = queue(&*db.store, T0, "erin@example.com").await;
    worker.wake();
    let second_row = wait_sent(&*db.store, second.message.id).await;
    clock.advance(time::Duration::seconds(3));
    worker.wake();
    let first_row = wait_sent(&*db.store, first.message.id).await;
    worker.stop().await;

    // Assert
    assert_eq!(failed.status, "pending");
    assert_eq!(failed.last_error.as_deref(), Some("the transport panicked"));
    assert_eq!(second_row.attempts, 1);
    assert_eq!(first_row.attempts, 2);
    assert_eq!(
        *panicky.delivered.lock().unwrap(),
        vec![second.message.id, first.message.id]
    );
}

on_both_backends!(
    refused_attempt_is_retried_after_the_backoff_and_delivered_once,
    message_is_dropped_after_max_attempts,
    message_whose_token_expired_is_dropped_unsent,
    a_panicking_transport_is_a_transient_failure_and_the_worker_survives,
);
