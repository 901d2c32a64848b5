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

mod dispatch;
mod sender;

use super::Heartbeat;
use super::limiter::RateLimiter;
use crate::config::Config;
use crate::domain::content::Content;
use crate::store::delivery as store;
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
}

/// Whether `shutdown` has completed, without waiting for it.
async fn futures_ready(shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        biased;
        _ = shutdown.as_mut() => true,
        _ = std::future::ready(()) => false,
    }
}
