//! Built-in templates, overrides from `email.templates_dir`, escaping.

use std::time::Duration;

use authfort_core::config::EmailConfig;
use authfort_core::delivery::Templates;
use authfort_test_support::smtp_sink::SmtpSink;
use authfort_test_support::{on_both_backends, Backend, TempDir, TestDb};

use crate::common::{clock, queue_with, smtp_config, transport, wait_sent, Worker, T0};

const LINK: &str = "https://auth.example.com/auth/magic-link/confirm?a=1&b=2#token=abc_DEF-123";

fn dir_config(dir: &std::path::Path) -> EmailConfig {
    EmailConfig {
        templates_dir: Some(dir.display().to_string()),
        ..EmailConfig::default()
    }
}

async fn built_in_templates_are_friendly_and_self_contained(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let loaded = Templates::load(&EmailConfig::default()).unwrap();

    // Act
    let mail = loaded.magic_link(LINK, "alice@example.com", 10);

    // Assert
    assert_eq!(loaded, Templates::default(), "no templates_dir: the built-ins");
    assert_eq!(mail.subject, "Your sign-in link");
    assert!(mail.text.contains(LINK));
    assert!(mail.text.contains("10 minutes"));
    assert!(mail.text.contains("If you didn't ask for this, ignore this email"));
    let escaped_link = LINK.replace('&', "&amp;");
    assert!(
        mail.html.contains(&format!("<a href=\"{escaped_link}\"")),
        "a button to the link"
    );
    assert!(mail.html.contains("10 minutes"));
    assert!(mail.html.contains("alice@example.com"));
    assert!(mail.html.contains("ignore this email"));
    for external in ["<img", "<link", "src=", "<script", "<style", "url("] {
        assert!(
            !mail.html.contains(external),
            "no external assets or style sheets: {external}"
        );
    }
    assert_eq!(
        mail.html.matches("https://").count(),
        mail.html.matches(&escaped_link).count(),
        "the only URL is the link"
    );
    // The defaults deliver as they are (the backend only stores the rendered mail).
    let stored = queue_with(&*db.store, T0, "alice@example.com", &loaded).await;
    assert!(stored.message.body_text.unwrap().contains(&stored.link));
}

async fn overrides_from_templates_dir_are_used_and_html_values_escaped(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let clock = clock();
    let dir = TempDir::new();
    std::fs::write(dir.0.join("magic_link.subject"), "Sign in to Acme\n").unwrap();
    std::fs::write(
        dir.0.join("magic_link.txt"),
        "Hello {{ email }}, open {{link}} within {{ttl_minutes}} min.\n",
    )
    .unwrap();
    std::fs::write(
        dir.0.join("magic_link.html"),
        "<p>Hello {{email}}</p><p><a href=\"{{link}}\">Open</a> ({{ttl_minutes}} min) {{unknown}}</p>",
    )
    .unwrap();
    let templates = Templates::load(&dir_config(&dir.0)).expect("templates load");
    let sink = SmtpSink::start().await;
    let config = smtp_config(&sink.url());

    // Act
    let hostile = templates.magic_link(LINK, "<script>alert(1)</script>@example.com", 15);
    let nested = templates.magic_link("L", "{{link}}", 1);
    let queued = queue_with(&*db.store, T0, "frank@example.com", &templates).await;
    let worker = Worker::start(&db.store, &clock, transport(&config), &config);
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    wait_sent(&*db.store, queued.message.id).await;
    worker.stop().await;

    // Assert: rendering
    assert_eq!(hostile.subject, "Sign in to Acme");
    assert_eq!(
        hostile.text,
        format!("Hello <script>alert(1)</script>@example.com, open {LINK} within 15 min.\n")
    );
    assert!(hostile
        .html
        .contains("Hello &lt;script&gt;alert(1)&lt;/script&gt;@example.com"));
    assert!(!hostile.html.contains("<script>"));
    assert!(hostile
        .html
        .contains("href=\"https://auth.example.com/auth/magic-link/confirm?a=1&amp;b=2#token=abc_DEF-123\""));
    assert!(
        hostile.html.contains("(15 min) {{unknown}}"),
        "unknown placeholders stay"
    );
    assert_eq!(
        nested.text, "Hello {{link}}, open L within 1 min.\n",
        "values are not re-expanded"
    );
    // Assert: the delivered mail uses the overrides
    let mail = &mails[0];
    assert_eq!(mail.header("Subject").as_deref(), Some("Sign in to Acme"));
    let text = mail.decoded_text();
    assert!(
        text.starts_with(&format!("Hello frank@example.com, open {} within 10 min.", queued.link)),
        "{text}"
    );
    let html = mail.decoded_html().unwrap();
    assert!(html.starts_with("<p>Hello frank@example.com</p>"), "{html}");
}

