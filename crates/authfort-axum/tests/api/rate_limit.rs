//! Rate limiting on the wire: per-endpoint limits by IP and email, the exact 429, trusted
//! proxies, the `rate_limit_exceeded` event, and the Redis store (shared between two apps,
//! fail closed while Redis is down, self-healing when it is back).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authfort_core::clock::Clock;
use authfort_core::events::{Event, EventKind, RateLimitExceeded};
use authfort_core::rate_limit::{RateLimitStore, RedisRateLimitStore};
use authfort_core::AuthConfig;
use authfort_test_support::redis::{shared_redis, unique_prefix, PrivateRedis};
use authfort_test_support::{on_both_backends, Backend};
use serde_json::{json, Value};

use crate::helpers::{tokens, TestApp, TestResponse};

const EXCEEDED: &str =
    r#"{"detail":{"error":"rate_limit_exceeded","message":"Too many requests. Please try again later."}}"#;
const PASSWORD: &str = "correct horse battery";

fn enabled(c: &mut AuthConfig) {
    c.rate_limit.enabled = true;
}

#[track_caller]
fn assert_throttled(r: &TestResponse, retry_after: &str) {
    assert_eq!(r.status.as_u16(), 429, "body: {}", r.text);
    assert_eq!(r.text, EXCEEDED);
    assert_eq!(r.headers["retry-after"], retry_after);
}

#[track_caller]
fn assert_not_throttled(r: &TestResponse) {
    assert_ne!(r.status.as_u16(), 429, "body: {}", r.text);
    assert_ne!(r.status.as_u16(), 503, "body: {}", r.text);
    assert!(r.headers.get("retry-after").is_none());
}

fn collect_events(app: &TestApp) -> Arc<Mutex<Vec<RateLimitExceeded>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    app.auth.on(EventKind::RateLimitExceeded, move |e: Event| {
        let sink = sink.clone();
        async move {
            if let Event::RateLimitExceeded(e) = e {
                sink.lock().unwrap().push(e);
            }
        }
    });
    seen
}

async fn each_endpoint_allows_its_limit_then_answers_429(backend: Backend) {
    let app = TestApp::with_config(backend, enabled).await;
    type Body = fn(usize) -> Value;
    let cases: [(&str, usize, Body); 9] = [
        (
            "/auth/signup",
            3,
            |i| json!({"email": format!("s{i}@example.com"), "password": PASSWORD}),
        ),
        (
            "/auth/login",
            5,
            |i| json!({"email": format!("l{i}@example.com"), "password": "wrong password"}),
        ),
        ("/auth/refresh", 30, |_| json!({"refresh_token": "not-a-token"})),
        ("/auth/magic-link", 5, |i| json!({"email": format!("m{i}@example.com")})),
        ("/auth/magic-link/verify", 10, |_| json!({"token": "x".repeat(43)})),
        ("/auth/otp", 5, |i| json!({"email": format!("o{i}@example.com")})),
        ("/auth/verify-email", 5, |_| json!({"token": "x".repeat(43)})),
        (
            "/auth/password/forgot",
            5,
            |i| json!({"email": format!("f{i}@example.com")}),
        ),
        (
            "/auth/password/reset",
            5,
            |_| json!({"token": "x".repeat(43), "new_password": PASSWORD}),
        ),
    ];
    for (path, n, body) in cases {
        let start = app.clock.now();
        for i in 0..n {
            assert_not_throttled(&app.post(path, body(i)).await);
            if i == 0 {
                app.clock.advance(time::Duration::milliseconds(500));
            }
        }
        // The oldest hit leaves the window in 59.5 s: Retry-After = floor(59.5) + 1.
        assert_throttled(&app.post(path, body(n)).await, "60");
        assert_throttled(&app.post(path, body(n + 1)).await, "60");
        // A minute after the first hit, one slot is free again (refused hits took none).
        app.clock.set(start + time::Duration::seconds(60));
        assert_not_throttled(&app.post(path, body(n + 2)).await);
        assert_throttled(&app.post(path, body(n + 3)).await, "1");
        app.clock.advance(time::Duration::minutes(5));
    }
    // Unlimited endpoints stay unlimited.
    for _ in 0..40 {
        assert_not_throttled(&app.post("/auth/logout", json!({})).await);
    }
}

async fn limits_are_off_unless_enabled(backend: Backend) {
    let app = TestApp::new(backend).await;
    for i in 0..8 {
        let r = app
            .post(
                "/auth/login",
                json!({"email": format!("x{i}@example.com"), "password": "nope nope"}),
            )
            .await;
        assert_not_throttled(&r);
    }
}

