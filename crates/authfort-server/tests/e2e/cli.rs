//! The administration commands (`user …`, `sessions …`, `cleanup`) run as processes against
//! a database that `authfort serve` uses too.

use std::process::Command;
use std::time::Duration;

use authfort_test_support::github::{self, GitHubStandIn, GitHubUser};
use authfort_test_support::oidc::APP_URL;
use authfort_test_support::{skip_postgres, Backend, TempDir, TestDb};
use serde_json::{json, Value};

use crate::helpers::{authfort, run, run_with_input, token, Finished, TestServer};

const PASSWORD: &str = "correct horse battery";

/// What `authfort cleanup` prints when there is nothing to delete.
const NOTHING_CLEANED: &str = "deleted 0 expired sessions\ndeleted 0 expired signing keys\n\
                               deleted 0 spent one-time tokens\ndeleted 0 old mail messages\n\
                               deleted 0 spent OAuth sign-in states\n";

/// The `authfort` binary pointed at one database.
struct Admin {
    dir: TempDir,
    url: String,
    env: Vec<(String, String)>,
}

impl Admin {
    /// A fresh SQLite database in a temp directory.
    fn sqlite() -> Admin {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("admin.db").display());
        Admin::at(dir, url)
    }

    fn at(dir: TempDir, url: String) -> Admin {
        Admin {
            dir,
            url,
            env: Vec::new(),
        }
    }

    /// Extra `AUTHFORT_*` variables for every command.
    fn with_env(mut self, name: &str, value: &str) -> Admin {
        self.env.push((name.into(), value.into()));
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = authfort(&self.dir.0);
        cmd.args(args).env("AUTHFORT_DATABASE_URL", &self.url);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    fn run(&self, args: &[&str]) -> Finished {
        run(&mut self.command(args))
    }

    fn run_with_input(&self, args: &[&str], input: &str) -> Finished {
        run_with_input(&mut self.command(args), input)
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let finished = self.run(args);
        assert!(finished.status.success(), "authfort {args:?} failed: {finished:?}");
        finished.stdout
    }

    /// Runs a command whose stdout must be JSON.
    fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("authfort {args:?} printed no JSON ({e}): {stdout}"))
    }

    /// Runs a command that must fail with nothing on stdout; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        assert_failed(self.run(args), args)
    }

    /// `user create EMAIL --password-stdin --json EXTRA…` with the password on stdin.
    fn create(&self, email: &str, password: &str, extra: &[&str]) -> Value {
        let mut args = vec!["user", "create", email, "--password-stdin", "--json"];
        args.extend_from_slice(extra);
        let finished = self.run_with_input(&args, &format!("{password}\n"));
        assert!(finished.status.success(), "create {email}: {finished:?}");
        serde_json::from_str(&finished.stdout).expect("create prints JSON")
    }

    fn show(&self, email: &str) -> Value {
        self.json(&["user", "show", email, "--json"])
    }

    fn list(&self, filters: &[&str]) -> Value {
        let mut args = vec!["user", "list", "--json"];
        args.extend_from_slice(filters);
        self.json(&args)
    }

    fn sessions(&self, email: &str) -> Vec<Value> {
        let listed = self.json(&["sessions", "list", email, "--json"]);
        listed["sessions"].as_array().expect("sessions array").clone()
    }

    fn server_env(&self) -> Vec<(&str, &str)> {
        let mut env = vec![
            ("AUTHFORT_DATABASE_URL", self.url.as_str()),
            ("AUTHFORT_SECRET_KEY", authfort_test_support::TEST_SECRET_KEY),
        ];
        env.extend(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        env
    }
}

fn assert_failed(finished: Finished, args: &[&str]) -> String {
    assert!(!finished.status.success(), "authfort {args:?} must fail: {finished:?}");
    assert!(
        finished.stdout.trim().is_empty(),
        "authfort {args:?}: errors go to stderr, not stdout: {finished:?}"
    );
    assert!(!finished.stderr.trim().is_empty(), "authfort {args:?}: no message");
    finished.stderr
}

fn emails(list: &Value) -> Vec<&str> {
    list["users"]
        .as_array()
        .expect("users array")
        .iter()
        .map(|u| u["email"].as_str().expect("email"))
        .collect()
}

/// A user's roles, sorted.
fn roles(user: &Value) -> Vec<&str> {
    let mut roles: Vec<&str> = user["roles"]
        .as_array()
        .expect("roles array")
        .iter()
        .map(|r| r.as_str().expect("role"))
        .collect();
    roles.sort_unstable();
    roles
}

