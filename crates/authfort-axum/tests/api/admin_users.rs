//! `/admin/users…`: read, create, update, delete, roles, bans, listing.

use authfort_test_support::{on_both_backends, Backend};
use base64::Engine;
use serde_json::{json, Value};
use time::Duration;

use crate::admin_helpers::{admin, admin_token, call, keyed, login, refresh, user_id, PASSWORD};
use crate::helpers::{tokens, TestApp};

fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn get_user_by_id_and_404s(backend: Backend) {
    let app = keyed(backend).await;
    let body = app.signup("get@example.com").await;
    let id = user_id(&body);
    let r = admin(&app, "GET", &format!("/admin/users/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["id"], id.to_string());
    assert_eq!(r.body["email"], "get@example.com");
    assert_eq!(r.body["banned"], false);
    assert_eq!(r.body["roles"], json!([]));
    assert_eq!(r.body["session_id"], Value::Null);
    assert_eq!(r.body["created_at"], body["user"]["created_at"]);
    for bad in [
        uuid::Uuid::new_v4().to_string(),
        "nope".into(),
        "%00".into(),
        "1".repeat(200),
    ] {
        admin(&app, "GET", &format!("/admin/users/{bad}"), None)
            .await
            .assert_error(404, "user_not_found");
    }
    app.auth.delete_user(id, false).await.unwrap();
    admin(&app, "GET", &format!("/admin/users/{id}"), None)
        .await
        .assert_error(404, "user_not_found");
}

async fn create_user_with_roles_and_verified_flag(backend: Backend) {
    let app = keyed(backend).await;
    let r = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({
            "email": "made@example.com",
            "password": PASSWORD,
            "name": "<b>Made</b>  User",
            "phone": "+1 555 0100",
            "avatar_url": "https://img.example.com/a.png",
            "email_verified": true,
            "roles": ["editor", "billing:read", "editor"],
        })),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["email"], "made@example.com");
    assert_eq!(r.body["name"], "Made User");
    assert_eq!(r.body["phone"], "+1 555 0100");
    assert_eq!(r.body["avatar_url"], "https://img.example.com/a.png");
    assert_eq!(r.body["email_verified"], true);
    assert_eq!(sorted(&r.body["roles"]), ["billing:read", "editor"]);
    let fetched = admin(&app, "GET", &format!("/admin/users/{id}"), None).await;
    assert_eq!(fetched.body, r.body);
    // The user can sign in with the password, and the token carries the roles.
    let signed_in = login(&app, "made@example.com").await;
    assert_eq!(
        sorted(&claims(&tokens(&signed_in).0)["roles"]),
        ["billing:read", "editor"]
    );

    // Minimal body: unverified, no roles.
    let r = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "plain@example.com", "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["email_verified"], false);
    assert_eq!(r.body["roles"], json!([]));

    // Refusals.
    admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "MADE@example.com", "password": PASSWORD})),
    )
    .await
    .assert_error(409, "user_exists");
    admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "bad", "password": PASSWORD})),
    )
    .await
    .assert_error(400, "invalid_email");
    admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "short@example.com", "password": "short"})),
    )
    .await
    .assert_error(400, "password_too_short");
    admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "role@example.com", "password": PASSWORD, "roles": ["ok", "not ok"]})),
    )
    .await
    .assert_error(400, "invalid_role");
    assert!(app.auth.get_user_by_email("role@example.com").await.is_err());
    let r = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "x@example.com", "roles": "admin", "email_verified": "yes"})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    let kinds: Vec<(&str, Value)> = r.body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["loc"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("missing", json!(["body", "password"])),
            ("bool_type", json!(["body", "email_verified"])),
            ("list_type", json!(["body", "roles"])),
        ]
    );
    let r = admin(
        &app,
        "POST",
        "/admin/users",
        Some(json!({"email": "x@example.com", "password": PASSWORD, "roles": ["a", 7]})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "roles", 1]));
    let r = admin(&app, "POST", "/admin/users", None).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.body["detail"][0]["type"], "missing");
    assert!(app.auth.get_user_by_email("x@example.com").await.is_err());
}

