//! Refresh: rotation, reuse detection, expiry, unknown tokens, races.

use authfort_core::ClientInfo;
use authfort_test_support::{on_both_backends, Backend};
use time::Duration;

use crate::common::{code, create, decode_claims, harness, live_rows_in_session, refresh_row};

async fn refresh_rotates_the_token_within_the_same_session(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::minutes(5));

    // Act
    let second = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();

    // Assert
    assert_ne!(second.tokens.refresh_token, first.tokens.refresh_token);
    assert_ne!(second.tokens.access_token, first.tokens.access_token);
    assert_eq!(second.user.session_id, first.user.session_id);
    let claims = decode_claims(&h.auth, &second.tokens.access_token).await;
    assert_eq!(
        claims["sid"].as_str(),
        first.user.session_id.map(|s| s.to_string()).as_deref()
    );
    let old = refresh_row(&h.auth, &first.tokens.refresh_token).await;
    let new = refresh_row(&h.auth, &second.tokens.refresh_token).await;
    assert!(old.revoked);
    assert_eq!(old.replaced_by, Some(new.id));
    assert!(!new.revoked);
    assert_eq!(new.session_id, old.session_id);
    let replay = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    assert_eq!(code(replay), "refresh_token_revoked");
}

async fn reusing_a_rotated_token_revokes_the_whole_family(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    let second = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();
    let third = h
        .auth
        .refresh(&second.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();
    let session_id = first.user.session_id.unwrap();

    // Act
    let reuse = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    let newest = h
        .auth
        .refresh(&third.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(reuse), "refresh_token_revoked");
    assert_eq!(code(newest), "refresh_token_revoked");
    for raw in [
        &first.tokens.refresh_token,
        &second.tokens.refresh_token,
        &third.tokens.refresh_token,
    ] {
        assert!(refresh_row(&h.auth, raw).await.revoked);
    }
    let session = h.auth.store().session(session_id).await.unwrap().unwrap();
    assert!(session.revoked_at.is_some());
    assert_eq!(live_rows_in_session(&h.db, session_id).await, 0);
}

async fn family_revocation_leaves_other_sessions_of_the_user_alive(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    let other = crate::common::login(&h.auth, "alice@example.com").await;
    h.auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await
        .unwrap();

    // Act
    let reuse = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    let other_refresh = h
        .auth
        .refresh(&other.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(reuse), "refresh_token_revoked");
    assert!(other_refresh.is_ok(), "{other_refresh:?}");
}

async fn refresh_after_the_refresh_ttl_is_refresh_token_expired(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::days(30) + Duration::seconds(1));

    // Act
    let result = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert
    assert_eq!(code(result), "refresh_token_expired");
    assert!(!refresh_row(&h.auth, &first.tokens.refresh_token).await.revoked);
}

async fn refresh_just_before_the_refresh_ttl_still_works(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    h.clock.advance(Duration::days(30) - Duration::seconds(1));

    // Act
    let result = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert
    assert!(result.is_ok(), "{result:?}");
}

async fn unknown_refresh_token_is_refresh_token_invalid(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    create(&h.auth, "alice@example.com").await;

    // Act
    let unknown = h
        .auth
        .refresh("not-a-token-we-ever-issued", None, &ClientInfo::default())
        .await;
    let empty = h.auth.refresh("", None, &ClientInfo::default()).await;

    // Assert
    assert_eq!(code(unknown), "refresh_token_invalid");
    assert_eq!(code(empty), "refresh_token_invalid");
}

async fn refresh_for_a_banned_user_is_refused(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;
    h.auth.ban_user(first.user.id).await.unwrap();

    // Act
    let result = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;

    // Assert: the ban already revoked the token (so it reads as a replay); either way
    // nothing new is issued.
    let refused = code(result);
    assert!(
        matches!(refused, "refresh_token_revoked" | "user_banned"),
        "got {refused}"
    );
    assert!(refresh_row(&h.auth, &first.tokens.refresh_token).await.revoked);
    assert_eq!(live_rows_in_session(&h.db, first.user.session_id.unwrap()).await, 0);
}

async fn twenty_concurrent_refreshes_of_one_token_have_exactly_one_success(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = create(&h.auth, "alice@example.com").await;

    // Act
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let auth = h.auth.clone();
            let token = first.tokens.refresh_token.clone();
            tokio::spawn(async move { auth.refresh(&token, None, &ClientInfo::default()).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }

    // Assert
    let successes = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        successes,
        1,
        "codes: {:?}",
        results
            .iter()
            .map(|r| r.as_ref().err().map(|e| e.code()))
            .collect::<Vec<_>>()
    );
    for result in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(result.code(), "refresh_token_revoked");
    }
}

on_both_backends!(
    refresh_rotates_the_token_within_the_same_session,
    reusing_a_rotated_token_revokes_the_whole_family,
    family_revocation_leaves_other_sessions_of_the_user_alive,
    refresh_after_the_refresh_ttl_is_refresh_token_expired,
    refresh_just_before_the_refresh_ttl_still_works,
    unknown_refresh_token_is_refresh_token_invalid,
    refresh_for_a_banned_user_is_refused,
    twenty_concurrent_refreshes_of_one_token_have_exactly_one_success,
);
