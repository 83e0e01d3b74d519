//! OAuth sign-in states: single use, and the purge `authfort cleanup` runs (expired or
//! consumed rows go, pending ones stay).

use authfort_core::store::{Claimed, OAuthResolution, OAuthState, ResolveOAuth, Store};
use authfort_test_support::{on_both_backends, Backend, TestDb};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::common::T0;

/// A started sign-in at `now` living `ttl`; its state hash and binding hash are `tag`-based.
fn state(tag: &str, now: OffsetDateTime, ttl: Duration) -> OAuthState {
    OAuthState {
        id: Uuid::new_v4(),
        state_hash: format!("{tag:0>64}"),
        binding_hash: format!("b{tag:0>63}"),
        provider: "acme".into(),
        pkce_verifier: "v".repeat(43),
        nonce: "n".repeat(43),
        redirect_to: Some("/after".into()),
        mode: None,
        expires_at: now + ttl,
        created_at: now,
    }
}

async fn rows(db: &TestDb, st: &OAuthState) -> i64 {
    db.count("SELECT COUNT(*) FROM authfort_oauth_states WHERE id = $1", st.id)
        .await
}

async fn purge_deletes_expired_and_consumed_states_and_keeps_pending_ones(backend: Backend) {
    // Arrange: three sign-ins started at T0: one short-lived (2 min), one finished at
    // T0 + 1 min, one still pending (10 min).
    let db = TestDb::new(backend).await;
    let short = state("a1", T0, Duration::minutes(2));
    let finished = state("b2", T0, Duration::minutes(10));
    let pending = state("c3", T0, Duration::minutes(10));
    for st in [&short, &finished, &pending] {
        db.store.create_oauth_state(st).await.unwrap();
    }
    let consumed = db
        .store
        .consume_oauth_state(&finished.state_hash, &finished.binding_hash, T0 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(consumed.map(|s| s.id), Some(finished.id));

    // Act + assert: at T0 + 90 s only the consumed row goes.
    let purged = db
        .store
        .delete_expired_oauth_states(T0 + Duration::seconds(90))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(rows(&db, &finished).await, 0);
    assert_eq!(rows(&db, &short).await, 1);

    // At T0 + 2 min (its expiry, inclusive) the short-lived one goes too; the pending one stays
    // and can still be consumed exactly once.
    let purged = db
        .store
        .delete_expired_oauth_states(T0 + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(rows(&db, &short).await, 0);
    assert_eq!(rows(&db, &pending).await, 1);
    assert_eq!(
        db.store
            .delete_expired_oauth_states(T0 + Duration::minutes(3))
            .await
            .unwrap(),
        0
    );
    let got = db
        .store
        .consume_oauth_state(&pending.state_hash, &pending.binding_hash, T0 + Duration::minutes(3))
        .await
        .unwrap()
        .expect("the pending state survived the purges");
    assert_eq!(got.redirect_to.as_deref(), Some("/after"));

    // Once expired, nothing is left.
    let purged = db
        .store
        .delete_expired_oauth_states(T0 + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(rows(&db, &pending).await, 0);
}

fn identity(provider: &str, sub: &str, email: &str, verified: bool, now: OffsetDateTime) -> ResolveOAuth {
    ResolveOAuth {
        provider: provider.into(),
        provider_account_id: sub.into(),
        email: email.into(),
        email_verified: verified,
        name: None,
        avatar_url: None,
        access_token: Some(format!("{provider}-access")),
        refresh_token: None,
        now,
        new_user_id: Uuid::new_v4(),
    }
}

async fn resolve(store: &dyn Store, r: &ResolveOAuth) -> authfort_core::store::OAuthResolved {
    match store.resolve_oauth_account(r).await.unwrap() {
        OAuthResolution::Resolved(r) => *r,
        other => panic!("not resolved: {other:?}"),
    }
}

async fn a_verified_identity_proving_the_address_unlinks_the_ones_linked_before(backend: Backend) {
    // Arrange: an unverified provider email created the account (someone's identity linked
    // while the address was unverified).
    let db = TestDb::new(backend).await;
    let first = resolve(&*db.store, &identity("evil", "e-1", "claim@example.com", false, T0)).await;
    assert!(first.created && !first.user.email_verified);

    // Act: another provider that verified the address signs in with it.
    let proof = resolve(
        &*db.store,
        &identity("good", "g-1", "claim@example.com", true, T0 + Duration::minutes(1)),
    )
    .await;

    // Assert: linked and verified; the earlier identity is gone, the proving one stays.
    assert_eq!(proof.user.id, first.user.id);
    assert!(proof.linked && proof.verified_now && proof.user.email_verified);
    assert_eq!(
        proof.claimed,
        Claimed {
            sessions_revoked: 0,
            password_cleared: false,
            identities_unlinked: vec!["evil".into()],
        }
    );
    assert_eq!(proof.user.token_version, first.user.token_version + 1);
    assert_eq!(db.store.provider_tokens(first.user.id, "evil").await.unwrap(), None);
    assert!(db.store.provider_tokens(first.user.id, "good").await.unwrap().is_some());
    // The unlinked identity is a stranger now: its unverified email is not linked again.
    let again = db
        .store
        .resolve_oauth_account(&identity(
            "evil",
            "e-1",
            "claim@example.com",
            false,
            T0 + Duration::minutes(2),
        ))
        .await
        .unwrap();
    assert!(matches!(again, OAuthResolution::EmailNotVerified), "{again:?}");
}

on_both_backends!(
    purge_deletes_expired_and_consumed_states_and_keeps_pending_ones,
    a_verified_identity_proving_the_address_unlinks_the_ones_linked_before,
);
