//! The `webhook` transport: a signed JSON `POST` per message.
//!
//! Outcomes: 2xx delivered; 408, 429, 5xx and network errors transient; any other status
//! (4xx, and 3xx since redirects are not followed) permanent. Response bodies are ignored.

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

use super::{config_error, error_chain, require_text, DeliveryError, Transport};
use crate::config::{ConfigError, EmailConfig};
use crate::model::{format_time, OutboxMessage};

/// The signature header: `sha256=<lower-hex HMAC-SHA256 of the raw body>`.
pub(crate) const SIGNATURE_HEADER: &str = "X-AuthFort-Signature";

/// Posts each message as JSON to `email.webhook_url`, signed with `email.webhook_secret`.
pub(crate) struct WebhookTransport {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Vec<u8>,
}

#[derive(Serialize)]
struct Payload<'a> {
    id: Uuid,
    kind: &'a str,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    html: Option<&'a str>,
    created_at: String,
}

impl WebhookTransport {
    pub(crate) fn new(config: &EmailConfig) -> Result<WebhookTransport, ConfigError> {
        const KEY: &str = "email.webhook_url";
        let raw = config
            .webhook_url
            .as_deref()
            .ok_or_else(|| config_error(KEY, "required when email.transport = webhook"))?;
        let url = reqwest::Url::parse(raw).map_err(|_| config_error(KEY, "not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(config_error(KEY, "must be an http(s) URL"));
        }
        let secret = config
            .webhook_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| config_error("email.webhook_secret", "required for the webhook transport"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.clamp(1, 86_400)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authfort/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config_error(KEY, format!("cannot build the HTTP client: {e}")))?;
        Ok(WebhookTransport {
            client,
            url,
            secret: secret.as_bytes().to_vec(),
        })
    }
}

/// `sha256=<lower-hex HMAC-SHA256(secret, body)>`.
fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl Transport for WebhookTransport {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let payload = Payload {
            id: message.id,
            kind: &message.kind,
            to: &message.recipient,
            subject: message.subject.as_deref().unwrap_or_default(),
            text: require_text(message)?,
            html: message.body_html.as_deref(),
            created_at: format_time(&message.created_at),
        };
        let body = serde_json::to_vec(&payload)
            .map_err(|_| DeliveryError::permanent("cannot serialise the webhook payload"))?;
        let signature = signature(&self.secret, &body);
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let e = e.without_url();
                if e.is_timeout() {
                    DeliveryError::transient("webhook request timed out")
                } else {
                    DeliveryError::transient(format!("webhook request failed: {}", error_chain(&e)))
                }
            })?;
        // The response body is never read into errors: it might echo the payload.
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            408 | 429 | 500..=599 => Err(DeliveryError::transient(format!("webhook answered {status}"))),
            _ => Err(DeliveryError::permanent(format!("webhook answered {status}"))),
        }
    }
}
