//! Sign-in with an OAuth 2.0 / OpenID Connect provider: starting the flow (state, PKCE,
//! nonce, the browser binding) and finishing it (state consumed once, code exchanged,
//! identity resolved to an account, session started).
//!
//! Fixes over the reference: the state is a random value whose hash is stored with the
//! PKCE verifier and nonce (nothing secret travels in a URL), it is bound to the browser
//! that started the flow by an HttpOnly cookie value whose hash must match, and it is
//! consumed by one conditional write. An identity is linked to an existing account by email
//! only when the provider asserts the email is verified. Provider error text never reaches
//! the client.

use authfort_verifier::Amr;
use time::Duration;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{
    Event, Login, LoginFailed, OAuthLink, SessionRevoked, UnverifiedAccountClaimed, UserCreated, UserEmail,
};
use crate::links;
use crate::model::{AuthResponse, ClientInfo, User};
use crate::oauth::client::ProviderError;
use crate::service::signup::field;
use crate::store::{OAuthResolution, OAuthResolved, OAuthState, ResolveOAuth, StoreError};
use crate::validation;
use crate::AuthFort;

/// A started sign-in: where to send the browser, and the value of the HttpOnly cookie that
/// binds the flow to this browser.
#[derive(Clone)]
pub struct OAuthStart {
    /// The provider's authorization URL (with `state`, the S256 challenge and the scopes).
    pub location: String,
    /// The cookie value (only its hash is stored).
    pub binding: String,
    /// The cookie's lifetime, in seconds (the state's).
    pub max_age: u64,
}

impl std::fmt::Debug for OAuthStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthStart")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The callback's query parameters and the browser's state cookie.
#[derive(Debug, Clone, Default)]
pub struct OAuthCallback {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `error` (the provider refused or failed).
    pub error: Option<String>,
    /// The value of the state cookie sent by the browser.
    pub binding: Option<String>,
}

/// What a finished sign-in gives.
#[derive(Debug, Clone)]
// Returned once per callback and consumed at once; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum OAuthOutcome {
    /// Signed in: tokens and user.
    SignedIn(AuthResponse),
    /// The user has MFA: the login MFA challenge instead of tokens.
    MfaRequired {
        /// The MFA challenge token.
        mfa_token: String,
        /// Its lifetime in seconds.
        expires_in: u64,
    },
}

/// A finished sign-in, with what the flow was started with.
#[derive(Debug, Clone)]
pub struct OAuthFinish {
    /// The result.
    pub outcome: OAuthOutcome,
    /// The validated `redirect_to` given at the start.
    pub redirect_to: Option<String>,
    /// Whether the flow was started with `mode=popup`.
    pub popup: bool,
}

/// Provider tokens stored on a user's link.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderTokens {
    /// Access token.
    pub access_token: Option<String>,
    /// Refresh token.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderTokens(***)")
    }
}

fn reject(code: &'static str, message: impl Into<String>) -> AuthError {
    AuthError::rejected(RejectKind::BadRequest, code, message)
}

fn state_invalid() -> AuthError {
    reject("oauth_state_invalid", "Invalid OAuth state")
}

fn unknown_provider(name: &str) -> AuthError {
    // The name is echoed as the reference does, but only a safe one.
    let shown = if crate::oauth::valid_name(name) { name } else { "?" };
    AuthError::rejected(
        RejectKind::NotFound,
        "unknown_provider",
        format!("Provider '{shown}' is not configured"),
    )
}

impl AuthFort {
    /// Names of the configured OAuth providers, sorted.
    pub fn oauth_providers(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.oauth.names();
        names.sort();
        names
    }

    /// Starts a sign-in with `provider` (`GET /auth/oauth/{provider}/authorize`).
    ///
    /// # Errors
    /// 404 `unknown_provider`, 400 `invalid_redirect`, 400 `oauth_exchange_failed` when an
    /// OpenID Connect provider's discovery document cannot be fetched.
    pub async fn oauth_authorize(
        &self,
        provider: &str,
        redirect_to: Option<&str>,
        mode: Option<&str>,
    ) -> AuthResult<OAuthStart> {
        let config = &self.inner.config;
        let p = self
            .inner
            .oauth
            .get(provider)
            .ok_or_else(|| unknown_provider(provider))?;
        let redirect_to = redirect_to
            .filter(|r| !r.is_empty())
            .map(|r| links::validate_oauth_redirect(config, r))
            .transpose()?;
        let now = self.inner.clock.now();
        let (state, binding, verifier, nonce) = (random_token(), random_token(), random_token(), random_token());
        let location = p
            .authorize_url(self.inner.oauth.http(), now, &state, &verifier, &nonce)
            .await
            .map_err(|e| provider_error(e, provider))?;
        let ttl = config.oauth.state_ttl_seconds;
        self.inner
            .store
            .create_oauth_state(&OAuthState {
                id: Uuid::new_v4(),
                state_hash: sha256_hex(&state),
                binding_hash: sha256_hex(&binding),
                provider: provider.to_owned(),
                pkce_verifier: verifier,
                nonce,
                redirect_to,
                mode: mode.filter(|m| *m == "popup").map(str::to_owned),
                expires_at: now + Duration::seconds(ttl as i64),
                created_at: now,
            })
            .await?;
        Ok(OAuthStart {
            location,
            binding,
            max_age: ttl,
        })
    }

