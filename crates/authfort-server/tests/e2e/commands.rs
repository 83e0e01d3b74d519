//! The one-shot commands: `migrate` and `keys rotate`.

use authfort_test_support::TempDir;

use crate::helpers::{authfort, run};

/// `key-YYYY-MM-<8 lower-case hex>`.
fn is_kid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("key-") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    matches!(parts.as_slice(), [year, month, id]
        if year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit())
            && month.len() == 2 && (1..=12).contains(&month.parse::<u8>().unwrap_or(0))
            && id.len() == 8 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

#[test]
fn kid_shape() {
    assert!(is_kid("key-2026-01-0123abcd"));
    assert!(!is_kid("key-2026-13-0123abcd"));
    assert!(!is_kid("key-2026-01-0123abcx"));
    assert!(!is_kid("key-2026-01-0123abc"));
}

#[test]
fn migrate_then_rotate_prints_new_kids() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("keys.db").display());

    let migrated = run(authfort(&dir.0).arg("migrate").env("AUTHFORT_DATABASE_URL", &url));
    assert!(migrated.status.success(), "{migrated:?}");
    assert_eq!(migrated.stdout.trim(), "AuthFort migrations applied successfully.");
    assert!(dir.0.join("keys.db").is_file());

    let first = run(authfort(&dir.0)
        .args(["keys", "rotate"])
        .env("AUTHFORT_DATABASE_URL", &url));
    assert!(first.status.success(), "{first:?}");
    let first_kid = first.stdout.trim();
    assert!(is_kid(first_kid), "stdout is only the kid: {:?}", first.stdout);

    let second = run(authfort(&dir.0)
        .args(["keys", "rotate"])
        .env("AUTHFORT_DATABASE_URL", &url));
    assert!(second.status.success(), "{second:?}");
    let second_kid = second.stdout.trim();
    assert!(is_kid(second_kid), "{:?}", second.stdout);
    assert_ne!(first_kid, second_kid);

    let again = run(authfort(&dir.0).arg("migrate").env("AUTHFORT_DATABASE_URL", &url));
    assert!(again.status.success(), "migrate is idempotent: {again:?}");
}

#[test]
fn an_unreachable_database_fails_with_a_redacted_url() {
    let dir = TempDir::new();
    let finished = run(authfort(&dir.0)
        .arg("migrate")
        .env("AUTHFORT_DATABASE_URL", "postgres://admin:s3cret@127.0.0.1:1/nowhere"));
    assert!(!finished.status.success());
    assert!(
        finished.stderr.contains("postgres://admin:***@127.0.0.1:1/nowhere"),
        "{}",
        finished.stderr
    );
    assert!(!finished.stderr.contains("s3cret"), "{}", finished.stderr);
}
