//! The breached-password check (`pwned_passwords`): Have I Been Pwned's k-anonymity range API.
//!
//! Only the first 5 hex characters of the password's SHA-1 are sent (`GET
//! <base_url>/range/<prefix>` with `Add-Padding: true`); the answer lists the suffixes of
//! every breached hash with that prefix, and the comparison happens here. Padding lines
//! (count 0) are not hits. When the API cannot answer, `fail_open` decides.

use std::time::Duration;

use crate::config::PwnedPasswordsConfig;
use crate::error::{AuthError, AuthResult};

/// Asks the range API whether a password appears in known breaches.
#[derive(Debug, Clone)]
pub(crate) struct PwnedChecker {
    client: reqwest::Client,
    base_url: String,
    fail_open: bool,
}

impl PwnedChecker {
    /// A checker for `config` (call only when `config.enabled`).
    pub(crate) fn new(config: &PwnedPasswordsConfig) -> AuthResult<PwnedChecker> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(AuthError::internal)?;
        Ok(PwnedChecker {
            client,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            fail_open: config.fail_open,
        })
    }

    /// True when the password is breached, or when the API cannot answer and the check
    /// fails closed.
    pub(crate) async fn is_pwned(&self, password: &str) -> bool {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
        let hash = hex::encode_upper(digest.as_ref());
        let (prefix, suffix) = hash.split_at(5);
        match self.range(prefix).await {
            Ok(body) => listed(&body, suffix),
            Err(why) => {
                tracing::warn!(error = %why, fail_open = self.fail_open, "breached-password check unavailable");
                !self.fail_open
            }
        }
    }

    async fn range(&self, prefix: &str) -> Result<String, String> {
        let response = self
            .client
            .get(format!("{}/range/{prefix}", self.base_url))
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(|e| format!("request failed: {}", e.without_url()))?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        response
            .text()
            .await
            .map_err(|e| format!("unreadable answer: {}", e.without_url()))
    }
}

/// Whether `suffix` is listed with a positive count in a range answer (`SUFFIX:COUNT` lines).
fn listed(body: &str, suffix: &str) -> bool {
    body.lines().any(|line| {
        let Some((s, count)) = line.trim().split_once(':') else {
            return false;
        };
        s.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|n| n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::listed;

    #[test]
    fn only_positive_counts_of_the_exact_suffix_are_hits() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\r\n\
                    00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n";
        assert!(listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(listed(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(
            !listed(body, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC"),
            "padding is not a hit"
        );
        assert!(!listed(body, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"));
        assert!(!listed("garbage", "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
    }
}
