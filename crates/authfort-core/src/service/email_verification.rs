//! Email verification: a link (86-char token, stored as SHA-256, purpose `email_verify`)
//! that proves a user's address, consumed by one conditional write.

use uuid::Uuid;

use crate::crypto::sha256_hex;
use crate::delivery::MailKind;
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{EmailVerificationRequested, Event, SecretToken, UserEmail};
use crate::links;
use crate::service::mail::Issued;
use crate::AuthFort;

const PURPOSE: &str = "email_verify";

fn invalid_token() -> AuthError {
    AuthError::rejected(
        RejectKind::BadRequest,
        "invalid_verification_token",
        "Invalid or expired verification token",
    )
}

impl AuthFort {
    /// Creates an email-verification token for the user and returns it raw; `None` when the
    /// user does not exist, is deleted, or is already verified. Invalidates the user's earlier
    /// verification tokens. With email delivery on, the mail is queued in the same
    /// transaction. Emits `email_verification_requested` (with the raw token) after commit.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn create_email_verification_token(&self, user_id: Uuid) -> AuthResult<Option<String>> {
        let store = &self.inner.store;
        let user = store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted && !u.email_verified);
        let Some(user) = user else {
            return Ok(None);
        };
        let Issued { raw, link, now } = self
            .issue_link_token(
                &user,
                PURPOSE,
                self.inner.config.email_verify_ttl_seconds,
                MailKind::EmailVerification,
                links::verify_email_link,
            )
            .await?;
        self.emit(vec![Event::EmailVerificationRequested(EmailVerificationRequested {
            timestamp: now,
            user_id: user.id,
            email: user.email,
            token: SecretToken::new(raw.clone()),
            link: link.map(SecretToken::new),
        })]);
        Ok(Some(raw))
    }

    /// `POST /auth/verify-email/resend`: a new verification token (and mail) for the signed-in
    /// user; earlier ones stop working.
    ///
    /// # Errors
    /// 400 `email_already_verified`, 404 `user_not_found`.
    pub async fn resend_email_verification(&self, user_id: Uuid) -> AuthResult<()> {
        match self.create_email_verification_token(user_id).await? {
            Some(_) => Ok(()),
            None => match self.inner.store.user_by_id(user_id).await? {
                Some(u) if !u.is_deleted => Err(AuthError::rejected(
                    RejectKind::BadRequest,
                    "email_already_verified",
                    "Email is already verified",
                )),
                _ => Err(AuthError::user_not_found()),
            },
        }
    }

    /// Redeems a verification token: sets `email_verified` (single use, even under
    /// concurrency). Emits `email_verified` when the flag flips. Issues no tokens and leaves
    /// the token version alone.
    ///
    /// # Errors
    /// 400 `invalid_verification_token` (unknown, used, expired, another purpose, or the
    /// user is gone).
    pub async fn verify_email(&self, token: &str) -> AuthResult<()> {
        if token.is_empty() || token.len() > 512 {
            return Err(invalid_token());
        }
        let now = self.inner.clock.now();
        let (user, flipped) = self
            .inner
            .store
            .redeem_email_verification(&sha256_hex(token), now)
            .await?
            .ok_or_else(invalid_token)?;
        if flipped {
            self.emit(vec![Event::EmailVerified(UserEmail {
                timestamp: now,
                user_id: user.id,
                email: user.email,
            })]);
        }
        Ok(())
    }
}
