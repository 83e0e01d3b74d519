//! Authenticating a request's access token (`current_user`).

use authfort_verifier::AccessClaims;
use uuid::Uuid;

use crate::error::{AuthError, AuthResult, RejectKind};
use crate::model::{User, UserResponse};
use crate::AuthFort;

/// The user behind a valid access token, with roles read fresh from storage.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user row.
    pub user: User,
    /// Roles now (not the token's copy).
    pub roles: Vec<String>,
    /// The session the token belongs to (`sid`).
    pub session_id: Option<Uuid>,
    /// The verified claims.
    pub claims: AccessClaims,
}

impl CurrentUser {
    /// Whether the user has any of `roles`.
    pub fn has_any_role(&self, roles: &[&str]) -> bool {
        self.roles.iter().any(|r| roles.contains(&r.as_str()))
    }

    /// The `/me` body.
    pub fn response(&self) -> UserResponse {
        UserResponse::new(&self.user, self.roles.clone(), self.session_id, self.claims.mfa_enabled)
    }
}

impl AuthFort {
    /// Verifies an access token (RS256 pinned, key by `kid`, issuer, required claims, expiry)
    /// and checks the user still exists, is not banned and has the token's version.
    /// Session revocation is not checked here (access tokens live until `exp`).
    ///
    /// # Errors
    /// 401 `token_invalid` / `token_expired` / `user_not_found` / `token_version_mismatch`,
    /// 403 `user_banned` (checked before the version).
    pub async fn authenticate(&self, access_token: &str) -> AuthResult<CurrentUser> {
        let claims = self.inner.keys.verify(access_token, false).await?;
        let gone = || AuthError::user_gone("User no longer exists");
        let id = Uuid::parse_str(&claims.sub).map_err(|_| gone())?;
        let (user, roles) = self
            .inner
            .store
            .user_with_roles(id)
            .await?
            .filter(|(u, _)| !u.is_deleted)
            .ok_or_else(gone)?;
        if user.banned {
            return Err(AuthError::user_banned());
        }
        if claims.ver != user.token_version {
            return Err(AuthError::rejected(
                RejectKind::Unauthenticated,
                "token_version_mismatch",
                "Token has been invalidated",
            ));
        }
        let session_id = claims.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        Ok(CurrentUser {
            user,
            roles,
            session_id,
            claims,
        })
    }
}