async fn partial_overrides_and_bad_template_dirs(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let partial = TempDir::new();
    std::fs::write(partial.0.join("magic_link.subject"), "Your Acme link").unwrap();
    let no_link = TempDir::new();
    std::fs::write(no_link.0.join("magic_link.txt"), "Hello {{email}}, no link here").unwrap();
    let two_lines = TempDir::new();
    std::fs::write(two_lines.0.join("magic_link.subject"), "one\ntwo").unwrap();
    let missing = partial.0.join("does-not-exist");

    // Act
    let templates = Templates::load(&dir_config(&partial.0)).unwrap();
    let rendered = templates.magic_link(LINK, "alice@example.com", 10);
    let default = Templates::default().magic_link(LINK, "alice@example.com", 10);
    let missing_err = Templates::load(&dir_config(&missing)).unwrap_err();
    let no_link_err = Templates::load(&dir_config(&no_link.0)).unwrap_err();
    let two_lines_err = Templates::load(&dir_config(&two_lines.0)).unwrap_err();

    // Assert
    assert_eq!(rendered.subject, "Your Acme link");
    assert_eq!(rendered.text, default.text, "files not present keep the built-in");
    assert_eq!(rendered.html, default.html);
    assert_eq!(missing_err.key, "email.templates_dir");
    assert!(
        missing_err.message.contains("does-not-exist"),
        "{}",
        missing_err.message
    );
    assert!(missing_err.to_string().contains("email.templates_dir"));
    assert_eq!(no_link_err.key, "email.templates_dir");
    assert!(
        no_link_err.message.contains("magic_link.txt"),
        "{}",
        no_link_err.message
    );
    assert_eq!(two_lines_err.key, "email.templates_dir");
    // The store keeps what was rendered, byte for byte.
    let queued = queue_with(&*db.store, T0, "alice@example.com", &templates).await;
    let row = db.store.outbox_message(queued.message.id).await.unwrap().unwrap();
    assert_eq!(row.subject.as_deref(), Some("Your Acme link"));
    assert_eq!(row.body_html, queued.message.body_html);
}

on_both_backends!(
    built_in_templates_are_friendly_and_self_contained,
    overrides_from_templates_dir_are_used_and_html_values_escaped,
    partial_overrides_and_bad_template_dirs,
);

#[test]
fn every_kind_has_built_ins_and_its_own_overrides() {
    use authfort_core::delivery::MailKind;
    let built_in = Templates::default();
    for kind in MailKind::ALL {
        let mail = built_in.render(kind, "SECRET-123", "a&b@example.com", 15);
        assert!(mail.text.contains("SECRET-123"), "{kind:?}");
        assert!(mail.html.contains("SECRET-123"), "{kind:?}");
        assert!(mail.text.contains("15 minutes"), "{kind:?}");
        assert!(mail.html.contains("a&amp;b@example.com"), "{kind:?}: escaped");
        assert!(!mail.subject.is_empty() && !mail.subject.contains('\n'));
    }
    assert_eq!(
        built_in.email_otp("042917", "a@example.com", 5).subject,
        "Your sign-in code"
    );
    assert_eq!(
        built_in.password_reset(LINK, "a@example.com", 60).subject,
        "Reset your password"
    );
    assert_eq!(
        built_in.email_verification(LINK, "a@example.com", 60).subject,
        "Confirm your email address"
    );

    let dir = TempDir::new();
    std::fs::write(dir.0.join("email_otp.subject"), "Acme code").unwrap();
    std::fs::write(dir.0.join("email_otp.txt"), "Code: {{ code }} for {{email}}").unwrap();
    std::fs::write(dir.0.join("password_reset.txt"), "Reset: {{link}}").unwrap();
    let templates = Templates::load(&dir_config(&dir.0)).unwrap();
    let otp = templates.email_otp("042917", "a@example.com", 5);
    assert_eq!(otp.subject, "Acme code");
    assert_eq!(otp.text, "Code: 042917 for a@example.com");
    assert_eq!(
        templates.password_reset(LINK, "a@example.com", 60).text,
        format!("Reset: {LINK}")
    );
    assert_eq!(
        templates.magic_link(LINK, "a@example.com", 10),
        built_in.magic_link(LINK, "a@example.com", 10),
        "other kinds keep their built-ins"
    );

    // A code template must carry the code; a link template its link.
    let no_code = TempDir::new();
    std::fs::write(no_code.0.join("email_otp.html"), "<p>{{link}}</p>").unwrap();
    let err = Templates::load(&dir_config(&no_code.0)).unwrap_err();
    assert_eq!(err.key, "email.templates_dir");
    assert!(
        err.message.contains("email_otp.html must contain {{code}}"),
        "{}",
        err.message
    );
    let no_link = TempDir::new();
    std::fs::write(no_link.0.join("email_verification.txt"), "{{code}}").unwrap();
    let err = Templates::load(&dir_config(&no_link.0)).unwrap_err();
    assert!(
        err.message.contains("email_verification.txt must contain {{link}}"),
        "{}",
        err.message
    );
}
