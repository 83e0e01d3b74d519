//! User administration through the library API.

use std::sync::{Arc, Mutex};

use authfort_core::events::{Event, EventKind};
use authfort_core::{ClientInfo, CreateUser, UpdateUser, UserQuery, UserSort};
use authfort_test_support::{on_both_backends, Backend};

use crate::common::{code, create, harness, login, PASSWORD};

async fn list_users_filters_pages_and_counts(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let alice = create(&h.auth, "alice@example.com").await;
    h.clock.advance(time::Duration::seconds(1));
    create(&h.auth, "bob@example.com").await;
    h.clock.advance(time::Duration::seconds(1));
    let percent = h
        .auth
        .admin_create_user(CreateUser {
            name: Some("100% Carol_x".into()),
            ..CreateUser::new("carol@example.com", PASSWORD)
        })
        .await
        .unwrap();
    h.auth.add_role(alice.user.id, "admin", false).await.unwrap();
    h.auth.ban_user(percent.id).await.unwrap();

    // Act / Assert
    let all = h.auth.list_users(&UserQuery::default()).await.unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(all.users[0].email, "carol@example.com", "newest first by default");
    let by_query = |q: &str| UserQuery {
        query: Some(q.into()),
        ..UserQuery::default()
    };
    assert_eq!(h.auth.list_users(&by_query("ALICE")).await.unwrap().total, 1);
    assert_eq!(
        h.auth.list_users(&by_query("100%")).await.unwrap().total,
        1,
        "name matched"
    );
    assert_eq!(
        h.auth.list_users(&by_query("%")).await.unwrap().total,
        1,
        "% is literal"
    );
    assert_eq!(
        h.auth.list_users(&by_query("_")).await.unwrap().total,
        1,
        "_ is literal"
    );
    let admins = UserQuery {
        role: Some("admin".into()),
        ..UserQuery::default()
    };
    let admins = h.auth.list_users(&admins).await.unwrap();
    assert_eq!(admins.total, 1);
    assert_eq!(admins.users[0].roles, ["admin"]);
    let banned = UserQuery {
        banned: Some(true),
        ..UserQuery::default()
    };
    assert_eq!(h.auth.get_user_count(&banned).await.unwrap(), 1);
    let page = UserQuery {
        limit: 2,
        offset: 2,
        sort_by: UserSort::Email,
        ascending: true,
        ..UserQuery::default()
    };
    let page = h.auth.list_users(&page).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.users.len(), 1);
    assert_eq!(page.users[0].email, "carol@example.com");
}

