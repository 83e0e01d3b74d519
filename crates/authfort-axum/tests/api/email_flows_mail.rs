//! Email verification, sign-in codes and password resets delivered by real mail: SMTP over a
//! socket to an in-test sink, then the flow completed over HTTP with what the mail carried.

use std::time::Duration;

use authfort_test_support::smtp_sink::{ReceivedMail, SmtpSink};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::{tokens, TestApp};

const WAIT: Duration = Duration::from_secs(10);

async fn smtp_app(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    TestApp::with_config(backend, move |c| {
        c.public_url = Some("https://auth.example.test".into());
        c.email.transport = "smtp".into();
        c.email.smtp_url = Some(url);
        c.email.from = "AuthFort <no-reply@example.test>".into();
        c.email.poll_interval_ms = 50;
        c.email_verification.send_on_signup = true;
    })
    .await
}

/// The token after `marker` in the mail's text (a link ending in `#token=…`).
fn token_after(mail: &ReceivedMail, marker: &str) -> String {
    let text = mail.decoded_text();
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker} in {text}")) + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The first run of six digits on a line of its own.
fn code_in(mail: &ReceivedMail) -> String {
    let text = mail.decoded_text();
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("a code in {text}"))
        .to_owned()
}

async fn signup_mails_a_verification_link_that_verifies(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = smtp_app(backend, &sink).await;
    let body = app.signup("new@example.com").await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, ["new@example.com"]);
    assert_eq!(mail.header("Subject").as_deref(), Some("Confirm your email address"));
    let token = token_after(&mail, "https://auth.example.test/auth/verify-email/confirm#token=");
    assert_eq!(token.len(), 86);
    let r = app.post("/auth/verify-email", json!({ "token": token })).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(app.me(&tokens(&body).0).await.body["email_verified"], true);
}

async fn a_mailed_code_signs_in(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = smtp_app(backend, &sink).await;
    app.auth
        .create_user(authfort_core::CreateUser {
            email_verified: true,
            ..authfort_core::CreateUser::new("code@example.com", "correct horse battery")
        })
        .await
        .unwrap();
    app.post("/auth/otp", json!({"email": " Code@Example.com "})).await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, ["code@example.com"], "sent to the stored address");
    assert_eq!(mail.header("Subject").as_deref(), Some("Your sign-in code"));
    let code = code_in(&mail);
    let r = app
        .post("/auth/otp/verify", json!({"email": "code@example.com", "code": code}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(app.me(&tokens(&r.body).0).await.status.as_u16(), 200);
    // Delivered mail is scrubbed: the code is no longer in the outbox.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rows = app.auth.store().outbox_for("code@example.com").await.unwrap();
    assert!(rows.iter().all(|m| m.status == "sent" && m.body_text.is_none()));
}

async fn a_mailed_reset_link_resets_and_unknown_addresses_get_no_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = smtp_app(backend, &sink).await;
    app.auth
        .create_user(authfort_core::CreateUser {
            email_verified: true,
            ..authfort_core::CreateUser::new("reset@example.com", "correct horse battery")
        })
        .await
        .unwrap();
    app.post("/auth/password/forgot", json!({"email": "stranger@example.com"}))
        .await;
    app.post("/auth/password/forgot", json!({"email": "reset@example.com"}))
        .await;
    let mail = sink.wait_for(1, WAIT).await.remove(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "no mail for an unknown address");
    assert_eq!(mail.to, ["reset@example.com"]);
    assert_eq!(mail.header("Subject").as_deref(), Some("Reset your password"));
    let token = token_after(&mail, "https://auth.example.test/auth/password/reset/confirm#token=");
    let r = app
        .post(
            "/auth/password/reset",
            json!({"token": token, "new_password": "a completely new passphrase"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let login = app
        .post(
            "/auth/login",
            json!({"email": "reset@example.com", "password": "a completely new passphrase"}),
        )
        .await;
    assert_eq!(login.status.as_u16(), 200);
}

on_both_backends!(
    signup_mails_a_verification_link_that_verifies,
    a_mailed_code_signs_in,
    a_mailed_reset_link_resets_and_unknown_addresses_get_no_mail,
);
