//! The delivery loop. One engine runs in every server process (unless
//! `SCHEDULER_ENABLED=false`), but only the holder of the bot token's
//! PostgreSQL advisory lock sends: the token's budget is global, so the
//! others stand by and take over within a tick if the holder dies (its
//! connection closes and the lock with it).
//!
//! While leading, each tick (≤ 1 s) the engine recovers expired leases
//! (rows a dead sender had dispatched become `unknown`, rows it had only
//! claimed go back to `pending`), starts due scheduled broadcasts and
//! finishes completed ones; between ticks it keeps up to `max_in_flight`
//! requests going, claimed a few at a time round-robin across the sending
//! broadcasts so a big one does not starve a small one. A claimed row is
//! marked dispatched only once the rate limiter lets it go, right before
//! its request starts.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

use super::Heartbeat;
use super::limiter::RateLimiter;
use super::outcome::{MAX_ATTEMPTS, Outcome, backoff};
use crate::config::Config;
use crate::domain::content::Content;
use crate::domain::reason::Reason;
use crate::store::delivery::{self as store, Claimed, ToDelete};
use crate::telegram::Telegram;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub rate_per_sec: u32,
    /// The longest sleep between housekeeping rounds.
    pub tick: Duration,
    /// How long a claimed recipient may stay `sending` before another
    /// engine takes it back: to `pending` if its request had not started,
    /// else as `unknown`.
    pub lease: Duration,
    /// Requests in flight at once, so Telegram's latency does not cap the
    /// rate.
    pub max_in_flight: usize,
    /// Consecutive failures after which a broadcast pauses itself.
    pub pause_after_failures: u32,
}

impl EngineConfig {
    pub fn new(rate_per_sec: u32) -> Self {
        let rate = rate_per_sec.max(1);
        Self {
            rate_per_sec: rate,
            tick: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            max_in_flight: (rate as usize / 2).clamp(8, 256),
            pause_after_failures: 50,
        }
    }

    pub fn from_config(config: &Config) -> Self {
        Self::new(config.send_rate_per_sec)
    }

    /// Recipients claimed at once: about a tenth of a second's worth.
    fn batch(&self) -> usize {
        (self.rate_per_sec as usize / 10).clamp(1, self.max_in_flight)
    }
}

/// Wakes the engine early, e.g. when a broadcast is created to send now.
#[derive(Debug, Default)]
pub struct Wake(Notify);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Returns once woken (at once if a wake came while nobody waited).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// What the send tasks share with the loop.
#[derive(Debug, Default)]
struct Shared {
    /// Recipient rows this engine has in flight (their leases are ours).
    in_flight: HashSet<i32>,
    /// Per broadcast: failures since its last success.
    failures: HashMap<i32, u32>,
}

pub struct Engine {
    pool: PgPool,
    telegram: Option<Telegram>,
    config: EngineConfig,
    heartbeat: Arc<Heartbeat>,
    wake: Arc<Wake>,
    limiter: Arc<RateLimiter>,
    shared: Arc<Mutex<Shared>>,
    contents: HashMap<i32, Arc<Content>>,
    round_robin: usize,
    /// The sending broadcasts, as last read, and when.
    active: Vec<store::Active>,
    active_read_at: Option<Instant>,
    /// Whether the last dispatch found recipients to send to.
    found_work: bool,
    /// Whether some broadcast has messages to delete (checked each tick).
    deletions_due: bool,
}

