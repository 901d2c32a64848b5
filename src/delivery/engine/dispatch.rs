//! Claiming recipients (or messages to delete) and starting their
//! requests, each in its own task.

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Engine;
use super::sender::Sender;
use crate::delivery::outcome::Outcome;
use crate::domain::content::Content;
use crate::domain::reason::Reason;
use crate::store::delivery::{self as store, Claimed, ToDelete};
use crate::telegram::Telegram;

impl Engine {
    /// Claims and starts a batch of sends (or deletions); how many. Waits
    /// for a whole batch of free slots, so claims stay one statement per
    /// batch rather than one per message.
    pub(super) async fn dispatch(&mut self, telegram: &Telegram, tasks: &mut JoinSet<()>) -> usize {
        let batch = self.config.batch();
        let free = self.config.max_in_flight.saturating_sub(tasks.len());
        if free < batch || self.limiter.paused() {
            return 0;
        }
        let batch = batch as i64;
        if self.deletions_due {
            match store::claim_deletions(&self.pool, batch, self.config.lease).await {
                Ok(rows) if !rows.is_empty() => {
                    let n = rows.len();
                    for row in rows {
                        self.spawn_deletion(telegram, tasks, row);
                    }
                    return n;
                }
                Ok(_) => self.deletions_due = false,
                Err(err) => tracing::error!(error = %err, "claiming deletions failed"),
            }
        }
        // The list of sending broadcasts is re-read each tick, and whenever
        // the last pass found nothing (a new broadcast may have started).
        let stale = self
            .active_read_at
            .is_none_or(|at| at.elapsed() >= self.config.tick);
        if stale || !self.found_work {
            match store::active(&self.pool).await {
                Ok(active) => {
                    self.active = active;
                    self.active_read_at = Some(Instant::now());
                }
                Err(err) => {
                    tracing::error!(error = %err, "listing sending broadcasts failed");
                    return 0;
                }
            }
        }
        self.found_work = false;
        let active = std::mem::take(&mut self.active);
        let dispatched = self.dispatch_sends(telegram, tasks, &active, batch).await;
        self.active = active;
        self.found_work = dispatched > 0;
        dispatched
    }

    async fn dispatch_sends(
        &mut self,
        telegram: &Telegram,
        tasks: &mut JoinSet<()>,
        active: &[store::Active],
        batch: i64,
    ) -> usize {
        self.contents
            .retain(|id, _| active.iter().any(|a| a.id == *id));
        for offset in 0..active.len() {
            let broadcast = &active[(self.round_robin + offset) % active.len()];
            let content = match self.contents.get(&broadcast.id) {
                Some(content) => content.clone(),
                None => match Content::from_stored(
                    &broadcast.content_type,
                    &broadcast.message_text,
                    broadcast.file_id.as_deref(),
                    &broadcast.buttons,
                    broadcast.link_preview,
                ) {
                    Ok(content) => {
                        let content = Arc::new(content);
                        self.contents.insert(broadcast.id, content.clone());
                        content
                    }
                    Err(err) => {
                        let reason = Reason::ContentInvalid {
                            detail: err.to_string(),
                        };
                        if let Err(err) = store::fail(&self.pool, broadcast.id, &reason).await {
                            tracing::error!(error = %err, "failing a broadcast failed");
                        }
                        continue;
                    }
                },
            };
            let claimed =
                match store::claim(&self.pool, broadcast.id, batch, self.config.lease).await {
                    Ok(claimed) => claimed,
                    Err(err) => {
                        tracing::error!(error = %err, "claiming recipients failed");
                        return 0;
                    }
                };
            if claimed.is_empty() {
                continue;
            }
            self.round_robin = (self.round_robin + offset + 1) % active.len();
            let n = claimed.len();
            for recipient in claimed {
                self.spawn_send(telegram, tasks, recipient, content.clone());
            }
            return n;
        }
        0
    }

    fn spawn_send(
        &self,
        telegram: &Telegram,
        tasks: &mut JoinSet<()>,
        recipient: Claimed,
        content: Arc<Content>,
    ) {
        self.shared().in_flight.insert(recipient.id);
        let sender = Sender {
            pool: self.pool.clone(),
            telegram: telegram.clone(),
            limiter: self.limiter.clone(),
            shared: self.shared.clone(),
            pause_after_failures: self.config.pause_after_failures,
        };
        tasks.spawn(async move {
            sender.limiter.acquire().await;
            if sender.dispatch(&recipient).await {
                let outcome = Outcome::of(sender.telegram.send(recipient.user_id, &content).await)
                    .redacted(|text| sender.telegram.redact(text));
                sender.record(&recipient, outcome).await;
            }
            sender.shared().in_flight.remove(&recipient.id);
        });
    }

    fn spawn_deletion(&self, telegram: &Telegram, tasks: &mut JoinSet<()>, row: ToDelete) {
        let pool = self.pool.clone();
        let telegram = telegram.clone();
        let limiter = self.limiter.clone();
        tasks.spawn(async move {
            limiter.acquire().await;
            let error = match telegram.delete(row.user_id, row.telegram_message_id).await {
                Ok(()) => None,
                Err(err) => match Outcome::of_error(&err) {
                    Outcome::RetryAfter(wait) => {
                        limiter.pause_for(wait);
                        // Left claimed: the lease runs out and it is retried.
                        return;
                    }
                    _ => Some(telegram.redact(&err.to_string())),
                },
            };
            let result = async {
                store::mark_deletion(&pool, row.id, error.as_deref()).await?;
                let mut conn = pool.acquire().await?;
                crate::store::broadcasts::store_counts(&mut conn, row.message_id).await
            };
            if let Err(err) = result.await {
                tracing::error!(error = %err, "recording a deletion failed");
            }
        });
    }
}
