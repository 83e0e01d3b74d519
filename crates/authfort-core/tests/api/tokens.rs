//! The access token's exact shape: header, claim set, types and values.

use std::collections::BTreeSet;

use authfort_core::CreateUser;
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::common::{create, decode_claims, harness, raw_header, PASSWORD};

async fn create_user_returns_an_access_token_with_exactly_the_authfort_claim_set(backend: Backend) {
    // Arrange
    let h = harness(backend).await;

    // Act
    let response = create(&h.auth, "alice@example.com").await;
    let claims = decode_claims(&h.auth, &response.tokens.access_token).await;

    // Assert
    let keys: BTreeSet<&str> = claims.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "sub",
        "email",
        "name",
        "roles",
        "ver",
        "sid",
        "mfa_enabled",
        "iat",
        "exp",
        "iss",
        "amr",
    ]
    .into();
    assert_eq!(keys, expected);
    assert!(!claims.contains_key("aud"));
    assert_eq!(claims["sub"], json!(response.user.id.to_string()));
    assert_eq!(claims["email"], json!("alice@example.com"));
    assert_eq!(claims["name"], Value::Null);
    assert_eq!(claims["roles"], json!([]));
    assert!(claims["ver"].is_i64() && claims["ver"].is_number());
    assert_eq!(claims["ver"], json!(0));
    assert_eq!(claims["mfa_enabled"], json!(false));
    assert!(claims["iat"].is_i64(), "iat must be an integer: {}", claims["iat"]);
    assert!(claims["exp"].is_i64(), "exp must be an integer: {}", claims["exp"]);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(claims["iss"], json!("authfort"));
    assert_eq!(claims["amr"], json!(["pwd"]));
    let sid = response.user.session_id.expect("session id").to_string();
    assert_eq!(claims["sid"], json!(sid));
    assert_eq!(response.tokens.expires_in, 900);
    assert_eq!(response.tokens.refresh_token.len(), 86);
}

async fn access_token_iat_is_the_injected_clock_time(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let now = authfort_core::clock::Clock::now(h.clock.as_ref());

    // Act
    let response = create(&h.auth, "alice@example.com").await;
    let claims = decode_claims(&h.auth, &response.tokens.access_token).await;

    // Assert
    assert_eq!(claims["iat"], json!(now.unix_timestamp()));
    assert_eq!(claims["exp"], json!(now.unix_timestamp() + 900));
}

async fn access_token_carries_name_and_roles_when_set(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let first = h
        .auth
        .create_user(CreateUser {
            name: Some("Alice Liddell".into()),
            ..CreateUser::new("alice@example.com", PASSWORD)
        })
        .await
        .unwrap();
    h.auth.add_role(first.user.id, "editor", false).await.unwrap();

    // Act
    let response = crate::common::login(&h.auth, "alice@example.com").await;
    let claims = decode_claims(&h.auth, &response.tokens.access_token).await;

    // Assert
    assert_eq!(claims["name"], json!("Alice Liddell"));
    assert_eq!(claims["roles"], json!(["editor"]));
    assert_eq!(response.user.roles, vec!["editor".to_owned()]);
}

async fn access_token_header_is_exactly_rs256_with_the_current_kid(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let current_kid = h.auth.current_kid().await.unwrap();

    // Act
    let response = create(&h.auth, "alice@example.com").await;
    let header = raw_header(&response.tokens.access_token);

    // Assert
    assert_eq!(header, json!({"alg": "RS256", "kid": current_kid, "typ": "JWT"}));
    let jwks = h.auth.get_jwks().await.unwrap();
    assert_eq!(jwks.keys.len(), 2, "the current key and the next one, published ahead");
    assert_eq!(jwks.keys[0].kid, current_kid);
    assert_eq!(jwks.keys[0].kty, "RSA");
    assert_eq!(jwks.keys[0].alg.as_deref(), Some("RS256"));
}

on_both_backends!(
    create_user_returns_an_access_token_with_exactly_the_authfort_claim_set,
    access_token_iat_is_the_injected_clock_time,
    access_token_carries_name_and_roles_when_set,
    access_token_header_is_exactly_rs256_with_the_current_kid,
);
