//! Passwords: reset by emailed link, change with the old password, set a first one, and the
//! policy every new password passes (length, breached-password check, history).
//!
//! A new password is checked completely before anything is consumed, so a refused password
//! never spends a reset token. The write itself is one transaction under a condition
//! (the reset token is still unused, the password is still the one checked, or there is
//! still none), so racing requests have exactly one winner.

use uuid::Uuid;

use crate::crypto::sha256_hex;
use crate::delivery::MailKind;
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, PasswordPwnedRejected, UserEmail, UserRef};
use crate::links;
use crate::model::User;
use crate::service::mail::Issued;
use crate::service::signup::field;
use crate::store::{PasswordCondition, PasswordWrite};
use crate::validation;
use crate::AuthFort;

const PURPOSE: &str = "password_reset";

fn bad(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::rejected(RejectKind::BadRequest, code, message)
}

fn invalid_reset_token() -> AuthError {
    bad("invalid_reset_token", "Invalid or expired reset token")
}

fn password_unchanged() -> AuthError {
    bad(
        "password_unchanged",
        "New password must differ from the current password",
    )
}

fn password_already_set() -> AuthError {
    bad(
        "password_already_set",
        "Password already set. Use change-password instead.",
    )
}

fn invalid_password() -> AuthError {
    bad("invalid_password", "Invalid password")
}

impl AuthFort {
    /// Creates a password-reset token for `email` and returns it raw; `None` for an unknown
    /// or deleted address (answer the caller the same either way). Works for banned,
    /// passwordless and OAuth-only accounts. Invalidates earlier reset tokens of the address;
    /// with email delivery on, the mail is queued in the same transaction. Emits
    /// `password_reset_requested` (without the token).
    ///
    /// # Errors
    /// 400 `invalid_email`.
    pub async fn create_password_reset_token(&self, email: &str) -> AuthResult<Option<String>> {
        let config = &self.inner.config;
        let email = validation::normalize_email(email).map_err(field)?;
        let store = &self.inner.store;
        let Some(user) = store.user_by_email(&email).await?.filter(|u| !u.is_deleted) else {
            // Same write transaction as the real path, so timing does not tell them apart.
            store.invalidate_verification_tokens(PURPOSE, &email).await?;
            return Ok(None);
        };
        let Issued { raw, now, .. } = self
            .issue_link_token(
                &user,
                PURPOSE,
                config.password_reset_ttl_seconds,
                MailKind::PasswordReset,
                links::password_reset_link,
            )
            .await?;
        self.emit(vec![Event::PasswordResetRequested(UserEmail {
            timestamp: now,
            user_id: user.id,
            email: user.email,
        })]);
        Ok(Some(raw))
    }

