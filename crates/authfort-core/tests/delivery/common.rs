//! Fixtures: outbox messages queued the way the magic-link service queues them, workers
//! started and stopped, and polling for a row to reach a state.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use authfort_core::clock::{Clock, ManualClock};
use authfort_core::config::EmailConfig;
use authfort_core::crypto::{random_token, sha256_hex};
use authfort_core::delivery::{spawn_worker, transport_for, Templates, Transport};
use authfort_core::model::{OutboxMessage, VerificationToken};
use authfort_core::store::Store;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A reference instant with a non-zero microsecond fraction.
pub const T0: OffsetDateTime = datetime!(2026-03-14 15:09:26.535897 UTC);
/// `email.from` of every test configuration.
pub const FROM: &str = "AuthFort <no-reply@auth.example.com>";
/// The envelope sender / address part of [`FROM`].
pub const FROM_ADDRESS: &str = "no-reply@auth.example.com";
/// `email.webhook_secret` of the webhook configurations.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";
/// Lifetime of the queued links.
pub const LINK_TTL: Duration = Duration::minutes(10);

/// A queued message with the link it carries.
pub struct Queued {
    pub message: OutboxMessage,
    pub link: String,
}

/// A manual clock at [`T0`].
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

/// Queues a magic-link mail for `recipient` rendered with the built-in templates.
pub async fn queue(store: &dyn Store, now: OffsetDateTime, recipient: &str) -> Queued {
    queue_with(store, now, recipient, &Templates::default()).await
}

/// Queues a magic-link mail the way the service does: token and message in one write.
pub async fn queue_with(store: &dyn Store, now: OffsetDateTime, recipient: &str, templates: &Templates) -> Queued {
    let raw = random_token();
    let link = format!("https://auth.example.com/auth/magic-link/confirm#token={raw}");
    let mail = templates.magic_link(&link, recipient, 10);
    let token = VerificationToken {
        id: Uuid::new_v4(),
        user_id: None,
        email: recipient.to_owned(),
        purpose: "magic_link".to_owned(),
        token_hash: sha256_hex(&raw),
        redirect_to: None,
        expires_at: now + LINK_TTL,
        created_at: now,
        consumed_at: None,
    };
    let message = OutboxMessage {
        id: Uuid::new_v4(),
        kind: "magic_link".to_owned(),
        recipient: recipient.to_owned(),
        subject: Some(mail.subject),
        body_text: Some(mail.text),
        body_html: Some(mail.html),
        token_id: Some(token.id),
        expires_at: Some(now + LINK_TTL),
        status: "pending".to_owned(),
        attempts: 0,
        next_attempt_at: now,
        locked_until: None,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    store
        .create_verification_token(&token, Some(&message))
        .await
        .expect("queue message");
    Queued { message, link }
}

/// SMTP to `url`; short poll so tests do not wait.
pub fn smtp_config(url: &str) -> EmailConfig {
    EmailConfig {
        transport: "smtp".into(),
        smtp_url: Some(url.to_owned()),
        from: FROM.into(),
        timeout_seconds: 5,
        poll_interval_ms: 50,
        ..EmailConfig::default()
    }
}

/// Webhook to `url` signed with [`WEBHOOK_SECRET`].
pub fn webhook_config(url: &str) -> EmailConfig {
    EmailConfig {
        transport: "webhook".into(),
        webhook_url: Some(url.to_owned()),
        webhook_secret: Some(WEBHOOK_SECRET.into()),
        from: FROM.into(),
        timeout_seconds: 5,
        poll_interval_ms: 50,
        ..EmailConfig::default()
    }
}

/// The transport the configuration names.
pub fn transport(config: &EmailConfig) -> Arc<dyn Transport> {
    transport_for(config).expect("valid email config").expect("a transport")
}

/// A running worker.
pub struct Worker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
    wake: Arc<Notify>,
}

impl Worker {
    /// Starts a worker reading `clock`.
    pub fn start(
        store: &Arc<dyn Store>,
        clock: &Arc<ManualClock>,
        transport: Arc<dyn Transport>,
        config: &EmailConfig,
    ) -> Worker {
        let (stop, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let clock: Arc<dyn Clock> = clock.clone();
        let handle = spawn_worker(store.clone(), clock, transport, config.clone(), wake.clone(), stop_rx);
        Worker { stop, handle, wake }
    }

    /// Tells the worker a message may be due.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops the worker (by sending `true`) and waits for it; it must end promptly and cleanly.
    pub async fn stop(self) {
        self.stop.send(true).expect("worker still listening");
        tokio::time::timeout(StdDuration::from_secs(10), self.handle)
            .await
            .expect("worker stops within 10 s")
            .expect("worker ended without panicking");
    }

    /// Stops the worker by dropping the sender, and waits for it.
    pub async fn drop_sender(self) {
        drop(self.stop);
        tokio::time::timeout(StdDuration::from_secs(10), self.handle)
            .await
            .expect("worker stops within 10 s")
            .expect("worker ended without panicking");
    }
}

/// Polls the row until `done` holds (10 s at most) and returns it.
pub async fn wait_for_row(
    store: &dyn Store,
    id: Uuid,
    what: &str,
    done: impl Fn(&OutboxMessage) -> bool,
) -> OutboxMessage {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        let row = store
            .outbox_message(id)
            .await
            .expect("read outbox")
            .expect("outbox row exists");
        if done(&row) {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "outbox row {id} never became {what}: status {}, attempts {}, last_error {:?}",
            row.status,
            row.attempts,
            row.last_error
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

/// The row once delivered.
pub async fn wait_sent(store: &dyn Store, id: Uuid) -> OutboxMessage {
    wait_for_row(store, id, "sent", |m| m.status == "sent").await
}

/// The row once dropped.
pub async fn wait_dropped(store: &dyn Store, id: Uuid) -> OutboxMessage {
    wait_for_row(store, id, "dropped", |m| m.status == "dropped").await
}

/// The row once its `attempts`-th attempt failed and was recorded for a retry.
pub async fn wait_failed_attempt(store: &dyn Store, id: Uuid, attempts: i64) -> OutboxMessage {
    wait_for_row(store, id, "failed and released", |m| {
        m.attempts == attempts && m.locked_until.is_none() && m.last_error.is_some()
    })
    .await
}

/// Lets workers run several poll cycles (to show that something does *not* happen).
pub async fn settle() {
    tokio::time::sleep(StdDuration::from_millis(400)).await;
}

/// Asserts the row carries no body any more.
pub fn assert_scrubbed(row: &OutboxMessage) {
    assert_eq!(row.body_text, None, "text body scrubbed");
    assert_eq!(row.body_html, None, "HTML body scrubbed");
    assert_eq!(row.locked_until, None, "lease released");
}
