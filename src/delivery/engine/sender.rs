//! One send task: marks its row dispatched, and records the outcome
//! (pausing or failing the broadcast when Telegram says so).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;
use tokio::time::sleep;

use super::Shared;
use crate::delivery::limiter::RateLimiter;
use crate::delivery::outcome::{MAX_ATTEMPTS, Outcome, backoff};
use crate::domain::reason::Reason;
use crate::store::delivery::{self as store, Claimed};
use crate::telegram::Telegram;

/// Telegram's (or the network's) error for one recipient.
fn telegram_error(error: &str) -> Reason {
    Reason::TelegramError {
        detail: error.to_owned(),
    }
}

/// What one send task needs.
pub(super) struct Sender {
    pub(super) pool: PgPool,
    pub(super) telegram: Telegram,
    pub(super) limiter: Arc<RateLimiter>,
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) pause_after_failures: u32,
}

impl Sender {
    pub(super) fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("engine state lock")
    }

    /// Marks the row dispatched, right before its request: whether to send.
    /// Not when the claim is no longer ours, nor when the mark can't be
    /// written (then the row stays claimed and goes back to the queue when
    /// its lease runs out), so a request never starts unrecorded.
    pub(super) async fn dispatch(&self, recipient: &Claimed) -> bool {
        match store::mark_dispatched(&self.pool, recipient).await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!(
                    recipient = recipient.id,
                    "a claim ran out before its turn came; not sent"
                );
                false
            }
            Err(err) => {
                tracing::error!(error = %err, "marking a send dispatched failed; not sent");
                false
            }
        }
    }

    /// Writes the outcome at once. If the database is unreachable the row
    /// stays `sending` and becomes `unknown` when its lease runs out, so a
    /// message is never sent twice.
    pub(super) async fn record(&self, recipient: &Claimed, outcome: Outcome) {
        for attempt in 0..3 {
            match self.try_record(recipient, &outcome).await {
                Ok(()) => return,
                Err(err) => {
                    tracing::error!(error = %err, attempt, "recording a delivery outcome failed");
                    sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn try_record(&self, recipient: &Claimed, outcome: &Outcome) -> sqlx::Result<()> {
        let broadcast = recipient.message_id;
        match outcome {
            Outcome::Sent(message_id) => {
                store::mark_sent(&self.pool, recipient.id, *message_id).await?;
                self.shared().failures.remove(&broadcast);
            }
            Outcome::RetryAfter(wait) => {
                self.limiter.pause_for(*wait);
                let at = Utc::now() + *wait;
                let error = Reason::RateLimited {
                    retry_after_s: wait.as_secs(),
                };
                store::mark_retry(&self.pool, recipient.id, at, &error, false).await?;
            }
            Outcome::Transient(error) => {
                let reason = telegram_error(error);
                if recipient.attempts >= MAX_ATTEMPTS {
                    store::mark_failed(&self.pool, recipient.id, &reason).await?;
                } else {
                    let at = Utc::now() + backoff(recipient.attempts);
                    store::mark_retry(&self.pool, recipient.id, at, &reason, true).await?;
                }
                self.count_failure(broadcast, error).await?;
            }
            Outcome::Failed(error) => {
                store::mark_failed(&self.pool, recipient.id, &telegram_error(error)).await?;
                self.count_failure(broadcast, error).await?;
            }
            Outcome::Unreachable(reason, error) => {
                store::mark_blocked(&self.pool, recipient.id, *reason, error).await?;
            }
            Outcome::ContentRejected(error) => {
                store::mark_failed(&self.pool, recipient.id, &telegram_error(error)).await?;
                let reason = Reason::TelegramRejectedContent {
                    detail: error.clone(),
                };
                store::fail(&self.pool, broadcast, &reason).await?;
            }
            Outcome::BotUnusable(error) => {
                let at = Utc::now();
                store::mark_retry(&self.pool, recipient.id, at, &telegram_error(error), false)
                    .await?;
                let reason = Reason::BotUnusable {
                    detail: error.clone(),
                };
                store::auto_pause(&self.pool, broadcast, &reason).await?;
            }
        }
        Ok(())
    }

    async fn count_failure(&self, broadcast: i32, error: &str) -> sqlx::Result<()> {
        let failures = {
            let mut shared = self.shared();
            let count = shared.failures.entry(broadcast).or_default();
            *count += 1;
            *count
        };
        if failures >= self.pause_after_failures {
            self.shared().failures.remove(&broadcast);
            let reason = Reason::TooManyFailures {
                count: failures,
                last: error.to_owned(),
            };
            if store::auto_pause(&self.pool, broadcast, &reason).await? {
                tracing::warn!(
                    broadcast,
                    failures,
                    "broadcast paused after consecutive failures"
                );
            }
        }
        Ok(())
    }
}
