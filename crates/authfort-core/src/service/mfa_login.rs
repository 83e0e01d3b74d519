//! The MFA step of a login: the challenge token, and completing it with a TOTP or backup code.
//!
//! The challenge is an RS256 JWT signed with the current key, `{"sub", "purpose":
//! "mfa_challenge", "iat", "exp": iat + 300, "iss"}` as the reference, plus one private claim,
//! `amr`: the first factor (`["pwd"]`, `["email_link"]` or `["email_otp"]`), so the session
//! completed with MFA carries both (`["email_link", "mfa"]`). It lacks `email`, `roles` and
//! `ver`, so no access-token check accepts it; completing refuses any token whose `purpose`
//! differs (an access token included).
//!
//! Lockout: a per-user persisted counter, incremented before the code is compared (so
//! concurrent guesses are bounded too). While `locked_until` is in the future every attempt
//! answers 429 `mfa_locked` before the code is looked at; a fresh challenge changes nothing.

use authfort_verifier::Amr;
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::mfa::{backup_code_hmac, is_totp_code, normalize_code};
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, Login, MfaAttempt, MfaLocked, UserEmail};
use crate::model::{AuthResponse, ClientInfo, MfaChallenge, User};
use crate::service::mfa::MAX_CODE_CHARS;
use crate::store::MfaAttemptCount;
use crate::AuthFort;

/// Lifetime of a challenge token, in seconds.
pub const MFA_CHALLENGE_TTL_SECONDS: u64 = 300;
const PURPOSE: &str = "mfa_challenge";
/// Longest challenge token we try to verify.
const MAX_TOKEN_CHARS: usize = 16 * 1024;

fn invalid_token(message: &str) -> AuthError {
    AuthError::rejected(RejectKind::Unauthenticated, "invalid_mfa_token", message)
}

/// The `login` event's provider for a first factor.
fn provider_of(first: &[Amr]) -> &'static str {
    match first.first() {
        Some(Amr::EmailLink) => "magic_link",
        Some(Amr::EmailOtp) => "email_otp",
        Some(Amr::Oauth) => "oauth",
        _ => "email",
    }
}

impl AuthFort {
    /// The challenge answered instead of tokens when `user` has MFA enabled and passed
    /// `first_factor`.
    pub(crate) async fn mfa_challenge(&self, user: &User, first_factor: Amr) -> AuthResult<MfaChallenge> {
        let iat = self.inner.clock.now().unix_timestamp();
        let claims = serde_json::json!({
            "sub": user.id.to_string(),
            "purpose": PURPOSE,
            "iat": iat,
            "exp": iat + MFA_CHALLENGE_TTL_SECONDS as i64,
            "iss": self.inner.keys.issuer(),
            "amr": [first_factor.as_str()],
        });
        Ok(MfaChallenge {
            mfa_required: true,
            mfa_token: self.inner.keys.sign(&claims).await?,
            expires_in: MFA_CHALLENGE_TTL_SECONDS,
        })
    }

