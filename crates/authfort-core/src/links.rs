//! Links and redirects, built only from configuration.
//!
//! A redirect target is accepted only if it is a single-`/` relative path (never `//` or
//! `/\`, checked after percent-decoding) allowed by `links.allowed_redirects`, or an absolute
//! http(s) URL whose origin is exactly one of the allowed origins (no userinfo).

use crate::config::AuthConfig;
use crate::error::{AuthError, RejectKind};

/// Checks an `allowed_redirects` entry: an exact origin or a relative path.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_allowed_entry(entry: &str) -> Result<(), &'static str> {
    if entry.starts_with('/') {
        return safe_relative(entry).map(|_| ());
    }
    let u = absolute_http(entry)?;
    if u.origin().ascii_serialization() != entry {
        return Err("must be an exact origin (scheme://host[:port]) or a relative path starting with /");
    }
    Ok(())
}

/// Parses an absolute http(s) URL with a host and no userinfo.
///
/// # Errors
/// A message saying what is wrong.
pub fn absolute_http(s: &str) -> Result<url::Url, &'static str> {
    let u = url::Url::parse(s).map_err(|_| "not an absolute URL")?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err("must be an http(s) URL");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials");
    }
    Ok(u)
}

/// A relative path that cannot be turned into another origin by a browser.
fn safe_relative(path: &str) -> Result<&str, &'static str> {
    let decoded = percent_decode(path);
    let bad_char = |c: char| c.is_control() || c == '\\';
    if !path.starts_with('/')
        || path.starts_with("//")
        || decoded.starts_with("//")
        || decoded.chars().any(bad_char)
        || path.chars().any(|c| c.is_whitespace())
    {
        return Err(
            "relative paths must start with a single / and contain no backslash, whitespace or control characters",
        );
    }
    Ok(path)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn invalid_redirect() -> AuthError {
    AuthError::rejected(
        RejectKind::BadRequest,
        "invalid_redirect",
        "redirect_to is not an allowed redirect",
    )
}

/// Validates a requested `redirect_to` against `links.allowed_redirects`.
///
/// # Errors
/// 400 `invalid_redirect`.
pub fn validate_redirect(config: &AuthConfig, requested: &str) -> Result<String, AuthError> {
    let allowed = &config.links.allowed_redirects;
    if requested.starts_with('/') {
        safe_relative(requested).map_err(|_| invalid_redirect())?;
        let path_only = requested.split(['?', '#']).next().unwrap_or_default();
        let ok = allowed
            .iter()
            .any(|a| a.starts_with('/') && (a == path_only || (a.ends_with('/') && path_only.starts_with(a.as_str()))));
        return if ok {
            Ok(requested.to_owned())
        } else {
            Err(invalid_redirect())
        };
    }
    let u = absolute_http(requested).map_err(|_| invalid_redirect())?;
    let origin = u.origin().ascii_serialization();
    if allowed.iter().any(|a| !a.starts_with('/') && *a == origin) {
        Ok(u.to_string())
    } else {
        Err(invalid_redirect())
    }
}

/// Validates an OAuth `redirect_to`: any single-`/` relative path (as the reference allows,
/// minus `//` and `/\\`), or an absolute URL on an origin of `links.allowed_redirects` or of
/// `frontend_url`.
///
/// # Errors
/// 400 `invalid_redirect` "redirect_to must be a relative path".
pub fn validate_oauth_redirect(config: &AuthConfig, requested: &str) -> Result<String, AuthError> {
    let refuse = || {
        AuthError::rejected(
            RejectKind::BadRequest,
            "invalid_redirect",
            "redirect_to must be a relative path",
        )
    };
    if requested.starts_with('/') {
        return safe_relative(requested).map(str::to_owned).map_err(|_| refuse());
    }
    let u = absolute_http(requested).map_err(|_| refuse())?;
    let origin = u.origin().ascii_serialization();
    let frontend = config
        .frontend_url
        .as_deref()
        .and_then(|f| url::Url::parse(f).ok())
        .map(|f| f.origin().ascii_serialization());
    let allowed = config
        .links
        .allowed_redirects
        .iter()
        .any(|a| !a.starts_with('/') && *a == origin)
        || frontend.as_deref() == Some(origin.as_str());
    if allowed {
        Ok(u.to_string())
    } else {
        Err(refuse())
    }
}