impl Engine {
    pub fn new(
        pool: PgPool,
        telegram: Option<Telegram>,
        config: EngineConfig,
        heartbeat: Arc<Heartbeat>,
        wake: Arc<Wake>,
    ) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::new(config.rate_per_sec)),
            pool,
            telegram,
            config,
            heartbeat,
            wake,
            shared: Arc::default(),
            contents: HashMap::new(),
            round_robin: 0,
            active: Vec::new(),
            active_read_at: None,
            found_work: false,
            deletions_due: false,
        }
    }

    /// Runs until `shutdown` completes, then lets the requests in flight
    /// finish, records their outcomes and gives up the lead.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let Some(telegram) = self.telegram.clone() else {
            tracing::warn!(
                "Telegram is not configured (TELEGRAM_BOT_TOKEN): broadcasts are saved but not sent"
            );
            loop {
                self.heartbeat.tick(Utc::now());
                tokio::select! {
                    _ = sleep(self.config.tick) => {}
                    _ = &mut shutdown => return,
                }
            }
        };
        let mut lead: Option<PgConnection> = None;
        let mut tasks = JoinSet::new();
        let mut next_round = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_round {
                self.heartbeat.tick(Utc::now());
                next_round = now + self.config.tick;
                lead = self.keep_lead(lead, telegram.budget_key()).await;
                if lead.is_some() {
                    self.housekeeping().await;
                }
            }
            let mut dispatched = 0;
            if lead.is_some() {
                dispatched = self.dispatch(&telegram, &mut tasks).await;
            }
            while tasks.try_join_next().is_some() {}
            if dispatched == 0 {
                tokio::select! {
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                    () = self.wake.woken() => {}
                    _ = sleep_until(next_round) => {}
                    _ = &mut shutdown => break,
                }
            } else if futures_ready(&mut shutdown).await {
                break;
            }
        }
        tracing::info!(in_flight = tasks.len(), "delivery engine stopping");
        while tasks.join_next().await.is_some() {}
        if lead.is_some() {
            self.housekeeping().await;
        }
        if let Some(conn) = lead {
            let _ = conn.close().await;
        }
    }

    /// One full pass without a loop, for tests and benchmarks: take the
    /// lead if free, do the housekeeping, send everything due now and wait
    /// for the outcomes. Returns false if another engine leads.
    pub async fn run_once(&mut self) -> anyhow::Result<bool> {
        let Some(telegram) = self.telegram.clone() else {
            return Ok(false);
        };
        let Some(conn) = self.keep_lead(None, telegram.budget_key()).await else {
            return Ok(false);
        };
        self.housekeeping().await;
        let mut tasks = JoinSet::new();
        loop {
            let dispatched = self.dispatch(&telegram, &mut tasks).await;
            if dispatched == 0 && tasks.join_next().await.is_none() {
                break;
            }
        }
        self.housekeeping().await;
        conn.close().await?;
        Ok(true)
    }

    /// Keeps (or tries to take) the lead; `None` while another engine has it.
    async fn keep_lead(&self, lead: Option<PgConnection>, key: i64) -> Option<PgConnection> {
        if let Some(mut conn) = lead {
            match sqlx::query("SELECT 1").execute(&mut conn).await {
                Ok(_) => return Some(conn),
                Err(err) => {
                    tracing::warn!(error = %err, "lost the delivery lock connection");
                    return None;
                }
            }
        }
        let mut conn = match self.pool.acquire().await {
            Ok(conn) => conn.detach(),
            Err(err) => {
                tracing::warn!(error = %err, "delivery engine cannot reach the database");
                return None;
            }
        };
        match store::try_lead(&mut conn, key).await {
            Ok(true) => {
                tracing::info!("this process now sends the broadcasts");
                Some(conn)
            }
            Ok(false) => {
                let _ = conn.close().await;
                None
            }
            Err(err) => {
                tracing::warn!(error = %err, "taking the delivery lock failed");
                None
            }
        }
    }

    async fn housekeeping(&mut self) {
        match store::deletions_due(&self.pool).await {
            Ok(due) => self.deletions_due = due,
            Err(err) => tracing::error!(error = %err, "checking for deletions failed"),
        }
        let own: Vec<i32> = self.shared().in_flight.iter().copied().collect();
        match store::expire_leases(&self.pool, &own).await {
            Ok(expired) => {
                if expired.unknown > 0 {
                    tracing::warn!(
                        recipients = expired.unknown,
                        "in-flight sends of a stopped sender are now unknown"
                    );
                }
                if expired.requeued > 0 {
                    tracing::info!(
                        recipients = expired.requeued,
                        "unsent claims of a stopped sender are back in the queue"
                    );
                }
            }
            Err(err) => tracing::error!(error = %err, "expiring delivery leases failed"),
        }
        match store::start_due(&self.pool).await {
            Ok(started) if !started.is_empty() => {
                tracing::info!(?started, "scheduled broadcasts started")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "starting scheduled broadcasts failed"),
        }
        match store::finish_completed(&self.pool).await {
            Ok(done) if !done.is_empty() => tracing::info!(?done, "broadcasts finished"),
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "finishing broadcasts failed"),
        }
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("engine state lock")
    }

    /// Claims and starts a batch of sends (or deletions); how many. Waits
    /// for a whole batch of free slots, so claims stay one statement per
    /// batch rather than one per message.
    async fn dispatch(&mut self, telegram: &Telegram, tasks: &mut JoinSet<()>) -> usize {
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

/// Whether `shutdown` has completed, without waiting for it.
async fn futures_ready(shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        biased;
        _ = shutdown.as_mut() => true,
        _ = std::future::ready(()) => false,
    }
}

/// Telegram's (or the network's) error for one recipient.
fn telegram_error(error: &str) -> Reason {
    Reason::TelegramError {
        detail: error.to_owned(),
    }
}

/// What one send task needs.
struct Sender {
    pool: PgPool,
    telegram: Telegram,
    limiter: Arc<RateLimiter>,
    shared: Arc<Mutex<Shared>>,
    pause_after_failures: u32,
}

impl Sender {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().expect("engine state lock")
    }

    /// Marks the row dispatched, right before its request: whether to send.
    /// Not when the claim is no longer ours, nor when the mark can't be
    /// written (then the row stays claimed and goes back to the queue when
    /// its lease runs out), so a request never starts unrecorded.
    async fn dispatch(&self, recipient: &Claimed) -> bool {
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
    async fn record(&self, recipient: &Claimed, outcome: Outcome) {
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