    /// Finishes a sign-in (`GET /auth/oauth/{provider}/callback`). Emits `login_failed` (no
    /// email, the error code as reason) on any refusal.
    ///
    /// # Errors
    /// 400 `oauth_provider_error`, `oauth_missing_params`, `oauth_state_invalid` (unknown,
    /// used, tampered, or started in another browser), `oauth_state_expired`,
    /// `oauth_state_provider_mismatch`, `oauth_exchange_failed` (token endpoint or ID token),
    /// `oauth_user_info_failed`, `oauth_no_email`, `oauth_no_user_id`, `invalid_email`,
    /// `oauth_email_not_verified` (an account with that email exists and the provider does not
    /// assert the email is verified); 404 `unknown_provider`; 401 `user_not_found`; 403
    /// `user_banned`.
    pub async fn oauth_callback(
        &self,
        provider: &str,
        params: &OAuthCallback,
        client: &ClientInfo,
    ) -> AuthResult<OAuthFinish> {
        let result = self.oauth_callback_inner(provider, params, client).await;
        if let Err(AuthError::Rejected { code, .. }) = &result {
            self.emit(vec![Event::LoginFailed(LoginFailed {
                timestamp: self.inner.clock.now(),
                email: None,
                reason: (*code).to_owned(),
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
            })]);
        }
        result
    }

    async fn oauth_callback_inner(
        &self,
        provider: &str,
        params: &OAuthCallback,
        client: &ClientInfo,
    ) -> AuthResult<OAuthFinish> {
        if let Some(error) = &params.error {
            // The provider's own words (error_description) are not passed on.
            tracing::info!(provider, error = %error.chars().take(100).collect::<String>(), "OAuth provider returned an error");
            return Err(reject(
                "oauth_provider_error",
                "The provider did not complete the sign-in",
            ));
        }
        let (Some(code), Some(state)) = (
            params.code.as_deref().filter(|c| !c.is_empty()),
            params.state.as_deref().filter(|s| !s.is_empty()),
        ) else {
            return Err(reject("oauth_missing_params", "Missing code or state parameter"));
        };
        let p = self
            .inner
            .oauth
            .get(provider)
            .ok_or_else(|| unknown_provider(provider))?;
        let binding = params.binding.as_deref().filter(|b| !b.is_empty() && b.len() <= 256);
        let Some(binding) = binding else {
            return Err(state_invalid());
        };
        if state.len() > 256 || code.len() > 4096 {
            return Err(state_invalid());
        }
        let now = self.inner.clock.now();
        let row = self
            .inner
            .store
            .consume_oauth_state(&sha256_hex(state), &sha256_hex(binding), now)
            .await?
            .ok_or_else(state_invalid)?;
        if row.expires_at <= now {
            return Err(reject("oauth_state_expired", "OAuth state expired"));
        }
        if row.provider != provider {
            return Err(reject("oauth_state_provider_mismatch", "OAuth state provider mismatch"));
        }
        let who = p
            .sign_in(self.inner.oauth.http(), now, code, &row.pkce_verifier, &row.nonce)
            .await
            .map_err(|e| provider_error(e, provider))?;
        let email = validation::normalize_email(&who.email).map_err(field)?;
        let resolve = ResolveOAuth {
            provider: provider.to_owned(),
            provider_account_id: who.account_id.clone(),
            email,
            email_verified: who.email_verified,
            name: validation::sanitize_name(who.name.as_deref()).ok().flatten(),
            avatar_url: validation::validate_avatar_url(who.avatar_url.as_deref())
                .ok()
                .flatten(),
            access_token: Some(who.access_token.clone()),
            refresh_token: who.refresh_token.clone(),
            now,
            new_user_id: Uuid::new_v4(),
        };
        let resolved = match self.inner.store.resolve_oauth_account(&resolve).await {
            // A concurrent first sign-in created the user or the link: it exists now.
            Err(StoreError::Conflict(_)) => self.inner.store.resolve_oauth_account(&resolve).await?,
            other => other?,
        };
        let resolved = match resolved {
            OAuthResolution::Gone => return Err(AuthError::user_gone("User not found")),
            OAuthResolution::Banned => return Err(AuthError::user_banned()),
            OAuthResolution::EmailNotVerified => {
                return Err(reject(
                    "oauth_email_not_verified",
                    "An account with this email already exists, and the provider has not verified the email. \
                     Sign in to that account another way.",
                ))
            }
            OAuthResolution::Resolved(r) => r,
        };
        let mut events = self.oauth_account_events(&resolved, provider);
        let user = &resolved.user;
        let outcome = match self.oauth_mfa_challenge(user).await? {
            Some((mfa_token, expires_in)) => OAuthOutcome::MfaRequired { mfa_token, expires_in },
            None => {
                let response = self.start_session(user, vec![Amr::Oauth], client).await?;
                events.push(Event::Login(Login {
                    timestamp: now,
                    user_id: user.id,
                    email: user.email.clone(),
                    provider: provider.to_owned(),
                    ip_address: client.ip_address.clone(),
                    user_agent: client.user_agent.clone(),
                }));
                OAuthOutcome::SignedIn(response)
            }
        };
        self.emit(events);
        Ok(OAuthFinish {
            outcome,
            redirect_to: row.redirect_to,
            popup: row.mode.as_deref() == Some("popup"),
        })
    }

