//! Transport selection, the `log` transport, and what delivery errors may contain.

use authfort_core::config::EmailConfig;
use authfort_core::delivery::{transport_for, DeliveryError};
use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::{on_both_backends, Backend, TestDb};

use crate::common::{
    assert_scrubbed, clock, queue, smtp_config, transport, wait_failed_attempt, wait_sent, webhook_config, Worker, T0,
};

async fn log_transport_sends_and_the_row_is_marked_sent(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let config = EmailConfig {
        transport: "log".into(),
        poll_interval_ms: 50,
        ..EmailConfig::default()
    };
    let direct = queue(&*db.store, T0, "alice@example.com").await;
    let log = transport(&config);

    // Act
    let direct_result = log.send(&direct.message).await;
    let queued = queue(&*db.store, T0, "bob@example.com").await;
    let worker = Worker::start(&db.store, &clock, log, &config);
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert
    assert!(direct_result.is_ok(), "{direct_result:?}");
    assert_eq!(row.attempts, 1);
    assert_scrubbed(&row);
}

async fn transport_for_picks_the_transport_and_names_bad_keys(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let key_of = |config: EmailConfig| transport_for(&config).err().map(|e| e.key);

    // Act
    let none = transport_for(&EmailConfig::default()).unwrap();
    let unknown = key_of(EmailConfig {
        transport: "carrier-pigeon".into(),
        ..EmailConfig::default()
    });
    let no_url = key_of(EmailConfig {
        transport: "smtp".into(),
        ..EmailConfig::default()
    });
    let bad_scheme = key_of(smtp_config("http://127.0.0.1:25"));
    let bad_from = key_of(EmailConfig {
        from: "not a mailbox".into(),
        ..smtp_config("smtp+plain://127.0.0.1:25")
    });
    let no_secret = key_of(EmailConfig {
        webhook_secret: None,
        ..webhook_config("http://127.0.0.1:9/hook")
    });
    let bad_hook = key_of(webhook_config("ftp://127.0.0.1/hook"));
    let smtp_ok = transport_for(&smtp_config("smtp://user:pass@127.0.0.1"))
        .unwrap()
        .is_some();
    let smtps_ok = transport_for(&smtp_config("smtps://127.0.0.1")).unwrap().is_some();

    // Assert
    assert!(none.is_none(), "transport none: no transport");
    assert_eq!(unknown.as_deref(), Some("email.transport"));
    assert_eq!(no_url.as_deref(), Some("email.smtp_url"));
    assert_eq!(bad_scheme.as_deref(), Some("email.smtp_url"));
    assert_eq!(bad_from.as_deref(), Some("email.from"));
    assert_eq!(no_secret.as_deref(), Some("email.webhook_secret"));
    assert_eq!(bad_hook.as_deref(), Some("email.webhook_url"));
    assert!(smtp_ok && smtps_ok);
    assert!(db.store.outbox_for("nobody@example.com").await.unwrap().is_empty());
}

/// Asserts neither rendering of `error` contains the body, the link or its token.
fn assert_clean(error: &DeliveryError, link: &str) {
    let token = link.rsplit('=').next().unwrap();
    for rendered in [error.to_string(), format!("{error:?}"), error.message.clone()] {
        assert!(!rendered.contains(link), "{rendered}");
        assert!(!rendered.contains(token), "{rendered}");
        assert!(!rendered.contains("sign-in link for"), "no body text: {rendered}");
    }
}

async fn delivery_errors_never_contain_the_body_or_the_link(backend: Backend) {
    // Arrange: a port nobody listens on, and a server that rejects
    let db = TestDb::new(backend).await;
    let clock = clock();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let rejecting = SmtpSink::start().await;
    rejecting.reject_next(1);
    let queued = queue(&*db.store, T0, "alice@example.com").await;
    let mut scrubbed = queued.message.clone();
    scrubbed.body_text = None;
    scrubbed.body_html = None;
    let smtp_closed = transport(&smtp_config(&format!("smtp+plain://{closed}")));
    let hook_closed = transport(&webhook_config(&format!("http://{closed}/hook")));

    // Act
    let smtp_error = smtp_closed.send(&queued.message).await.unwrap_err();
    let hook_error = hook_closed.send(&queued.message).await.unwrap_err();
    let rejected = transport(&smtp_config(&rejecting.url()))
        .send(&queued.message)
        .await
        .unwrap_err();
    let no_body = smtp_closed.send(&scrubbed).await.unwrap_err();
    // …and what the worker stores in last_error
    let config = smtp_config(&format!("smtp+plain://{closed}"));
    let worker = Worker::start(&db.store, &clock, smtp_closed.clone(), &config);
    let row = wait_failed_attempt(&*db.store, queued.message.id, 1).await;
    worker.stop().await;

    // Assert
    assert!(!smtp_error.permanent, "connection refused is transient: {smtp_error}");
    assert!(!hook_error.permanent, "connection refused is transient: {hook_error}");
    assert!(rejected.permanent, "550 is permanent: {rejected}");
    assert!(rejected.message.contains("550"), "{rejected}");
    assert!(no_body.permanent);
    for error in [&smtp_error, &hook_error, &rejected, &no_body] {
        assert_clean(error, &queued.link);
    }
    let stored = row.last_error.expect("last_error");
    assert!(
        !stored.contains(&queued.link) && !stored.contains("sign-in link for"),
        "{stored}"
    );
    assert_eq!(row.status, "pending");
}

on_both_backends!(
    log_transport_sends_and_the_row_is_marked_sent,
    transport_for_picks_the_transport_and_names_bad_keys,
    delivery_errors_never_contain_the_body_or_the_link,
);