/// The only origin the OAuth popup page posts its result to: `frontend_url`'s origin, else
/// `public_url`'s.
pub fn popup_target_origin(config: &AuthConfig) -> Option<String> {
    config
        .frontend_url
        .as_deref()
        .or(config.public_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null")
}

/// Where a finished OAuth sign-in sends the browser: `frontend_url` + a relative
/// `redirect_to`, or an (already allow-listed) absolute one as it is.
pub fn oauth_destination(config: &AuthConfig, redirect_to: &str) -> String {
    match (redirect_to.starts_with('/'), &config.frontend_url) {
        (true, Some(front)) => format!("{}{redirect_to}", front.trim_end_matches('/')),
        _ => redirect_to.to_owned(),
    }
}

/// The magic link for a raw token, from `links.magic_link_url` or `public_url`.
pub fn magic_link(config: &AuthConfig, token: &str) -> Option<String> {
    link(&config.links.magic_link_url, config, "/auth/magic-link/confirm", token)
}

/// The email-verification link for a raw token, from `links.verify_email_url` or `public_url`.
pub fn verify_email_link(config: &AuthConfig, token: &str) -> Option<String> {
    link(
        &config.links.verify_email_url,
        config,
        "/auth/verify-email/confirm",
        token,
    )
}

/// The password-reset link for a raw token, from `links.password_reset_url` or `public_url`.
pub fn password_reset_link(config: &AuthConfig, token: &str) -> Option<String> {
    link(
        &config.links.password_reset_url,
        config,
        "/auth/password/reset/confirm",
        token,
    )
}

/// `template` with the token, else the server's own page under `public_url` with the token
/// in the fragment (never sent to servers, logs or Referer headers).
fn link(template: &Option<String>, config: &AuthConfig, page: &str, token: &str) -> Option<String> {
    match (template, &config.public_url) {
        (Some(template), _) => Some(template.replace("{token}", token)),
        (None, Some(base)) => Some(format!("{}{page}#token={token}", base.trim_end_matches('/'))),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        let mut c = AuthConfig::default();
        c.links.allowed_redirects = vec!["https://app.test".into(), "/dashboard".into(), "/app/".into()];
        c
    }

    #[test]
    fn open_redirect_payloads_are_refused() {
        let c = config();
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "\\\\evil.test",
            "/%2F%2Fevil.test",
            "/%5Cevil.test",
            "https:evil.test",
            "https://evil.test",
            "https://app.test.evil.test",
            "https://app.test@evil.test",
            "https://evil.test#@app.test",
            "javascript:alert(1)",
            "java%0ascript:alert(1)",
            "  //evil.test",
            "\t/dashboard",
            "https://аpp.test",
            "http://app.test",
            "/other",
            "data:text/html,hi",
        ] {
            assert!(validate_redirect(&c, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn oauth_redirects_take_any_safe_path_or_an_allowed_origin() {
        let mut c = config();
        c.frontend_url = Some("https://front.test".into());
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "/%2F%2Fevil.test",
            "https://evil.test/x",
            "javascript:alert(1)",
            "x",
        ] {
            let e = validate_oauth_redirect(&c, bad).unwrap_err();
            assert!(e.is("invalid_redirect"), "{bad:?}");
        }
        assert_eq!(validate_oauth_redirect(&c, "/anything?x=1").unwrap(), "/anything?x=1");
        assert_eq!(
            validate_oauth_redirect(&c, "https://app.test/a").unwrap(),
            "https://app.test/a"
        );
        assert_eq!(
            validate_oauth_redirect(&c, "https://front.test/b").unwrap(),
            "https://front.test/b"
        );
    }

    #[test]
    fn allowed_targets_pass() {
        let c = config();
        assert_eq!(validate_redirect(&c, "/dashboard").unwrap(), "/dashboard");
        assert_eq!(validate_redirect(&c, "/dashboard?tab=1").unwrap(), "/dashboard?tab=1");
        assert_eq!(validate_redirect(&c, "/app/settings").unwrap(), "/app/settings");
        assert_eq!(
            validate_redirect(&c, "https://app.test/welcome").unwrap(),
            "https://app.test/welcome"
        );
    }

    #[test]
    fn links_come_from_configuration_only() {
        let mut c = AuthConfig {
            public_url: Some("https://auth.example.com/".into()),
            ..AuthConfig::default()
        };
        assert_eq!(
            magic_link(&c, "abc").unwrap(),
            "https://auth.example.com/auth/magic-link/confirm#token=abc"
        );
        c.links.magic_link_url = Some("https://myapp.com/auth/magic?token={token}".into());
        assert_eq!(magic_link(&c, "abc").unwrap(), "https://myapp.com/auth/magic?token=abc");
        assert_eq!(
            verify_email_link(&c, "abc").unwrap(),
            "https://auth.example.com/auth/verify-email/confirm#token=abc"
        );
        assert_eq!(
            password_reset_link(&c, "abc").unwrap(),
            "https://auth.example.com/auth/password/reset/confirm#token=abc"
        );
        c.links.password_reset_url = Some("https://myapp.com/reset/{token}".into());
        assert_eq!(password_reset_link(&c, "abc").unwrap(), "https://myapp.com/reset/abc");
    }
}
