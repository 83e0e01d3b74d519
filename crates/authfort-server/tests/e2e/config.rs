//! `authfort config …` and how configuration mistakes are reported.

use authfort_server::config::ServerConfig;
use authfort_test_support::TempDir;

use crate::helpers::{authfort, free_port, run};

#[test]
fn config_example_is_valid_toml_holding_the_defaults() {
    let dir = TempDir::new();
    let printed = run(authfort(&dir.0).args(["config", "example"]));
    assert!(printed.status.success(), "{printed:?}");

    let parsed: ServerConfig = toml::from_str(&printed.stdout).expect("example deserialises into ServerConfig");
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        serde_json::to_value(ServerConfig::default()).unwrap()
    );

    // Used as a file, it checks clean and without warnings.
    let path = dir.0.join("example.toml");
    std::fs::write(&path, &printed.stdout).unwrap();
    let checked = run(authfort(&dir.0).args(["config", "check", "--config"]).arg(&path));
    assert!(checked.status.success(), "{checked:?}");
    assert_eq!(checked.stdout.trim(), "configuration OK");
    assert!(!checked.stderr.contains("WARN"), "{}", checked.stderr);
}

#[test]
fn invalid_env_values_stop_serve_naming_the_key() {
    for (var, value, key) in [
        ("AUTHFORT_COOKIE__SAMESITE", "sideways", "cookie.samesite"),
        ("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS", "abc", "access_token_ttl_seconds"),
    ] {
        let dir = TempDir::new();
        let finished = run(authfort(&dir.0)
            .arg("serve")
            .env("AUTHFORT_BIND", format!("127.0.0.1:{}", free_port()))
            .env(var, value));
        assert!(!finished.status.success(), "{var}={value} must fail: {finished:?}");
        assert!(
            finished.stderr.contains(&format!("`{key}`")),
            "{var}: {}",
            finished.stderr
        );
        assert!(finished.stderr.contains(var), "{var}: {}", finished.stderr);
        assert!(
            !dir.0.join("authfort.db").exists(),
            "nothing is started on a bad config"
        );
    }
}

#[test]
fn config_check_reports_errors_with_a_failing_exit_code() {
    let dir = TempDir::new();
    let path = dir.0.join("authfort.toml");
    std::fs::write(&path, "[cookie]\nsamesite = 'none'\nsecure = false\n").unwrap();
    // ./authfort.toml is read without --config.
    let finished = run(authfort(&dir.0).args(["config", "check"]));
    assert!(!finished.status.success());
    assert!(finished.stderr.contains("`cookie.samesite`"), "{}", finished.stderr);
    assert!(finished.stderr.contains("authfort.toml"), "{}", finished.stderr);
    assert!(!finished.stdout.contains("configuration OK"));

    let finished = run(authfort(&dir.0).args(["config", "check", "--config", "missing.toml"]));
    assert!(!finished.status.success());
    assert!(finished.stderr.contains("missing.toml"), "{}", finished.stderr);
}

#[test]
fn unknown_env_vars_and_file_keys_are_warned_about() {
    let dir = TempDir::new();
    let path = dir.0.join("custom.toml");
    std::fs::write(&path, "bind = '127.0.0.1:9999'\n[cookie]\nenabeld = true\n").unwrap();
    let finished = run(authfort(&dir.0)
        .args(["config", "check", "--config"])
        .arg(&path)
        .env("AUTHFORT_ACESS_TOKEN_TTL", "5"));
    assert!(finished.status.success(), "typos warn, they do not fail: {finished:?}");
    assert_eq!(finished.stdout.trim(), "configuration OK");
    assert!(
        finished.stderr.contains("AUTHFORT_ACESS_TOKEN_TTL"),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains("AUTHFORT_ACCESS_TOKEN_TTL_SECONDS"),
        "suggestion: {}",
        finished.stderr
    );
    assert!(finished.stderr.contains("`cookie.enabeld`"), "{}", finished.stderr);
}
