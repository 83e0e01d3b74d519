//! TOTP MFA enrolment and management: init, confirm, disable (self-service or admin),
//! backup-code regeneration, status.
//!
//! Secrets and codes: see [`crate::crypto::mfa`]. A TOTP code is accepted only for a time
//! step strictly greater than the last accepted one (one conditional write), so a code is
//! never accepted twice (confirm records its step, so the confirming code cannot also log in).

use uuid::Uuid;

use crate::crypto::mfa::{
    backup_code_hmac, base32_decode, decrypt_secret, encrypt_secret, is_totp_code, new_backup_code, new_totp_secret,
    normalize_code, otpauth_uri, totp_match, totp_step,
};
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, UserEmail};
use crate::model::{MfaSetup, MfaStatus, User, UserMfa};
use crate::AuthFort;

/// Longest code we look at (a backup code is 11 characters); longer input is simply wrong.
pub(crate) const MAX_CODE_CHARS: usize = 64;

fn bad(code: &'static str, message: &str) -> AuthError {
    AuthError::rejected(RejectKind::BadRequest, code, message)
}

fn not_enabled() -> AuthError {
    bad("mfa_not_enabled", "MFA is not enabled")
}

fn already_enabled() -> AuthError {
    bad("mfa_already_enabled", "MFA is already enabled")
}

fn not_initiated() -> AuthError {
    bad(
        "mfa_not_initiated",
        "MFA setup not initiated. Call enable_mfa_init first.",
    )
}

impl AuthFort {
    /// The server secret, or a refusal: without `secret_key` TOTP secrets could only be
    /// stored in plain text and backup codes as a plain hash, so MFA fails closed.
    pub(crate) fn mfa_key(&self) -> AuthResult<&[u8]> {
        match &self.inner.config.secret_key {
            Some(key) => Ok(key.expose().as_bytes()),
            None => Err(AuthError::Internal(
                "MFA needs `secret_key` (AUTHFORT_SECRET_KEY) to be configured".into(),
            )),
        }
    }

    /// The raw TOTP secret of an MFA row.
    pub(crate) fn totp_secret(&self, row: &UserMfa) -> AuthResult<Vec<u8>> {
        decrypt_secret(self.mfa_key()?, row.user_id, &row.secret_enc)
            .and_then(|s| base32_decode(&s))
            .ok_or_else(|| AuthError::Internal("stored TOTP secret cannot be decrypted (secret_key changed?)".into()))
    }

    /// The step `code` (normalised, 6 digits) matches for this row now, if any.
    pub(crate) fn totp_step_of(&self, row: &UserMfa, code: &str) -> AuthResult<Option<i64>> {
        if !is_totp_code(code) {
            return Ok(None);
        }
        let now = totp_step(self.inner.clock.now().unix_timestamp());
        Ok(totp_match(&self.totp_secret(row)?, code, now))
    }

    /// Whether the user has MFA enabled.
    pub(crate) async fn mfa_enabled(&self, user_id: Uuid) -> AuthResult<bool> {
        Ok(self.inner.store.mfa(user_id).await?.is_some_and(|m| m.enabled))
    }

    async fn enabled_mfa(&self, user_id: Uuid) -> AuthResult<UserMfa> {
        self.inner
            .store
            .mfa(user_id)
            .await?
            .filter(|m| m.enabled)
            .ok_or_else(not_enabled)
    }

