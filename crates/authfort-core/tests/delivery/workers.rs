//! Restarts, leases, several workers on one database, and a stalled server.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authfort_core::clock::Clock;
use authfort_core::delivery::{DeliveryError, Transport};
use authfort_core::model::OutboxMessage;
use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::webhook_sink::WebhookSink;
use authfort_test_support::{on_both_backends, Backend, TestDb};

use crate::common::{
    assert_scrubbed, clock, queue, settle, smtp_config, transport, wait_failed_attempt, wait_sent, webhook_config,
    Worker, T0,
};

async fn a_restarted_worker_delivers_what_was_queued_and_never_resends(backend: Backend) {
    // Arrange: a message queued while no worker runs
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let config = smtp_config(&sink.url());
    let first = queue(&*db.store, T0, "alice@example.com").await;
    settle().await;
    let waiting = db.store.outbox_message(first.message.id).await.unwrap().unwrap();

    // Act: a worker starts (the restart) and delivers it, then stops
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    sink.wait_for(1, Duration::from_secs(10)).await;
    let delivered = wait_sent(&*db.store, first.message.id).await;
    worker.drop_sender().await;
    // another worker on the same database, later
    let second_worker = Worker::start(&db.store, &clock, transport(&config), &config);
    second_worker.wake();
    settle().await;
    let count_after_second_start = sink.messages().len();
    let second = queue(&*db.store, T0, "bob@example.com").await;
    second_worker.wake();
    let mails = sink.wait_for(2, Duration::from_secs(10)).await;
    wait_sent(&*db.store, second.message.id).await;
    settle().await;
    second_worker.stop().await;

    // Assert
    assert_eq!(
        (waiting.status.as_str(), waiting.attempts),
        ("pending", 0),
        "nothing sends without a worker"
    );
    assert_eq!(delivered.attempts, 1);
    assert_eq!(count_after_second_start, 1, "the second worker re-sent nothing");
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(mails[0].to, vec!["alice@example.com".to_owned()]);
    assert_eq!(
        mails[1].to,
        vec!["bob@example.com".to_owned()],
        "the second worker does deliver new mail"
    );
    let row = db.store.outbox_message(first.message.id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
}

async fn a_message_leased_by_a_crashed_worker_is_sent_once_the_lease_expires(backend: Backend) {
    // Arrange: a worker claimed the message and died (lease = 2 × 5 s + 5 s)
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let config = smtp_config(&sink.url());
    let queued = queue(&*db.store, T0, "carol@example.com").await;
    let claimed = db
        .store
        .claim_outbox_message(T0, T0 + time::Duration::seconds(15))
        .await
        .unwrap()
        .expect("claimed");

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    settle().await;
    let during_lease = sink.messages().len();
    clock.advance(time::Duration::seconds(16));
    worker.wake();
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert
    assert_eq!(claimed.id, queued.message.id);
    assert_eq!(during_lease, 0, "a leased message is left alone");
    assert_eq!(mails.len(), 1);
    assert_eq!(row.attempts, 2);
    assert_scrubbed(&row);
}

async fn two_workers_on_one_database_deliver_every_message_exactly_once(backend: Backend) {
    // Arrange: two workers, each with its own store (pool) and transport, one database
    let db = TestDb::new(backend).await;
    let other_store = authfort_core::store::connect(&db.url).await.expect("second store");
    let clock = clock();
    let sink = SmtpSink::start().await;
    let mut config = smtp_config(&sink.url());
    config.poll_interval_ms = 20;
    let mut queued = Vec::new();
    for i in 0..10 {
        queued.push(queue(&*db.store, T0, &format!("user{i}@example.com")).await);
    }

    // Act: both start together; ten more messages arrive while they run
    let a = Worker::start(&db.store, &clock, transport(&config), &config);
    let b = Worker::start(&other_store, &clock, transport(&config), &config);
    for i in 10..20 {
        queued.push(queue(&*other_store, T0, &format!("user{i}@example.com")).await);
        a.wake();
        b.wake();
    }
    sink.wait_for(20, Duration::from_secs(30)).await;
    for q in &queued {
        wait_sent(&*db.store, q.message.id).await;
    }
    settle().await;
    a.stop().await;
    b.stop().await;

    // Assert
    let mails = sink.messages();
    assert_eq!(mails.len(), 20, "exactly 20 deliveries");
    let message_ids: BTreeSet<String> = mails.iter().map(|m| m.header("Message-ID").unwrap()).collect();
    let expected_ids: BTreeSet<String> = queued
        .iter()
        .map(|q| format!("<{}@auth.example.com>", q.message.id.simple()))
        .collect();
    assert_eq!(message_ids, expected_ids, "no duplicate Message-ID, none missing");
    let bodies: BTreeSet<String> = mails.iter().map(|m| m.decoded_text()).collect();
    assert_eq!(bodies.len(), 20, "no duplicate body");
    let recipients: BTreeSet<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(recipients, (0..20).map(|i| format!("user{i}@example.com")).collect());
    for q in &queued {
        let row = db.store.outbox_message(q.message.id).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("sent", 1),
            "{}",
            q.message.recipient
        );
        assert_scrubbed(&row);
        let mail = mails
            .iter()
            .find(|m| m.to == vec![q.message.recipient.clone()])
            .unwrap();
        assert!(mail.decoded_text().contains(&q.link), "each mail carries its own link");
    }
}