async fn login(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    server
        .client
        .post(server.url("/auth/login"))
        .header("User-Agent", "cli-e2e/1.0 (test)")
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
}

async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("error JSON");
    body["detail"]["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_user_signs_in_through_serve_and_admin_commands_take_effect() {
    // Arrange: a user created by the CLI, then a server on the same database.
    let admin = Admin::sqlite();
    let created = admin.create(
        "Alice@Example.com",
        PASSWORD,
        &["--name", "Alice", "--verified", "--role", "editor"],
    );
    assert_eq!(created["email"], "alice@example.com", "canonical email");
    assert_eq!(created["name"], "Alice");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["roles"], json!(["editor"]));
    assert_eq!(created["banned"], false);
    let server = TestServer::start(&admin.dir.0, &admin.server_env()).await;

    // The password is the first line of stdin without its newline.
    let response = login(&server, "alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200, "login with the password piped to create");
    let logged_in: Value = response.json().await.unwrap();
    assert_eq!(logged_in["user"]["id"], created["id"]);
    assert_eq!(logged_in["user"]["roles"], json!(["editor"]));
    let access = token(&logged_in, "access_token");
    let refresh = token(&logged_in, "refresh_token");
    assert_eq!(
        login(&server, "alice@example.com", &format!("{PASSWORD}\n"))
            .await
            .status(),
        401,
        "the newline is not part of the password"
    );

    // Sessions: the login shows up, with the client recorded.
    let sessions = admin.sessions("alice@example.com");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = &sessions[0];
    assert_eq!(session["ip_address"], "127.0.0.1");
    assert_eq!(session["user_agent"], "cli-e2e/1.0 (test)");
    assert_eq!(session["revoked"], false);
    let table = admin.ok(&["sessions", "list", "alice@example.com"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "header, one session, count:\n{table}");
    for column in ["ID", "CREATED", "EXPIRES", "IP", "USER AGENT", "REVOKED"] {
        assert!(lines[0].contains(column), "{column} missing:\n{table}");
    }
    let session_id = session["id"].as_str().unwrap();
    assert!(lines[1].starts_with(session_id), "{table}");
    assert!(
        lines[1].contains("127.0.0.1") && lines[1].contains("cli-e2e/1.0 (test)"),
        "{table}"
    );
    assert!(lines[1].trim_end().ends_with("no"), "not revoked:\n{table}");
    assert_eq!(lines[2], "1 session");

    // add-role is immediate: the access token issued before it stops working.
    assert_eq!(server.me(&access).await.status(), 200);
    let out = admin.ok(&["user", "add-role", "alice@example.com", "admin"]);
    assert!(out.contains("added role admin"), "{out}");
    assert_eq!(server.me(&access).await.status(), 401, "token version bumped");
    assert_eq!(roles(&admin.show("alice@example.com")), ["admin", "editor"]);

    // A second sign-in, newest first in the listing.
    let response = login(&server, "alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_eq!(roles(&second["user"]), ["admin", "editor"], "new role in new tokens");
    let sessions = admin.sessions("alice@example.com");
    assert_eq!(sessions.len(), 2);
    assert_ne!(sessions[0]["id"], session["id"], "newest first");
    assert_eq!(sessions[1]["id"], session["id"]);

    // revoke-all: every refresh token dies, the sessions show as revoked.
    let out = admin.ok(&["sessions", "revoke-all", "alice@example.com"]);
    assert_eq!(out.trim(), "revoked 2 active sessions of alice@example.com");
    assert_eq!(server.refresh(&refresh).await.status(), 401);
    assert_eq!(server.refresh(&token(&second, "refresh_token")).await.status(), 401);
    let sessions = admin.sessions("alice@example.com");
    assert!(sessions.iter().all(|s| s["revoked"] == true), "{sessions:?}");

    // ban: sign-in refused; unban: allowed again.
    let out = admin.ok(&["user", "ban", "alice@example.com"]);
    assert!(out.contains("banned alice@example.com"), "{out}");
    assert_eq!(admin.show("alice@example.com")["banned"], true);
    let response = login(&server, "alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 403);
    assert_eq!(error_code(response).await, "user_banned");
    admin.ok(&["user", "unban", "alice@example.com"]);
    assert_eq!(admin.show("alice@example.com")["banned"], false);
    let response = login(&server, "alice@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);

    // mfa-disable: a user who lost the device signs in with the password alone again.
    let access = token(&response.json().await.unwrap(), "access_token");
    let post = |path: &'static str, body: Value| {
        let (server, access) = (&server, access.clone());
        async move {
            let r = server
                .client
                .post(server.url(path))
                .bearer_auth(access)
                .json(&body)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 200, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let setup = post("/auth/mfa/init", json!({})).await;
    let secret = authfort_core::crypto::mfa::base32_decode(setup["secret"].as_str().unwrap()).unwrap();
    let step = authfort_core::crypto::mfa::totp_step(time::OffsetDateTime::now_utc().unix_timestamp());
    post(
        "/auth/mfa/confirm",
        json!({"code": authfort_core::crypto::mfa::hotp(&secret, step as u64)}),
    )
    .await;
    let challenge: Value = login(&server, "alice@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(challenge["mfa_required"], true, "{challenge}");
    let out = admin.ok(&["user", "mfa-disable", "alice@example.com"]);
    assert!(out.contains("MFA disabled for alice@example.com"), "{out}");
    let again: Value = login(&server, "alice@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert!(again["tokens"]["access_token"].is_string(), "{again}");
    let stderr = admin.fails(&["user", "mfa-disable", "alice@example.com"]);
    assert!(stderr.contains("mfa_not_enabled"), "{stderr}");

    // Deleted: sign-in fails and the CLI no longer finds the user.
    admin.ok(&["user", "delete", "alice@example.com"]);
    assert_eq!(login(&server, "alice@example.com", PASSWORD).await.status(), 401);
    let stderr = admin.fails(&["sessions", "list", "alice@example.com"]);
    assert!(stderr.contains("no user with email alice@example.com"), "{stderr}");
}

#[test]
fn user_list_prints_a_table_or_json_and_filters() {
    let admin = Admin::sqlite();
    admin.create(
        "alice@example.com",
        PASSWORD,
        &["--name", "Alice", "--verified", "--role", "admin"],
    );
    admin.create("bob@example.com", PASSWORD, &[]);
    admin.create("carol@example.com", PASSWORD, &["--name", "Carol Quinn"]);
    admin.ok(&["user", "ban", "bob@example.com"]);

    // The table: a header, one row per user (newest first), a count.
    let table = admin.ok(&["user", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "EMAIL", "NAME", "VERIFIED", "BANNED", "ROLES", "CREATED"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines[1..4]
        .iter()
        .map(|l| l.split("  ").filter(|c| !c.is_empty()).map(str::trim).collect())
        .collect();
    assert_eq!(rows[0][1], "carol@example.com", "newest first:\n{table}");
    assert_eq!(rows[0][2], "Carol Quinn", "{table}");
    assert_eq!(&rows[1][1..6], ["bob@example.com", "-", "no", "yes", "-"], "{table}");
    assert_eq!(
        &rows[2][1..6],
        ["alice@example.com", "Alice", "yes", "no", "admin"],
        "{table}"
    );
    let alice = admin.show("alice@example.com");
    assert_eq!(rows[2][0], alice["id"].as_str().unwrap());
    assert!(
        alice["created_at"]
            .as_str()
            .unwrap()
            .starts_with(rows[2][6].trim_end_matches('Z')),
        "{table}"
    );
    assert_eq!(lines[4], "showing 3 of 3 users");

    // JSON: exactly `users` and `total`.
    let all = admin.list(&[]);
    assert_eq!(all.as_object().unwrap().len(), 2, "{all}");
    assert_eq!(all["total"], 3);
    assert_eq!(
        emails(&all),
        ["carol@example.com", "bob@example.com", "alice@example.com"]
    );

    // Filters.
    let found = admin.list(&["--query", "QUINN"]);
    assert_eq!(emails(&found), ["carol@example.com"], "name, case-insensitive");
    assert_eq!(emails(&admin.list(&["--query", "alice@"])), ["alice@example.com"]);
    assert_eq!(emails(&admin.list(&["--role", "admin"])), ["alice@example.com"]);
    assert_eq!(emails(&admin.list(&["--banned"])), ["bob@example.com"]);
    assert_eq!(
        emails(&admin.list(&["--not-banned"])),
        ["carol@example.com", "alice@example.com"]
    );
    let page = admin.list(&["--limit", "1", "--offset", "1"]);
    assert_eq!(emails(&page), ["bob@example.com"]);
    assert_eq!(page["total"], 3, "total before paging");
    let table = admin.ok(&["user", "list", "--limit", "1", "--offset", "1"]);
    assert!(table.ends_with("showing 1 of 3 users (offset 1)\n"), "{table}");
    let none = admin.list(&["--query", "nobody"]);
    assert_eq!(none, json!({"users": [], "total": 0}));
    assert!(admin
        .ok(&["user", "list", "--role", "ghost"])
        .ends_with("showing 0 of 0 users\n"));

    let stderr = admin.fails(&["user", "list", "--banned", "--not-banned"]);
    assert!(stderr.contains("--not-banned"), "{stderr}");
    let stderr = admin.fails(&["user", "list", "--limit", "0"]);
    assert!(stderr.contains("--limit"), "{stderr}");

    // show: one `field  value` line per field.
    let details = admin.ok(&["user", "show", "ALICE@example.com"]);
    let fields: Vec<(&str, &str)> = details
        .lines()
        .map(|l| {
            let (k, v) = l.split_once(' ').expect("field and value");
            (k, v.trim())
        })
        .collect();
    assert_eq!(
        fields.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["id", "email", "name", "verified", "banned", "roles", "created"],
        "{details}"
    );
    assert_eq!(fields[1].1, "alice@example.com");
    assert_eq!(fields[3].1, "yes");
    assert_eq!(fields[5].1, "admin");
}

#[test]
fn roles_bans_and_deletion_show_in_json() {
    let admin = Admin::sqlite();
    let bob = admin.create("bob@example.com", PASSWORD, &[]);
    assert_eq!(bob["roles"], json!([]));

    // Roles: added (idempotently), listed sorted, removed.
    admin.ok(&["user", "add-role", "bob@example.com", "editor"]);
    admin.ok(&["user", "add-role", "bob@example.com", "billing:read"]);
    admin.ok(&["user", "add-role", "bob@example.com", "editor"]);
    let role50 = "r".repeat(50);
    admin.ok(&["user", "add-role", "bob@example.com", &role50]);
    let mut expected = vec!["billing:read", "editor", role50.as_str()];
    expected.sort_unstable();
    assert_eq!(roles(&admin.show("bob@example.com")), expected, "each role once");
    let out = admin.ok(&["user", "remove-role", "bob@example.com", "editor"]);
    assert!(out.contains("removed role editor from bob@example.com"), "{out}");
    let out = admin.ok(&["user", "remove-role", "bob@example.com", "editor"]);
    assert!(out.contains("did not have role editor"), "{out}");
    admin.ok(&["user", "remove-role", "bob@example.com", &role50]);
    assert_eq!(admin.show("bob@example.com")["roles"], json!(["billing:read"]));

    // Ban and unban.
    admin.ok(&["user", "ban", "bob@example.com"]);
    assert_eq!(admin.show("bob@example.com")["banned"], true);
    assert_eq!(admin.list(&["--banned"])["total"], 1);
    admin.ok(&["user", "unban", "bob@example.com"]);
    assert_eq!(admin.show("bob@example.com")["banned"], false);
    assert_eq!(admin.list(&["--banned"])["total"], 0);

    // Soft delete: gone from show and list; the address can be registered again.
    let out = admin.ok(&["user", "delete", "bob@example.com"]);
    assert!(out.contains("deleted bob@example.com"), "{out}");
    let stderr = admin.fails(&["user", "show", "bob@example.com"]);
    assert!(stderr.contains("no user with email bob@example.com"), "{stderr}");
    assert_eq!(admin.list(&[])["total"], 0);
    let again = admin.create("bob@example.com", PASSWORD, &[]);
    assert_ne!(again["id"], bob["id"], "a new user");
    assert_eq!(again["roles"], json!([]), "nothing inherited");

    // Hard delete.
    let out = admin.ok(&["user", "delete", "bob@example.com", "--hard"]);
    assert!(out.contains("permanently"), "{out}");
    let stderr = admin.fails(&["user", "delete", "bob@example.com", "--hard"]);
    assert!(stderr.contains("no user with email bob@example.com"), "{stderr}");
    assert_eq!(admin.list(&[])["total"], 0);
}

#[test]
fn mistakes_fail_with_a_message_on_stderr() {
    let admin = Admin::sqlite();

    // Unknown user, for every command that takes one.
    for args in [
        &["user", "show", "ghost@example.com"][..],
        &["user", "show", "ghost@example.com", "--json"],
        &["user", "ban", "ghost@example.com"],
        &["user", "unban", "ghost@example.com"],
        &["user", "mfa-disable", "ghost@example.com"],
        &["user", "add-role", "ghost@example.com", "admin"],
        &["user", "remove-role", "ghost@example.com", "admin"],
        &["user", "delete", "ghost@example.com"],
        &["user", "delete", "ghost@example.com", "--hard"],
        &["sessions", "list", "ghost@example.com"],
        &["sessions", "revoke-all", "ghost@example.com"],
    ] {
        let stderr = admin.fails(args);
        assert!(
            stderr.contains("no user with email ghost@example.com"),
            "{args:?}: {stderr}"
        );
    }

    // An invalid address gets the validation message.
    for args in [
        &["user", "show", "not-an-email"][..],
        &["user", "ban", "two@@example.com"],
        &["sessions", "list", ""],
    ] {
        let stderr = admin.fails(args);
        assert!(stderr.contains("Invalid email address"), "{args:?}: {stderr}");
    }
    let finished = admin.run_with_input(&["user", "create", "nope", "--password-stdin"], PASSWORD);
    let stderr = assert_failed(finished, &["user", "create", "nope"]);
    assert!(stderr.contains("Invalid email address"), "{stderr}");

    // Passwords only come from stdin.
    let stderr = admin.fails(&["user", "create", "dave@example.com"]);
    assert!(stderr.contains("--password-stdin"), "{stderr}");
    let stderr = admin.fails(&["user", "create", "dave@example.com", "--password", PASSWORD]);
    assert!(stderr.contains("--password"), "{stderr}");
    let finished = admin.run_with_input(&["user", "create", "dave@example.com", "--password-stdin"], "");
    let stderr = assert_failed(finished, &["user", "create", "--password-stdin"]);
    assert!(stderr.contains("no password on standard input"), "{stderr}");
    let finished = admin.run_with_input(&["user", "create", "dave@example.com", "--password-stdin"], "\n");
    let stderr = assert_failed(finished, &["user", "create", "--password-stdin"]);
    assert!(stderr.contains("empty"), "{stderr}");
    let finished = admin.run_with_input(&["user", "create", "dave@example.com", "--password-stdin"], "short\n");
    let stderr = assert_failed(finished, &["user", "create", "--password-stdin"]);
    assert!(stderr.contains("password_too_short"), "{stderr}");
    assert_eq!(admin.list(&[])["total"], 0, "nothing was created");

    // Only the first line is the password; CRLF is stripped too.
    admin.create("dave@example.com", &format!("{PASSWORD}\r\nsecond line"), &[]);
    let finished = admin.run_with_input(
        &["user", "create", "dave@example.com", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let stderr = assert_failed(finished, &["user", "create", "dave@example.com"]);
    assert!(stderr.contains("Email already registered"), "{stderr}");

    // Roles: 1–50 characters, no whitespace or control characters.
    let too_long = "r".repeat(51);
    for role in [
        "",
        "two words",
        "tab\there",
        "new\nline",
        "bell\u{7}",
        "nb\u{a0}sp",
        too_long.as_str(),
    ] {
        let stderr = admin.fails(&["user", "add-role", "dave@example.com", role]);
        assert!(stderr.contains("role"), "{role:?}: {stderr}");
        admin.fails(&["user", "remove-role", "dave@example.com", role]);
        let finished = admin.run_with_input(
            &["user", "create", "erin@example.com", "--password-stdin", "--role", role],
            &format!("{PASSWORD}\n"),
        );
        assert_failed(finished, &["user", "create", "--role", role]);
    }
    let stderr = admin.fails(&["user", "add-role", "dave@example.com", &too_long]);
    assert!(stderr.contains("at most 50 characters"), "{stderr}");
    let stderr = admin.fails(&["user", "add-role", "dave@example.com", "two words"]);
    assert!(stderr.contains("whitespace"), "{stderr}");
    assert_eq!(admin.show("dave@example.com")["roles"], json!([]));
    assert_eq!(admin.list(&[])["total"], 1, "erin was never created");

    // A verification email is queued for the server to deliver; a verified user gets none.
    let out = admin.ok(&["user", "send-verification", "DAVE@example.com"]);
    assert!(out.contains("verification email queued for dave@example.com"), "{out}");
    let stderr = admin.fails(&["user", "send-verification", "nobody@example.com"]);
    assert!(stderr.contains("no user with email nobody@example.com"), "{stderr}");
    admin.create("erin-verified@example.com", PASSWORD, &["--verified"]);
    let stderr = admin.fails(&["user", "send-verification", "erin-verified@example.com"]);
    assert!(stderr.contains("already verified"), "{stderr}");
    admin.ok(&["user", "delete", "erin-verified@example.com", "--hard"]);

    // A bad configuration stops every command before it touches anything.
    let stderr = admin.fails(&["user", "list", "--config", "missing.toml"]);
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_expired_sessions_keys_and_tokens_and_prints_counts() {
    // Arrange: refresh tokens and magic links live 1 s, a retired key 2 s.
    let admin = Admin::sqlite()
        .with_env("AUTHFORT_REFRESH_TOKEN_TTL_SECONDS", "1")
        .with_env("AUTHFORT_MAGIC_LINK_TTL_SECONDS", "1")
        .with_env("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS", "1")
        .with_env("AUTHFORT_KEY_ROTATION_TTL_SECONDS", "2");
    let out = admin.ok(&["cleanup"]);
    assert_eq!(out, NOTHING_CLEANED);

    // A session that expires, and a revoked one that does not (a second server with the
    // default 30-day refresh lifetime on the same database).
    let short = TestServer::start(&admin.dir.0, &admin.server_env()).await;
    short.signup("short@example.com", PASSWORD).await;
    let response = short
        .post("/auth/magic-link", json!({"email": "short@example.com"}))
        .await;
    assert!(
        response.status().is_success(),
        "magic link requested: {}",
        response.status()
    );
    drop(short);
    let long_env = [("AUTHFORT_DATABASE_URL", admin.url.as_str())];
    let long = TestServer::start(&admin.dir.0, &long_env).await;
    let long_lived = long.signup("long@example.com", PASSWORD).await;
    admin.ok(&["sessions", "revoke-all", "long@example.com"]);
    assert_eq!(long.refresh(&token(&long_lived, "refresh_token")).await.status(), 401);
    drop(long);
    let kid = admin.ok(&["keys", "rotate"]);
    assert!(!kid.trim().is_empty());
    assert_eq!(admin.sessions("short@example.com").len(), 1);

    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Act + assert.
    let out = admin.ok(&["cleanup"]);
    assert_eq!(
        out,
        "deleted 1 expired session\ndeleted 1 expired signing key\n\
         deleted 1 spent one-time token\ndeleted 0 old mail messages\n\
         deleted 0 spent OAuth sign-in states\n"
    );
    assert!(admin.sessions("short@example.com").is_empty());
    let kept = admin.sessions("long@example.com");
    assert_eq!(kept.len(), 1, "a revoked session is kept until it expires");
    assert_eq!(kept[0]["revoked"], true);
    let out = admin.ok(&["cleanup"]);
    assert_eq!(out, NOTHING_CLEANED);

    // The current key survived: a server still starts and signs tokens.
    let server = TestServer::start(&admin.dir.0, &admin.server_env()).await;
    let jwks = server.jwks().await;
    assert_eq!(jwks.keys.len(), 2, "the current key and the next one");
    assert_eq!(jwks.keys[0].common.key_id.as_deref(), Some(kid.trim()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_finished_oauth_sign_ins_and_keeps_pending_ones() {
    // Arrange: GitHub (a loopback stand-in) configured by environment; one sign-in finished,
    // one started and never finished.
    let gh = GitHubStandIn::start().await;
    gh.login_as(GitHubUser {
        id: 4242,
        login: "octo".into(),
        name: None,
        email: None,
        emails: vec![("octo@example.com".into(), true, true)],
        emails_status: 200,
    });
    let mut admin = Admin::sqlite().with_env("AUTHFORT_PUBLIC_URL", APP_URL);
    for (k, v) in [
        ("CLIENT_ID", github::CLIENT_ID.to_owned()),
        ("CLIENT_SECRET", github::CLIENT_SECRET.to_owned()),
        ("AUTHORIZE_URL", format!("{}/login/oauth/authorize", gh.base)),
        ("TOKEN_URL", format!("{}/login/oauth/access_token", gh.base)),
        ("USERINFO_URL", format!("{}/user", gh.base)),
        ("EMAILS_URL", format!("{}/user/emails", gh.base)),
    ] {
        admin = admin.with_env(&format!("AUTHFORT_OAUTH__GITHUB__{k}"), &v);
    }
    let server = TestServer::start(&admin.dir.0, &admin.server_env()).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();
    let authorize = server.url("/auth/oauth/github/authorize");
    let pending = browser.get(&authorize).send().await.unwrap();
    assert_eq!(pending.status(), 302, "{}", server.process.output());
    let started = browser.get(&authorize).send().await.unwrap();
    let at_github = browser.get(location(&started)).send().await.unwrap();
    assert_eq!(at_github.status(), 302);
    let callback = location(&at_github).replacen(APP_URL, &server.base_url, 1);
    let finished = browser.get(&callback).send().await.unwrap();
    assert_eq!(finished.status(), 200, "{}", server.process.output());

    // Act
    let out = admin.ok(&["cleanup"]);

    // Assert: the finished one is purged, the pending one is kept (nothing left to purge).
    assert_eq!(
        out,
        "deleted 0 expired sessions\ndeleted 0 expired signing keys\n\
         deleted 0 spent one-time tokens\ndeleted 0 old mail messages\n\
         deleted 1 spent OAuth sign-in state\n"
    );
    assert_eq!(admin.ok(&["cleanup"]), NOTHING_CLEANED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_session_commands_work_on_postgres() {
    if skip_postgres() {
        eprintln!("skipping PostgreSQL (AUTHFORT_TEST_SKIP_POSTGRES=1)");
        return;
    }
    // Arrange: a fresh schema.
    let db = TestDb::new(Backend::Postgres).await;
    let admin = Admin::at(TempDir::new(), db.url.clone());

    // Create, list, show, roles, ban.
    let created = admin.create("pat@example.com", PASSWORD, &["--name", "Pat", "--role", "ops"]);
    assert_eq!(created["roles"], json!(["ops"]));
    admin.create("quinn@example.com", PASSWORD, &[]);
    let listed = admin.list(&[]);
    assert_eq!(listed["total"], 2);
    assert_eq!(emails(&listed), ["quinn@example.com", "pat@example.com"]);
    assert_eq!(emails(&admin.list(&["--role", "ops"])), ["pat@example.com"]);
    assert_eq!(emails(&admin.list(&["--query", "QUI"])), ["quinn@example.com"]);
    admin.ok(&["user", "add-role", "pat@example.com", "admin"]);
    admin.ok(&["user", "remove-role", "pat@example.com", "ops"]);
    assert_eq!(admin.show("pat@example.com")["roles"], json!(["admin"]));
    admin.ok(&["user", "ban", "quinn@example.com"]);
    assert_eq!(emails(&admin.list(&["--banned"])), ["quinn@example.com"]);
    assert_eq!(emails(&admin.list(&["--not-banned"])), ["pat@example.com"]);
    assert!(admin.ok(&["user", "list"]).contains("showing 2 of 2 users"));

    // The server on the same schema accepts the piped password; sessions are listed and revoked.
    let server = TestServer::start(&admin.dir.0, &admin.server_env()).await;
    let response = login(&server, "pat@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let logged_in: Value = response.json().await.unwrap();
    assert_eq!(logged_in["user"]["roles"], json!(["admin"]));
    let response = login(&server, "quinn@example.com", PASSWORD).await;
    assert_eq!(error_code(response).await, "user_banned");
    let sessions = admin.sessions("pat@example.com");
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["user_agent"], "cli-e2e/1.0 (test)");
    let out = admin.ok(&["sessions", "revoke-all", "pat@example.com"]);
    assert_eq!(out.trim(), "revoked 1 active session of pat@example.com");
    assert_eq!(server.refresh(&token(&logged_in, "refresh_token")).await.status(), 401);
    assert_eq!(admin.sessions("pat@example.com")[0]["revoked"], true);

    // Cleanup and deletion.
    let out = admin.ok(&["cleanup"]);
    assert_eq!(out, NOTHING_CLEANED);
    admin.ok(&["user", "delete", "quinn@example.com"]);
    admin.ok(&["user", "delete", "pat@example.com", "--hard"]);
    for email in ["pat@example.com", "quinn@example.com"] {
        let stderr = admin.fails(&["user", "show", email]);
        assert!(stderr.contains(&format!("no user with email {email}")), "{stderr}");
    }
    assert_eq!(admin.list(&[])["total"], 0);
}
