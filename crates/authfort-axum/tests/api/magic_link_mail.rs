//! Magic links delivered by real mail: SMTP over a socket to an in-test sink, and the webhook.

use std::time::{Duration, Instant};

use authfort_core::AuthConfig;
use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::webhook_sink::WebhookSink;
use authfort_test_support::{on_both_backends, Backend};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::helpers::{tokens, TestApp};

async fn smtp_app(backend: Backend, sink: &SmtpSink, tweak: impl FnOnce(&mut AuthConfig)) -> TestApp {
    let url = sink.url();
    TestApp::with_config(backend, move |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.email.transport = "smtp".into();
        c.email.smtp_url = Some(url);
        c.email.from = "AuthFort <no-reply@example.test>".into();
        c.email.poll_interval_ms = 50;
        tweak(c);
    })
    .await
}

fn token_from_link(text: &str) -> String {
    let start = text.find("#token=").expect("link in mail") + "#token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn link_mailed_over_smtp_completes_the_sign_in(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = smtp_app(backend, &sink, |_| {}).await;
    app.signup("mail@example.com").await;
    // The address is taken from our row, whatever the request's spelling.
    let r = app
        .post("/auth/magic-link", json!({"email": "  MAIL@Example.com "}))
        .await;
    assert_eq!(r.status.as_u16(), 200);
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(mail.to, ["mail@example.com"]);
    let text = mail.decoded_text();
    assert!(
        text.contains("https://auth.example.test/auth/magic-link/confirm#token="),
        "{text}"
    );
    let token = token_from_link(&text);
    assert_eq!(token.len(), 86);
    let signed_in = app.post("/auth/magic-link/verify", json!({ "token": token })).await;
    assert_eq!(signed_in.status.as_u16(), 200, "{}", signed_in.text);
    assert_eq!(app.me(&tokens(&signed_in.body).0).await.status.as_u16(), 200);
    // Once delivered, the message body (which held the link) is scrubbed.
    let rows = app.auth.store().outbox_for("mail@example.com").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "sent");
    assert!(rows[0].body_text.is_none() && rows[0].body_html.is_none());
}

async fn unknown_addresses_get_no_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = smtp_app(backend, &sink, |_| {}).await;
    app.signup("known@example.com").await;
    app.post("/auth/magic-link", json!({"email": "stranger@example.com"}))
        .await;
    app.post("/auth/magic-link", json!({"email": "known@example.com"}))
        .await;
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(mails[0].to, ["known@example.com"]);
}

async fn a_refused_first_attempt_is_retried(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.refuse_next(1);
    let app = smtp_app(backend, &sink, |_| {}).await;
    app.signup("retry@example.com").await;
    app.post("/auth/magic-link", json!({"email": "retry@example.com"}))
        .await;
    // First attempt refused (4xx): the message waits for its backoff on our clock.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = app.auth.store().outbox_for("retry@example.com").await.unwrap();
        if rows[0].attempts >= 1 && rows[0].last_error.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "first attempt never made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.messages().is_empty());
    app.clock.advance(time::Duration::seconds(5));
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    let token = token_from_link(&mails[0].decoded_text());
    assert_eq!(
        app.post("/auth/magic-link/verify", json!({ "token": token }))
            .await
            .status
            .as_u16(),
        200
    );
}

async fn a_stalled_smtp_server_does_not_slow_requests_down(backend: Backend) {
    let sink = SmtpSink::start().await;
    sink.stall(Duration::from_secs(5));
    let app = smtp_app(backend, &sink, |c| c.email.timeout_seconds = 30).await;
    app.signup("stalled@example.com").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..5 {
        let t = Instant::now();
        let r = app
            .post("/auth/magic-link", json!({"email": "stalled@example.com"}))
            .await;
        known.push(t.elapsed());
        assert_eq!(r.status.as_u16(), 200);
        let t = Instant::now();
        let r = app
            .post("/auth/magic-link", json!({"email": format!("nobody{i}@example.com")}))
            .await;
        unknown.push(t.elapsed());
        assert_eq!(r.status.as_u16(), 200);
    }
    let slowest = known.iter().chain(&unknown).max().unwrap();
    assert!(
        *slowest < Duration::from_millis(1000),
        "known {known:?} unknown {unknown:?}"
    );
}

async fn a_webhook_receives_signed_messages(backend: Backend) {
    let sink = WebhookSink::start().await;
    let url = sink.url();
    let app = TestApp::with_config(backend, move |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.email.transport = "webhook".into();
        c.email.webhook_url = Some(url);
        c.email.webhook_secret = Some("a-long-enough-webhook-secret".into());
        c.email.poll_interval_ms = 50;
    })
    .await;
    app.signup("hook@example.com").await;
    app.post("/auth/magic-link", json!({"email": "hook@example.com"})).await;
    let request = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    let mut mac = Hmac::<Sha256>::new_from_slice(b"a-long-enough-webhook-secret").unwrap();
    mac.update(&request.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(request.header("x-authfort-signature"), Some(expected.as_str()));
    let body = request.json();
    assert_eq!(body["to"], "hook@example.com");
    let token = token_from_link(body["text"].as_str().unwrap());
    assert_eq!(
        app.post("/auth/magic-link/verify", json!({ "token": token }))
            .await
            .status
            .as_u16(),
        200
    );
}

on_both_backends!(
    link_mailed_over_smtp_completes_the_sign_in,
    unknown_addresses_get_no_mail,
    a_refused_first_attempt_is_retried,
    a_stalled_smtp_server_does_not_slow_requests_down,
    a_webhook_receives_signed_messages,
);
