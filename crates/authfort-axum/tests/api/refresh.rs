use std::collections::HashSet;

use authfort_test_support::{on_both_backends, Backend};
use serde_json::json;

use crate::helpers::{tokens, TestApp};

async fn refresh_rotates_and_keeps_the_session_id(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.signup("r@example.com").await;
    let (_, refresh1) = tokens(&first);
    let r = app.post("/auth/refresh", json!({"refresh_token": refresh1})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let (_, refresh2) = tokens(&r.body);
    assert_ne!(refresh1, refresh2);
    assert_eq!(r.body["user"]["session_id"], first["user"]["session_id"]);
    // Session metadata is that of the sign-in, not of the refresh.
    let sid = first["user"]["session_id"].as_str().unwrap().parse().unwrap();
    let before = app.auth.store().session(sid).await.unwrap().unwrap();
    app.post_with(
        "/auth/refresh",
        json!({"refresh_token": refresh2}),
        &[("user-agent", "Other/2")],
    )
    .await;
    let after = app.auth.store().session(sid).await.unwrap().unwrap();
    assert_eq!(before.created_at, after.created_at);
    assert_eq!(before.user_agent, after.user_agent);
}

async fn reuse_of_a_rotated_token_revokes_the_family_persistently(backend: Backend) {
    let app = TestApp::new(backend).await;
    let first = app.signup("thief@example.com").await;
    let other_session = app
        .post(
            "/auth/login",
            json!({"email": "thief@example.com", "password": "correct horse battery"}),
        )
        .await;
    let (_, stolen) = tokens(&first);
    let rotated = app.post("/auth/refresh", json!({"refresh_token": stolen})).await;
    let (_, newest) = tokens(&rotated.body);
    let r = app.post("/auth/refresh", json!({"refresh_token": stolen})).await;
    r.assert_error(401, "refresh_token_revoked");
    assert_eq!(
        r.body["detail"]["message"],
        "Refresh token reuse detected \u{2014} all sessions revoked"
    );
    // The revocation was committed although the request failed: the newest token is dead.
    app.post("/auth/refresh", json!({"refresh_token": newest}))
        .await
        .assert_error(401, "refresh_token_revoked");
    // Other sessions of the user are not part of the family.
    let (_, other) = tokens(&other_session.body);
    assert_eq!(
        app.post("/auth/refresh", json!({"refresh_token": other}))
            .await
            .status
            .as_u16(),
        200
    );
}

async fn concurrent_refreshes_of_one_token_have_exactly_one_winner(backend: Backend) {
    let app = std::sync::Arc::new(TestApp::new(backend).await);
    let (_, refresh) = tokens(&app.signup("race@example.com").await);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let app = app.clone();
        let refresh = refresh.clone();
        tasks.push(tokio::spawn(async move {
            app.post("/auth/refresh", json!({"refresh_token": refresh}))
                .await
                .status
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
}

async fn refresh_errors_use_the_reference_codes(backend: Backend) {
    let app = TestApp::new(backend).await;
    for body in [json!({}), json!({"refresh_token": null}), json!({"refresh_token": ""})] {
        app.post("/auth/refresh", body)
            .await
            .assert_error(401, "refresh_token_missing");
    }
    app.post_raw("/auth/refresh", None, "")
        .await
        .assert_error(401, "refresh_token_missing");
    app.post("/auth/refresh", json!({"refresh_token": "x".repeat(86)}))
        .await
        .assert_error(401, "refresh_token_invalid");
    assert_eq!(app.post("/auth/refresh", json!([1, 2])).await.status.as_u16(), 422);
    let (_, refresh) = tokens(&app.signup("exp@example.com").await);
    app.clock.advance(time::Duration::days(31));
    app.post("/auth/refresh", json!({"refresh_token": refresh}))
        .await
        .assert_error(401, "refresh_token_expired");
}

async fn logout_is_always_204_and_revokes_only_that_token(backend: Backend) {
    let app = TestApp::new(backend).await;
    let a = app.signup("out@example.com").await;
    let b = app
        .post(
            "/auth/login",
            json!({"email": "out@example.com", "password": "correct horse battery"}),
        )
        .await;
    for body in [
        json!({}),
        json!({"refresh_token": "nonsense"}),
        json!({"refresh_token": null}),
    ] {
        let r = app.post("/auth/logout", body).await;
        assert_eq!(r.status.as_u16(), 204);
        assert!(r.text.is_empty());
    }
    assert_eq!(app.post_raw("/auth/logout", None, "").await.status.as_u16(), 204);
    let r = app.post("/auth/logout", json!({"refresh_token": tokens(&a).1})).await;
    assert_eq!(r.status.as_u16(), 204);
    app.post("/auth/refresh", json!({"refresh_token": tokens(&a).1}))
        .await
        .assert_error(401, "refresh_token_revoked");
    assert_eq!(
        app.post("/auth/refresh", json!({"refresh_token": tokens(&b.body).1}))
            .await
            .status
            .as_u16(),
        200
    );
    // The access token stays valid until it expires.
    assert_eq!(app.me(&tokens(&a).0).await.status.as_u16(), 200);
}

async fn every_login_gets_a_distinct_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.signup("many@example.com").await;
    let mut sids = HashSet::new();
    for _ in 0..3 {
        let r = app
            .post(
                "/auth/login",
                json!({"email": "many@example.com", "password": "correct horse battery"}),
            )
            .await;
        sids.insert(r.body["user"]["session_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(sids.len(), 3);
}

on_both_backends!(
    refresh_rotates_and_keeps_the_session_id,
    reuse_of_a_rotated_token_revokes_the_family_persistently,
    concurrent_refreshes_of_one_token_have_exactly_one_winner,
    refresh_errors_use_the_reference_codes,
    logout_is_always_204_and_revokes_only_that_token,
    every_login_gets_a_distinct_session,
);
