//! Queuing mail in the outbox: one path for every flow that sends a link or a code.

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::AuthConfig;
use crate::crypto::{random_token, sha256_hex};
use crate::delivery::MailKind;
use crate::error::AuthResult;
use crate::model::{OutboxMessage, User, VerificationToken};
use crate::AuthFort;

/// A one-time link token just issued to a user: the raw token, its link, and its issue time.
pub(crate) struct Issued {
    /// The raw token (only its SHA-256 is stored).
    pub(crate) raw: String,
    /// The emailed link, when one can be built from configuration.
    pub(crate) link: Option<String>,
    /// When it was issued.
    pub(crate) now: OffsetDateTime,
}

/// The one-time secret a message carries: its row id and lifetime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Carried {
    /// Row id of the token or code (the outbox drops the mail when it is superseded).
    pub(crate) id: Uuid,
    /// When it was issued (the message is due then).
    pub(crate) created_at: OffsetDateTime,
    /// When it expires (the message is dropped unsent after that).
    pub(crate) expires_at: OffsetDateTime,
}

impl AuthFort {
    /// The outbox message of `kind` carrying `secret` (the link, or the code) to `email`, or
    /// `None` when email delivery is off or no link can be built. The caller writes it in the
    /// same transaction as the token it carries, then calls [`AuthFort::wake_mail`].
    pub(crate) fn mail_for(
        &self,
        kind: MailKind,
        secret: Option<&str>,
        email: &str,
        carried: Carried,
    ) -> Option<OutboxMessage> {
        let (mail, secret) = (self.inner.mail.as_ref()?, secret?);
        let Carried {
            id: token_id,
            created_at: now,
            expires_at,
        } = carried;
        let ttl_minutes = (expires_at - now).whole_seconds().max(0).unsigned_abs().div_ceil(60);
        let rendered = mail.templates.render(kind, secret, email, ttl_minutes);
        Some(OutboxMessage {
            id: Uuid::new_v4(),
            kind: kind.as_str().into(),
            recipient: email.to_owned(),
            subject: Some(rendered.subject),
            body_text: Some(rendered.text),
            body_html: Some(rendered.html),
            token_id: Some(token_id),
            expires_at: Some(expires_at),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        })
    }

    /// Issues a one-time link token of `purpose` to `user` (stored as SHA-256, invalidating
    /// the user's earlier ones of that purpose), with its mail of `kind` queued in the same
    /// transaction, and wakes the delivery worker. Emitting the flow's event is the caller's.
    pub(crate) async fn issue_link_token(
        &self,
        user: &User,
        purpose: &str,
        ttl_seconds: u64,
        kind: MailKind,
        link_for: fn(&AuthConfig, &str) -> Option<String>,
    ) -> AuthResult<Issued> {
        let now = self.inner.clock.now();
        let raw = random_token();
        let expires_at = now + Duration::seconds(i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2));
        let token = VerificationToken {
            id: Uuid::new_v4(),
            user_id: Some(user.id),
            email: user.email.clone(),
            purpose: purpose.into(),
            token_hash: sha256_hex(&raw),
            redirect_to: None,
            expires_at,
            created_at: now,
            consumed_at: None,
        };
        let link = link_for(&self.inner.config, &raw);
        let carried = Carried {
            id: token.id,
            created_at: now,
            expires_at,
        };
        let message = self.mail_for(kind, link.as_deref(), &user.email, carried);
        self.inner
            .store
            .create_verification_token(&token, message.as_ref())
            .await?;
        self.wake_mail();
        Ok(Issued { raw, link, now })
    }

    /// Wakes the delivery worker (when email delivery is on) after a message was committed.
    pub(crate) fn wake_mail(&self) {
        if let Some(mail) = &self.inner.mail {
            mail.wake.notify_one();
        }
    }
}