/// Mail for `stalled@…` goes to one transport, everything else to the other.
struct ByRecipient {
    stalled: Arc<dyn Transport>,
    other: Arc<dyn Transport>,
}

#[async_trait]
impl Transport for ByRecipient {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        if message.recipient.starts_with("stalled@") {
            self.stalled.send(message).await
        } else {
            self.other.send(message).await
        }
    }
}

async fn a_stalled_smtp_server_times_out_without_blocking_the_worker(backend: Backend) {
    // Arrange: the SMTP server greets after 5 s; the timeout is 1 s
    let db = TestDb::new(backend).await;
    let clock = clock();
    let stalled_sink = SmtpSink::start().await;
    stalled_sink.stall(Duration::from_secs(5));
    let hooks = WebhookSink::start().await;
    let mut config = smtp_config(&stalled_sink.url());
    config.timeout_seconds = 1;
    let mut hook_config = webhook_config(&hooks.url());
    hook_config.timeout_seconds = 1;
    let router = Arc::new(ByRecipient {
        stalled: transport(&config),
        other: transport(&hook_config),
    });
    let stuck = queue(&*db.store, T0, "stalled@example.com").await;
    clock.advance(time::Duration::milliseconds(1));
    let later = queue(&*db.store, clock.now(), "frank@example.com").await;

    // Act
    let started = Instant::now();
    let worker = Worker::start(&db.store, &clock, router, &config);
    let failed = wait_failed_attempt(&*db.store, stuck.message.id, 1).await;
    let failed_after = started.elapsed();
    let requests = hooks.wait_for(1, Duration::from_secs(5)).await;
    let delivered_after = started.elapsed();
    let later_row = wait_sent(&*db.store, later.message.id).await;
    worker.stop().await;

    // Assert
    assert!(
        failed_after >= Duration::from_millis(900),
        "failed by the timeout, after {failed_after:?}"
    );
    assert!(
        failed_after < Duration::from_millis(2500),
        "timed out after {failed_after:?}"
    );
    assert!(
        delivered_after < Duration::from_secs(3),
        "next message went out after {delivered_after:?}"
    );
    assert_eq!(failed.status, "pending", "a timeout is transient");
    assert!(failed.next_attempt_at > clock.now());
    assert!(!failed.last_error.as_deref().unwrap().contains(&stuck.link));
    assert!(stalled_sink.messages().is_empty());
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["to"], "frank@example.com");
    assert_eq!(later_row.attempts, 1);
}

on_both_backends!(
    a_restarted_worker_delivers_what_was_queued_and_never_resends,
    a_message_leased_by_a_crashed_worker_is_sent_once_the_lease_expires,
    two_workers_on_one_database_deliver_every_message_exactly_once,
    a_stalled_smtp_server_times_out_without_blocking_the_worker,
);