async fn patch_updates_clears_and_sanitises(backend: Backend) {
    let app = keyed(backend).await;
    let body = app.signup("patch@example.com").await;
    let id = user_id(&body);
    let path = format!("/admin/users/{id}");
    let r = admin(
        &app,
        "PATCH",
        &path,
        Some(json!({"name": "<script>alert(1)</script><b>Bob</b>  Smith", "phone": "+44 20 7946 0000"})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let name = r.body["name"].as_str().unwrap();
    assert!(!name.contains('<') && name.ends_with("Bob Smith"), "{name}");
    assert_eq!(r.body["phone"], "+44 20 7946 0000");
    // null clears; absent fields stay.
    let r = admin(&app, "PATCH", &path, Some(json!({"phone": null}))).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["phone"], Value::Null);
    assert_eq!(r.body["name"], name);
    let r = admin(
        &app,
        "PATCH",
        &path,
        Some(json!({"email_verified": true, "avatar_url": "https://img.example.com/b.png"})),
    )
    .await;
    assert_eq!(r.body["email_verified"], true);
    assert_eq!(r.body["avatar_url"], "https://img.example.com/b.png");
    assert_eq!(r.body["name"], name);
    let r = admin(&app, "PATCH", &path, Some(json!({"name": null, "avatar_url": null}))).await;
    assert_eq!(r.body["name"], Value::Null);
    assert_eq!(r.body["avatar_url"], Value::Null);
    assert_eq!(r.body["email_verified"], true);
    // No version bump: the user's token still works and sees the change.
    let me = app.me(&tokens(&body).0).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.text);
    assert_eq!(me.body["email_verified"], true);

    // Refusals.
    admin(&app, "PATCH", &path, Some(json!({})))
        .await
        .assert_error(400, "no_fields");
    admin(&app, "PATCH", &path, None).await.assert_error(400, "no_fields");
    admin(&app, "PATCH", &path, Some(json!({"unknown": 1})))
        .await
        .assert_error(400, "no_fields");
    admin(&app, "PATCH", &path, Some(json!({"avatar_url": "javascript:alert(1)"})))
        .await
        .assert_error(400, "invalid_avatar_url");
    let r = admin(&app, "PATCH", &path, Some(json!({"name": 5}))).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    assert_eq!(r.body["detail"][0]["type"], "string_type");
    admin(
        &app,
        "PATCH",
        &format!("/admin/users/{}", uuid::Uuid::new_v4()),
        Some(json!({"name": "x"})),
    )
    .await
    .assert_error(404, "user_not_found");
    admin(&app, "PATCH", "/admin/users/zzz", Some(json!({"name": "x"})))
        .await
        .assert_error(404, "user_not_found");
}

