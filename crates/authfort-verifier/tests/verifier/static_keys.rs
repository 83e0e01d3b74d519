//! `Verifier` over a fixed keyset: the happy path and the negative matrix.

use authfort_verifier::{Amr, Verifier, VerifyError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::common::*;

#[test]
fn a_server_issued_token_verifies_into_typed_claims() {
    let token = key_a().sign(&claims());
    let c = verifier().verify(&token).expect("valid token");
    assert_eq!(c.sub, "6f1c1d8e-8f43-4a57-9a8e-2f0b8e2c1a11");
    assert_eq!(c.email, "alice@example.com");
    assert_eq!(c.name, None);
    assert_eq!(c.roles, vec!["editor".to_owned()]);
    assert_eq!(c.ver, 0);
    assert_eq!(c.iss, ISSUER);
    assert_eq!(c.amr, vec![Amr::Pwd]);
}

#[test]
fn a_tampered_payload_is_refused() {
    let token = key_a().sign(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims_with(json!({"roles": ["admin"]})).to_string());
    assert_eq!(verifier().verify(&parts.join(".")), Err(VerifyError::Invalid));
}

#[test]
fn a_tampered_or_truncated_signature_is_refused() {
    let token = key_a().sign(&claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    let flipped = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes));
    assert_eq!(verifier().verify(&flipped), Err(VerifyError::Invalid));
    let truncated = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&bytes[..128]));
    assert_eq!(verifier().verify(&truncated), Err(VerifyError::Invalid));
    assert_eq!(verifier().verify(&format!("{input}.")), Err(VerifyError::Invalid));
}

#[test]
fn a_token_signed_by_another_key_under_our_kid_is_refused() {
    let token = key_b().sign_with_header(&json!({"alg": "RS256", "kid": key_a().kid}), &claims());
    assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid));
}

#[test]
fn expiry_is_checked_with_zero_leeway_by_default() {
    let t = now();
    let token = key_a().sign(&claims_with(json!({"iat": t - 900, "exp": t - 1})));
    assert_eq!(verifier().verify(&token), Err(VerifyError::Expired));
    assert_eq!(VerifyError::Expired.code(), "token_expired");
    // PyJWT treats exp == now as expired.
    let token = key_a().sign(&claims_with(json!({"iat": t - 900, "exp": t})));
    assert_eq!(verifier().verify_at(&token, t, false), Err(VerifyError::Expired));
    assert!(verifier().verify_at(&token, t - 1, false).is_ok());
}

#[test]
fn leeway_accepts_a_just_expired_token_and_refuses_beyond_it() {
    let t = now();
    let token = key_a().sign(&claims_with(json!({"iat": t - 900, "exp": t - 5})));
    let lenient = verifier().with_leeway(10);
    assert!(lenient.verify_at(&token, t, false).is_ok());
    assert_eq!(lenient.verify_at(&token, t + 5, false), Err(VerifyError::Expired));
}

#[test]
fn iat_in_the_future_is_refused_unless_within_leeway() {
    let t = now();
    let token = key_a().sign(&claims_at(t + 3));
    assert_eq!(verifier().verify_at(&token, t, false), Err(VerifyError::Invalid));
    assert!(verifier().with_leeway(5).verify_at(&token, t, false).is_ok());
    assert_eq!(
        verifier().with_leeway(2).verify_at(&token, t, false),
        Err(VerifyError::Invalid)
    );
    // The server's own use: iat == now holds.
    assert!(verifier().verify_at(&token, t + 3, false).is_ok());
}

