//! User administration and key management available to library users (the HTTP admin
//! surface builds on these).

use authfort_verifier::JwkSet;
use time::Duration;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::events::{Event, KeyRotated, RoleChanged, UserRef};
use crate::model::UserResponse;
use crate::AuthFort;

impl AuthFort {
    /// A user by id (soft-deleted users are not found).
    ///
    /// # Errors
    /// 404 `user_not_found`.
    pub async fn get_user(&self, user_id: Uuid) -> AuthResult<UserResponse> {
        let user = self
            .inner
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(AuthError::user_not_found)?;
        let roles = self.inner.store.roles(user.id).await?;
        Ok(UserResponse::new(&user, roles, None, self.mfa_enabled(user.id).await?))
    }

    /// Bans a user: flag set, token version bumped and every session revoked in one
    /// transaction. Emits `user_banned`.
    ///
    /// # Errors
    /// 404 `user_not_found`.
    pub async fn ban_user(&self, user_id: Uuid) -> AuthResult<()> {
        let now = self.inner.clock.now();
        if !self.inner.store.set_banned(user_id, true, now).await? {
            return Err(AuthError::user_not_found());
        }
        self.emit(vec![Event::UserBanned(UserRef {
            timestamp: now,
            user_id,
        })]);
        Ok(())
    }

    /// Lifts a ban (old tokens stay dead). Emits `user_unbanned`.
    ///
    /// # Errors
    /// 404 `user_not_found`.
    pub async fn unban_user(&self, user_id: Uuid) -> AuthResult<()> {
        let now = self.inner.clock.now();
        if !self.inner.store.set_banned(user_id, false, now).await? {
            return Err(AuthError::user_not_found());
        }
        self.emit(vec![Event::UserUnbanned(UserRef {
            timestamp: now,
            user_id,
        })]);
        Ok(())
    }

    /// Adds a role (idempotent). With `immediate`, outstanding access tokens stop working.
    ///
    /// # Errors
    /// 400 `invalid_role` (see [`crate::validation::validate_role`]), 404 `user_not_found`.
    pub async fn add_role(&self, user_id: Uuid, role: &str, immediate: bool) -> AuthResult<()> {
        crate::validation::validate_role(role).map_err(crate::service::signup::field)?;
        let now = self.inner.clock.now();
        if !self.inner.store.add_role(user_id, role, immediate, now).await? {
            return Err(AuthError::user_not_found());
        }
        self.emit(vec![Event::RoleAdded(RoleChanged {
            timestamp: now,
            user_id,
            role: role.to_owned(),
        })]);
        Ok(())
    }

    /// Removes a role (idempotent). With `immediate`, outstanding access tokens stop working.
    ///
    /// # Errors
    /// 404 `user_not_found`.
    pub async fn remove_role(&self, user_id: Uuid, role: &str, immediate: bool) -> AuthResult<()> {
        let now = self.inner.clock.now();
        if !self.inner.store.remove_role(user_id, role, immediate, now).await? {
            return Err(AuthError::user_not_found());
        }
        self.emit(vec![Event::RoleRemoved(RoleChanged {
            timestamp: now,
            user_id,
            role: role.to_owned(),
        })]);
        Ok(())
    }

    /// The user's roles.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn get_roles(&self, user_id: Uuid) -> AuthResult<Vec<String>> {
        Ok(self.inner.store.roles(user_id).await?)
    }

    /// Makes a new signing key current; the old one stays in the JWKS for
    /// `key_rotation_ttl_seconds`. Returns the new kid. Emits `key_rotated`.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn rotate_key(&self) -> AuthResult<String> {
        let ttl = Duration::seconds(self.inner.config.key_rotation_ttl_seconds as i64);
        let (old_kid, new_kid) = self.inner.keys.rotate(ttl).await?;
        self.emit(vec![Event::KeyRotated(KeyRotated {
            timestamp: self.inner.clock.now(),
            old_kid,
            new_kid: new_kid.clone(),
        })]);
        Ok(new_kid)
    }

    /// Rotates the signing key if it has signed for at least `key_rotation_ttl_seconds`
    /// (what `auto_rotate_keys` runs every minute). Returns the new kid if this call rotated;
    /// `None` if the key is younger, or another process on the same database rotated first.
    /// Emits `key_rotated` when it rotates.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn rotate_key_if_due(&self) -> AuthResult<Option<String>> {
        let ttl = Duration::seconds(self.inner.config.key_rotation_ttl_seconds as i64);
        let Some((old_kid, new_kid)) = self.inner.keys.rotate_if_due(ttl, ttl).await? else {
            return Ok(None);
        };
        tracing::info!(%old_kid, %new_kid, "signing key rotated automatically");
        self.emit(vec![Event::KeyRotated(KeyRotated {
            timestamp: self.inner.clock.now(),
            old_kid,
            new_kid: new_kid.clone(),
        })]);
        Ok(Some(new_kid))
    }

    /// The kid signing new tokens.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn current_kid(&self) -> AuthResult<String> {
        self.inner.keys.current_kid().await
    }

    /// The public keyset for `/.well-known/jwks.json` (never empty).
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn get_jwks(&self) -> AuthResult<JwkSet> {
        self.inner.keys.jwks().await
    }

    /// Deletes retired keys past their expiry. Returns how many.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn cleanup_expired_keys(&self) -> AuthResult<u64> {
        self.inner.keys.cleanup().await
    }

    /// Deletes one-time tokens (magic links, …) that have expired or been used, and delivered
    /// or dropped mail older than a day. Returns (tokens, messages) deleted.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn cleanup_expired_tokens(&self) -> AuthResult<(u64, u64)> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .delete_spent_tokens(now, now - Duration::days(1))
            .await?)
    }

    /// Deletes OAuth sign-in states that expired or were used (abandoned and finished
    /// flows). Returns how many.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn cleanup_expired_oauth_states(&self) -> AuthResult<u64> {
        Ok(self
            .inner
            .store
            .delete_expired_oauth_states(self.inner.clock.now())
            .await?)
    }

    /// Deletes sessions whose newest refresh token has expired (revoked tokens are kept
    /// until then, so reuse is still detected). Returns how many sessions.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn cleanup_expired_sessions(&self) -> AuthResult<u64> {
        Ok(self.inner.store.delete_expired_sessions(self.inner.clock.now()).await?)
    }
}