    /// For a user with TOTP enabled, the login MFA challenge (`mfa_token`, `expires_in`) that
    /// `/auth/login` gives, carrying `oauth` as the first factor: the callback then answers
    /// with `#mfa_token=` (redirect) or the MFAChallenge (popup) and starts no session. The
    /// `login` event follows at `/auth/mfa/verify`.
    async fn oauth_mfa_challenge(&self, user: &User) -> AuthResult<Option<(String, u64)>> {
        if !self.mfa_enabled(user.id).await? {
            return Ok(None);
        }
        let challenge = self.mfa_challenge(user, Amr::Oauth).await?;
        Ok(Some((challenge.mfa_token, challenge.expires_in)))
    }

    /// `user_created` / `oauth_link`, `email_verified`, and the clean-up of an unverified
    /// account proven by a verified provider email.
    fn oauth_account_events(&self, r: &OAuthResolved, provider: &str) -> Vec<Event> {
        let now = self.inner.clock.now();
        let user = &r.user;
        let mut events = Vec::new();
        if r.created {
            events.push(Event::UserCreated(UserCreated {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                name: user.name.clone(),
                provider: provider.to_owned(),
            }));
        }
        if r.linked {
            events.push(Event::OAuthLink(OAuthLink {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                provider: provider.to_owned(),
            }));
        }
        if r.verified_now || (r.created && user.email_verified) {
            events.push(Event::EmailVerified(UserEmail {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
            }));
        }
        let claimed = &r.claimed;
        if claimed.any() {
            tracing::warn!(user_id = %user.id, sessions = claimed.sessions_revoked, password_cleared = claimed.password_cleared,
                identities_unlinked = ?claimed.identities_unlinked, "first proof of an unverified address (OAuth link): earlier credentials revoked");
            if claimed.sessions_revoked > 0 {
                events.push(Event::SessionRevoked(SessionRevoked {
                    timestamp: now,
                    user_id: user.id,
                    session_id: None,
                    revoke_all: true,
                }));
            }
            events.push(Event::UnverifiedAccountClaimed(UnverifiedAccountClaimed {
                timestamp: now,
                user_id: user.id,
                sessions_revoked: claimed.sessions_revoked,
                password_cleared: claimed.password_cleared,
                identities_unlinked: claimed.identities_unlinked.clone(),
            }));
        }
        events
    }

    /// The provider tokens stored on `user_id`'s link to `provider` (the reference's
    /// `get_provider_tokens`); `None` without a link.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn get_provider_tokens(&self, user_id: Uuid, provider: &str) -> AuthResult<Option<ProviderTokens>> {
        Ok(self
            .inner
            .store
            .provider_tokens(user_id, provider)
            .await?
            .map(|(access_token, refresh_token)| ProviderTokens {
                access_token,
                refresh_token,
            }))
    }
}

fn provider_error(e: ProviderError, provider: &str) -> AuthError {
    match e {
        ProviderError::Exchange => reject("oauth_exchange_failed", "Failed to exchange OAuth code"),
        ProviderError::UserInfo => reject(
            "oauth_user_info_failed",
            format!("Failed to fetch user info from {provider}"),
        ),
        ProviderError::NoEmail => reject("oauth_no_email", "The provider did not return an email address"),
        ProviderError::NoUserId => reject("oauth_no_user_id", "The provider did not return a user id"),
    }
}