    async fn live_user(&self, user_id: Uuid) -> AuthResult<User> {
        self.inner
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)
    }

    /// `mfa_backup_code_count` fresh codes: the plain codes (shown once) and their HMACs.
    fn fresh_backup_codes(&self, user_id: Uuid) -> AuthResult<(Vec<String>, Vec<String>)> {
        let key = self.mfa_key()?;
        let plain: Vec<String> = (0..self.inner.config.mfa_backup_code_count)
            .map(|_| new_backup_code())
            .collect();
        let hmacs = plain.iter().map(|c| backup_code_hmac(key, user_id, c)).collect();
        Ok((plain, hmacs))
    }

    fn user_event(&self, user: &User, event: fn(UserEmail) -> Event) {
        self.emit(vec![event(UserEmail {
            timestamp: self.inner.clock.now(),
            user_id: user.id,
            email: user.email.clone(),
        })]);
    }

    /// Starts TOTP enrolment: a new secret (32 base32 characters, stored encrypted) and its
    /// `otpauth://` URI. MFA is not in force until [`AuthFort::enable_mfa_confirm`]; calling
    /// this again before that replaces the pending secret.
    ///
    /// # Errors
    /// 404 `user_not_found`, 400 `mfa_already_enabled`; `Internal` without `secret_key`.
    pub async fn enable_mfa_init(&self, user_id: Uuid) -> AuthResult<MfaSetup> {
        let key = self.mfa_key()?;
        let user = self.live_user(user_id).await?;
        if self.mfa_enabled(user.id).await? {
            return Err(already_enabled());
        }
        let secret = new_totp_secret();
        let sealed = encrypt_secret(key, user.id, &secret);
        if !self
            .inner
            .store
            .begin_mfa_setup(user.id, &sealed, self.inner.clock.now())
            .await?
        {
            return Err(already_enabled());
        }
        let config = &self.inner.config;
        let issuer = config.mfa_issuer.as_deref().unwrap_or(&config.jwt_issuer);
        Ok(MfaSetup {
            qr_uri: otpauth_uri(issuer, &user.email, &secret),
            secret,
        })
    }

    /// Confirms enrolment with a current TOTP code: MFA is in force, the token version is
    /// bumped (the caller refreshes), and `mfa_backup_code_count` backup codes are returned,
    /// shown this once. Emits `mfa_enabled`.
    ///
    /// # Errors
    /// 400 `mfa_not_initiated`, `mfa_already_enabled`, `invalid_mfa_code` ("Invalid TOTP code").
    pub async fn enable_mfa_confirm(&self, user_id: Uuid, code: &str) -> AuthResult<Vec<String>> {
        let store = &self.inner.store;
        let row = store.mfa(user_id).await?.ok_or_else(not_initiated)?;
        if row.enabled {
            return Err(already_enabled());
        }
        let code = normalize_code(code);
        let Some(step) = self.totp_step_of(&row, &code)? else {
            return Err(bad("invalid_mfa_code", "Invalid TOTP code"));
        };
        let (plain, hmacs) = self.fresh_backup_codes(user_id)?;
        if !store
            .enable_mfa(user_id, &row.secret_enc, step, &hmacs, self.inner.clock.now())
            .await?
        {
            // A concurrent confirm or a new init got there first.
            return Err(match store.mfa(user_id).await? {
                Some(m) if m.enabled => already_enabled(),
                _ => not_initiated(),
            });
        }
        let user = self.live_user(user_id).await?;
        self.user_event(&user, Event::MfaEnabled);
        Ok(plain)
    }

    /// Turns MFA off with a TOTP code (not one accepted before) or an unused backup code:
    /// deletes the secret and the backup codes and bumps the token version. Emits
    /// `mfa_disabled`.
    ///
    /// # Errors
    /// 400 `mfa_not_enabled`, 400 `invalid_mfa_code` ("Invalid MFA code").
    pub async fn disable_mfa(&self, user_id: Uuid, code: &str) -> AuthResult<()> {
        let row = self.enabled_mfa(user_id).await?;
        let code = normalize_code(code);
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let accepted = if code.chars().count() > MAX_CODE_CHARS {
            false
        } else if is_totp_code(&code) {
            match self.totp_step_of(&row, &code)? {
                Some(step) => store.accept_totp_step(user_id, step, false, now).await?,
                None => false,
            }
        } else {
            let hmac = backup_code_hmac(self.mfa_key()?, user_id, &code);
            store.use_backup_code(user_id, &hmac, false, now).await?
        };
        if !accepted {
            return Err(bad("invalid_mfa_code", "Invalid MFA code"));
        }
        if !store.disable_mfa(user_id, now).await? {
            return Err(not_enabled());
        }
        if let Some(user) = store.user_by_id(user_id).await? {
            self.user_event(&user, Event::MfaDisabled);
        }
        Ok(())
    }

    /// An administrator turns a user's MFA off without a code (lost device): as
    /// [`AuthFort::disable_mfa`].
    ///
    /// # Errors
    /// 404 `user_not_found`, 400 `mfa_not_enabled`.
    pub async fn admin_disable_mfa(&self, user_id: Uuid) -> AuthResult<()> {
        let user = self.live_user(user_id).await?;
        if !self.inner.store.disable_mfa(user.id, self.inner.clock.now()).await? {
            return Err(not_enabled());
        }
        self.user_event(&user, Event::MfaDisabled);
        Ok(())
    }

    /// Replaces every backup code (used or not) with `mfa_backup_code_count` new ones, shown
    /// this once. Needs a TOTP code (a backup code is refused), which is then spent. Emits
    /// `backup_codes_regenerated`.
    ///
    /// # Errors
    /// 400 `mfa_not_enabled`, 400 `invalid_mfa_code` ("Invalid TOTP code").
    pub async fn regenerate_backup_codes(&self, user_id: Uuid, totp_code: &str) -> AuthResult<Vec<String>> {
        let row = self.enabled_mfa(user_id).await?;
        let code = normalize_code(totp_code);
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let accepted = match self.totp_step_of(&row, &code)? {
            Some(step) => store.accept_totp_step(user_id, step, false, now).await?,
            None => false,
        };
        if !accepted {
            return Err(bad("invalid_mfa_code", "Invalid TOTP code"));
        }
        let (plain, hmacs) = self.fresh_backup_codes(user_id)?;
        if !store.replace_backup_codes(user_id, &hmacs, now).await? {
            return Err(not_enabled());
        }
        if let Some(user) = store.user_by_id(user_id).await? {
            self.user_event(&user, Event::BackupCodesRegenerated);
        }
        Ok(plain)
    }

    /// Whether MFA is in force and how many backup codes are unused
    /// (`{enabled: false, backup_codes_remaining: 0}` while off or only pending).
    ///
    /// # Errors
    /// 404 `user_not_found`.
    pub async fn get_mfa_status(&self, user_id: Uuid) -> AuthResult<MfaStatus> {
        let user = self.live_user(user_id).await?;
        if !self.mfa_enabled(user.id).await? {
            return Ok(MfaStatus {
                enabled: false,
                backup_codes_remaining: 0,
            });
        }
        Ok(MfaStatus {
            enabled: true,
            backup_codes_remaining: self.inner.store.backup_codes_remaining(user.id).await?,
        })
    }
}
