//! What happens after a one-time secret sent to an address (magic link, email code) proved
//! it and signed someone in: the events, in the reference's order.

use authfort_verifier::Amr;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::error::{AuthError, AuthResult};
use crate::events::{Event, Login, SessionRevoked, UnverifiedAccountClaimed, UserCreated, UserEmail};
use crate::model::{ClientInfo, Session};
use crate::service::login::SignIn;
use crate::store::{NewRefreshToken, RedeemOutcome, Redeemed};
use crate::AuthFort;

/// The session a redeem starts if the proof holds (the store fills in the user).
pub(crate) struct PendingSession {
    /// The raw refresh token (only its SHA-256 goes to the store).
    pub(crate) raw_refresh: String,
    /// The session row.
    pub(crate) session: Session,
    /// Its first refresh token.
    pub(crate) refresh: NewRefreshToken,
}

impl AuthFort {
    /// A new session of `client` authenticated by `amr`, for a redeem to start at `now`.
    pub(crate) fn pending_session(&self, client: &ClientInfo, amr: Amr, now: OffsetDateTime) -> PendingSession {
        let session_id = Uuid::new_v4();
        let raw_refresh = random_token();
        let expires_at = self.refresh_expiry(now);
        PendingSession {
            session: Session {
                id: session_id,
                user_id: Uuid::nil(),
                created_at: now,
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
                amr: vec![amr],
                expires_at,
                revoked_at: None,
            },
            refresh: NewRefreshToken {
                id: session_id,
                user_id: Uuid::nil(),
                session_id,
                token_hash: sha256_hex(&raw_refresh),
                expires_at,
                created_at: now,
            },
            raw_refresh,
        }
    }

    /// The sign-in a redeem gives: tokens for the started session, or, for a user with MFA,
    /// the login challenge carrying `first_factor`. `invalid` is the flow's refusal.
    pub(crate) async fn finish_proof(
        &self,
        outcome: RedeemOutcome,
        raw_refresh: String,
        first_factor: Amr,
        now: OffsetDateTime,
        invalid: fn() -> AuthError,
    ) -> AuthResult<(Box<Redeemed>, SignIn)> {
        match outcome {
            RedeemOutcome::Invalid => Err(invalid()),
            RedeemOutcome::Banned => Err(AuthError::user_banned()),
            RedeemOutcome::SignedIn(r) => {
                let response = self
                    .respond_with(&r.user, &r.session, raw_refresh, now, r.roles.clone(), r.mfa_enabled)
                    .await?;
                Ok((r, SignIn::Authenticated(response)))
            }
            RedeemOutcome::MfaRequired(r) => {
                let challenge = self.mfa_challenge(&r.user, first_factor).await?;
                Ok((r, SignIn::MfaRequired(challenge)))
            }
        }
    }

    /// `user_created` (passwordless signup), `email_verified`, the clean-up of an unverified
    /// account (`session_revoked`, `unverified_account_claimed`), then, when `signed_in`
    /// (not held for MFA), `login_event` and `login` with `provider`.
    pub(crate) fn proof_events(
        &self,
        redeemed: &Redeemed,
        provider: &str,
        login_event: fn(UserEmail) -> Event,
        client: &ClientInfo,
        signed_in: bool,
    ) -> Vec<Event> {
        let now = self.inner.clock.now();
        let user = &redeemed.user;
        let user_email = || UserEmail {
            timestamp: now,
            user_id: user.id,
            email: user.email.clone(),
        };
        let mut events = Vec::new();
        if redeemed.created {
            events.push(Event::UserCreated(UserCreated {
                timestamp: now,
                user_id: user.id,
                email: user.email.clone(),
                name: None,
                provider: provider.into(),
            }));
        }
        if redeemed.verified_now {
            events.push(Event::EmailVerified(user_email()));
        }
        let claimed = &redeemed.claimed;
        if claimed.any() {
            tracing::warn!(user_id = %user.id, sessions = claimed.sessions_revoked, password_cleared = claimed.password_cleared,
                identities_unlinked = ?claimed.identities_unlinked, "first proof of an unverified address: earlier credentials revoked");
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
        if !signed_in {
            return events;
        }
        events.push(login_event(user_email()));
        events.push(Event::Login(Login {
            timestamp: now,
            user_id: user.id,
            email: user.email.clone(),
            provider: provider.into(),
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
        }));
        events
    }
}
