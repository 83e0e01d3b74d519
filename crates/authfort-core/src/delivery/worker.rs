//! The delivery worker: leases due outbox messages and hands them to the transport.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{DeliveryError, Transport};
use crate::clock::Clock;
use crate::config::EmailConfig;
use crate::model::OutboxMessage;
use crate::store::{Store, StoreResult};

/// Longest wait between two attempts of one message.
const MAX_BACKOFF: Duration = Duration::minutes(15);
/// Upper bound of the timeout and the poll interval (a day).
const MAX_SETTING: StdDuration = StdDuration::from_secs(86_400);
/// Tries of the bookkeeping write after an attempt (a lost `sent` would mean a second send).
const BOOKKEEPING_TRIES: u32 = 3;

/// Starts the delivery worker on the current Tokio runtime.
///
/// The worker drains every due message when it starts, whenever `wake` is notified (use
/// `notify_one` after queueing a message), and every `email.poll_interval_ms`. Each message
/// is leased for `2 × email.timeout_seconds + 5 s`, so several workers (or processes) can
/// share one database and every message is sent by one of them. All time decisions read
/// `clock`.
///
/// It runs until `stop` sees its sender dropped or a `true`; the message being sent at that
/// moment is finished first. It never panics: a panicking transport counts as a transient
/// failure, and should the loop itself panic it is restarted.
pub fn spawn_worker(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    config: EmailConfig,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Clamped so that no time arithmetic can overflow, whatever the configuration says.
    let timeout_seconds = config.timeout_seconds.clamp(1, MAX_SETTING.as_secs());
    let worker = Arc::new(Worker {
        store,
        clock,
        transport,
        timeout: StdDuration::from_secs(timeout_seconds),
        lease: Duration::seconds(2 * i64::try_from(timeout_seconds).unwrap_or(86_400) + 5),
        max_attempts: i64::from(config.max_attempts.max(1)),
        poll: StdDuration::from_millis(config.poll_interval_ms).clamp(StdDuration::from_millis(1), MAX_SETTING),
    });
    tokio::spawn(supervise(worker, wake, stop))
}

struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    transport: Arc<dyn Transport>,
    timeout: StdDuration,
    lease: Duration,
    max_attempts: i64,
    poll: StdDuration,
}

/// Aborts the task when dropped, so aborting the supervisor also ends the loop it runs.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the loop in its own task and restarts it should it ever panic.
async fn supervise(worker: Arc<Worker>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        let mut run = AbortOnDrop(tokio::spawn(run(worker.clone(), wake.clone(), stop.clone())));
        match (&mut run.0).await {
            Ok(()) => return,
            Err(e) if e.is_panic() => {
                tracing::error!("email delivery worker panicked; restarting it");
                tokio::select! {
                    changed = stop.changed() => if changed.is_err() || *stop.borrow() { return },
                    () = tokio::time::sleep(worker.poll) => {}
                }
            }
            Err(_) => return,
        }
    }
}

fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

async fn run(worker: Arc<Worker>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    tracing::debug!("email delivery worker started");
    loop {
        if stopped(&stop) {
            break;
        }
        // Registered before draining, so a wake-up that arrives meanwhile is not lost.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        worker.drain(&stop).await;
        tokio::select! {
            biased;
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
            () = &mut notified => {}
            () = tokio::time::sleep(worker.poll) => {}
        }
    }
    tracing::debug!("email delivery worker stopped");
}

impl Worker {
    /// Sends due messages until none is left, the store fails, or the worker is stopped.
    async fn drain(&self, stop: &watch::Receiver<bool>) {
        while !stopped(stop) {
            let now = self.clock.now();
            let message = match self.store.claim_outbox_message(now, now + self.lease).await {
                Ok(Some(message)) => message,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "email outbox: cannot claim a message; retrying on the next tick");
                    return;
                }
            };
            if let Err(e) = self.process(message, now).await {
                tracing::warn!(error = %e, "email outbox: cannot record a delivery outcome; retrying on the next tick");
                return;
            }
        }
    }

    /// One attempt at one leased message, and its bookkeeping.
    async fn process(&self, message: OutboxMessage, now: OffsetDateTime) -> StoreResult<()> {
        let (id, attempts) = (message.id, message.attempts);
        if message.expires_at.is_some_and(|at| at <= now) {
            tracing::info!(%id, kind = %message.kind, "mail dropped: its token expired before delivery");
            return self
                .bookkeeping(|| {
                    self.store
                        .fail_outbox_message(id, "token expired before delivery", None)
                })
                .await;
        }
        let kind = message.kind.clone();
        let result = self.attempt(message).await;
        let now = self.clock.now();
        match result {
            Ok(()) => {
                self.bookkeeping(|| self.store.complete_outbox_message(id, now)).await?;
                tracing::info!(%id, %kind, attempts, "mail delivered");
            }
            Err(e) if e.permanent || attempts >= self.max_attempts => {
                self.bookkeeping(|| self.store.fail_outbox_message(id, &e.message, None))
                    .await?;
                tracing::warn!(%id, %kind, attempts, permanent = e.permanent, error = %e.message, "mail dropped");
            }
            Err(e) => {
                let retry_at = now + backoff(attempts);
                self.bookkeeping(|| self.store.fail_outbox_message(id, &e.message, Some(retry_at)))
                    .await?;
                tracing::warn!(%id, %kind, attempts, error = %e.message, retry_at = %retry_at, "mail delivery failed; will retry");
            }
        }
        Ok(())
    }

    /// Sends in a task of its own, bounded by the timeout; a panic there is a transient failure.
    async fn attempt(&self, message: OutboxMessage) -> Result<(), DeliveryError> {
        tracing::debug!(id = %message.id, recipient = %message.recipient, attempt = message.attempts, "delivering mail");
        let transport = self.transport.clone();
        let mut task = AbortOnDrop(tokio::spawn(async move { transport.send(&message).await }));
        match tokio::time::timeout(self.timeout, &mut task.0).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) if e.is_panic() => Err(DeliveryError::transient("the transport panicked")),
            Ok(Err(_)) => Err(DeliveryError::transient("the delivery task was cancelled")),
            Err(_) => Err(DeliveryError::transient(format!(
                "delivery timed out after {} s",
                self.timeout.as_secs()
            ))),
        }
    }

    /// Runs a store write, retrying briefly: losing a `sent` would mean sending twice.
    async fn bookkeeping<F, Fut>(&self, write: F) -> StoreResult<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = StoreResult<()>>,
    {
        let mut tries = 1;
        loop {
            match write().await {
                Ok(()) => return Ok(()),
                Err(e) if tries >= BOOKKEEPING_TRIES => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "email outbox: write failed; trying again");
                    tries += 1;
                    tokio::time::sleep(StdDuration::from_millis(200)).await;
                }
            }
        }
    }
}

/// `min(2 s × 2^(attempts − 1), 15 min)`.
fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    Duration::seconds(2i64 << exponent).min(MAX_BACKOFF)
}
