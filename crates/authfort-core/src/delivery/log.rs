//! The `log` transport: prints mail to stderr. Development only.

use async_trait::async_trait;

use super::{require_text, DeliveryError, Transport};
use crate::model::OutboxMessage;

/// Prints the whole message (To, Subject, text body) to stderr in a delimited block.
///
/// The block goes to stderr with `eprintln!`, never to `tracing`: log pipelines must not
/// collect sign-in links.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LogTransport;

#[async_trait]
impl Transport for LogTransport {
    async fn send(&self, message: &OutboxMessage) -> Result<(), DeliveryError> {
        let text = require_text(message)?;
        let subject = message.subject.as_deref().unwrap_or_default();
        // One call, so concurrent output cannot interleave inside the block.
        eprintln!(
            "\n===== AuthFort mail (email.transport = \"log\"; development only) =====\n\
             Message-Id: {id}\n\
             Kind: {kind}\n\
             To: {to}\n\
             Subject: {subject}\n\
             \n\
             {text}\n\
             ===== end of mail {id} =====\n",
            id = message.id,
            kind = message.kind,
            to = message.recipient,
        );
        tracing::debug!(id = %message.id, kind = %message.kind, "mail printed to stderr (log transport)");
        Ok(())
    }
}
