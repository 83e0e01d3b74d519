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
            if self.inner.store.revoke_refresh_token(row.id, now).await? {
                self.emit(vec![Event::Logout(Logout {
                    timestamp: now,
                    user_id: Some(row.user_id),
                })]);
            }
        }
        Ok(())
    }
}
