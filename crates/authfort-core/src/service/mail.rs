//! Queuing mail in the outbox: one path for every flow that sends a link or a code.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::delivery::MailKind;
use crate::model::OutboxMessage;
use crate::AuthFort;

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

    /// Wakes the delivery worker (when email delivery is on) after a message was committed.
    pub(crate) fn wake_mail(&self) {
        if let Some(mail) = &self.inner.mail {
            mail.wake.notify_one();
        }
    }
}
