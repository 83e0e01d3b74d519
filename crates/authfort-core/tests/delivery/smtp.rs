//! The SMTP transport against a real SMTP server on a local socket.

use std::time::Duration;

use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::{on_both_backends, Backend, TestDb};

use crate::common::{
    assert_scrubbed, clock, queue, settle, smtp_config, transport, wait_dropped, wait_sent, Worker, FROM_ADDRESS, T0,
};

async fn smtp_delivers_a_multipart_mail_and_scrubs_the_row(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    // Credentials come from the URL userinfo, percent-decoded.
    let url = format!("smtp+plain://mailer%40example.com:p%40ss%3Aw%2Frd@{}", sink.addr());
    let config = smtp_config(&url);
    let queued = queue(&*db.store, T0, "alice@example.com").await;

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert: envelope and headers
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, FROM_ADDRESS);
    assert_eq!(mail.to, vec!["alice@example.com".to_owned()]);
    assert_eq!(
        mail.auth,
        Some(("mailer@example.com".to_owned(), "p@ss:w/rd".to_owned()))
    );
    assert!(mail.header("From").unwrap().contains(FROM_ADDRESS));
    assert!(mail.header("To").unwrap().contains("alice@example.com"));
    assert_eq!(mail.header("Subject").as_deref(), Some("Your sign-in link"));
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@auth.example.com>", queued.message.id.simple()))
    );
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    // Assert: both parts, the link extractable from the decoded text
    let text = mail.decoded_text();
    assert!(text.contains(&queued.link), "link in the text part");
    assert!(text.contains("10 minutes"));
    assert!(text.contains("ignore this email"));
    let html = mail.decoded_html().expect("an HTML part");
    assert!(
        html.contains(&format!("href=\"{}\"", queued.link)),
        "button links to the link"
    );
    // Assert: the row
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.sent_at, Some(T0));
    assert_eq!(row.last_error, None);
    assert_scrubbed(&row);
    assert_eq!(row.subject.as_deref(), Some("Your sign-in link"), "metadata is kept");
}

async fn smtp_permanent_rejection_drops_the_message_after_one_attempt(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    sink.reject_next(1);
    let config = smtp_config(&sink.url());
    let queued = queue(&*db.store, T0, "bob@example.com").await;

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let row = wait_dropped(&*db.store, queued.message.id).await;
    settle().await;
    worker.stop().await;

    // Assert
    assert_eq!(row.attempts, 1, "a 5xx reply is not retried");
    let error = row.last_error.clone().expect("last_error recorded");
    assert!(error.contains("550"), "{error}");
    assert!(!error.contains(&queued.link));
    assert_scrubbed(&row);
    assert_eq!(sink.refused(), 1);
    assert!(sink.messages().is_empty());
}

async fn smtp_scheme_sends_in_plain_text_when_starttls_is_not_offered(backend: Backend) {
    // Arrange: `smtp://` upgrades opportunistically; the sink never offers STARTTLS
    let db = TestDb::new(backend).await;
    let clock = clock();
    let sink = SmtpSink::start().await;
    let config = smtp_config(&format!("smtp://{}", sink.addr()));
    let queued = queue(&*db.store, T0, "erin@example.com").await;

    // Act
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    let row = wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert
    assert_eq!(mails[0].to, vec!["erin@example.com".to_owned()]);
    assert_eq!(mails[0].auth, None, "no credentials in the URL, no AUTH");
    assert!(mails[0].decoded_text().contains(&queued.link));
    assert_eq!(row.status, "sent");
}

on_both_backends!(
    smtp_delivers_a_multipart_mail_and_scrubs_the_row,
    smtp_permanent_rejection_drops_the_message_after_one_attempt,
    smtp_scheme_sends_in_plain_text_when_starttls_is_not_offered,
);
