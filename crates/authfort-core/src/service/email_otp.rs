//! Email one-time codes: request (enumeration-safe) and verify (atomic, at most 5 tries).
//!
//! A code is 6 digits from the OS CSPRNG. Only HMAC-SHA256(`secret_key`, address ‖ code) is
//! stored, so a database dump alone cannot recover it (a plain hash of 10⁶ values could be
//! reversed at once). Codes are looked up by address, never globally by code; a new request
//! replaces the address's earlier code; every try counts, in the same conditional write that
//! consumes a matching code, and after [`EmailOtp::MAX_ATTEMPTS`] tries the code is dead.

use authfort_verifier::Amr;
use time::Duration;
use uuid::Uuid;

use crate::crypto::{hmac_sha256_hex, otp_code};
use crate::delivery::MailKind;
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{EmailOtpRequested, Event, SecretToken};
use crate::model::{ClientInfo, EmailOtp};
use crate::service::login::SignIn;
use crate::service::mail::Carried;
use crate::service::signup::field;
use crate::store::RedeemEmailOtp;
use crate::validation;
use crate::AuthFort;

fn invalid_otp() -> AuthError {
    AuthError::rejected(RejectKind::BadRequest, "invalid_otp", "Invalid or expired OTP code")
}

impl AuthFort {
    /// The HMAC key, or a refusal: without `secret_key` codes could only be stored as a plain
    /// hash, so email OTP fails closed.
    fn otp_key(&self) -> AuthResult<&[u8]> {
        match &self.inner.config.secret_key {
            Some(key) => Ok(key.expose().as_bytes()),
            None => Err(AuthError::Internal(
                "email OTP needs `secret_key` (AUTHFORT_SECRET_KEY) to be configured".into(),
            )),
        }
    }

    /// How a code is stored: bound to the address it was sent to.
    fn otp_hmac(key: &[u8], email: &str, code: &str) -> String {
        hmac_sha256_hex(key, format!("authfort:email_otp:{email}:{code}").as_bytes())
    }

    /// Creates a 6-digit code for `email` and returns it (`None` when no usable account exists
    /// and passwordless signup is off, or the account is banned or deleted). Replaces the
    /// address's earlier code. With email delivery on, the mail is queued in the same
    /// transaction. Emits `email_otp_requested` (with the raw code) after commit.
    ///
    /// # Errors
    /// 400 `invalid_email`; `Internal` when `secret_key` is not configured.
    pub async fn create_email_otp(&self, email: &str) -> AuthResult<Option<String>> {
        let key = self.otp_key()?;
        let config = &self.inner.config;
        let email = validation::normalize_email(email).map_err(field)?;
        let store = &self.inner.store;
        let user_id = match store.user_by_email(&email).await? {
            Some(u) if u.is_active() => Some(u.id),
            None if config.allow_passwordless_signup => None,
            _ => {
                // Same write transaction as the real path, so timing does not tell them apart.
                store.invalidate_email_otps(&email).await?;
                return Ok(None);
            }
        };
        let now = self.inner.clock.now();
        let code = otp_code();
        let expires_at = now + Duration::seconds(config.email_otp_ttl_seconds as i64);
        let otp = EmailOtp {
            id: Uuid::new_v4(),
            user_id,
            email: email.clone(),
            code_hmac: Self::otp_hmac(key, &email, &code),
            attempts: 0,
            expires_at,
            created_at: now,
            consumed_at: None,
        };
        let message = self.mail_for(
            MailKind::EmailOtp,
            Some(&code),
            &email,
            Carried {
                id: otp.id,
                created_at: now,
                expires_at,
            },
        );
        store.create_email_otp(&otp, message.as_ref()).await?;
        self.wake_mail();
        self.emit(vec![Event::EmailOtpRequested(EmailOtpRequested {
            timestamp: now,
            user_id,
            email,
            code: SecretToken::new(code.clone()),
        })]);
        Ok(Some(code))
    }

    /// Verifies a code for `email` and signs the user in (a new session, `amr:
    /// ["email_otp"]`). Every try counts; the fifth wrong one kills the code. Single use even
    /// under concurrency; proves the address as a magic link does (including the clean-up of
    /// a previously unverified account), and creates the account with passwordless signup on.
    /// For a user with MFA enabled the code is spent and the answer is the MFA challenge
    /// (completing it gives `amr: ["email_otp", "mfa"]`): a code never bypasses MFA.
    ///
    /// # Errors
    /// 400 `invalid_email` (syntax only), 400 `invalid_otp` (unknown, wrong, used, expired,
    /// out of tries, or the user is gone), 403 `user_banned`; `Internal` when `secret_key` is
    /// not configured.
    pub async fn verify_email_otp(&self, email: &str, code: &str, client: &ClientInfo) -> AuthResult<SignIn> {
        let key = self.otp_key()?;
        let email = validation::normalize_email(email).map_err(field)?;
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            // Could never match; not worth a try.
            return Err(invalid_otp());
        }
        let now = self.inner.clock.now();
        let pending = self.pending_session(client, Amr::EmailOtp, now);
        let redeem = RedeemEmailOtp {
            code_hmac: Self::otp_hmac(key, &email, code),
            email,
            now,
            max_attempts: EmailOtp::MAX_ATTEMPTS,
            allow_signup: self.inner.config.allow_passwordless_signup,
            new_user_id: Uuid::new_v4(),
            session: pending.session,
            refresh: pending.refresh,
        };
        let outcome = self.inner.store.redeem_email_otp(&redeem).await?;
        let (redeemed, sign_in) = self
            .finish_proof(outcome, pending.raw_refresh, Amr::EmailOtp, now, invalid_otp)
            .await?;
        let signed_in = matches!(sign_in, SignIn::Authenticated(_));
        self.emit(self.proof_events(&redeemed, "email_otp", Event::EmailOtpLogin, client, signed_in));
        Ok(sign_in)
    }
}
