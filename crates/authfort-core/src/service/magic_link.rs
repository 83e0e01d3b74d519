//! Magic links: request (enumeration-safe) and redeem (atomic, single use).
//!
//! Entropy, storage, consumption: a token is 64 bytes from the OS CSPRNG (512 bits,
//! base64url, 86 chars); only its SHA-256 is stored; it is redeemed by one conditional
//! `UPDATE … WHERE consumed_at IS NULL AND expires_at > now` in the same transaction that
//! checks the user (row locked), creates the session and issues the refresh token.

use authfort_verifier::Amr;
use time::Duration;
use uuid::Uuid;

use crate::crypto::{random_token, sha256_hex};
use crate::delivery::MailKind;
use crate::error::{AuthError, AuthResult, RejectKind};
use crate::events::{Event, MagicLinkRequested, SecretToken};
use crate::links;
use crate::model::{ClientInfo, VerificationToken};
use crate::service::login::SignIn;
use crate::service::mail::Carried;
use crate::service::signup::field;
use crate::store::RedeemMagicLink;
use crate::validation;
use crate::AuthFort;

const PURPOSE: &str = "magic_link";

/// The result of redeeming a magic link.
#[derive(Debug, Clone)]
pub struct MagicLinkSignIn {
    /// Tokens and user, or the MFA challenge for a user with MFA enabled.
    pub sign_in: SignIn,
    /// The validated redirect carried with the link, if any.
    pub redirect_to: Option<String>,
}

fn invalid_magic_link() -> AuthError {
    AuthError::rejected(
        RejectKind::BadRequest,
        "invalid_magic_link",
        "Invalid or expired magic link",
    )
}

impl AuthFort {
    /// Creates a magic-link token for `email` and returns it raw (`None` when no usable
    /// account exists and passwordless signup is off, or the account is banned or deleted).
    /// Invalidates every earlier unused link for the address. When email delivery is
    /// configured, the mail is queued in the same transaction. Emits `magic_link_requested`
    /// (with the raw token) after commit.
    ///
    /// # Errors
    /// 400 `invalid_email`.
    pub async fn create_magic_link_token(&self, email: &str) -> AuthResult<Option<String>> {
        self.request_magic_link(email, None).await
    }

    /// `POST /auth/magic-link`: like [`AuthFort::create_magic_link_token`] with an optional
    /// `redirect_to` (checked against `links.allowed_redirects`). The caller answers the same
    /// whatever the result, so the response reveals nothing about the address.
    ///
    /// # Errors
    /// 400 `invalid_email`, 400 `invalid_redirect`.
    pub async fn request_magic_link(&self, email: &str, redirect_to: Option<&str>) -> AuthResult<Option<String>> {
        let config = &self.inner.config;
        let email = validation::normalize_email(email).map_err(field)?;
        let redirect_to = redirect_to
            .filter(|r| !r.is_empty())
            .map(|r| links::validate_redirect(config, r))
            .transpose()?;
        let store = &self.inner.store;
        let user = store.user_by_email(&email).await?;
        let user_id = match &user {
            Some(u) if u.is_active() => Some(u.id),
            None if config.allow_passwordless_signup => None,
            _ => {
                // Same write transaction as the real path, so timing does not tell them apart.
                store.invalidate_verification_tokens(PURPOSE, &email).await?;
                return Ok(None);
            }
        };
        let now = self.inner.clock.now();
        let raw = random_token();
        let expires_at = now + Duration::seconds(config.magic_link_ttl_seconds as i64);
        let token = VerificationToken {
            id: Uuid::new_v4(),
            user_id,
            email: email.clone(),
            purpose: PURPOSE.into(),
            token_hash: sha256_hex(&raw),
            redirect_to,
            expires_at,
            created_at: now,
            consumed_at: None,
        };
        let link = links::magic_link(config, &raw);
        // Mail goes to the canonical address we hold, never to the request string.
        let message = self.mail_for(
            MailKind::MagicLink,
            link.as_deref(),
            &email,
            Carried {
                id: token.id,
                created_at: now,
                expires_at,
            },
        );
        store.create_verification_token(&token, message.as_ref()).await?;
        self.wake_mail();
        self.emit(vec![Event::MagicLinkRequested(MagicLinkRequested {
            timestamp: now,
            user_id,
            email,
            token: SecretToken::new(raw.clone()),
            link: link.map(SecretToken::new),
        })]);
        Ok(Some(raw))
    }

    /// Redeems a magic link and signs the user in (a new session, `amr: ["email_link"]`), or,
    /// for a user with MFA enabled, spends the link and answers the MFA challenge (completing
    /// it gives `amr: ["email_link", "mfa"]`): a magic link never bypasses MFA.
    /// Single use even under concurrency; proves the address (`email_verified = true`), and on
    /// the first proof revokes earlier sessions, clears a password set before it and unlinks
    /// provider identities linked while the address was unverified (see
    /// `unverified_account_claimed`). With passwordless signup on, a link for an address
    /// without an account creates it.
    ///
    /// # Errors
    /// 400 `invalid_magic_link` (unknown, used, expired, or the user is gone), 403 `user_banned`.
    pub async fn verify_magic_link(&self, token: &str, client: &ClientInfo) -> AuthResult<MagicLinkSignIn> {
        if token.is_empty() || token.len() > 512 {
            return Err(invalid_magic_link());
        }
        let now = self.inner.clock.now();
        let pending = self.pending_session(client, Amr::EmailLink, now);
        let redeem = RedeemMagicLink {
            token_hash: sha256_hex(token),
            now,
            allow_signup: self.inner.config.allow_passwordless_signup,
            new_user_id: Uuid::new_v4(),
            session: pending.session,
            refresh: pending.refresh,
        };
        let outcome = self.inner.store.redeem_magic_link(&redeem).await?;
        let (redeemed, sign_in) = self
            .finish_proof(outcome, pending.raw_refresh, Amr::EmailLink, now, invalid_magic_link)
            .await?;
        let signed_in = matches!(sign_in, SignIn::Authenticated(_));
        self.emit(self.proof_events(&redeemed, "magic_link", Event::MagicLinkLogin, client, signed_in));
        Ok(MagicLinkSignIn {
            sign_in,
            redirect_to: redeemed.redirect_to.clone(),
        })
    }
}
