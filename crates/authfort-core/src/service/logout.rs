//! Logout.

use crate::crypto::sha256_hex;
use crate::error::AuthResult;
use crate::events::{Event, Logout};
use crate::AuthFort;

impl AuthFort {
    /// Ends the session of a refresh token (the access token lives until `exp`). Unknown or
    /// already revoked tokens are ignored. Emits `logout` when something was revoked.
    ///
    /// # Errors
    /// `Unavailable` if the database fails.
    pub async fn logout(&self, refresh_token: &str) -> AuthResult<()> {
        if refresh_token.is_empty() {
            return Ok(());
        }
        let now = self.inner.clock.now();
        if let Some(row) = self
            .inner
            .store
            .refresh_token_by_hash(&sha256_hex(refresh_token))
            .await?
        {
            // A live token is the newest of its chain, so this ends the session (it stops
            // showing as active and introspects inactive), as revoking that one token would.
            if !row.revoked && self.inner.store.revoke_session(row.session_id, now).await? > 0 {
                self.emit(vec![Event::Logout(Logout {
                    timestamp: now,
                    user_id: Some(row.user_id),
                })]);
            }
        }
        Ok(())
    }
}
