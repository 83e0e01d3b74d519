//! Refresh-token rotation with reuse detection.

use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::{AuthError, AuthResult};
use crate::events::{Event, RefreshTokenMismatch, SessionRevoked, TokenRefreshed};
use crate::model::{AuthResponse, ClientInfo, RefreshToken};
use crate::store::NewRefreshToken;
use crate::AuthFort;

impl AuthFort {
    /// Rotates a refresh token: the old one is revoked and a new pair issued in the same
    /// session (same `sid`), by one conditional write, so of N concurrent refreshes of one
    /// token exactly one succeeds.
    ///
    /// Presenting a token that was already revoked is treated as theft: every token of its
    /// session (family) is revoked, and that revocation is committed although the call fails.
    /// The loser of a concurrent race counts as such a reuse too.
    ///
    /// `access_token` is the access cookie sent with a cookie-mode refresh: when it verifies
    /// (expiry ignored) but belongs to another user or session, the refresh token is revoked
    /// and `refresh_token_mismatch` returned.
    ///
    /// # Errors
    /// 401 `refresh_token_invalid` / `_revoked` / `_expired` / `_mismatch`,
    /// 401 `user_not_found`, 403 `user_banned`.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        access_token: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<AuthResponse> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let row = store
            .refresh_token_by_hash(&sha256_hex(refresh_token))
            .await?
            .ok_or_else(|| AuthError::refresh("refresh_token_invalid"))?;
        if row.revoked {
            return Err(self.reuse_detected(&row).await);
        }
        if row.expires_at <= now {
            return Err(AuthError::refresh("refresh_token_expired"));
        }
        if let Some(access) = access_token {
            self.cross_check(&row, access).await?;
        }
        let raw = random_token();
        let new = NewRefreshToken {
            id: Uuid::new_v4(),
            user_id: row.user_id,
            session_id: row.session_id,
            token_hash: sha256_hex(&raw),
            expires_at: self.refresh_expiry(now),
            created_at: now,
        };
        // The rotation checks the user is live (not banned, not deleted) in its one
        // conditional write, and reads back what the new access token needs.
        let Some(rotated) = store.rotate_refresh_token(row.id, &new, now).await? else {
            // Say why: replayed (someone else rotated it since our read), the user is
            // banned or gone (possibly just after our own rotation committed), or it expired.
            let row = store.refresh_token_by_hash(&row.token_hash).await?.unwrap_or(row);
            if row.revoked && row.replaced_by != Some(new.id) {
                return Err(self.reuse_detected(&row).await);
            }
            self.live_user_for_refresh(row.user_id).await?;
            return Err(AuthError::refresh("refresh_token_expired"));
        };
        let user = rotated.user;
        let response = self
            .respond_with(&user, &rotated.session, raw, now, rotated.roles, rotated.mfa_enabled)
            .await?;
        self.emit(vec![Event::TokenRefreshed(TokenRefreshed {
            timestamp: now,
            user_id: user.id,
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
        })]);
        Ok(response)
    }

    async fn live_user_for_refresh(&self, user_id: Uuid) -> AuthResult<crate::model::User> {
        let user = self
            .inner
            .store
            .user_by_id(user_id)
            .await?
            .filter(|u| !u.is_deleted)
            .ok_or_else(|| AuthError::user_gone("User not found"))?;
        if user.banned {
            return Err(AuthError::user_banned());
        }
        Ok(user)
    }

    /// Revokes the whole family of a replayed token; returns the error to answer with.
    async fn reuse_detected(&self, row: &RefreshToken) -> AuthError {
        let now = self.inner.clock.now();
        match self.inner.store.revoke_session(row.session_id, now).await {
            Ok(n) => {
                tracing::warn!(session_id = %row.session_id, revoked = n, "refresh token reuse detected; session revoked");
                if n > 0 {
                    self.emit(vec![Event::SessionRevoked(SessionRevoked {
                        timestamp: now,
                        user_id: row.user_id,
                        session_id: Some(row.session_id),
                        revoke_all: false,
                    })]);
                }
                AuthError::refresh("refresh_token_revoked")
            }
            Err(e) => e.into(),
        }
    }

    async fn cross_check(&self, row: &RefreshToken, access: &str) -> AuthResult<()> {
        // Any token we cannot verify is ignored, as the reference does.
        let Ok(claims) = self.inner.keys.verify(access, true).await else {
            return Ok(());
        };
        let same_user = claims.sub == row.user_id.to_string();
        let same_session = claims
            .sid
            .as_deref()
            .is_none_or(|sid| sid == row.session_id.to_string());
        if same_user && same_session {
            return Ok(());
        }
        let now = self.inner.clock.now();
        self.inner.store.revoke_refresh_token(row.id, now).await?;
        self.emit(vec![Event::RefreshTokenMismatch(RefreshTokenMismatch {
            timestamp: now,
            refresh_user_id: row.user_id,
            access_sub: claims.sub,
            session_id: row.session_id,
        })]);
        Err(AuthError::refresh("refresh_token_mismatch"))
    }
}