    /// Checks a challenge token: signature by kid (so a key rotation during the five minutes
    /// does not break it), expiry by our clock, issuer, purpose. Returns the user id and the
    /// first factor.
    async fn challenge_claims(&self, token: &str) -> AuthResult<(Uuid, Vec<Amr>)> {
        let invalid = || invalid_token("Invalid MFA token");
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(invalid());
        }
        let claims: Map<String, Value> = self.inner.keys.signed_payload(token).await?.ok_or_else(invalid)?;
        let int = |name: &str| claims.get(name).and_then(Value::as_i64);
        let (Some(_iat), Some(exp)) = (int("iat"), int("exp")) else {
            return Err(invalid());
        };
        if exp <= self.inner.clock.now().unix_timestamp() {
            return Err(invalid_token("MFA session expired, please log in again"));
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(self.inner.keys.issuer()) || text("purpose") != Some(PURPOSE) {
            return Err(invalid());
        }
        let user_id = text("sub").and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(invalid)?;
        let first: Vec<Amr> = match claims.get("amr") {
            None => vec![Amr::Pwd],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().and_then(Amr::parse).filter(|a| *a != Amr::Mfa))
                .collect::<Option<Vec<_>>>()
                .filter(|v| !v.is_empty())
                .ok_or_else(invalid)?,
            Some(_) => return Err(invalid()),
        };
        Ok((user_id, first))
    }

    /// Completes a login that answered an MFA challenge, with a TOTP code (6 digits, spaces
    /// ignored; never one accepted before) or an unused backup code (case, spaces and hyphens
    /// ignored; spent). Starts a new session whose `amr` is the first factor plus `mfa`.
    /// Emits `login`, `mfa_login` (and `backup_code_used`); a wrong code emits `mfa_failed`,
    /// and the one reaching `mfa_max_failed_attempts` also `mfa_locked`.
    ///
    /// # Errors
    /// 401 `invalid_mfa_token` (bad, expired or wrong-purpose token; user gone or banned; MFA
    /// not enabled), 429 `mfa_locked`, 401 `invalid_mfa_code`.
    pub async fn complete_mfa_login(
        &self,
        mfa_token: &str,
        code: &str,
        client: &ClientInfo,
    ) -> AuthResult<AuthResponse> {
        let (user_id, first) = self.challenge_claims(mfa_token).await?;
        let store = &self.inner.store;
        let user = store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted && !u.banned)
            .ok_or_else(|| invalid_token("Invalid MFA token"))?;
        let row = store
            .mfa(user.id)
            .await?
            .filter(|m| m.enabled)
            .ok_or_else(|| invalid_token("MFA not enabled for this user"))?;
        let now = self.inner.clock.now();
        let locked = || {
            AuthError::rejected(
                RejectKind::TooMany,
                "mfa_locked",
                "Too many failed attempts. Try again later.",
            )
        };
        if row.locked_until.is_some_and(|until| until > now) {
            return Err(locked());
        }
        // The attempt is counted before the code is compared, in one conditional write, so
        // concurrent guesses cannot all pass the lock check above: at most
        // `mfa_max_failed_attempts` codes are compared per lock period.
        let config = &self.inner.config;
        let lock_until = now + Duration::seconds(config.mfa_lockout_seconds as i64);
        let lock_set = match store
            .count_mfa_attempt(user.id, config.mfa_max_failed_attempts, lock_until, now)
            .await?
        {
            MfaAttemptCount::Refused => return Err(locked()),
            MfaAttemptCount::Counted { locked_until } => locked_until,
        };
        let code = normalize_code(code);
        let totp = is_totp_code(&code);
        let accepted = if code.chars().count() > MAX_CODE_CHARS {
            false
        } else if totp {
            match self.totp_step_of(&row, &code)? {
                Some(step) => store.accept_totp_step(user.id, step, false, now).await?,
                None => false,
            }
        } else {
            let hmac = backup_code_hmac(self.mfa_key()?, user.id, &code);
            store.use_backup_code(user.id, &hmac, false, now).await?
        };
        let attempt = MfaAttempt {
            timestamp: now,
            user_id: user.id,
            email: user.email.clone(),
            ip_address: client.ip_address.clone(),
        };
        if !accepted {
            return Err(self.mfa_failure(&user, attempt, totp, lock_set));
        }
        store.reset_mfa_failures(user.id).await?;
        let mut amr = first.clone();
        amr.push(Amr::Mfa);
        let response = self.start_session(&user, amr, client).await?;
        let mut events = vec![
            Event::Login(Login {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                provider: provider_of(&first).into(),
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
            }),
            Event::MfaLogin(attempt),
        ];
        if !totp {
            events.push(Event::BackupCodeUsed(UserEmail {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
            }));
        }
        self.emit(events);
        Ok(response)
    }

    /// Emits the events of a wrong code (already counted; `lock_set` if that reached the
    /// limit) and returns the refusal.
    fn mfa_failure(&self, user: &User, attempt: MfaAttempt, totp: bool, lock_set: Option<OffsetDateTime>) -> AuthError {
        let mut events = Vec::new();
        if let Some(locked_until) = lock_set {
            events.push(Event::MfaLocked(MfaLocked {
                timestamp: attempt.timestamp,
                user_id: user.id,
                email: user.email.clone(),
                ip_address: attempt.ip_address.clone(),
                locked_until,
            }));
        }
        events.push(Event::MfaFailed(attempt));
        self.emit(events);
        AuthError::rejected(
            RejectKind::Unauthenticated,
            "invalid_mfa_code",
            if totp {
                "Invalid or expired MFA code"
            } else {
                "Invalid MFA code"
            },
        )
    }
}
