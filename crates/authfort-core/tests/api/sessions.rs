//! Session metadata: recorded at sign-in, never changed by refresh; logout; clean-up.

use authfort_core::clock::Clock;
use authfort_core::{Amr, ClientInfo};
use authfort_test_support::{on_both_backends, Backend};
use time::Duration;

use crate::common::{code, create, harness, refresh_row, signed_in, PASSWORD};

async fn login_records_client_metadata_that_refresh_leaves_unchanged(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;
    let at_login = ClientInfo {
        ip_address: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) LoginBrowser/1.0".into()),
    };
    let login_time = h.clock.now();
    let signed = signed_in(h.auth.login("alice@example.com", PASSWORD, &at_login).await);
    let session_id = signed.user.session_id.unwrap();
    let recorded = h.auth.store().session(session_id).await.unwrap().unwrap();
    h.clock.advance(Duration::hours(1));
    let elsewhere = ClientInfo {
        ip_address: Some("198.51.100.99".into()),
        user_agent: Some("curl/8.5.0".into()),
    };

    // Act
    let refreshed = h
        .auth
        .refresh(&signed.tokens.refresh_token, None, &elsewhere)
        .await
        .unwrap();
    let after = h.auth.store().session(session_id).await.unwrap().unwrap();

    // Assert
    assert_eq!(recorded.ip_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        recorded.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64) LoginBrowser/1.0")
    );
    assert_eq!(recorded.created_at, login_time);
    assert_eq!(recorded.amr, vec![Amr::Pwd]);
    assert_eq!(recorded.user_id, signed.user.id);
    assert_eq!(refreshed.user.session_id, Some(session_id));
    assert_eq!(after.ip_address, recorded.ip_address);
    assert_eq!(after.user_agent, recorded.user_agent);
    assert_eq!(after.created_at, login_time);
    assert_eq!(after.amr, vec![Amr::Pwd]);
    assert_eq!(after.revoked_at, None);
    assert_eq!(
        after.expires_at,
        login_time + Duration::hours(1) + Duration::days(30),
        "expiry slides"
    );
}

async fn logout_revokes_the_refresh_token_once(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let created = create(&h.auth, "alice@example.com").await;

    // Act
    h.auth.logout(&created.tokens.refresh_token).await.unwrap();
    let again = h.auth.logout(&created.tokens.refresh_token).await;
    let unknown = h.auth.logout("never-issued").await;
    let refresh = h
        .auth
        .refresh(&created.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert
    assert!(again.is_ok());
    assert!(unknown.is_ok());
    assert!(refresh_row(&h.auth, &created.tokens.refresh_token).await.revoked);
    assert_eq!(code(refresh), "refresh_token_revoked");
}

async fn cleanup_of_expired_sessions_removes_only_expired_ones(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let old = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::days(20));
    let recent = signed_in(
        h.auth
            .login("alice@example.com", PASSWORD, &ClientInfo::default())
            .await,
    );
    h.clock.advance(Duration::days(11));

    // Act
    let deleted = h.auth.cleanup_expired_sessions().await.unwrap();

    // Assert
    assert_eq!(deleted, 1);
    let store = h.auth.store();
    assert!(store.session(old.user.session_id.unwrap()).await.unwrap().is_none());
    assert!(store.session(recent.user.session_id.unwrap()).await.unwrap().is_some());
    let gone = h
        .auth
        .refresh(&old.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    assert_eq!(code(gone), "refresh_token_invalid");
}

on_both_backends!(
    login_records_client_metadata_that_refresh_leaves_unchanged,
    logout_revokes_the_refresh_token_once,
    cleanup_of_expired_sessions_removes_only_expired_ones,
);
