//! Starting sessions and minting token pairs.

use authfort_verifier::{AccessClaims, Amr};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::AuthResult;
use crate::model::{AuthResponse, AuthTokens, ClientInfo, Session, User, UserResponse};
use crate::store::NewRefreshToken;
use crate::AuthFort;

impl AuthFort {
    pub(crate) fn refresh_expiry(&self, now: OffsetDateTime) -> OffsetDateTime {
        now + Duration::seconds(self.inner.config.refresh_token_ttl_seconds as i64)
    }

    /// Starts a new session for `user` and returns its first token pair.
    pub(crate) async fn start_session(
        &self,
        user: &User,
        amr: Vec<Amr>,
        client: &ClientInfo,
    ) -> AuthResult<AuthResponse> {
        let now = self.inner.clock.now();
        let session = Session {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
            amr,
            expires_at: self.refresh_expiry(now),
            revoked_at: None,
        };
        let raw = random_token();
        let token = NewRefreshToken {
            id: session.id,
            user_id: user.id,
            session_id: session.id,
            token_hash: sha256_hex(&raw),
            expires_at: session.expires_at,
            created_at: now,
        };
        self.inner.store.create_session(&session, &token).await?;
        self.respond(user, &session, raw, now).await
    }

    /// Mints the access token for `user` in `session` and builds the AuthResponse.
    pub(crate) async fn respond(
        &self,
        user: &User,
        session: &Session,
        refresh_token: String,
        now: OffsetDateTime,
    ) -> AuthResult<AuthResponse> {
        let roles = self.inner.store.roles(user.id).await?;
        let mfa_enabled = self.mfa_enabled(user.id).await?;
        self.respond_with(user, session, refresh_token, now, roles, mfa_enabled)
            .await
    }

    /// [`AuthFort::respond`] with the roles and MFA state already read (in the transaction
    /// that started or rotated the session).
    pub(crate) async fn respond_with(
        &self,
        user: &User,
        session: &Session,
        refresh_token: String,
        now: OffsetDateTime,
        roles: Vec<String>,
        mfa_enabled: bool,
    ) -> AuthResult<AuthResponse> {
        let ttl = self.inner.config.access_token_ttl_seconds;
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            sub: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            roles: roles.clone(),
            ver: user.token_version,
            sid: Some(session.id.to_string()),
            mfa_enabled,
            iat,
            exp: iat + ttl as i64,
            iss: self.inner.keys.issuer().to_owned(),
            amr: session.amr.clone(),
        };
        let access_token = self.inner.keys.sign(&claims).await?;
        Ok(AuthResponse {
            user: UserResponse::new(user, roles, Some(session.id), mfa_enabled),
            tokens: AuthTokens {
                access_token,
                refresh_token,
                expires_in: ttl,
            },
        })
    }
}
