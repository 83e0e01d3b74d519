//! Token introspection (RFC 7662-flavoured, as AuthFort answers it).

use serde::Serialize;
use uuid::Uuid;

use crate::error::AuthResult;
use crate::AuthFort;

/// The introspection answer: all nine keys always present, `null` when inactive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is valid right now.
    pub active: bool,
    /// User id.
    pub sub: Option<String>,
    /// Email claim.
    pub email: Option<String>,
    /// Name claim.
    pub name: Option<String>,
    /// Roles, fresh from storage.
    pub roles: Option<Vec<String>>,
    /// The user's current token version.
    pub token_version: Option<i64>,
    /// Expiry claim.
    pub exp: Option<i64>,
    /// Issued-at claim.
    pub iat: Option<i64>,
    /// Issuer claim.
    pub iss: Option<String>,
}

impl AuthFort {
    /// Whether an access token is active: it verifies, its user exists and is not banned, its
    /// `ver` is current, and its session is live (not revoked, not expired). Unlike the
    /// reference, the session check looks at the session as a whole, so a token stays active
    /// across refreshes of its session.
    ///
    /// # Errors
    /// Only `Unavailable` (a database failure); every invalid token is `active: false`.
    pub async fn introspect(&self, token: &str) -> AuthResult<Introspection> {
        let inactive = Ok(Introspection::default());
        let claims = match self.inner.keys.verify(token, false).await {
            Ok(c) => c,
            Err(crate::AuthError::Unavailable(e)) => return Err(crate::AuthError::Unavailable(e)),
            Err(_) => return inactive,
        };
        let Ok(user_id) = Uuid::parse_str(&claims.sub) else {
            return inactive;
        };
        let store = &self.inner.store;
        let Some(user) = store.user_by_id(user_id).await?.filter(|u| u.is_active()) else {
            return inactive;
        };
        if user.token_version != claims.ver {
            return inactive;
        }
        if let Some(sid) = claims.sid.as_deref() {
            let now = self.inner.clock.now();
            let live = match Uuid::parse_str(sid) {
                Ok(sid) => store
                    .session(sid)
                    .await?
                    .is_some_and(|s| s.user_id == user.id && s.revoked_at.is_none() && s.expires_at > now),
                Err(_) => false,
            };
            if !live {
                return inactive;
            }
        }
        Ok(Introspection {
            active: true,
            roles: Some(store.roles(user.id).await?),
            token_version: Some(user.token_version),
            sub: Some(claims.sub),
            email: Some(claims.email),
            name: claims.name,
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            iss: Some(claims.iss),
        })
    }
}