async fn ip_hits_count_even_when_the_body_fails_validation(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        enabled(c);
        c.rate_limit.login = Some("3/min".into());
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.post("/auth/login", json!({})).await.status.as_u16(), 422);
    }
    let r = app
        .post("/auth/login", json!({"email": "a@example.com", "password": PASSWORD}))
        .await;
    assert_throttled(&r, "61");
}

async fn ip_and_email_keys(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        enabled(c);
        c.rate_limit.login = Some("3/min".into());
    })
    .await;
    app.signup("victim@example.com").await;
    let events = collect_events(&app);
    let wrong = |email: &str| json!({"email": email, "password": "wrong password"});

    // Different emails from one IP share the IP bucket.
    for i in 0..3 {
        let r = app
            .post_from("198.51.100.1", "/auth/login", wrong(&format!("u{i}@example.com")), &[])
            .await;
        r.assert_error(401, "invalid_credentials");
    }
    let r = app
        .post_from("198.51.100.1", "/auth/login", wrong("u9@example.com"), &[])
        .await;
    assert_throttled(&r, "61");

    // One email from different IPs shares the email bucket (case and spaces folded).
    for (i, email) in ["victim@example.com", " VICTIM@example.com", "Victim@Example.com "]
        .iter()
        .enumerate()
    {
        let r = app
            .post_from(&format!("192.0.2.{i}"), "/auth/login", wrong(email), &[])
            .await;
        r.assert_error(401, "invalid_credentials");
    }
    let r = app
        .post_from(
            "192.0.2.200",
            "/auth/login",
            json!({"email": "victim@example.com", "password": PASSWORD}),
            &[],
        )
        .await;
    assert_throttled(&r, "61");
    // Another address from that fresh IP is fine.
    let r = app
        .post_from("192.0.2.200", "/auth/login", wrong("someone@example.com"), &[])
        .await;
    r.assert_error(401, "invalid_credentials");

    app.auth.flush_events().await;
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let ip = &events[0];
    assert_eq!(ip.endpoint, "login");
    assert_eq!(ip.key_type, "ip");
    assert_eq!(ip.ip_address.as_deref(), Some("198.51.100.1"));
    assert_eq!(ip.email, None);
    assert_eq!(ip.limit, "3/min");
    let email = &events[1];
    assert_eq!(email.endpoint, "login");
    assert_eq!(email.key_type, "email");
    assert_eq!(email.ip_address.as_deref(), Some("192.0.2.200"));
    assert_eq!(email.email.as_deref(), Some("victim@example.com"));
    assert_eq!(email.limit, "3/min");
}

async fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(backend: Backend) {
    for trusted in [vec![], vec!["10.0.0.0/8".to_owned()]] {
        let app = TestApp::with_config(backend, |c| {
            enabled(c);
            c.rate_limit.refresh = Some("2/min".into());
            c.trusted_proxies = trusted.clone();
        })
        .await;
        let events = collect_events(&app);
        for i in 0..2 {
            let xff = format!("1.1.1.{i}");
            let r = app
                .post_from(
                    "203.0.113.50",
                    "/auth/refresh",
                    json!({"refresh_token": "x"}),
                    &[("x-forwarded-for", &xff), ("x-real-ip", &xff)],
                )
                .await;
            assert_not_throttled(&r);
        }
        let r = app
            .post_from(
                "203.0.113.50",
                "/auth/refresh",
                json!({"refresh_token": "x"}),
                &[("x-forwarded-for", "9.9.9.9")],
            )
            .await;
        assert_throttled(&r, "61");
        app.auth.flush_events().await;
        assert_eq!(events.lock().unwrap()[0].ip_address.as_deref(), Some("203.0.113.50"));
    }
}

async fn trusted_proxy_chains_resolve_right_to_left(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        enabled(c);
        c.rate_limit.refresh = Some("2/min".into());
        c.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await;
    let events = collect_events(&app);
    let via_proxies = |spoof: &str, real: &str| format!("{spoof}, {real}, 10.0.0.5");
    // The client varies the left-most (spoofed) entry; the real hop stays 198.51.100.7.
    for spoof in ["6.6.6.1", "6.6.6.2"] {
        let xff = via_proxies(spoof, "198.51.100.7");
        let r = app
            .post_from(
                "10.0.0.2",
                "/auth/refresh",
                json!({"refresh_token": "x"}),
                &[("x-forwarded-for", &xff)],
            )
            .await;
        assert_not_throttled(&r);
    }
    let xff = via_proxies("6.6.6.3", "198.51.100.7");
    let r = app
        .post_from(
            "10.0.0.2",
            "/auth/refresh",
            json!({"refresh_token": "x"}),
            &[("x-forwarded-for", &xff)],
        )
        .await;
    assert_throttled(&r, "61");
    // Another real client behind the same proxies has its own bucket.
    let xff = via_proxies("6.6.6.3", "198.51.100.8");
    let r = app
        .post_from(
            "10.0.0.3",
            "/auth/refresh",
            json!({"refresh_token": "x"}),
            &[("x-forwarded-for", &xff)],
        )
        .await;
    assert_not_throttled(&r);
    app.auth.flush_events().await;
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].ip_address.as_deref(), Some("198.51.100.7"));
    assert_eq!(events[0].endpoint, "refresh");
    assert_eq!(events[0].key_type, "ip");
}