#[test]
fn issued_at_skew_tolerates_an_early_iat_but_not_a_late_exp() {
    let t = now();
    let keys = jwks(&[key_a()]);
    let skewed = |seconds| {
        let base = Verifier::from_jwks(&keys, ISSUER);
        let options = base.options().clone().issued_at_skew(seconds);
        let keys = keys
            .keys
            .iter()
            .map(|k| {
                let key = jsonwebtoken::DecodingKey::from_rsa_components(&k.n, &k.e).unwrap();
                (k.kid.clone(), key)
            })
            .collect();
        Verifier::with_options(keys, options)
    };
    let early = key_a().sign(&claims_at(t + 3));
    assert!(skewed(5).verify_at(&early, t, false).is_ok());
    assert_eq!(skewed(2).verify_at(&early, t, false), Err(VerifyError::Invalid));
    // Expiry keeps zero leeway whatever the skew.
    let expired = key_a().sign(&claims_at(t - 10_000));
    assert_eq!(skewed(5).verify_at(&expired, t, false), Err(VerifyError::Expired));
}

#[test]
fn nbf_in_the_future_is_refused_when_present() {
    let t = now();
    let token = key_a().sign(&claims_with(json!({"nbf": t + 60})));
    assert_eq!(verifier().verify_at(&token, t, false), Err(VerifyError::Invalid));
    assert!(verifier().verify_at(&token, t + 60, false).is_ok());
    let token = key_a().sign(&claims_with(json!({"nbf": "soon"})));
    assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid));
}

#[test]
fn verify_at_allow_expired_skips_only_the_expiry_check() {
    let t = now();
    let token = key_a().sign(&claims_at(t));
    assert!(verifier().verify_at(&token, t + 10_000, true).is_ok());
    assert!(verifier()
        .verify_ignoring_expiry(&key_a().sign(&claims_at(t - 5000)))
        .is_ok());
    let foreign = key_a().sign(&claims_with(json!({"iss": "evil"})));
    assert_eq!(verifier().verify_at(&foreign, t, true), Err(VerifyError::Invalid));
}

#[test]
fn alg_none_is_refused() {
    let input = signing_input(&json!({"alg": "none", "kid": key_a().kid, "typ": "JWT"}), &claims());
    assert_eq!(verifier().verify(&format!("{input}.")), Err(VerifyError::Invalid));
    let input = signing_input(&json!({"alg": "None", "kid": key_a().kid}), &claims());
    assert_eq!(verifier().verify(&format!("{input}.")), Err(VerifyError::Invalid));
}

#[test]
fn hs256_signed_with_the_public_key_bytes_is_refused() {
    let kid = key_a().kid;
    for secret in [
        key_a().public_pem().into_bytes(),
        key_a().public_pkcs1_der(),
        key_a().jwk().n.into_bytes(),
    ] {
        let token = sign_hs256(kid, &secret, &claims());
        assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid));
    }
}

#[test]
fn other_asymmetric_algorithms_in_the_header_are_refused() {
    for alg in ["RS512", "PS256", "ES256"] {
        let token = key_a().sign_with_header(&json!({"alg": alg, "kid": key_a().kid}), &claims());
        assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid), "{alg}");
    }
}

#[test]
fn unknown_and_missing_kids_are_refused() {
    let token = key_b().sign(&claims());
    assert_eq!(verifier().verify(&token), Err(VerifyError::UnknownKid));
    let token = key_a().sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &claims());
    assert_eq!(verifier().verify(&token), Err(VerifyError::MissingKid));
    assert_eq!(VerifyError::MissingKid.code(), "token_invalid");
}

#[test]
fn embedded_keys_in_the_header_are_ignored() {
    // A token that brings its own key (jwk / jku) still verifies only against ours.
    let header = json!({"alg": "RS256", "kid": key_a().kid, "jwk": key_b().jwk(), "jku": "http://evil/jwks"});
    let token = key_b().sign_with_header(&header, &claims());
    assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid));
}

#[test]
fn malformed_tokens_are_refused_as_malformed() {
    for token in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig", "e30.e30.e30"] {
        let got = verifier().verify(token);
        assert!(
            matches!(got, Err(VerifyError::Malformed) | Err(VerifyError::MissingKid)),
            "{token}: {got:?}"
        );
    }
    assert_eq!(verifier().verify(""), Err(VerifyError::Malformed));
    assert_eq!(VerifyError::Malformed.code(), "token_invalid");
}

