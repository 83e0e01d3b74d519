use authfort_test_support::{on_both_backends, Backend};
use base64::Engine;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp};

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn access_token_has_exactly_the_reference_claims_and_verifies_with_jwks(backend: Backend) {
    let app = TestApp::new(backend).await;
    let body = app.signup("claims@example.com").await;
    let (access, _) = tokens(&body);

    let header = segment(&access, 0);
    assert_eq!(
        header.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["alg", "kid", "typ"]
    );
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");

    let claims = segment(&access, 1);
    let keys: Vec<&str> = claims.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
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
            "amr"
        ]
    );
    assert_eq!(claims["sub"], body["user"]["id"]);
    assert_eq!(claims["email"], "claims@example.com");
    assert!(claims["name"].is_null());
    assert_eq!(claims["roles"], json!([]));
    assert_eq!(claims["ver"], 0);
    assert_eq!(claims["sid"], body["user"]["session_id"]);
    assert_eq!(claims["mfa_enabled"], false);
    assert!(claims["iat"].is_i64() && claims["exp"].is_i64());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert_eq!(claims["iss"], "authfort");
    assert_eq!(claims["amr"], json!(["pwd"]));

    // Any standard JWT library verifies it with the JWKS and the kid.
    let jwks = app.get("/.well-known/jwks.json", &[]).await;
    assert_eq!(jwks.headers["cache-control"], "public, max-age=3600");
    let kid = decode_header(&access).unwrap().kid.unwrap();
    let jwk = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("kid in JWKS");
    assert_eq!(
        jwk.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["kty", "kid", "use", "alg", "n", "e"]
    );
    assert_eq!(jwk["e"], "AQAB");
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["authfort"]);
    validation.validate_exp = false; // the test clock may differ from the wall clock
    let decoded = decode::<Value>(&access, &key, &validation).unwrap();
    assert_eq!(decoded.claims["email"], "claims@example.com");
}

async fn jwks_is_never_empty_and_keeps_retired_keys_until_they_expire(backend: Backend) {
    let app = TestApp::new(backend).await;
    let kids_of = |body: &Value| -> Vec<String> {
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = kids_of(&app.get("/.well-known/jwks.json", &[]).await.body);
    let (access, _) = tokens(&app.signup("rot@example.com").await);
    let old_kid = app.auth.current_kid().await.unwrap();
    assert_eq!(before.len(), 2, "the current key and the next one: {before:?}");
    assert_eq!(before[0], old_kid);
    let new_kid = app.auth.rotate_key().await.unwrap();
    assert_eq!(
        new_kid, before[1],
        "the pre-published key is the one that starts signing"
    );
    let kids = kids_of(&app.get("/.well-known/jwks.json", &[]).await.body);
    assert_eq!(kids.len(), 3, "{kids:?}");
    assert_eq!([&kids[0], &kids[2]], [&new_kid, &old_kid], "current, next, retired");
    assert_eq!(app.me(&access).await.status.as_u16(), 200, "old tokens keep verifying");
    let fresh = app
        .post(
            "/auth/login",
            json!({"email": "rot@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(decode_header(&tokens(&fresh.body).0).unwrap().kid.unwrap(), new_kid);
    app.clock.advance(time::Duration::hours(49));
    assert_eq!(app.auth.cleanup_expired_keys().await.unwrap(), 1);
    let later = kids_of(&app.get("/.well-known/jwks.json", &[]).await.body);
    assert_eq!(later, [new_kid, kids[1].clone()]);
}

on_both_backends!(
    access_token_has_exactly_the_reference_claims_and_verifies_with_jwks,
    jwks_is_never_empty_and_keeps_retired_keys_until_they_expire,
);