async fn update_user_sanitises_clears_and_emits(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    for kind in [EventKind::UserUpdated, EventKind::EmailVerified] {
        let events = events.clone();
        h.auth.on(kind, move |e| {
            let events = events.clone();
            async move {
                let tag = match e {
                    Event::UserUpdated(u) => format!("updated:{}", u.fields.join(",")),
                    other => other.kind().as_str().to_owned(),
                };
                events.lock().unwrap().push(tag);
            }
        });
    }
    let user = create(&h.auth, "upd@example.com").await.user;

    // Act
    let updated = h
        .auth
        .update_user(
            user.id,
            UpdateUser {
                name: Some(Some("<b>New</b> Name".into())),
                phone: Some(Some("+1 555 0100".into())),
                email_verified: Some(true),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();
    let cleared = h
        .auth
        .update_user(
            user.id,
            UpdateUser {
                phone: Some(None),
                ..UpdateUser::default()
            },
        )
        .await
        .unwrap();

    // Assert
    assert_eq!(updated.name.as_deref(), Some("New Name"));
    assert!(updated.email_verified);
    assert_eq!(cleared.phone, None);
    assert_eq!(cleared.name.as_deref(), Some("New Name"), "untouched fields stay");
    assert_eq!(
        code(h.auth.update_user(user.id, UpdateUser::default()).await),
        "no_fields"
    );
    let bad = UpdateUser {
        avatar_url: Some(Some("javascript:alert(1)".into())),
        ..UpdateUser::default()
    };
    assert_eq!(code(h.auth.update_user(user.id, bad).await), "invalid_avatar_url");
    h.auth.flush_events().await;
    assert_eq!(
        *events.lock().unwrap(),
        ["updated:name,phone,email_verified", "email_verified", "updated:phone"]
    );
}

async fn soft_delete_anonymises_and_frees_the_address(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let deleted: Arc<Mutex<Vec<String>>> = Arc::default();
    {
        let deleted = deleted.clone();
        h.auth.on(EventKind::UserDeleted, move |e| {
            let deleted = deleted.clone();
            async move {
                if let Event::UserDeleted(e) = e {
                    deleted.lock().unwrap().push(e.email);
                }
            }
        });
    }
    let first = create(&h.auth, "gone@example.com").await;
    h.auth.add_role(first.user.id, "editor", false).await.unwrap();
    let link = h
        .auth
        .create_magic_link_token("gone@example.com")
        .await
        .unwrap()
        .unwrap();

    // Act
    h.auth.delete_user(first.user.id, false).await.unwrap();

    // Assert: the row is kept, anonymised; every credential is dead.
    let row = h.auth.store().user_by_id(first.user.id).await.unwrap().unwrap();
    assert!(row.is_deleted && row.deleted_at.is_some());
    assert_eq!(row.email, format!("deleted+{}@deleted.invalid", first.user.id));
    assert_eq!(row.name.as_deref(), Some("Deleted user"));
    assert!(row.password_hash.is_none());
    assert!(h.auth.get_roles(first.user.id).await.unwrap().is_empty());
    assert_eq!(
        code(h.auth.authenticate(&first.tokens.access_token).await),
        "user_not_found"
    );
    let refresh = h
        .auth
        .refresh(&first.tokens.refresh_token, None, &ClientInfo::default())
        .await;
    assert_eq!(code(refresh), "refresh_token_invalid");
    assert_eq!(
        code(h.auth.login("gone@example.com", PASSWORD, &ClientInfo::default()).await),
        "invalid_credentials"
    );
    assert_eq!(
        code(h.auth.verify_magic_link(&link, &ClientInfo::default()).await),
        "invalid_magic_link"
    );
    assert_eq!(code(h.auth.get_user(first.user.id).await), "user_not_found");
    assert_eq!(
        code(h.auth.delete_user(first.user.id, false).await),
        "user_not_found",
        "idempotent"
    );
    assert_eq!(h.auth.get_user_count(&UserQuery::default()).await.unwrap(), 0);
    let with_deleted = UserQuery {
        include_deleted: true,
        ..UserQuery::default()
    };
    assert_eq!(h.auth.get_user_count(&with_deleted).await.unwrap(), 1);
    // The address can be used again by a new account.
    let again = create(&h.auth, "gone@example.com").await;
    assert_ne!(again.user.id, first.user.id);
    h.auth.flush_events().await;
    assert_eq!(*deleted.lock().unwrap(), ["gone@example.com"]);
}

async fn hard_delete_removes_the_row(backend: Backend) {
    let h = harness(backend).await;
    let user = create(&h.auth, "hard@example.com").await.user;
    h.auth.delete_user(user.id, true).await.unwrap();
    assert!(h.auth.store().user_by_id(user.id).await.unwrap().is_none());
    assert_eq!(code(h.auth.delete_user(user.id, true).await), "user_not_found");
}

async fn sessions_are_listed_and_revoked_with_their_owner(backend: Backend) {
    // Arrange
    let h = harness(backend).await;
    let owners: Arc<Mutex<Vec<uuid::Uuid>>> = Arc::default();
    {
        let owners = owners.clone();
        h.auth.on(EventKind::SessionRevoked, move |e| {
            let owners = owners.clone();
            async move {
                if let Event::SessionRevoked(e) = e {
                    owners.lock().unwrap().push(e.user_id);
                }
            }
        });
    }
    let first = create(&h.auth, "sess@example.com").await;
    let second = login(&h.auth, "sess@example.com").await;
    let third = login(&h.auth, "sess@example.com").await;

    // Act / Assert
    let sessions = h.auth.get_sessions(first.user.id, true).await.unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(h.auth.revoke_session(second.user.session_id.unwrap()).await.unwrap());
    assert!(
        !h.auth.revoke_session(second.user.session_id.unwrap()).await.unwrap(),
        "already revoked"
    );
    assert!(!h.auth.revoke_session(uuid::Uuid::new_v4()).await.unwrap(), "unknown");
    assert_eq!(h.auth.get_sessions(first.user.id, true).await.unwrap().len(), 2);
    let all = h.auth.get_sessions(first.user.id, false).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|s| s.revoked).count(), 1);
    h.auth
        .revoke_all_sessions(first.user.id, third.user.session_id)
        .await
        .unwrap();
    let active = h.auth.get_sessions(first.user.id, true).await.unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(Some(active[0].id), third.user.session_id);
    h.auth.flush_events().await;
    assert!(
        owners.lock().unwrap().iter().all(|id| *id == first.user.id),
        "real owner in events"
    );
    assert_eq!(owners.lock().unwrap().len(), 2);
}

async fn admin_create_user_starts_no_session(backend: Backend) {
    let h = harness(backend).await;
    let user = h
        .auth
        .admin_create_user(CreateUser {
            email_verified: true,
            ..CreateUser::new("made@example.com", PASSWORD)
        })
        .await
        .unwrap();
    assert!(user.email_verified);
    assert!(h.auth.get_sessions(user.id, false).await.unwrap().is_empty());
    assert_eq!(h.auth.get_user_by_email("MADE@example.com").await.unwrap().id, user.id);
    assert_eq!(
        code(h.auth.get_user_by_email("none@example.com").await),
        "user_not_found"
    );
}

on_both_backends!(
    list_users_filters_pages_and_counts,
    update_user_sanitises_clears_and_emits,
    soft_delete_anonymises_and_frees_the_address,
    hard_delete_removes_the_row,
    sessions_are_listed_and_revoked_with_their_owner,
    admin_create_user_starts_no_session,
    cleanup_removes_spent_one_time_tokens_only,
);

async fn cleanup_removes_spent_one_time_tokens_only(backend: Backend) {
    let h = harness(backend).await;
    create(&h.auth, "clean@example.com").await;
    let used = h
        .auth
        .create_magic_link_token("clean@example.com")
        .await
        .unwrap()
        .unwrap();
    h.auth.verify_magic_link(&used, &ClientInfo::default()).await.unwrap();
    let live = h
        .auth
        .create_magic_link_token("clean@example.com")
        .await
        .unwrap()
        .unwrap();
    let (tokens, _) = h.auth.cleanup_expired_tokens().await.unwrap();
    assert_eq!(tokens, 1, "the used link goes, the live one stays");
    assert!(h.auth.verify_magic_link(&live, &ClientInfo::default()).await.is_ok());
    h.auth.create_magic_link_token("clean@example.com").await.unwrap();
    h.clock.advance(time::Duration::minutes(11));
    assert_eq!(h.auth.cleanup_expired_tokens().await.unwrap().0, 2, "expired and used");
}
