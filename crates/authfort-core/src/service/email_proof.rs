//! What happens after a one-time secret sent to an address (magic link, email code) proved
//! it and signed someone in: the events, in the reference's order.

use crate::events::{Event, Login, SessionRevoked, UnverifiedAccountClaimed, UserCreated, UserEmail};
use crate::model::ClientInfo;
use crate::store::Redeemed;
use crate::AuthFort;

impl AuthFort {
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
        if redeemed.sessions_revoked > 0 || redeemed.password_cleared {
            tracing::warn!(user_id = %user.id, sessions = redeemed.sessions_revoked, password_cleared = redeemed.password_cleared,
                "first proof of an unverified address: earlier credentials revoked");
            if redeemed.sessions_revoked > 0 {
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
                sessions_revoked: redeemed.sessions_revoked,
                password_cleared: redeemed.password_cleared,
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
