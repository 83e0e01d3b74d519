//! The `smtp` transport (lettre, pooled, async).

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{config_error, error_chain, require_text, DeliveryError, Transport};
use crate::config::{ConfigError, EmailConfig};
use crate::model::OutboxMessage;

/// Sends through an SMTP relay named by `email.smtp_url`.
pub(crate) struct SmtpTransport {
    from: Mailbox,
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: the pool spawns its housekeeping task on the current runtime.
    mailer: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
}

impl SmtpTransport {
    pub(crate) fn new(config: &EmailConfig) -> Result<SmtpTransport, ConfigError> {
        const KEY: &str = "email.smtp_url";
        let raw = config
            .smtp_url
            .as_deref()
            .ok_or_else(|| config_error(KEY, "required when email.transport = smtp"))?;
        let url = url::Url::parse(raw).map_err(|_| config_error(KEY, "not a URL"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| config_error(KEY, "has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls_parameters =
            || TlsParameters::new(host.clone()).map_err(|e| config_error(KEY, format!("TLS set-up failed: {e}")));
        let (tls, default_port) = match url.scheme() {
            "smtp" => (Tls::Opportunistic(tls_parameters()?), 587),
            "smtps" => (Tls::Wrapper(tls_parameters()?), 465),
            "smtp+plain" => (Tls::None, 25),
            _ => {
                return Err(config_error(
                    KEY,
                    "must be smtp://host:port, smtps://… or smtp+plain://…",
                ))
            }
        };
        let timeout = Duration::from_secs(config.timeout_seconds.clamp(1, 86_400));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(url.port().unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(timeout));
        if !url.username().is_empty() {
            let user = percent_decode(url.username())
                .ok_or_else(|| config_error(KEY, "the user name is not valid percent-encoded UTF-8"))?;
            let password = percent_decode(url.password().unwrap_or_default())
                .ok_or_else(|| config_error(KEY, "the password is not valid percent-encoded UTF-8"))?;
            builder = builder.credentials(Credentials::new(user, password));
        }
        let from = config.from.parse::<Mailbox>().map_err(|_| {
            config_error(
                "email.from",
                "not a valid mailbox (e.g. `AuthFort <no-reply@example.com>`)",
            )
        })?;
        Ok(SmtpTransport {
            from,
            builder,
            mailer: OnceLock::new(),
        })
    }

    fn build_message(&self, message: &OutboxMessage) -> Result<Message, DeliveryError> {
        let to = message
            .recipient
            .parse::<Mailbox>()
            .map_err(|_| DeliveryError::permanent("the recipient is not a valid email address"))?;
        let text = require_text(message)?.to_owned();
        // A stable Message-ID per outbox row lets receivers discard a rare repeat delivery.
        let message_id = format!("<{}@{}>", message.id.simple(), self.from.email.domain());
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .message_id(Some(message_id));
        match &message.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html.clone())),
            None => builder.singlepart(SinglePart::plain(text)),
        }
        .map_err(|e| DeliveryError::permanent(format!("cannot build the message: {e}")))
    }
}

#[async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let email = self.build_message(message)?;
        let mailer = self.mailer.get_or_init(|| self.builder.clone().build());
        match mailer.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!(
                "SMTP server refused the message: {}",
                error_chain(&e)
            ))),
            Err(e) => Err(DeliveryError::transient(format!(
                "SMTP delivery failed: {}",
                error_chain(&e)
            ))),
        }
    }
}

/// Percent-decodes URL userinfo; `None` if the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