#[test]
fn a_wrong_issuer_is_refused() {
    let token = key_a().sign(&claims_with(json!({"iss": "someone-else"})));
    assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid));
    let other = Verifier::from_jwks(&jwks(&[key_a()]), "someone-else");
    assert!(other.verify(&token).is_ok());
}

#[test]
fn a_non_empty_audience_is_refused_and_an_empty_one_ignored() {
    for aud in [json!("svc"), json!(["svc"]), json!(["authfort"])] {
        let token = key_a().sign(&claims_with(json!({ "aud": aud })));
        assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid), "{aud}");
    }
    for aud in [json!(""), json!([]), json!(null)] {
        let token = key_a().sign(&claims_with(json!({ "aud": aud })));
        assert!(verifier().verify(&token).is_ok(), "{aud}");
    }
}

#[test]
fn every_required_claim_must_be_present_and_non_null() {
    for claim in ["sub", "email", "roles", "ver", "exp", "iat", "iss"] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            verifier().verify(&key_a().sign(&c)),
            Err(VerifyError::Invalid),
            "missing {claim}"
        );
        let mut c = claims();
        c[claim] = json!(null);
        assert_eq!(
            verifier().verify(&key_a().sign(&c)),
            Err(VerifyError::Invalid),
            "null {claim}"
        );
    }
}

#[test]
fn optional_claims_may_be_absent() {
    let mut c = claims();
    for optional in ["name", "sid", "mfa_enabled", "amr"] {
        c.as_object_mut().unwrap().remove(optional);
    }
    let got = verifier().verify(&key_a().sign(&c)).expect("valid");
    assert!(!got.mfa_enabled);
    assert!(got.amr.is_empty());
}

#[test]
fn claim_types_are_checked() {
    for bad in [
        json!({"sub": 42}),
        json!({"jti": 7}),
        json!({"roles": "admin"}),
        json!({"ver": "0"}),
        json!({"exp": "tomorrow"}),
        json!({"iat": 1.5}),
    ] {
        let token = key_a().sign(&claims_with(bad.clone()));
        assert_eq!(verifier().verify(&token), Err(VerifyError::Invalid), "{bad}");
    }
    assert!(verifier()
        .verify(&key_a().sign(&claims_with(json!({"jti": "abc"}))))
        .is_ok());
}

#[test]
fn an_mfa_challenge_token_is_not_an_access_token() {
    let t = now();
    let challenge = json!({"sub": "u", "purpose": "mfa_challenge", "iat": t, "exp": t + 300, "iss": ISSUER});
    assert_eq!(verifier().verify(&key_a().sign(&challenge)), Err(VerifyError::Invalid));
}

#[test]
fn unknown_amr_values_are_dropped_not_fatal() {
    let token = key_a().sign(&claims_with(json!({"amr": ["pwd", "passkey", "mfa"]})));
    assert_eq!(verifier().verify(&token).unwrap().amr, vec![Amr::Pwd, Amr::Mfa]);
}

#[test]
fn extra_claims_are_ignored() {
    let token = key_a().sign(&claims_with(json!({"scope": "x", "tenant": {"id": 1}})));
    assert!(verifier().verify(&token).is_ok());
}

#[test]
fn weak_or_foreign_keys_in_a_keyset_are_skipped() {
    let mut weak = key_a().jwk();
    weak.n = URL_SAFE_NO_PAD.encode([0xc3u8; 128]); // 1024-bit modulus
    weak.kid = "weak".into();
    let mut hmac = key_b().jwk();
    hmac.alg = Some("HS256".into());
    let set = authfort_verifier::JwkSet {
        keys: vec![weak, hmac, key_a().jwk()],
    };
    let v = Verifier::from_jwks(&set, ISSUER);
    assert!(v.has_kid(key_a().kid));
    assert!(!v.has_kid("weak"));
    assert!(!v.has_kid(key_b().kid));
}

#[test]
fn kid_of_reads_the_header_only() {
    let token = key_b().sign(&claims());
    assert_eq!(Verifier::kid_of(&token).as_deref(), Ok(key_b().kid));
}