    /// Sets a new password with a reset token: signs the user out everywhere (token version
    /// bumped, every refresh token revoked), spends the token, and adds the `email` login if
    /// the account had no password. The new password is checked first, so a refused one
    /// leaves the token usable. Emits `password_reset`.
    ///
    /// # Errors
    /// 400 `password_too_short` / `password_too_long`, `invalid_reset_token`,
    /// `password_unchanged`, `password_pwned`, `password_reused`.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> AuthResult<()> {
        self.check_length(new_password)?;
        if token.is_empty() || token.len() > 512 {
            return Err(invalid_reset_token());
        }
        let token_hash = sha256_hex(token);
        let now = self.inner.clock.now();
        let store = &self.inner.store;
        let row = store
            .verification_token_by_hash(&token_hash)
            .await?
            .filter(|t| t.purpose == PURPOSE && t.consumed_at.is_none() && t.expires_at > now);
        let user_id = row.and_then(|t| t.user_id).ok_or_else(invalid_reset_token)?;
        let user = store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(invalid_reset_token)?;
        if self.is_current_password(&user, new_password).await {
            return Err(password_unchanged());
        }
        self.check_new_password(&user, new_password, None).await?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let written = self
            .write_password(&user, password_hash, PasswordCondition::ResetToken(token_hash), None)
            .await?;
        written.ok_or_else(invalid_reset_token)?;
        self.emit(vec![Event::PasswordReset(UserRef {
            timestamp: now,
            user_id: user.id,
        })]);
        Ok(())
    }

    /// Changes a password given the current one, signing the user out everywhere (token
    /// version bumped, every refresh token revoked). Emits `password_changed`.
    ///
    /// # Errors
    /// 400 `password_too_short` / `password_too_long`, 404 `user_not_found`, 400
    /// `oauth_account` / `no_password` (no password to change), `invalid_password`,
    /// `password_unchanged`, `password_pwned`, `password_reused`.
    pub async fn change_password(&self, user_id: Uuid, old_password: &str, new_password: &str) -> AuthResult<()> {
        self.change_password_keeping_session(user_id, None, old_password, new_password)
            .await
    }

    /// Like [`AuthFort::change_password`], but the session `keep` (the caller's own) stays
    /// signed in: its refresh token keeps working, so the client refreshes to get an access
    /// token of the new version. Every other session is revoked.
    ///
    /// # Errors
    /// As [`AuthFort::change_password`].
    pub async fn change_password_keeping_session(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        old_password: &str,
        new_password: &str,
    ) -> AuthResult<()> {
        self.check_length(new_password)?;
        let store = &self.inner.store;
        let user = store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)?;
        let Some(current) = user.password_hash.clone() else {
            let providers: Vec<String> = store
                .providers(user.id)
                .await?
                .into_iter()
                .filter(|p| p != "email")
                .collect();
            return Err(if providers.is_empty() {
                bad(
                    "no_password",
                    "This account uses passwordless login. Use set-password to add a password.",
                )
            } else {
                AuthError::Rejected {
                    kind: RejectKind::BadRequest,
                    code: "oauth_account",
                    message: "This account uses social login".into(),
                    providers: Some(providers),
                }
            });
        };
        if !self.inner.hasher.verify(old_password, Some(&current)).await {
            return Err(invalid_password());
        }
        if self.is_current_password(&user, new_password).await {
            return Err(password_unchanged());
        }
        self.check_new_password(&user, new_password, None).await?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let written = self
            .write_password(&user, password_hash, PasswordCondition::CurrentHash(current), keep)
            .await?;
        // Someone changed it meanwhile: the old password no longer holds.
        written.ok_or_else(invalid_password)?;
        self.emit(vec![Event::PasswordChanged(UserRef {
            timestamp: self.inner.clock.now(),
            user_id: user.id,
        })]);
        Ok(())
    }

    /// Sets a first password on an account without one (passwordless or OAuth-only), adds the
    /// `email` login, and signs the user out everywhere (token version bumped, every refresh
    /// token revoked, the caller's included). Emits `password_set`.
    ///
    /// # Errors
    /// 400 `password_too_short` / `password_too_long`, 404 `user_not_found`, 400
    /// `password_already_set`, `password_pwned`, `password_reused`.
    pub async fn set_password(&self, user_id: Uuid, new_password: &str) -> AuthResult<()> {
        self.check_length(new_password)?;
        let user = self
            .inner
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)?;
        if user.password_hash.is_some() {
            return Err(password_already_set());
        }
        self.check_new_password(&user, new_password, None).await?;
        let password_hash = self.inner.hasher.hash(new_password).await?;
        let written = self
            .write_password(&user, password_hash, PasswordCondition::NoPassword, None)
            .await?;
        written.ok_or_else(password_already_set)?;
        self.emit(vec![Event::PasswordSet(UserRef {
            timestamp: self.inner.clock.now(),
            user_id: user.id,
        })]);
        Ok(())
    }

    /// `password_too_short` / `password_too_long`, counted in Unicode code points.
    pub(crate) fn check_length(&self, password: &str) -> AuthResult<()> {
        let c = &self.inner.config;
        validation::check_password(password, c.min_password_length, c.max_password_length).map_err(field)
    }

    /// The breached-password check and `user`'s password history, for a password about to
    /// be stored.
    pub(crate) async fn check_new_password(
        &self,
        user: &User,
        password: &str,
        ip_address: Option<&str>,
    ) -> AuthResult<()> {
        self.check_not_pwned(Some(&user.email), password, ip_address).await?;
        let keep = self.inner.config.password_history_count;
        if keep == 0 {
            return Ok(());
        }
        for hash in self.inner.store.password_history(user.id, keep).await? {
            if self.inner.hasher.verify(password, Some(&hash)).await {
                self.emit(vec![Event::PasswordReuseRejected(UserRef {
                    timestamp: self.inner.clock.now(),
                    user_id: user.id,
                })]);
                return Err(bad(
                    "password_reused",
                    format!("Password cannot match any of the last {keep} passwords"),
                ));
            }
        }
        Ok(())
    }

    /// 400 `password_pwned` (and `password_pwned_rejected`) when the breached-password
    /// check is on and finds the password.
    pub(crate) async fn check_not_pwned(
        &self,
        email: Option<&str>,
        password: &str,
        ip_address: Option<&str>,
    ) -> AuthResult<()> {
        let Some(checker) = &self.inner.pwned else {
            return Ok(());
        };
        if !checker.is_pwned(password).await {
            return Ok(());
        }
        self.emit(vec![Event::PasswordPwnedRejected(PasswordPwnedRejected {
            timestamp: self.inner.clock.now(),
            email_hash: email.map(|e| sha256_hex(&e.to_lowercase())),
            ip_address: ip_address.map(str::to_owned),
        })]);
        Err(bad(
            "password_pwned",
            "This password has appeared in known data breaches. Please choose a different one.",
        ))
    }

    async fn is_current_password(&self, user: &User, password: &str) -> bool {
        match &user.password_hash {
            Some(hash) => self.inner.hasher.verify(password, Some(hash)).await,
            None => false,
        }
    }

    async fn write_password(
        &self,
        user: &User,
        password_hash: String,
        condition: PasswordCondition,
        keep_session: Option<Uuid>,
    ) -> AuthResult<Option<User>> {
        let write = PasswordWrite {
            user_id: user.id,
            password_hash,
            condition,
            keep_session,
            history_keep: self.inner.config.password_history_count,
            now: self.inner.clock.now(),
        };
        Ok(self.inner.store.write_password(&write).await?)
    }
}