async fn soft_delete_anonymises_and_frees_the_address(backend: Backend) {
    let app = keyed(backend).await;
    let body = app.signup("soft@example.com").await;
    let id = user_id(&body);
    let r = admin(&app, "DELETE", &format!("/admin/users/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert!(r.text.is_empty());

    app.me(&tokens(&body).0).await.assert_error(401, "user_not_found");
    assert_eq!(refresh(&app, &tokens(&body).1).await.status.as_u16(), 401);
    app.post(
        "/auth/login",
        json!({"email": "soft@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(401, "invalid_credentials");
    let row = app.auth.store().user_by_id(id).await.unwrap().expect("row kept");
    assert!(row.is_deleted);
    assert_eq!(row.email, format!("deleted+{id}@deleted.invalid"));
    assert_eq!(row.name.as_deref(), Some("Deleted user"));
    admin(&app, "GET", &format!("/admin/users/{id}"), None)
        .await
        .assert_error(404, "user_not_found");
    admin(&app, "DELETE", &format!("/admin/users/{id}"), None)
        .await
        .assert_error(404, "user_not_found");

    let again = app.signup("soft@example.com").await;
    assert_ne!(user_id(&again), id);
    assert_eq!(app.me(&tokens(&again).0).await.status.as_u16(), 200);
}

async fn hard_delete_removes_the_row(backend: Backend) {
    let app = keyed(backend).await;
    let body = app.signup("hard@example.com").await;
    let id = user_id(&body);
    admin(&app, "DELETE", &format!("/admin/users/{id}?hard=maybe"), None)
        .await
        .assert_error(400, "invalid_query");
    assert!(app.auth.store().user_by_id(id).await.unwrap().is_some());
    let r = admin(&app, "DELETE", &format!("/admin/users/{id}?hard=true"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert!(app.auth.store().user_by_id(id).await.unwrap().is_none());
    app.me(&tokens(&body).0).await.assert_error(401, "user_not_found");
    admin(&app, "DELETE", &format!("/admin/users/{id}?hard=true"), None)
        .await
        .assert_error(404, "user_not_found");
    admin(&app, "DELETE", "/admin/users/not-a-uuid", None)
        .await
        .assert_error(404, "user_not_found");
    // A soft-deleted user can still be removed for good.
    let soft = app.signup("soft-then-hard@example.com").await;
    let soft_id = user_id(&soft);
    admin(&app, "DELETE", &format!("/admin/users/{soft_id}?hard=false"), None).await;
    assert!(app.auth.store().user_by_id(soft_id).await.unwrap().unwrap().is_deleted);
    let r = admin(&app, "DELETE", &format!("/admin/users/{soft_id}?hard=1"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    assert!(app.auth.store().user_by_id(soft_id).await.unwrap().is_none());
    assert_eq!(
        app.signup("hard@example.com").await["user"]["email"],
        "hard@example.com"
    );
}

async fn ban_blocks_every_way_in_and_unban_allows_login_again(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        c.admin.api_key = Some(crate::admin_helpers::api_key());
        c.public_url = Some("https://auth.example.test".into());
    })
    .await;
    let body = app.signup("banned@example.com").await;
    let id = user_id(&body);
    let link = app
        .auth
        .create_magic_link_token("banned@example.com")
        .await
        .unwrap()
        .unwrap();
    let r = admin(&app, "POST", &format!("/admin/users/{id}/ban"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);

    app.me(&tokens(&body).0).await.assert_error(403, "user_banned");
    assert_eq!(refresh(&app, &tokens(&body).1).await.status.as_u16(), 401);
    app.post(
        "/auth/login",
        json!({"email": "banned@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(403, "user_banned");
    app.post("/auth/magic-link/verify", json!({ "token": link }))
        .await
        .assert_error(403, "user_banned");
    let r = admin(&app, "GET", &format!("/admin/users/{id}"), None).await;
    assert_eq!(r.body["banned"], true);

    let r = admin(&app, "POST", &format!("/admin/users/{id}/unban"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    let r = admin(&app, "GET", &format!("/admin/users/{id}"), None).await;
    assert_eq!(r.body["banned"], false);
    // Old tokens stay dead; a new login works.
    assert_eq!(app.me(&tokens(&body).0).await.status.as_u16(), 401);
    let fresh = login(&app, "banned@example.com").await;
    assert_eq!(app.me(&tokens(&fresh).0).await.status.as_u16(), 200);

    for path in ["ban", "unban"] {
        admin(
            &app,
            "POST",
            &format!("/admin/users/{}/{path}", uuid::Uuid::new_v4()),
            None,
        )
        .await
        .assert_error(404, "user_not_found");
        admin(&app, "POST", &format!("/admin/users/garbage/{path}"), None)
            .await
            .assert_error(404, "user_not_found");
    }
}

async fn role_changes_are_immediate(backend: Backend) {
    let app = keyed(backend).await;
    let body = app.signup("roles@example.com").await;
    let id = user_id(&body);
    let (access, refresh_token) = tokens(&body);
    let r = admin(
        &app,
        "POST",
        &format!("/admin/users/{id}/roles"),
        Some(json!({"role": "editor"})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    let r = refresh(&app, &refresh_token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["roles"], json!(["editor"]));
    let (access, refresh_token) = tokens(&r.body);
    assert_eq!(claims(&access)["roles"], json!(["editor"]));
    assert_eq!(app.me(&access).await.body["roles"], json!(["editor"]));

    let r = admin(&app, "DELETE", &format!("/admin/users/{id}/roles/editor"), None).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
    app.me(&access).await.assert_error(401, "token_version_mismatch");
    let r = refresh(&app, &refresh_token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["user"]["roles"], json!([]));
    assert_eq!(claims(&tokens(&r.body).0)["roles"], json!([]));

    // Granting `admin` through the API opens the admin API to that user's next token.
    admin(
        &app,
        "POST",
        &format!("/admin/users/{id}/roles"),
        Some(json!({"role": "admin"})),
    )
    .await;
    let promoted = login(&app, "roles@example.com").await;
    let r = call(&app, "GET", "/admin/users", Some(&tokens(&promoted).0), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);

    // Refusals.
    for bad in ["", " ", "two words", "tab\t", "bell\u{7}", &"r".repeat(51)] {
        admin(
            &app,
            "POST",
            &format!("/admin/users/{id}/roles"),
            Some(json!({ "role": bad })),
        )
        .await
        .assert_error(400, "invalid_role");
    }
    let r = admin(
        &app,
        "POST",
        &format!("/admin/users/{id}/roles"),
        Some(json!({"role": 5})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 422);
    let r = admin(&app, "POST", &format!("/admin/users/{id}/roles"), None).await;
    assert_eq!(r.status.as_u16(), 422);
    let unknown = uuid::Uuid::new_v4();
    admin(
        &app,
        "POST",
        &format!("/admin/users/{unknown}/roles"),
        Some(json!({"role": "x"})),
    )
    .await
    .assert_error(404, "user_not_found");
    admin(&app, "DELETE", &format!("/admin/users/{unknown}/roles/x"), None)
        .await
        .assert_error(404, "user_not_found");
    admin(&app, "DELETE", "/admin/users/nope/roles/x", None)
        .await
        .assert_error(404, "user_not_found");
    assert_eq!(app.auth.get_roles(id).await.unwrap(), ["admin"]);
}

async fn list_filters_pages_and_counts(backend: Backend) {
    let app = keyed(backend).await;
    let people = [
        ("alice@example.com", "Alice Anderson"),
        ("bob@example.com", "Bobby Tables"),
        ("carol_x@example.com", "Carol"),
        ("dave@example.com", "100% Dave"),
        ("eve@sample.org", "Eve"),
    ];
    let mut ids = Vec::new();
    for (email, name) in people {
        let r = admin(
            &app,
            "POST",
            "/admin/users",
            Some(json!({"email": email, "password": PASSWORD, "name": name})),
        )
        .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
        app.clock.advance(Duration::seconds(1));
    }
    for i in [0, 1] {
        admin(
            &app,
            "POST",
            &format!("/admin/users/{}/roles", ids[i]),
            Some(json!({"role": "staff"})),
        )
        .await;
    }
    admin(&app, "POST", &format!("/admin/users/{}/ban", ids[2]), None).await;

    let emails = |r: &crate::helpers::TestResponse| -> Vec<String> {
        r.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |q: &str| {
        let path = format!("/admin/users{q}");
        let app = &app;
        async move { admin(app, "GET", &path, None).await }
    };

    let all = list("").await;
    assert_eq!(all.status.as_u16(), 200, "{}", all.text);
    assert_eq!(all.body["total"], 5);
    assert_eq!(all.body["limit"], 50);
    assert_eq!(all.body["offset"], 0);
    // Newest first.
    assert_eq!(
        emails(&all),
        [
            "eve@sample.org",
            "dave@example.com",
            "carol_x@example.com",
            "bob@example.com",
            "alice@example.com"
        ]
    );
    assert_eq!(all.body["users"][4]["roles"], json!(["staff"]));

    let cases: [(&str, &[&str]); 12] = [
        ("?query=ALICE", &["alice@example.com"]),
        ("?query=anderson", &["alice@example.com"]),
        ("?query=tAbLeS", &["bob@example.com"]),
        ("?query=%25", &["dave@example.com"]),
        ("?query=_", &["carol_x@example.com"]),
        ("?query=c%25l", &[]),
        ("?query=sample.org", &["eve@sample.org"]),
        ("?role=staff", &["bob@example.com", "alice@example.com"]),
        ("?banned=true", &["carol_x@example.com"]),
        ("?banned=false&role=staff&query=bob", &["bob@example.com"]),
        ("?role=nobody", &[]),
        (
            "?query=&role=&banned=",
            &[
                "eve@sample.org",
                "dave@example.com",
                "carol_x@example.com",
                "bob@example.com",
                "alice@example.com",
            ],
        ),
    ];
    for (q, expected) in cases {
        let r = list(q).await;
        assert_eq!(r.status.as_u16(), 200, "{q}: {}", r.text);
        assert_eq!(emails(&r), expected, "{q}");
        assert_eq!(r.body["total"], expected.len(), "{q}");
    }
    assert_eq!(list("?banned=false").await.body["total"], 4);

    // Paging: disjoint pages covering everything, total unaffected.
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let r = list(&format!("?limit=2&offset={offset}")).await;
        assert_eq!(r.body["total"], 5);
        assert_eq!(r.body["limit"], 2);
        assert_eq!(r.body["offset"], offset);
        seen.extend(emails(&r));
    }
    assert_eq!(seen, emails(&all));
    let r = list("?limit=2&offset=100").await;
    assert_eq!(emails(&r), Vec::<String>::new());
    assert_eq!(r.body["total"], 5);
    assert_eq!(list("?limit=100000").await.body["limit"], 500);
    assert_eq!(list("?limit=1&query=example.com").await.body["total"], 4);

    // Bad values are clear 400s, never 5xx.
    for q in [
        "?limit=abc",
        "?limit=0",
        "?limit=-5",
        "?limit=1.5",
        "?offset=-1",
        "?offset=x",
        "?offset=99999999999999999999999",
        "?banned=maybe",
    ] {
        list(q).await.assert_error(400, "invalid_query");
    }
    let long = "a".repeat(256);
    list(&format!("?query={long}")).await.assert_error(400, "invalid_query");
    assert_eq!(list("?offset=18446744073709551615").await.status.as_u16(), 200);

    // Soft-deleted users are not listed.
    admin(&app, "DELETE", &format!("/admin/users/{}", ids[4]), None).await;
    let r = list("").await;
    assert_eq!(r.body["total"], 4);
    assert!(!emails(&r).iter().any(|e| e.starts_with("eve") || e.contains("deleted")));
}

async fn an_admin_token_can_manage_users_too(backend: Backend) {
    let app = TestApp::new(backend).await;
    let boss = admin_token(&app, "boss@example.com").await;
    let r = call(
        &app,
        "POST",
        "/admin/users",
        Some(&boss),
        Some(json!({"email": "staff@example.com", "password": PASSWORD, "roles": ["staff"]})),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = call(&app, "GET", "/admin/users?role=staff", Some(&boss), None).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["users"][0]["email"], "staff@example.com");
}

on_both_backends!(
    get_user_by_id_and_404s,
    create_user_with_roles_and_verified_flag,
    patch_updates_clears_and_sanitises,
    soft_delete_anonymises_and_frees_the_address,
    hard_delete_removes_the_row,
    ban_blocks_every_way_in_and_unban_allows_login_again,
    role_changes_are_immediate,
    list_filters_pages_and_counts,
    an_admin_token_can_manage_users_too,
);
