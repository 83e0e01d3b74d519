//! OAuth sign-in states: single use, and the purge `authfort cleanup` runs (expired or
//! consumed rows go, pending ones stay).

use authfort_core::store::OAuthState;
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

on_both_backends!(purge_deletes_expired_and_consumed_states_and_keeps_pending_ones);
