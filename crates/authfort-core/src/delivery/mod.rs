//! Email delivery from the durable outbox.
//!
//! Mail is never sent from a request. The request that mints a magic link writes the token
//! and its rendered message ([`Templates`]) to the outbox in one transaction; a background
//! worker ([`spawn_worker`]) leases due messages one at a time, hands them to a
//! [`Transport`] (`log`, `smtp` or `webhook`, see [`transport_for`]), and records the outcome:
//! delivered messages are marked `sent`, hopeless ones `dropped`, and both have their bodies
//! (which contain the link) scrubbed. Transient failures are retried with exponential backoff
//! until `email.max_attempts`; a message whose token expired is dropped unsent.
//!
//! Bodies and links never reach the tracing logs: errors carry only what went wrong
//! ([`DeliveryError`]), and the `log` transport prints mail to stderr, not to `tracing`.

mod log;
mod smtp;
mod templates;
mod webhook;
mod worker;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigError, EmailConfig};
use crate::model::OutboxMessage;

pub use self::templates::{MailKind, RenderedMail, Templates};
pub use self::worker::spawn_worker;

/// Something that delivers an outbox message (SMTP relay, webhook, console).
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Delivers one message. The worker bounds the call with `email.timeout_seconds`.
    ///
    /// # Errors
    /// A [`DeliveryError`]; `permanent` ones are not retried.
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError>;
}

/// A failed delivery attempt. The message never contains the mail body or the link.
#[derive(Debug, Clone)]
pub struct DeliveryError {
    /// Retrying cannot help (refused address, rejected request, …); the message is dropped.
    pub permanent: bool,
    /// What went wrong, for `last_error` and the logs.
    pub message: String,
}

impl DeliveryError {
    /// An error worth retrying (network trouble, timeouts, 4xx SMTP replies, 5xx HTTP answers).
    pub fn transient(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            permanent: false,
            message: message.into(),
        }
    }

    /// An error retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            permanent: true,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.permanent { "permanent" } else { "transient" };
        write!(f, "{kind} delivery error: {}", self.message)
    }
}

impl std::error::Error for DeliveryError {}

/// The transport `email.transport` names: `None` for `none`, else `log`, `smtp` or `webhook`.
///
/// No connection is made here; an SMTP connection pool is created on the first send (inside
/// the Tokio runtime).
///
/// # Errors
/// A [`ConfigError`] naming the offending key (`email.transport`, `email.smtp_url`,
/// `email.from`, `email.webhook_url`, `email.webhook_secret`).
pub fn transport_for(config: &EmailConfig) -> Result<Option<Arc<dyn Transport>>, ConfigError> {
    Ok(match config.transport.as_str() {
        "none" => None,
        "log" => {
            tracing::warn!(
                "email.transport = \"log\": mail (with its sign-in links) is printed to stderr; development only"
            );
            Some(Arc::new(log::LogTransport))
        }
        "smtp" => Some(Arc::new(smtp::SmtpTransport::new(config)?)),
        "webhook" => Some(Arc::new(webhook::WebhookTransport::new(config)?)),
        _ => {
            return Err(config_error(
                "email.transport",
                "must be one of log, smtp, webhook, none",
            ))
        }
    })
}

fn config_error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// The plain-text body, or a permanent error when it is gone (scrubbed rows are never due).
fn require_text(message: &OutboxMessage) -> Result<&str, DeliveryError> {
    message
        .body_text
        .as_deref()
        .ok_or_else(|| DeliveryError::permanent("message has no body (already delivered or dropped)"))
}

/// `e` and its sources, joined with `: `, for error messages.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