async fn passwordless_requests_are_throttled_the_same_for_known_and_unknown_addresses(backend: Backend) {
    let app = TestApp::with_config(backend, |c| {
        enabled(c);
        c.rate_limit.magic_link = Some("2/min".into());
    })
    .await;
    app.signup("known@example.com").await;
    let mut transcripts = Vec::new();
    for (n, email) in ["known@example.com", "unknown@example.com"].iter().enumerate() {
        let mut transcript = Vec::new();
        for i in 0..4 {
            // A fresh IP each time: only the email key can throttle.
            let r = app
                .post_from(
                    &format!("192.0.2.{}", n * 10 + i),
                    "/auth/magic-link",
                    json!({"email": email}),
                    &[],
                )
                .await;
            transcript.push((
                r.status.as_u16(),
                r.text.clone(),
                r.headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned()),
            ));
        }
        transcripts.push(transcript);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert_eq!(transcripts[0][1].0, 200);
    assert_eq!(transcripts[0][2].0, 429);
    assert_eq!(transcripts[0][2].1, EXCEEDED);
}

async fn two_apps_sharing_one_redis_share_one_limit(backend: Backend) {
    let Some(url) = shared_redis() else { return };
    let prefix = unique_prefix();
    let limit = |c: &mut AuthConfig| {
        enabled(c);
        c.rate_limit.login = Some("3/min".into());
    };
    let store = || Arc::new(RedisRateLimitStore::with_prefix(&url, &prefix).unwrap());
    let a = TestApp::with_rate_limit_store(backend, limit, store()).await;
    let b = TestApp::with_rate_limit_store(backend, limit, store()).await;
    let body = json!({"email": "shared@example.com", "password": "wrong password"});
    for app in [&a, &b, &a] {
        app.post("/auth/login", body.clone())
            .await
            .assert_error(401, "invalid_credentials");
    }
    for app in [&b, &a] {
        let r = app.post("/auth/login", body.clone()).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        assert_eq!(r.text, EXCEEDED);
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((58..=61).contains(&retry), "{retry}");
    }
    store().reset(None).await.unwrap();
}

async fn redis_down_answers_503_then_recovers(backend: Backend) {
    let Some(mut redis) = PrivateRedis::start() else { return };
    let store = Arc::new(RedisRateLimitStore::with_prefix(&redis.url(), &unique_prefix()).unwrap());
    let app = TestApp::with_rate_limit_store(backend, enabled, store).await;
    let signed_up = app.signup("alice@example.com").await;
    let (access, refresh) = tokens(&signed_up);
    let login = json!({"email": "alice@example.com", "password": PASSWORD});

    redis.stop();
    for (path, body) in [
        ("/auth/login", login.clone()),
        (
            "/auth/signup",
            json!({"email": "bob@example.com", "password": PASSWORD}),
        ),
        ("/auth/refresh", json!({"refresh_token": refresh})),
        ("/auth/magic-link", json!({"email": "alice@example.com"})),
        ("/auth/magic-link/verify", json!({"token": "x".repeat(43)})),
    ] {
        let started = Instant::now();
        let r = app.post(path, body).await;
        r.assert_error(503, "service_unavailable");
        assert_eq!(r.headers["retry-after"], "5", "{path}");
        assert!(r.body.get("tokens").is_none());
        assert!(started.elapsed() < Duration::from_secs(5), "{path} answered promptly");
    }
    // Unlimited endpoints do not depend on Redis.
    assert_eq!(app.me(&access).await.status.as_u16(), 200);

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = app.post("/auth/login", login.clone()).await;
        if r.status.as_u16() == 200 {
            assert!(r.body["tokens"]["access_token"].is_string());
            break;
        }
        r.assert_error(503, "service_unavailable");
        assert!(Instant::now() < deadline, "no recovery after Redis came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = app.post("/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

on_both_backends!(
    each_endpoint_allows_its_limit_then_answers_429,
    limits_are_off_unless_enabled,
    ip_hits_count_even_when_the_body_fails_validation,
    ip_and_email_keys,
    spoofed_forwarded_for_from_an_untrusted_peer_is_ignored,
    trusted_proxy_chains_resolve_right_to_left,
    passwordless_requests_are_throttled_the_same_for_known_and_unknown_addresses,
    two_apps_sharing_one_redis_share_one_limit,
    redis_down_answers_503_then_recovers,
);
