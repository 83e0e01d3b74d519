//! Password login.

use authfort_verifier::Amr;

use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, Login, LoginFailed};
use crate::model::{AuthResponse, ClientInfo, MfaChallenge};
use crate::service::signup::field;
use crate::validation;
use crate::AuthFort;

/// The outcome of a successful first factor.
#[derive(Debug, Clone)]
#[non_exhaustive]
// Returned once per sign-in and matched by value by callers; boxing buys nothing here.
#[allow(clippy::large_enum_variant)]
pub enum SignIn {
    /// Signed in: tokens and user.
    Authenticated(AuthResponse),
    /// The user has MFA enabled: no session yet; complete with
    /// [`AuthFort::complete_mfa_login`].
    MfaRequired(MfaChallenge),
}

impl SignIn {
    /// The tokens, unless an MFA step is still needed.
    pub fn authenticated(self) -> Option<AuthResponse> {
        match self {
            SignIn::Authenticated(response) => Some(response),
            SignIn::MfaRequired(_) => None,
        }
    }

    /// The MFA challenge, if one is needed.
    pub fn mfa_challenge(self) -> Option<MfaChallenge> {
        match self {
            SignIn::MfaRequired(challenge) => Some(challenge),
            SignIn::Authenticated(_) => None,
        }
    }
}

impl AuthFort {
    /// Email + password login. Unknown users cost the same argon2 work as wrong passwords.
    /// A user with MFA enabled gets [`SignIn::MfaRequired`] (no session, no `login` event).
    /// Emits `login` on success and `login_failed` (with the error code) on any refusal.
    ///
    /// # Errors
    /// `invalid_email` (400), `invalid_credentials` (401), `oauth_account` / `no_password`
    /// (400, accounts without a password), `user_banned` (403, only after a correct password).
    pub async fn login(&self, email: &str, password: &str, client: &ClientInfo) -> AuthResult<SignIn> {
        let result = self.login_inner(email, password, client).await;
        if let Err(AuthError::Rejected { code, .. }) = &result {
            self.emit(vec![Event::LoginFailed(LoginFailed {
                timestamp: self.inner.clock.now(),
                email: Some(email.trim().to_owned()),
                reason: (*code).to_owned(),
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
            })]);
        }
        result
    }

    async fn login_inner(&self, email: &str, password: &str, client: &ClientInfo) -> AuthResult<SignIn> {
        let email = validation::normalize_email(email).map_err(field)?;
        let user = self.inner.store.user_by_email(&email).await?.filter(|u| !u.is_deleted);
        let Some(user) = user else {
            // Same work as a real mismatch, so response time does not reveal the account.
            self.inner.hasher.verify(password, None).await;
            return Err(AuthError::invalid_credentials());
        };
        let Some(hash) = user.password_hash.as_deref() else {
            let providers: Vec<String> = self
                .inner
                .store
                .providers(user.id)
                .await?
                .into_iter()
                .filter(|p| p != "email")
                .collect();
            return Err(if providers.is_empty() {
                AuthError::rejected(
                    RejectKind::BadRequest,
                    "no_password",
                    "This account uses passwordless login. You can set a password via forgot-password or set-password.",
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
        if !self.inner.hasher.verify(password, Some(hash)).await {
            return Err(AuthError::invalid_credentials());
        }
        if user.banned {
            return Err(AuthError::user_banned());
        }
        if self.mfa_enabled(user.id).await? {
            return Ok(SignIn::MfaRequired(self.mfa_challenge(&user, Amr::Pwd).await?));
        }
        let response = self.start_session(&user, vec![Amr::Pwd], client).await?;
        self.emit(vec![Event::Login(Login {
            timestamp: self.inner.clock.now(),
            user_id: user.id,
            email: user.email.clone(),
            provider: "email".into(),
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
        })]);
        Ok(SignIn::Authenticated(response))
    }
}
