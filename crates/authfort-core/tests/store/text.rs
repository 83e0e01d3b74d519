//! Text round-trips byte-exact: Unicode, and strings that look like SQL.

use authfort_test_support::{on_both_backends, Backend, TestDb};

use crate::common::{new_user, session_for, token_in, REFRESH_TTL, T0};

const UNICODE_EMAIL: &str = "bücher@bücher.example";
const UNICODE_NAME: &str = "Zoë 👩🏽‍💻 שלום עליכם مرحبا 日本語";

async fn unicode_email_and_name_round_trip_byte_exact(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let mut new = new_user(UNICODE_EMAIL, T0);
    new.user.name = Some(UNICODE_NAME.to_owned());
    new.user.phone = Some("+972 ٠٥٠ ١٢٣ ٤٥٦٧".to_owned());

    // Act
    db.store.insert_user(&new).await.unwrap();
    let by_email = db
        .store
        .user_by_email(UNICODE_EMAIL)
        .await
        .unwrap()
        .expect("found by unicode email");

    // Assert
    assert_eq!(by_email.id, new.user.id);
    assert_eq!(by_email.email.as_bytes(), UNICODE_EMAIL.as_bytes());
    assert_eq!(
        by_email.name.as_deref().map(str::as_bytes),
        Some(UNICODE_NAME.as_bytes())
    );
    assert_eq!(by_email.phone, new.user.phone);
    assert_eq!(db.store.providers(new.user.id).await.unwrap(), vec!["email".to_owned()]);
}

async fn email_lookup_is_byte_exact_and_does_not_normalise(backend: Backend) {
    // Arrange: NFC "ü" stored; NFD "u\u{308}" and upper case must not match.
    let db = TestDb::new(backend).await;
    db.store.insert_user(&new_user(UNICODE_EMAIL, T0)).await.unwrap();
    let decomposed = "bu\u{308}cher@bu\u{308}cher.example";

    // Act
    let nfd = db.store.user_by_email(decomposed).await.unwrap();
    let upper = db.store.user_by_email("BÜCHER@BÜCHER.EXAMPLE").await.unwrap();

    // Assert
    assert!(nfd.is_none());
    assert!(upper.is_none());
}

async fn unicode_roles_and_session_metadata_round_trip(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let new = new_user("alice@example.com", T0);
    db.store.insert_user(&new).await.unwrap();
    let mut session = session_for(new.user.id, T0, T0 + REFRESH_TTL);
    session.user_agent = Some("Navigateur/1.0 (ünïcödé; 🚀; עברית)".to_owned());
    session.ip_address = Some("2001:db8::ff00:42:8329".to_owned());
    let token = token_in(&session, T0, T0 + REFRESH_TTL);

    // Act
    db.store.add_role(new.user.id, "rédacteur-✓", false, T0).await.unwrap();
    db.store.create_session(&session, &token).await.unwrap();

    // Assert
    assert_eq!(
        db.store.roles(new.user.id).await.unwrap(),
        vec!["rédacteur-✓".to_owned()]
    );
    assert_eq!(db.store.session(session.id).await.unwrap(), Some(session));
}

async fn sql_injection_looking_strings_are_stored_literally(backend: Backend) {
    // Arrange
    let db = TestDb::new(backend).await;
    let bystander = new_user("bystander@example.com", T0);
    db.store.insert_user(&bystander).await.unwrap();
    let email = "robert'); DROP TABLE authfort_users;--@example.com";
    let name = "' OR '1'='1' -- \\ \" $1 %_ ;";
    let role = "admin' OR 1=1 --";
    let mut new = new_user(email, T0);
    new.user.name = Some(name.to_owned());
    let mut session = session_for(new.user.id, T0, T0 + REFRESH_TTL);
    session.user_agent = Some("\"; DELETE FROM authfort_sessions; --".to_owned());
    let token = token_in(&session, T0, T0 + REFRESH_TTL);

    // Act
    db.store.insert_user(&new).await.unwrap();
    db.store.add_role(new.user.id, role, false, T0).await.unwrap();
    db.store.create_session(&session, &token).await.unwrap();

    // Assert
    let stored = db.store.user_by_email(email).await.unwrap().expect("stored literally");
    assert_eq!(stored.email, email);
    assert_eq!(stored.name.as_deref(), Some(name));
    assert_eq!(db.store.roles(new.user.id).await.unwrap(), vec![role.to_owned()]);
    assert_eq!(db.store.session(session.id).await.unwrap(), Some(session));
    assert!(db.store.user_by_email("' OR '1'='1").await.unwrap().is_none());
    assert!(db.store.user_by_email("%").await.unwrap().is_none());
    assert!(
        db.store.user_by_email(&bystander.user.email).await.unwrap().is_some(),
        "table intact"
    );
    assert!(db.store.roles(bystander.user.id).await.unwrap().is_empty());
}

on_both_backends!(
    unicode_email_and_name_round_trip_byte_exact,
    email_lookup_is_byte_exact_and_does_not_normalise,
    unicode_roles_and_session_metadata_round_trip,
    sql_injection_looking_strings_are_stored_literally,
);
