//! Cookie mode: the exact `Set-Cookie` lines the reference sends, and reading cookies back.

use authfort_core::{AuthTokens, CookieConfig};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

fn domain_part(config: &CookieConfig) -> String {
    config
        .domain
        .as_deref()
        .map(|d| format!("; Domain={d}"))
        .unwrap_or_default()
}

/// `name=value; [Domain=…; ]HttpOnly; Max-Age=…; Path=…; SameSite=…; Secure`
pub fn set_cookie(config: &CookieConfig, name: &str, value: &str, max_age: u64) -> String {
    let mut s = format!("{name}={value}{}", domain_part(config));
    if config.httponly {
        s.push_str("; HttpOnly");
    }
    s.push_str(&format!(
        "; Max-Age={max_age}; Path={}; SameSite={}",
        config.path, config.samesite
    ));
    if config.secure {
        s.push_str("; Secure");
    }
    s
}

/// `name=""; [Domain=…; ]expires=<now>; Max-Age=0; Path=…; SameSite=lax` (as the reference
/// deletes: no Secure/HttpOnly, always `lax`).
pub fn clear_cookie(config: &CookieConfig, name: &str, now: OffsetDateTime) -> String {
    format!(
        "{name}=\"\"{}; expires={}; Max-Age=0; Path={}; SameSite=lax",
        domain_part(config),
        http_date(now),
        config.path
    )
}

/// RFC 1123 date in GMT, e.g. `Tue, 24 Nov 2026 20:37:17 GMT`.
pub fn http_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Appends the two auth cookies for a token pair.
pub fn append_auth_cookies(headers: &mut HeaderMap, config: &CookieConfig, tokens: &AuthTokens, refresh_ttl: u64) {
    for line in [
        set_cookie(
            config,
            &config.access_cookie_name,
            &tokens.access_token,
            tokens.expires_in,
        ),
        set_cookie(config, &config.refresh_cookie_name, &tokens.refresh_token, refresh_ttl),
    ] {
        if let Ok(v) = HeaderValue::from_str(&line) {
            headers.append(SET_COOKIE, v);
        }
    }
}

/// Appends the two deletion cookies.
pub fn append_clear_cookies(headers: &mut HeaderMap, config: &CookieConfig, now: OffsetDateTime) {
    for name in [&config.access_cookie_name, &config.refresh_cookie_name] {
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(config, name, now)) {
            headers.append(SET_COOKIE, v);
        }
    }
}

/// The value of cookie `name`, if sent and non-empty.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_matches_the_reference_exactly() {
        let c = CookieConfig::default();
        assert_eq!(
            set_cookie(&c, "access_token", "abc", 900),
            "access_token=abc; HttpOnly; Max-Age=900; Path=/; SameSite=lax; Secure"
        );
        let c = CookieConfig {
            domain: Some("example.test".into()),
            ..CookieConfig::default()
        };
        assert_eq!(
            set_cookie(&c, "refresh_token", "r", 2_592_000),
            "refresh_token=r; Domain=example.test; HttpOnly; Max-Age=2592000; Path=/; SameSite=lax; Secure"
        );
    }

    #[test]
    fn clear_cookie_matches_the_reference_exactly() {
        let c = CookieConfig {
            domain: Some(".example.com".into()),
            samesite: "strict".into(),
            ..CookieConfig::default()
        };
        let now = time::macros::datetime!(2026-11-24 20:37:17 UTC);
        assert_eq!(
            clear_cookie(&c, "access_token", now),
            "access_token=\"\"; Domain=.example.com; expires=Tue, 24 Nov 2026 20:37:17 GMT; Max-Age=0; Path=/; SameSite=lax"
        );
    }

    #[test]
    fn reads_cookies_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            "x_access_token=no; access_token=yes; refresh_token=\"\""
                .parse()
                .unwrap(),
        );
        assert_eq!(read_cookie(&h, "access_token").as_deref(), Some("yes"));
        assert_eq!(read_cookie(&h, "refresh_token"), None);
    }
}
